"""Job processes: the scheduler's layout for `ganbench run ... --jobs N` (and for CUDA runs).

N job processes, started with "spawn" (fresh interpreters: no torch state, thread pool
or CUDA context is inherited from the parent), each train one run at a time, or with
`--streams K` up to K runs at once, interleaved, each on its own CUDA stream (interleave.py).
- CPU: every run keeps its config's `cpu_threads` (1 by default), so its numbers are
  bit-for-bit those it gives when run alone; N jobs of T threads want N*T cores.
- CUDA: every run gets a fresh process, the job slot's process retiring after each run.
  On an H100, a gradient-penalty run (five critic steps) that followed another run in the same process drifted from
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
Finished runs are skipped by the scheduler without starting a process (schedule.py);
everything else (resume, locks, config checks) is `run_one`'s, in the child. The options
sent to a child must pickle: its evaluator above all (`ganbench check` with several runs).
- Plugins: a child loads the parent's (RunOptions.plugins: the same files and entry points,
  in the same order) before its first run, so their variants, nets and datasets exist
  there; a plugin that fails to load there fails each run it is sent, with that line.
"""

from __future__ import annotations

import contextlib
import os
import sys
from multiprocessing.connection import wait
from pathlib import Path

from ..config import RunConfig, RunOptions, print_line
from .one import Outcome, run_dir_of


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
    """One job slot's process. It trains up to `streams` runs at once (interleave.py), and
    takes a new one as soon as one ends. On a CPU it goes on from run to run, so torch is
    imported once per slot rather than once per run; each run seeds everything and sets
    its thread count afresh, so what ran before it in the same process changes none of its
    numbers (tested). On CUDA with one stream it trains one run and retires (see the
    module's notes)."""

    def __init__(self, ctx, slot: int, gpu: str | None, plugins: tuple[str, ...] = ()):
        self.slot, self.gpu = slot, gpu
        self.conn, child_end = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_serve, args=(child_end, gpu, plugins), name=f"ganbench-job{slot + 1}")
        self.proc.start()
        child_end.close()  # the child holds the only other end: EOF here when it dies
        self.tasks: dict[int, tuple[RunConfig, RunOptions]] = {}  # runs it is training, by their index
        self.retiring = False  # takes no more runs; stopped once its runs end

    def stop(self, timeout: float = 10) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join()
        self.conn.close()


def _child_echo(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _serve(conn, gpu: str | None, plugins: tuple[str, ...] = ()) -> None:
    """A job's process: load the parent's plugins, then train each (index, cfg, options,
    own_stream) it is sent, several at once (interleave.Interleaver); answer (index,
    status, message) as each ends."""
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu  # before anything starts CUDA
    from ..signals import take_sigterm_as_interrupt

    # SIGTERM reaches a job too (timeout and Slurm signal the whole process group, the
    # parent's reap() sends one): its runs must be marked interrupted, as on Ctrl-C.
    take_sigterm_as_interrupt()

    from .. import plugins as plugin_loader
    from ..data import reuse_loaded
    from .interleave import Interleaver

    try:
        plugin_loader.load_all(plugins)
        broken = None
    except plugin_loader.PluginError as exc:
        broken = str(exc)
    active = Interleaver()
    try:
        with reuse_loaded():  # the runs this process trains load each dataset once
            while True:
                # New runs: wait for one when idle, otherwise take what has arrived.
                while not len(active) or conn.poll():
                    task = conn.recv()
                    if task is None:
                        return
                    i, cfg, options, own_stream = task
                    if broken:
                        conn.send((i, "failed", broken))
                        continue
                    active.add(i, cfg, options.replace(echo=_child_echo), own_stream)
                for i, outcome in active.advance():
                    conn.send((i, outcome.status, outcome.message))
    except (EOFError, KeyboardInterrupt):  # the parent is gone, or Ctrl-C / SIGTERM reached the job
        pass
    finally:
        active.close()  # runs still going are marked interrupted, resumable
        conn.close()


class ProcessSlot:
    """One job slot for the scheduler: a process (started on its first run, restarted
    after it dies or retires) training up to `streams` runs at once."""

    def __init__(self, ctx, slot: int, gpu: str | None, streams: int, options: RunOptions, fresh_per_run: bool):
        self.ctx, self.slot, self.gpu, self.streams = ctx, slot, gpu, streams
        # What a child gets: no progress bars (they would interleave), no parent's echo.
        self.options = options.replace(progress=False, echo=print_line)
        self.fresh_per_run = fresh_per_run
        self.worker: _Worker | None = None

    def free(self) -> bool:
        w = self.worker
        return w is None or (not w.retiring and len(w.tasks) < self.streams)

    def busy(self) -> bool:
        return self.worker is not None and bool(self.worker.tasks)

    def start(self, i: int, cfg: RunConfig, out: Path) -> str:
        if self.worker is None:
            self.worker = _Worker(self.ctx, self.slot, self.gpu, self.options.plugins)
        w = self.worker
        options = self.options.replace(out=out)
        w.conn.send((i, cfg, options, self.streams > 1))
        w.tasks[i] = (cfg, options)
        w.retiring = self.fresh_per_run and len(w.tasks) >= self.streams
        return f"job {self.slot + 1}" + (f", GPU {self.gpu}" if self.gpu is not None else "")

    @staticmethod
    def wait_ended(slots: list[ProcessSlot]) -> list[tuple[int, Outcome]]:
        """Block until a busy slot's process reports; the outcomes of the runs that ended."""
        busy = {s.worker.conn: s for s in slots if s.busy()}
        ended = []
        for conn in wait(list(busy)):
            ended += busy[conn]._receive()
        return ended

    def _receive(self) -> list[tuple[int, Outcome]]:
        w = self.worker
        try:
            i, status, message = w.conn.recv()
        except EOFError:  # the process died: its runs failed, the slot restarts
            w.proc.join()
            w.conn.close()
            self.worker = None
            why = f"its job process died (exit code {w.proc.exitcode})"
            return [(i, Outcome(cfg, run_dir_of(cfg, opts), "failed", why)) for i, (cfg, opts) in w.tasks.items()]
        cfg, opts = w.tasks.pop(i)
        if w.retiring and not w.tasks:
            w.stop()
            self.worker = None
        return [(i, Outcome(cfg, run_dir_of(cfg, opts), status, message))]

    def abort(self) -> None:
        """After Ctrl-C or an error in the parent: the pipe closing tells the job to mark its
        runs interrupted (resumable) and exit; it gets a moment, then is stopped."""
        if self.worker is not None:
            with contextlib.suppress(OSError):
                self.worker.conn.close()

    def reap(self) -> None:
        if self.worker is not None:
            self.worker.proc.join(timeout=10)
            if self.worker.proc.is_alive():
                self.worker.proc.terminate()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
