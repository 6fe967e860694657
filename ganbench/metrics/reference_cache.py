"""Reference statistics for mnist_fid (mu, sigma) and for mnist_density/mnist_coverage (the
features and their k = 5 radii), computed once per (dataset, split, images, classifier).

Kept in memory for the process and on disk under <cache>/classifier/, keyed by the
dataset, its reference split, the image count, a digest of the images themselves and the
classifier's sha256, so a suite of runs classifies the 10,000 reference images once. (The
Inception reference features are cached by torch-fidelity itself under a key made the same
way; see fidelity.reference_cache_name.)
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from ..data import Dataset
from ..rundir import atomic_write_bytes
from .classes import reference_statistics
from .classifier import expected_sha256
from .digest import reference_key
from .prdc import NEAREST_K

_MEMORY: dict[str, dict] = {}


def cache_key(data: Dataset) -> str:
    return f"{reference_key(data.name, data.reference_split, data.reference)}-c{expected_sha256()[:12]}"


STATS = ("mu", "sigma", "features", "radii")


def classifier_reference_stats(data: Dataset, cache_dir: Path, device: str = "cpu") -> dict:
    """{"mu": (D,), "sigma": (D, D), "features": (N, D), "radii": (N,)} of the reference
    images' classifier features (a reference of 5 images or fewer has no features/radii)."""
    key = cache_key(data)
    if key in _MEMORY:
        return _MEMORY[key]
    path = cache_dir / "classifier" / f"{key}.npz"
    try:
        with np.load(path) as f:
            stats = {name: f[name] for name in STATS if name in f or name in ("mu", "sigma")}
        if len(stats) < len(STATS) and len(data.reference) > NEAREST_K:
            raise KeyError("written before density/coverage")
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):  # missing, damaged or older: recompute
        stats = reference_statistics(data.reference, device)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, **stats)
        atomic_write_bytes(path, buffer.getvalue())
    _MEMORY[key] = stats
    return stats
