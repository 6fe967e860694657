"""Checkpoints that survive being killed at any instant.

A checkpoint is written to a temporary file, fsynced, then renamed into place, so a kill
mid-write leaves the previous checkpoints intact. The newest `keep` are kept. Loading
walks from the newest to the oldest and skips any that does not load, reporting why.
"""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

import numpy as np
import torch

from .errors import RunError
from .rundir import atomic_write_bytes

KEEP = 3
_NAME = re.compile(r"^step_(\d{8,})\.pt$")


def checkpoint_path(directory: Path, step: int) -> Path:
    return directory / f"step_{step:08d}.pt"


def list_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """(step, path) of every checkpoint file, newest first."""
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found, reverse=True)


def rng_state(train_generator: torch.Generator) -> dict:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch_cpu": torch.get_rng_state(),
        "train_generator": train_generator.get_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["torch_cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, train_generator: torch.Generator) -> None:
    # Generator states are CPU byte tensors, whatever the generator's device; a checkpoint
    # loaded with map_location="cuda" hands them back on the GPU, which set_state refuses.
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch_cpu"].cpu())
    train_generator.set_state(state["train_generator"].cpu())
    if "torch_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["torch_cuda"]])


def save(directory: Path, step: int, payload: dict, keep: int = KEEP) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({"step": step, **payload}, buffer)
    path = checkpoint_path(directory, step)
    atomic_write_bytes(path, buffer.getvalue())
    for _, old in list_checkpoints(directory)[keep:]:
        old.unlink(missing_ok=True)
    return path


def load_latest(directory: Path, map_location: str | torch.device = "cpu", warn=print) -> dict | None:
    """The newest checkpoint that loads, or None if there is none at all.

    A truncated or corrupt file is reported through `warn` and the next older one tried.
    If checkpoints exist but none loads, that is an error: resuming from scratch would
    silently throw work away.
    """
    candidates = list_checkpoints(directory)
    if not candidates:
        return None
    for step, path in candidates:
        try:
            state = torch.load(path, map_location=map_location, weights_only=False)
            if not isinstance(state, dict) or state.get("step") != step:
                raise ValueError("unexpected contents")
            return state
        except Exception as exc:  # torch raises several types for truncated zip archives
            warn(f"checkpoint {path} is unreadable ({type(exc).__name__}); trying an older one")
    raise RunError(
        f"no intact checkpoint in {directory} (all {len(candidates)} are corrupt); "
        "delete the run directory to start over"
    )
