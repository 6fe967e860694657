"""What produced a result: library versions, the code's git commit, the machine."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import torch

LIBRARIES = (
    "ganbench",
    "torch",
    "torchvision",
    "torch-fidelity",
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "click",
)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def git_commit() -> dict:
    """The commit of the ganbench source tree, and whether it had uncommitted changes.

    Looked up from the package's own folder, so an editable install reports the checkout
    it runs from; a wheel install outside any checkout reports None.
    """
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        return {"commit": commit, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name ("Intel(R) Xeon(R) ..."), from /proc/cpuinfo on Linux; else
    what `platform` knows. A CPU speed figure means little without it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: str = "cpu") -> dict:
    return {
        "versions": {lib: _version(lib) for lib in LIBRARIES},
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": device,
        "device_name": device_name(device),
        "cuda": torch.version.cuda if device.startswith("cuda") else None,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "git": git_commit(),
    }
