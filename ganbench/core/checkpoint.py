"""Checkpoints that survive being killed at any instant.

A checkpoint is written to a temporary file, fsynced, then renamed into place, so a kill
mid-write leaves the previous checkpoints intact. The newest `keep` are kept. Loading
walks from the newest to the oldest and skips any that does not load, reporting why.

Run directories are shared between people and machines, so a checkpoint is untrusted
input: it is loaded with `weights_only=True`, which unpickles tensors and plain Python
types and nothing that can run code. Everything saved is kept to those types (numpy's
RNG state becomes a dict holding a tensor). Checkpoints written before that held numpy's
state as an ndarray; the three numpy globals that rebuild an array are allow-listed so
they still resume. A file that is not a ganbench checkpoint is treated as a corrupt one.
"""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

import numpy as np
import torch

from ..errors import RunError
from ..rundir import atomic_write_bytes

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


# What a checkpoint must hold, with the type of each part: anything else is not ours.
_REQUIRED = {"step": int, "trainer": dict, "rng": dict, "config": dict}

# Only for checkpoints written before numpy's RNG state was stored as a tensor: the globals
# that rebuild a plain ndarray (no code runs; object arrays still go through the same
# restricted unpickler for their items).
_LEGACY_NUMPY_GLOBALS = [np.ndarray, np.dtype, type(np.dtype(np.uint32))]
try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct
_LEGACY_NUMPY_GLOBALS.append(_reconstruct)


def _numpy_state() -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "kind": kind,
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }


def _set_numpy_state(state) -> None:
    if isinstance(state, dict):
        keys = state["keys"].cpu().numpy().astype(np.uint32)
        state = (state["kind"], keys, state["pos"], state["has_gauss"], state["cached_gaussian"])
    np.random.set_state(state)


def rng_state(train_generator: torch.Generator) -> dict:
    state = {
        "python": random.getstate(),
        "numpy": _numpy_state(),
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
    _set_numpy_state(state["numpy"])
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


def save_run(directory: Path, trainer, cfg, timing: dict) -> Path:
    """A full checkpoint of a run: nets, optimisers, every RNG state, the config, timings."""
    payload = {"trainer": trainer.state_dict(), "rng": rng_state(trainer.gens.train), "config": cfg.to_dict()}
    return save(directory, trainer.step, {**payload, "timing": timing})


def write_weights(run_path: Path, trainer) -> None:
    """The final generator.pt and discriminator.pt (state dicts), each written atomically."""
    for name, net in (("generator.pt", trainer.g), ("discriminator.pt", trainer.d)):
        buffer = io.BytesIO()
        torch.save(net.state_dict(), buffer)
        atomic_write_bytes(run_path / name, buffer.getvalue())


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
            return _load_one(path, step, map_location)
        except Exception as exc:  # torch raises several types for truncated zip archives
            why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
            warn(f"checkpoint {path} is unreadable or not a ganbench checkpoint ({why[:200]}); trying an older one")
    raise RunError(
        f"no intact checkpoint in {directory} (all {len(candidates)} are corrupt); "
        "delete the run directory to start over"
    )


def _load_one(path: Path, step: int, map_location) -> dict:
    """One checkpoint, loaded without running any code it may carry, and checked for shape."""
    with torch.serialization.safe_globals(_LEGACY_NUMPY_GLOBALS):
        state = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(state, dict):
        raise ValueError("not a dict")
    for key, kind in _REQUIRED.items():
        if not isinstance(state.get(key), kind):
            raise ValueError(f"no {key!r} of type {kind.__name__}")
    if state["step"] != step:
        raise ValueError(f"holds step {state['step']}, named step {step}")
    return state
