"""The one scheduler: every suite of runs, whatever its layout, goes through `run_suite`.

Layouts are slots, and the loop is the same for all of them:
- sequential (the default on a CPU): one slot in this process, one run at a time;
- `--streams K`: one slot in this process, K runs interleaved, each on its own CUDA
  stream (interleave.py);
- `--jobs N` (and any suite of CUDA runs): N job-process slots, each training one run at a
  time or K interleaved (jobs.py).

The loop fills every free slot from the pending runs, in order, then waits for runs to
end; a finished run is skipped before any slot sees it; a run's error is
its own "failed" outcome; Ctrl-C (or any error here) stops every slot, whose runs are
marked "failed: interrupted" and stay resumable. One line per run as it ends, and one as
it starts wherever several run at once.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
from pathlib import Path

from ..config import RunConfig, RunOptions
from ..core.record import existing_state
from ..data import reuse_loaded
from ..errors import UsageError
from .interleave import Interleaver
from .jobs import ProcessSlot, gpu_slots
from .one import SKIPPED, Outcome, on_cuda, outcome_line, run_dir_of, run_label


class LocalSlot:
    """Runs trained in this process: one at a time (with its progress bar), or up to
    `streams` interleaved, each on its own CUDA stream."""

    def __init__(self, streams: int, options: RunOptions):
        self.streams = streams
        self.options = options if streams == 1 else options.replace(progress=False)  # bars would interleave
        self.active = Interleaver()
        self._shared = contextlib.ExitStack()
        self._shared.enter_context(reuse_loaded())  # the runs of one dataset load it once

    def free(self) -> bool:
        return len(self.active) < self.streams

    def busy(self) -> bool:
        return len(self.active) > 0

    def start(self, i: int, cfg: RunConfig, out: Path) -> str | None:
        self.active.add(i, cfg, self.options.replace(out=out), own_stream=self.streams > 1)
        return f"{len(self.active)} at once" if self.streams > 1 else None

    @staticmethod
    def wait_ended(slots: list[LocalSlot]) -> list[tuple[int, Outcome]]:
        return [ended for slot in slots for ended in slot.active.advance()]

    def abort(self) -> None:
        self.close()

    def reap(self) -> None:
        pass

    def close(self) -> None:
        self.active.close()
        self._shared.close()


def run_suite(
    configs: list[RunConfig],
    options: RunOptions | None = None,
    *,
    jobs: int = 1,
    streams: int = 1,
    processes: bool | None = None,
    fresh_process_per_run: bool | None = None,
    outs: list[Path] | None = None,
    **changes,
) -> list[Outcome]:
    """Train every config as `options` (with `changes` applied) say; outcomes in config order.

    outs: each run's own output folder (RunOptions.out) in place of `options.out`, so runs
    that share dataset, variant and seed (a sweep's trials) get distinct directories.

    jobs: job-process slots; streams: runs each slot trains at once. processes: train in
    job processes even with jobs=1 (default: when jobs > 1, or for several CUDA runs: on
    CUDA a run's bits depended on what ran before it in the same process, fixed by
    core/cuda/order.py but not yet confirmed on a GPU). fresh_process_per_run (default: CUDA
    runs with one stream) retires a job's process after each run.
    """
    options = (options or RunOptions()).replace(**changes)
    outs = [Path(o) for o in outs] if outs is not None else [options.out] * len(configs)
    if len(outs) != len(configs):
        raise ValueError(f"run_suite: {len(outs)} outs for {len(configs)} configs")
    if jobs < 1:
        raise UsageError(f"jobs must be >= 1, got {jobs}")
    if streams < 1:
        raise UsageError(f"streams must be >= 1, got {streams}")
    if processes is None:
        processes = len(configs) > 1 and (jobs > 1 or on_cuda(configs))
    if not processes:
        return _schedule(configs, outs, options, [LocalSlot(streams, options)])
    if fresh_process_per_run is None:
        fresh_process_per_run = on_cuda(configs) and streams == 1
    n_slots = max(1, min(jobs, -(-len(configs) // streams)))  # no slot that would get no run
    _note_oversubscription(configs, n_slots, options)
    ctx = mp.get_context("spawn")  # fresh interpreters: no torch state, thread pool or CUDA context
    gpus = gpu_slots(configs, n_slots)
    slots = [ProcessSlot(ctx, k, gpus[k], streams, options, fresh_process_per_run) for k in range(n_slots)]
    return _schedule(configs, outs, options, slots)


def _schedule(configs: list[RunConfig], outs: list[Path], options: RunOptions, slots: list) -> list[Outcome]:
    n = len(configs)
    pending = list(zip(range(1, n + 1), configs, outs, strict=True))
    outcomes: dict[int, Outcome] = {}
    folders = {i: folder_label(out, options) for i, out in enumerate(outs, 1)}

    def finish(i: int, outcome: Outcome) -> None:
        outcomes[i] = outcome
        options.echo(outcome_line(run_label(i, n, outcome.cfg, folders[i]), outcome))

    try:
        while pending or any(slot.busy() for slot in slots):
            for slot in slots:
                while pending and slot.free():
                    i, cfg, out = pending.pop(0)
                    skipped = skip_finished(cfg, options.replace(out=out))
                    if skipped is not None:
                        finish(i, skipped)
                        continue
                    where = slot.start(i, cfg, out)
                    if where:
                        options.echo(f"{run_label(i, n, cfg, folders[i])}: started ({where})")
            if any(slot.busy() for slot in slots):
                for i, outcome in type(slots[0]).wait_ended(slots):
                    finish(i, outcome)
    except BaseException:
        for slot in slots:
            slot.abort()
        for slot in slots:
            slot.reap()
        raise
    for slot in slots:
        slot.close()
    return [outcomes[i] for i in range(1, n + 1)]


def folder_label(out: Path, options: RunOptions) -> str:
    """How a run's own output folder is named in its lines: "" for the suite's, else its name."""
    return "" if Path(out) == options.out else Path(out).name


def skip_finished(cfg: RunConfig, options: RunOptions) -> Outcome | None:
    """A finished run's "skipped" outcome, decided before any slot (or process) is spent on
    it; None for every other run, which its slot hands to `one.decide` (lock, config,
    resume checks and their errors are the run's own)."""
    run_dir = run_dir_of(cfg, options)
    if not options.overwrite and existing_state(run_dir, cfg) == "done":
        return Outcome(cfg, run_dir, "skipped", SKIPPED)
    return None


def _note_oversubscription(configs: list[RunConfig], n_slots: int, options: RunOptions) -> None:
    cpu_runs = [c for c in configs if c.device == "cpu"]
    cores = os.cpu_count() or 1
    threads = max((c.cpu_threads for c in cpu_runs), default=1)
    if cpu_runs and n_slots * threads > cores:
        options.echo(
            f"note: {n_slots} jobs x {threads} threads on {cores} cores: "
            "runs will be slower (their results do not change)"
        )
