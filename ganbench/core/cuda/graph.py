"""The whole training step as one CUDA graph, captured once and replayed.

Why: the benchmark's nets are small, so on a GPU an eager step is mostly Python and
kernel-launch overhead (hundreds of small kernels, each launched from Python). A CUDA
graph records the step's kernels once and replays them with one launch.

How (PyTorch's "whole-network capture"):
1. Warm-up: the first `WARMUP_STEPS` steps run eagerly on a side stream. They are real
   training steps (they count, and draw the same random numbers as any step). They
   create what PyTorch makes lazily and a capture cannot: the optimisers' state (Adam's
   moments, SGD's momentum buffers), cuBLAS/cuDNN handles and workspaces on that stream.
2. Capture: one call of the step function (every critic update with its penalty and
   double backward, the generator update, the optimiser steps, data indices and noise
   drawn on the device) is recorded on the side stream, not executed. The run's own
   `torch.Generator` is registered with the graph, so each replay advances its Philox
   offset by exactly what an eager step would: replays draw the same numbers as eager
   steps from the same state, and `generator.get_state()` after replays is the state a
   checkpoint needs.
3. Replay: every later step is one `graph.replay()` on the current stream.

What the graph touches must stay at the same address for its life: parameters and
buffers (`nn.Module.load_state_dict` copies into them, fine), the optimisers' state
(`Optimizer.load_state_dict` *replaces* those tensors, so the trainer drops its graph
when it loads a checkpoint; the next steps warm up and capture again), the device-side
loss sums (only ever updated in place) and the dataset tensor.

Limits of the captured step: its Python control flow is frozen at capture (n_critic,
g_steps, pack, simultaneous or alternating, the penalty branch); it must not synchronise
with the host (`.item()`, printing a tensor, data-dependent shapes); shapes are static
(one batch size).

If capture fails (a step that breaks one of these rules, an op with no capture support),
the run goes on eagerly and says why (`mode` / `reason`, written to status.json by the
training loop). A failed capture ran no kernel, so weights and optimiser state are
untouched; the training generator is replaced by a fresh one holding the state saved just
before the attempt, so the eager steps continue the exact random stream.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable

import torch

# PyTorch's examples warm up for 3 iterations before capturing; that is enough for lazy
# state (optimiser moments, library handles) to exist.
WARMUP_STEPS = 3

StepFn = Callable[[], None]


def capture_cuda_graph(step_fn: StepFn, generator: torch.Generator, stream: torch.cuda.Stream) -> StepFn:
    """Record one call of `step_fn` as a CUDA graph on `stream`; return its replay."""
    graph = torch.cuda.CUDAGraph()
    # Before capture_begin: registering allocates the generator's graph-side seed and
    # offset tensors, which must not happen inside the capture.
    graph.register_generator_state(generator)
    stream.wait_stream(torch.cuda.current_stream(stream.device))
    with torch.cuda.graph(graph, stream=stream):
        step_fn()
    torch.cuda.current_stream(stream.device).wait_stream(stream)
    return graph.replay


@contextlib.contextmanager
def _quiet_capturable_warning():
    """Adam built with capturable=True warns when it steps outside a capture; the warm-up
    does so on purpose."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*capturable=True.*")
        yield


class GraphedStep:
    """Runs a training step: eagerly for the warm-up, then as replays of one CUDA graph.

    `holder.train` is the run's training generator (an object with a `train` attribute,
    such as `seeding.Generators`); it is read at capture time and replaced on a failed
    capture. `capture` is the capture function; tests pass a stand-in to check the
    warm-up, counting and fallback logic on a CPU.
    """

    def __init__(
        self,
        step_fn: StepFn,
        holder,
        device: torch.device,
        warmup: int = WARMUP_STEPS,
        capture: Callable[[StepFn, torch.Generator, torch.cuda.Stream | None], StepFn] | None = None,
        around_step: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    ):
        self.step_fn, self.holder, self.device, self.warmup = step_fn, holder, device, warmup
        self.around_step = around_step  # entered around each eager step and around the capture
        self._capture = capture or capture_cuda_graph
        self.stream = torch.cuda.Stream(device) if device.type == "cuda" else None
        self.warmed = 0  # eager warm-up steps done
        self.replay: StepFn | None = None
        self.failure: str | None = None  # why the graph is not used, once capture failed

    @property
    def mode(self) -> str:
        """`cuda-graph` (warming up or replaying), or `eager` once a capture failed."""
        return "eager" if self.failure else "cuda-graph"

    def run(self, n: int) -> None:
        done = 0
        if self.replay is None and self.failure is None:
            k = min(n, self.warmup - self.warmed)
            if k > 0:
                self._warm_up(k)
                done = k
            if self.warmed >= self.warmup:
                self._try_capture()
        step = self.replay or self._eager_step  # eager: a capture that failed
        for _ in range(n - done):
            step()

    def _eager_step(self) -> None:
        with self.around_step():
            self.step_fn()

    def _side_stream(self):
        if self.stream is None:
            return contextlib.nullcontext()
        return torch.cuda.stream(self.stream)

    def _warm_up(self, k: int) -> None:
        if self.stream is not None:
            self.stream.wait_stream(torch.cuda.current_stream(self.device))
        with self._side_stream(), _quiet_capturable_warning():
            for _ in range(k):
                self._eager_step()
        if self.stream is not None:
            torch.cuda.current_stream(self.device).wait_stream(self.stream)
        self.warmed += k

    def _try_capture(self) -> None:
        generator = self.holder.train
        saved = generator.get_state()
        try:
            with self.around_step():  # outside the capture: it may launch kernels of its own
                self.replay = self._capture(self.step_fn, generator, self.stream)
        except Exception as exc:  # any failure: train on eagerly, and say why
            first_line = (str(exc).strip().splitlines() or [""])[0][:200]
            self.failure = f"CUDA graph capture failed ({type(exc).__name__}: {first_line}); training eagerly"
            fresh = torch.Generator(device=generator.device)
            fresh.set_state(saved)
            self.holder.train = fresh
            if self.device.type == "cuda":
                with contextlib.suppress(Exception):
                    torch.cuda.synchronize(self.device)
