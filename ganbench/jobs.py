"""Many runs at once: `ganbench run ... --jobs N`.

N job processes, started with "spawn" (fresh interpreters: no torch state, thread pool
or CUDA context is inherited from the parent), each train one run at a time.
- CPU: every run keeps its config's `cpu_threads` (1 by default), so its numbers are
  bit-for-bit those it gives when run alone; N jobs of T threads want N*T cores.
- CUDA: every run gets a fresh process, the job slot's process retiring after each run.
  On an H100, a WGAN-GP run that followed another run in the same process drifted from
  the same run done in a fresh process (max weight difference 0.2 after 60 steps), while
  fresh processes agreed to the bit. The cause, found later, is autograd's thread-local
  node numbering, and the trainer now pins the order (autograd_order.py; reproduced and
  fixed on a CPU by emulation). Until the CUDA test of that guard
  (tests/test_graph.py::test_a_cuda_wgan_gp_run_does_not_depend_on_what_ran_before_it_in_the_process)
  has passed on a GPU, CUDA runs keep a fresh process each. The price is one process and
  CUDA start-up per run, a few seconds.
- CUDA: the N processes share the GPU. With several GPUs visible, job slot k trains on
  GPU k mod G: the child sees only that GPU (CUDA_VISIBLE_DEVICES, set before CUDA
  starts), so `cuda` in its config still means "this run's GPU" and the config, which a
  resume must match, is the same whichever GPU ran it.
- A run's error is its own "failed" outcome (as in a sequential suite); a child that dies
  without reporting (killed, out of memory, a crash in native code) is "failed" with its
  exit code; the other runs go on either way.
- Progress is one line when a run starts and one when it ends: no interleaved bars.
Finished runs are skipped in the parent without starting a process; everything else
(resume, locks, config checks) is `run_one`'s, in the child.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import sys
from collections.abc import Callable
from multiprocessing.connection import wait

from .config import RunConfig
from .rundir import RunDir
from .suite import Outcome, existing_state, guarded_run, on_cuda, outcome_line, run_label


def gpu_slots(configs: list[RunConfig], jobs: int) -> list[str | None]:
    """The GPU each job slot trains on (an entry for CUDA_VISIBLE_DEVICES), or None to
    leave the device alone: CPU runs, an explicit cuda:N, or a single GPU."""
    if not configs or any(c.device != "cuda" for c in configs):
        return [None] * jobs
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [x.strip() for x in visible.split(",") if x.strip()]
    else:
        import torch

        ids = [str(i) for i in range(torch.cuda.device_count())]
    if len(ids) < 2:
        return [None] * jobs
    return [ids[k % len(ids)] for k in range(jobs)]


class _Worker:
    """One job slot's process. On a CPU it trains one run after another, so torch is
    imported once per slot rather than once per run; each run seeds everything and sets
    its thread count afresh, so what ran before it in the same process changes none of its
    numbers (tested). On CUDA it trains one run and retires (see the module's notes)."""

    def __init__(self, ctx, slot: int, gpu: str | None):
        self.slot, self.gpu = slot, gpu
        self.conn, child_end = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_serve, args=(child_end, gpu), name=f"ganbench-job{slot + 1}")
        self.proc.start()
        child_end.close()  # the child holds the only other end: EOF here when it dies
        self.task: tuple[int, RunConfig] | None = None

    def stop(self, timeout: float = 10) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join()
        self.conn.close()


def _serve(conn, gpu: str | None) -> None:
    """A job's process: train each (cfg, out, kwargs) it is sent; answer (status, message)."""
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu  # before anything starts CUDA

    def echo(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        while (task := conn.recv()) is not None:
            cfg, out, kwargs = task
            outcome = guarded_run(cfg, out, progress=False, echo=echo, **kwargs)
            conn.send((outcome.status, outcome.message))
            gc.collect()  # free the finished run's tensors (and CUDA graph pools) now
    except (EOFError, KeyboardInterrupt):  # the parent is gone, or Ctrl-C reached every job
        pass
    finally:
        conn.close()


def run_parallel(
    configs: list[RunConfig],
    out,
    jobs: int,
    *,
    echo: Callable[[str], None] = print,
    fresh_process_per_run: bool | None = None,
    **kwargs,
) -> list[Outcome]:
    """Train `configs` with up to `jobs` processes at once; outcomes in config order.

    `fresh_process_per_run` (default: for CUDA runs) retires a job's process after each run.
    """
    if fresh_process_per_run is None:
        fresh_process_per_run = on_cuda(configs)
    ctx = mp.get_context("spawn")
    n = len(configs)
    gpus = gpu_slots(configs, jobs)
    cpu_runs = [c for c in configs if c.device == "cpu"]
    cores = os.cpu_count() or 1
    if cpu_runs and min(jobs, n) * max(c.cpu_threads for c in cpu_runs) > cores:
        echo(
            f"note: {min(jobs, n)} jobs x {max(c.cpu_threads for c in cpu_runs)} threads on {cores} cores: "
            "runs will be slower (their results do not change)"
        )
    outcomes: dict[int, Outcome] = {}
    pending = list(enumerate(configs, 1))
    workers: list[_Worker | None] = [None] * min(jobs, n)

    def finish(i: int, cfg: RunConfig, status: str, message: str) -> None:
        outcomes[i] = Outcome(cfg, RunDir(out, cfg.dataset, cfg.variant, cfg.seed), status, message)
        echo(outcome_line(run_label(i, n, cfg), outcomes[i]))

    try:
        while pending or any(w is not None and w.task is not None for w in workers):
            for slot, w in enumerate(workers):
                while pending and (w is None or w.task is None):
                    i, cfg = pending.pop(0)
                    run_dir = RunDir(out, cfg.dataset, cfg.variant, cfg.seed)
                    if not kwargs.get("overwrite") and existing_state(run_dir, cfg) == "done":
                        finish(i, cfg, "skipped", "already finished with this config")
                        continue
                    if w is None:
                        w = workers[slot] = _Worker(ctx, slot, gpus[slot])
                    w.conn.send((cfg, out, kwargs))
                    w.task = (i, cfg)
                    where = f"job {slot + 1}" + (f", GPU {w.gpu}" if w.gpu is not None else "")
                    echo(f"{run_label(i, n, cfg)}: started ({where})")
            busy = {w.conn: w for w in workers if w is not None and w.task is not None}
            if not busy:
                continue
            for conn in wait(list(busy)):
                w = busy[conn]
                (i, cfg), w.task = w.task, None
                try:
                    status, message = conn.recv()
                except EOFError:  # the process died mid-run: this run failed, the slot restarts
                    w.proc.join()
                    conn.close()
                    workers[w.slot] = None
                    status, message = "failed", f"its job process died (exit code {w.proc.exitcode})"
                else:
                    if fresh_process_per_run:
                        w.stop()
                        workers[w.slot] = None
                finish(i, cfg, status, message)
    except BaseException:
        # Ctrl-C reached the jobs too: give them a moment to mark their runs, then stop.
        for w in workers:
            if w is not None:
                w.proc.join(timeout=10)
                if w.proc.is_alive():
                    w.proc.terminate()
        raise
    for w in workers:
        if w is not None:
            w.stop()
    return [outcomes[i] for i in range(1, n + 1)]
