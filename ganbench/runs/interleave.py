"""Several runs trained at once in one process: `ganbench run ... --streams K`.

Why: on a GPU the benchmark's steps are small. One replayed CUDA graph of a step leaves
most of an H100 idle, and separate processes sharing a GPU take turns on it (time-slicing)
unless NVIDIA MPS is running. Kernels queued on different CUDA streams of one process can
run side by side, so K runs in one process, each on its own stream, keep the GPU busier
with no daemon to start.

How: each run is its training loop as a generator (`one.run_one_steps`, built on
`core.loop.train_steps`), which yields each time it has queued a stretch of steps (up to the
next log, eval or checkpoint boundary) and before it reads their losses. The driver
advances the runs in turn, each under its own stream, so the other runs' queued steps are
on the GPU while the host serves one. A host sync such as reading losses waits for the
run's own stream only. On CUDA the driver marks the end of each queued stretch with an
event and advances only runs whose stretch has finished, so a slow run (one with five
critic steps) does not hold up the host while faster runs' streams sit idle.

What stays the same as a run alone:
- The numbers. Each run draws from its own generators, and the global RNG is used only
  while a run seeds and builds its nets, which happens in one turn with nothing else in
  between. On a CPU an interleaved run is bit-for-bit the run alone (tested). On CUDA the
  steps' kernels are the same ones on another stream, and the eager warm-up steps that
  create autograd nodes run under the backward-order guard (core/cuda/order.py), whose CUDA
  test has yet to run on a GPU.
- Everything around a run: locks, resume, skip, config checks, checkpoints, status files.
  A run that fails or diverges ends alone; the others go on. Ctrl-C closes every run, which
  marks each "failed: interrupted" and keeps its checkpoints for a resume.

What differs: a run's `train_time_s` and `steps_per_s` are its wall time, shared with the
runs it was interleaved with. On a CPU nothing runs side by side: the runs take turns, and
only a GPU gains from K > 1.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Generator, Hashable
from dataclasses import dataclass

import torch

from ..config import RunConfig, RunOptions
from .one import Outcome, failed_outcome, run_one_steps


@dataclass
class _Run:
    key: Hashable
    cfg: RunConfig
    options: RunOptions
    steps: Generator
    stream: object | None  # a torch.cuda.Stream on CUDA
    queued: object | None = None  # on CUDA, an event recorded after the last queued stretch

    def ready(self) -> bool:
        """Whether advancing it would not wait for the device."""
        return self.queued is None or self.queued.query()


def _stream_for(cfg: RunConfig):
    return torch.cuda.Stream(torch.device(cfg.device)) if cfg.device.startswith("cuda") else None


# How long the driver sleeps when every run's stretch is still on the device.
POLL_S = 2e-4


class Interleaver:
    """Runs in progress in this process, advanced one stretch of steps each in turn."""

    def __init__(self) -> None:
        self.runs: list[_Run] = []

    def __len__(self) -> int:
        return len(self.runs)

    def add(self, key: Hashable, cfg: RunConfig, options: RunOptions, own_stream: bool = True) -> None:
        """Start training `cfg` as `options` say; on CUDA on a stream of its own unless
        `own_stream` is False (one run at a time needs none)."""
        steps = run_one_steps(cfg, options)
        self.runs.append(_Run(key, cfg, options, steps, _stream_for(cfg) if own_stream else None))

    def advance(self) -> list[tuple[Hashable, Outcome]]:
        """Advance by one stretch every run whose last stretch has finished on the device
        (on a CPU: every run), waiting until there is one; return the (key, outcome) of
        those that ended."""
        ready = [run for run in self.runs if run.ready()]
        while self.runs and not ready:
            time.sleep(POLL_S)
            ready = [run for run in self.runs if run.ready()]
        ended = []
        for run in ready:
            outcome = self._advance(run)
            if outcome is not None:
                self.runs.remove(run)
                ended.append((run.key, outcome))
        if ended:
            gc.collect()  # free the finished runs' tensors (and CUDA graph pools) now
        return ended

    def _advance(self, run: _Run) -> Outcome | None:
        ctx = torch.cuda.stream(run.stream) if run.stream is not None else contextlib.nullcontext()
        try:
            with ctx:
                next(run.steps)
                if run.stream is not None:
                    run.queued = torch.cuda.Event()
                    run.queued.record(run.stream)
        except StopIteration as stop:
            return stop.value
        except Exception as exc:  # this run's error is its own "failed" outcome
            return failed_outcome(run.cfg, run.options, exc)
        return None

    def close(self) -> None:
        """Stop every run still in progress (each is marked "failed: interrupted")."""
        for run in self.runs:
            with contextlib.suppress(Exception):
                run.steps.close()
        self.runs.clear()
