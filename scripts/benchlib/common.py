"""What every bench script has: the clock, each side's torch settings, the shared flags,
the environment header and the JSON file."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from ganbench import provenance
from ganbench.config import resolve_device
from ganbench.errors import UsageError
from ganbench.runs.plan import VARIANTS, get_variant, variant_names

from .reference import check_reference


@contextlib.contextmanager
def torch_flags(deterministic: bool):
    """Each side runs under its own settings: the core as ganbench runs it (deterministic
    kernels), the reference with torch's defaults, as a tutorial would."""
    saved = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic)
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    torch.backends.cudnn.deterministic = deterministic
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=True)
        torch.backends.cudnn.deterministic = saved[1]


def timed(fn, n: int, device: torch.device) -> float:
    """Seconds for fn(n), device work included."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    fn(n)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t0


# --- flags ---------------------------------------------------------------------------
def add_common_args(p: argparse.ArgumentParser) -> None:
    """The flags of both sides of every measurement: where, what, and how the reference loads."""
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated (default: all)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1, help="torch threads, both sides (default 1, as ganbench runs)")
    p.add_argument(
        "--ref-workers", type=int, default=2, help="the reference DataLoader's num_workers (the tutorial uses 2)"
    )
    p.add_argument("--no-cuda-graph", action="store_true", help="time the core's eager step on CUDA")
    p.add_argument("--data-root", type=Path, default=None, help="folder with MNIST/raw (default $GANBENCH_DATA)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")


def check_common_args(p: argparse.ArgumentParser, args, positive: tuple[str, ...] = ()) -> None:
    """Check the shared flags and those named in `positive` (>= 1) in place; resolve the
    device and the variant names, and refuse now a variant the reference cannot train."""
    for key in ("batch_size", "threads", *positive):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be >= 1")
    if args.ref_workers < 0:
        p.error("--ref-workers must be >= 0")
    try:
        args.variants, args.device = variant_names(args.variants), resolve_device(args.device)
        for name in args.variants:
            check_reference(get_variant(name))
    except UsageError as exc:
        p.error(str(exc))


# --- what ran where ------------------------------------------------------------------
def environment(args) -> dict:
    """ganbench's provenance record, with this command and the reference's loader workers."""
    return {
        "command": shlex.join([sys.executable, *sys.argv]),
        **provenance.environment(args.device),
        "reference_loader_workers": args.ref_workers,
    }


def print_environment(env: dict) -> None:
    """One `# key: value` line each; each library's version on its own line."""
    for key, value in env.items():
        if key == "versions":
            for lib, version in value.items():
                print(f"# {lib}: {version}")
        elif key == "git":
            print(f"# ganbench_git: {value['commit']}{' (uncommitted changes)' if value['dirty'] else ''}")
        else:
            print(f"# {key}: {value}")


def write_json(path: Path | None, report: dict) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")
