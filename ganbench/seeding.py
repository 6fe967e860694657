"""Determinism in one place.

`seed_everything` is called once, first, by every entry point that trains. Training draws
its data indices and noise from its own `torch.Generator` (see `Generators`), and metric
sampling and sample grids draw from another, so evaluating a model never shifts the
training stream.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed python, numpy and torch (CPU and every CUDA device).

    With `deterministic`, ask torch for deterministic kernels. On CUDA, cuBLAS needs a
    fixed workspace for that; the variable must be set before cuBLAS is first used, which
    is why this runs before any model is built.
    """
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    _use_deterministic_algorithms(deterministic)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.deterministic = deterministic
        torch.backends.cudnn.benchmark = not deterministic


def _use_deterministic_algorithms(mode: bool) -> None:
    """`torch.use_deterministic_algorithms(mode, warn_only=True)` without its import of
    torch._inductor (1.3 to 1.9 s on a 2-core CPU, paid by every process that trains: on
    CUDA, every run). That import only serves to set inductor's own flag, which matters
    to torch.compile; ganbench compiles nothing, and the flag is still set when inductor
    was imported already.
    """
    set_flag = getattr(torch._C, "_set_deterministic_algorithms", None)
    if set_flag is None or "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(mode, warn_only=True)
    else:
        set_flag(mode, warn_only=True)


# Offsets that separate the streams of one run. They are arbitrary but fixed forever:
# changing one changes every published number.
_TRAIN_STREAM = 0
_EVAL_STREAM = 1_000_003
_DATA_STREAM = 2_000_029  # a generated dataset's fixed training set (RunConfig.train_size)


@dataclass
class Generators:
    """The per-purpose random streams of one run.

    train: data indices, noise and penalty interpolation inside the training step; lives
           on the training device so the step never touches the host.
    eval:  noise for metrics and sample grids. Seeded from `eval_seed` alone, not from the
           training seed, so every variant and seed is scored on the same latent draws.
    """

    train: torch.Generator
    eval_seed: int

    @classmethod
    def create(cls, seed: int, eval_seed: int, device: torch.device) -> Generators:
        train = torch.Generator(device=device)
        train.manual_seed(seed + _TRAIN_STREAM)
        return cls(train=train, eval_seed=eval_seed)

    def eval(self, device: torch.device | str = "cpu") -> torch.Generator:
        """A fresh generator for one evaluation: the same draws every time it is asked for."""
        return eval_generator(self.eval_seed, device)


def eval_generator(eval_seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """The evaluation stream for `eval_seed`, for callers that hold no `Generators`."""
    gen = torch.Generator(device=device)
    gen.manual_seed(eval_seed + _EVAL_STREAM)
    return gen


def data_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """The stream a run's fixed training set is drawn from: seeded by the run's seed, apart
    from the training stream, so the set does not depend on anything else the run draws."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed + _DATA_STREAM)
    return gen
