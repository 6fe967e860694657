"""Many runs at once: `ganbench run ... --jobs N`.

N job processes, started with "spawn" (fresh interpreters: no torch state, thread pool
or CUDA context is inherited from the parent), each train one run at a time, or with
`--streams K` up to K runs at once, interleaved, each on its own CUDA stream (cotrain.py).
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
  CUDA start-up per run, a few seconds. With `--streams K` (K > 1) a job trains K runs in
  one process by design and relies on the guard; it keeps its process from run to run.
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
import multiprocessing as mp
import os
import sys
from collections.abc import Callable
from multiprocessing.connection import wait

from .config import RunConfig
from .rundir import RunDir
from .suite import Outcome, existing_state, on_cuda, outcome_line, run_label


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
    """One job slot's process. It trains up to `streams` runs at once (cotrain.py), and
    takes a new one as soon as one ends. On a CPU it goes on from run to run, so torch is
    imported once per slot rather than once per run; each run seeds everything and sets
    its thread count afresh, so what ran before it in the same process changes none of its
    numbers (tested). On CUDA with one stream it trains one run and retires (see the
    module's notes)."""

    def __init__(self, ctx, slot: int, gpu: str | None):
        self.slot, self.gpu = slot, gpu
        self.conn, child_end = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_serve, args=(child_end, gpu), name=f"ganbench-job{slot + 1}")
        self.proc.start()
        child_end.close()  # the child holds the only other end: EOF here when it dies
        self.tasks: dict[int, RunConfig] = {}  # runs it is training, by their index
        self.retiring = False  # takes no more runs; stopped once its runs end

    def stop(self, timeout: float = 10) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join()
        self.conn.close()


def _serve(conn, gpu: str | None) -> None:
    """A job's process: train each (index, cfg, out, kwargs) it is sent, several at once
    (cotrain.Interleaver); answer (index, status, message) as each ends."""
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu  # before anything starts CUDA
    from .cotrain import Interleaver
    from .data import reuse_loaded

    def echo(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    active = Interleaver()
    try:
        with reuse_loaded():  # the runs this process trains load each dataset once
            while True:
                # New runs: wait for one when idle, otherwise take what has arrived.
                while not len(active) or conn.poll():
                    task = conn.recv()
                    if task is None:
                        return
                    i, cfg, out, kwargs = task
                    active.add(i, cfg, out, echo=echo, **kwargs)
                for i, outcome in active.advance():
                    conn.send((i, outcome.status, outcome.message))
    except (EOFError, KeyboardInterrupt):  # the parent is gone, or Ctrl-C reached every job
        pass
    finally:
        active.close()  # runs still going are marked interrupted, resumable
        conn.close()


def run_parallel(
    configs: list[RunConfig],
    out,
    jobs: int,
    *,
    streams: int = 1,
    echo: Callable[[str], None] = print,
    fresh_process_per_run: bool | None = None,
    **kwargs,
) -> list[Outcome]:
    """Train `configs` with up to `jobs` processes at once, each training up to `streams`
    runs at once; outcomes in config order.

    `fresh_process_per_run` (default: for CUDA runs with one stream) retires a job's
    process after each run.
    """
    if fresh_process_per_run is None:
        fresh_process_per_run = on_cuda(configs) and streams == 1
    ctx = mp.get_context("spawn")
    n = len(configs)
    slots = min(jobs, -(-n // streams))  # no slot that would get no run
    gpus = gpu_slots(configs, slots)
    cpu_runs = [c for c in configs if c.device == "cpu"]
    cores = os.cpu_count() or 1
    if cpu_runs and slots * max(c.cpu_threads for c in cpu_runs) > cores:
        echo(
            f"note: {slots} jobs x {max(c.cpu_threads for c in cpu_runs)} threads on {cores} cores: "
            "runs will be slower (their results do not change)"
        )
    outcomes: dict[int, Outcome] = {}
    pending = list(enumerate(configs, 1))
    workers: list[_Worker | None] = [None] * slots

    def finish(i: int, cfg: RunConfig, status: str, message: str) -> None:
        outcomes[i] = Outcome(cfg, RunDir(out, cfg.dataset, cfg.variant, cfg.seed), status, message)
        echo(outcome_line(run_label(i, n, cfg), outcomes[i]))

    def free(w: _Worker | None) -> bool:
        return w is None or (not w.retiring and len(w.tasks) < streams)

    try:
        while pending or any(w is not None and w.tasks for w in workers):
            for slot in range(slots):
                while pending and free(workers[slot]):
                    i, cfg = pending.pop(0)
                    run_dir = RunDir(out, cfg.dataset, cfg.variant, cfg.seed)
                    if not kwargs.get("overwrite") and existing_state(run_dir, cfg) == "done":
                        finish(i, cfg, "skipped", "already finished with this config")
                        continue
                    w = workers[slot]
                    if w is None:
                        w = workers[slot] = _Worker(ctx, slot, gpus[slot])
                    w.conn.send((i, cfg, out, kwargs))
                    w.tasks[i] = cfg
                    w.retiring = fresh_process_per_run and len(w.tasks) >= streams
                    where = f"job {slot + 1}" + (f", GPU {w.gpu}" if w.gpu is not None else "")
                    echo(f"{run_label(i, n, cfg)}: started ({where})")
            busy = {w.conn: w for w in workers if w is not None and w.tasks}
            if not busy:
                continue
            for conn in wait(list(busy)):
                w = busy[conn]
                try:
                    i, status, message = conn.recv()
                except EOFError:  # the process died: its runs failed, the slot restarts
                    w.proc.join()
                    conn.close()
                    workers[w.slot] = None
                    for i, cfg in w.tasks.items():
                        finish(i, cfg, "failed", f"its job process died (exit code {w.proc.exitcode})")
                    w.tasks.clear()
                    continue
                finish(i, w.tasks.pop(i), status, message)
                if w.retiring and not w.tasks:
                    w.stop()
                    workers[w.slot] = None
    except BaseException:
        # Ctrl-C reached the jobs too; after any other error here they are told by their
        # pipe closing. Either way each marks its runs interrupted (resumable) and exits:
        # give them a moment, then stop them.
        for w in workers:
            if w is not None:
                with contextlib.suppress(OSError):
                    w.conn.close()
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
