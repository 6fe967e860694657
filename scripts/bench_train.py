#!/usr/bin/env python
"""Training speed: ganbench's core against a tutorial-style PyTorch loop, in one process.

For each variant, on the same device, batch size and models, this times
  (a) the reference: a loop written the way the PyTorch DCGAN tutorial writes it: a
      torch DataLoader over torchvision's MNIST Dataset with per-item transforms
      (ToTensor + Normalize), fp32, and a loss `.item()` every step; the variant's loss,
      n_critic and penalty written out inline;
  (b) ganbench's core: `Trainer.run_steps` (data resident on the device, losses summed on
      the device and read once per timed block; on CUDA the whole step as one CUDA graph
      unless --no-cuda-graph),
and prints steps/s of each and the ratio core/reference. The two sides alternate block by
block, so a neighbour's load on a shared machine hits both; figures are medians over
--repeats blocks of --steps generator steps each, after --warmup steps, with
torch.cuda.synchronize() before every clock read on CUDA. Both sides use the same torch
thread count (--threads) on a CPU.

`--suite` instead times a whole `ganbench run --all --dataset mnist --seeds 0,1,2 --jobs N
--streams K` (a subprocess, wall clock) against the reference loop run for the same 15 runs
one after another, and prints the aggregate throughput ratio. `--layouts 8x1,1x15` times
several (jobs, streams) layouts against one measurement of the reference.

    python scripts/bench_train.py --device cpu --steps 20 --repeats 5
    python scripts/bench_train.py --device cuda --steps 500 --repeats 7
    python scripts/bench_train.py --device cuda --suite --jobs 8 --suite-steps 2000
    python scripts/bench_train.py --device cuda --suite --layouts 8x1,1x15,3x5 --suite-steps 1000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchlib.reference import ReferenceLoop, architecture, check_reference, n_params
from ganbench import provenance
from ganbench.config import RunConfig, resolve_device
from ganbench.core.step import Trainer
from ganbench.data import load_dataset
from ganbench.errors import UsageError
from ganbench.report.results import find_run_dirs
from ganbench.rundir import RunDir
from ganbench.runs.plan import VARIANTS, get_variant, resolve, variant_names
from ganbench.seeding import seed_everything


# --- (b) the core --------------------------------------------------------------------
class CoreLoop:
    def __init__(self, cfg: RunConfig, data_root):
        seed_everything(cfg.seed, cfg.deterministic)
        data = load_dataset("mnist", data_root, cfg.device)
        self.trainer = Trainer(cfg, get_variant(cfg.variant), data)

    def run(self, n: int) -> None:
        self.trainer.run_steps(n)
        self.trainer.read_losses()  # one host sync per block, as the training loop does per log


# --- timing --------------------------------------------------------------------------
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


def bench_variant(name: str, args, device: str) -> dict:
    cfg = resolve(
        RunConfig(
            variant=name,
            dataset="mnist",
            batch_size=args.batch_size,
            device=device,
            cpu_threads=args.threads,
            cuda_graph=not args.no_cuda_graph,
        )
    )
    dev = torch.device(cfg.device)
    with torch_flags(False):
        ref = ReferenceLoop(cfg, get_variant(name), args.data_root, args.ref_workers)
    with torch_flags(cfg.deterministic):
        core = CoreLoop(cfg, args.data_root)
    same = architecture(ref.g) == architecture(core.trainer.g) and architecture(ref.d) == architecture(core.trainer.d)
    sides = {"reference": (ref.run, False), "core": (core.run, cfg.deterministic)}
    for fn, det in sides.values():  # warm-up: allocator, kernels, the core's graph capture
        with torch_flags(det):
            timed(fn, args.warmup, dev)
    rates: dict[str, list[float]] = {k: [] for k in sides}
    for _ in range(args.repeats):  # alternate, so load from neighbours hits both sides
        for key, (fn, det) in sides.items():
            with torch_flags(det):
                rates[key].append(args.steps / timed(fn, args.steps, dev))
    ref.close()
    ref_rate, core_rate = statistics.median(rates["reference"]), statistics.median(rates["core"])
    return {
        "variant": name,
        "n_critic": cfg.n_critic,
        "same_models": same,
        "g_params": n_params(core.trainer.g),
        "d_params": n_params(core.trainer.d),
        "reference_steps_per_s": ref_rate,
        "core_steps_per_s": core_rate,
        "ratio": core_rate / ref_rate,
        "reference_all": rates["reference"],
        "core_all": rates["core"],
        "core_step_mode": core.trainer.step_mode,
    }


# --- the whole suite -----------------------------------------------------------------
def parse_layouts(text: str) -> list[tuple[int, int]]:
    """The pairs (jobs, streams) written as JOBSxSTREAMS, such as 8x1,1x15."""
    layouts = []
    for item in text.split(","):
        jobs, sep, streams = item.strip().lower().partition("x")
        if not sep or not jobs.isdigit() or not streams.isdigit() or int(jobs) < 1 or int(streams) < 1:
            raise ValueError(f"{item.strip()!r} is not JOBSxSTREAMS (such as 8x1 or 1x15)")
        layouts.append((int(jobs), int(streams)))
    return layouts


def suite_command(args, device: str, names: list[str], jobs: int, streams: int) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "ganbench",
        "run",
        *names,
        "--dataset",
        "mnist",
        "--seeds",
        args.seeds,
        "--steps",
        str(args.suite_steps),
        "--batch-size",
        str(args.batch_size),
        "--device",
        device,
        "--cpu-threads",
        str(args.threads),
        "--jobs",
        str(jobs),
        "--streams",
        str(streams),
        "--no-progress",
        # The reference computes no metrics; the suite still scores every run with the MNIST
        # classifier (in its wall time), but not with Inception, whose 10,000-sample FID would
        # time the extractor rather than training.
        "--no-inception",
    ]
    if args.no_cuda_graph:
        cmd.append("--no-cuda-graph")
    if args.data_root:
        cmd += ["--data-root", str(args.data_root)]
    return cmd


def time_suite(args, device: str, names: list[str], jobs: int, streams: int, n_runs: int) -> dict:
    cmd = suite_command(args, device, names, jobs, streams)
    with tempfile.TemporaryDirectory(prefix="gb-bench-") as out:
        t0 = time.perf_counter()
        proc = subprocess.run([*cmd, "--out", out], capture_output=True, text=True)
        suite_s = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"the suite failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
        breakdown = suite_breakdown(Path(out), suite_s, min(jobs * streams, n_runs))
    return {
        "jobs": jobs,
        "streams": streams,
        "suite_command": shlex.join(cmd + ["--out", "<tmp>"]),
        "suite_wall_s": suite_s,
        "suite_steps_per_s": n_runs * args.suite_steps / suite_s,
        "breakdown": breakdown,
    }


def bench_suite(args, device: str, names: list[str]) -> dict:
    """Each layout (jobs x streams) of the suite, then the reference once: one measurement
    of the reference serves every layout's ratio."""
    seeds = [int(s) for s in args.seeds.split(",")]
    n_runs = len(names) * len(seeds)
    layouts = [time_suite(args, device, names, j, k, n_runs) for j, k in args.layouts]
    # The reference: the same runs one after another, each from scratch (dataset, loader,
    # models), as a script looping over variants and seeds would do.
    dev = torch.device(device)
    t0 = time.perf_counter()
    for name in names:
        for seed in seeds:
            torch.manual_seed(seed)
            cfg = resolve(
                RunConfig(variant=name, dataset="mnist", seed=seed, batch_size=args.batch_size, device=device)
            )
            with torch_flags(False):
                ref = ReferenceLoop(cfg, get_variant(name), args.data_root, args.ref_workers)
                ref.run(args.suite_steps)
                ref.close()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    ref_s = time.perf_counter() - t0
    for layout in layouts:
        layout["ratio"] = ref_s / layout["suite_wall_s"]
    return {
        "runs": n_runs,
        "steps_per_run": args.suite_steps,
        "reference_wall_s": ref_s,
        "reference_steps_per_s": n_runs * args.suite_steps / ref_s,
        "layouts": layouts,
    }


def suite_breakdown(out: Path, wall_s: float, slots: int) -> dict:
    """Where the suite's time went, from each run's status.json.

    Job-slot time is slots (jobs x streams) x wall time. Training and evaluation are what
    the runs timed themselves (summed over runs); the rest is process and CUDA start-up,
    data loading, checkpoints, sample grids, and slots left idle at the end. With streams,
    a run's training time is its wall time while it shared the process with the others. Steps/s inside the suite,
    against the same variant alone, shows what the runs lost to sharing the device.
    """
    runs = [(path.parent.name, RunDir.at(path).read_status()) for path in find_run_dirs(out)]  # (variant, status)
    statuses = [st for _, st in runs]
    train_s = sum(st["train_time_s"] for st in statuses)
    eval_s = sum(st["eval_time_s"] for st in statuses)
    per_variant: dict[str, list[float]] = {}
    for variant, st in runs:
        per_variant.setdefault(variant, []).append(st["steps_per_s"])
    return {
        "runs": len(statuses),
        "slot_s": slots * wall_s,
        "train_s": train_s,
        "eval_s": eval_s,
        "other_s": slots * wall_s - train_s - eval_s,
        "steps_per_s_in_suite": {v: statistics.median(x) for v, x in per_variant.items()},
    }


# --- main ----------------------------------------------------------------------------
def environment(device: str, args) -> dict:
    import torchvision

    dev = torch.device(device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else (platform.processor() or platform.machine())
    return {
        "command": shlex.join([sys.executable, *sys.argv]),
        "device": device,
        "device_name": name,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "reference_loader_workers": args.ref_workers,
        "ganbench_git": provenance.git_commit(),
    }


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--steps", type=int, default=50, help="generator steps per timed block")
    p.add_argument("--repeats", type=int, default=5, help="timed blocks per side (median reported)")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps per side first")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated (default: all)")
    p.add_argument("--threads", type=int, default=1, help="torch threads, both sides (default 1, as ganbench runs)")
    p.add_argument(
        "--ref-workers", type=int, default=2, help="the reference DataLoader's num_workers (the tutorial uses 2)"
    )
    p.add_argument("--no-cuda-graph", action="store_true", help="time the core's eager step on CUDA")
    p.add_argument("--data-root", type=Path, default=None, help="folder with MNIST/raw (default $GANBENCH_DATA)")
    p.add_argument("--suite", action="store_true", help="time a whole run --all against the reference, run by run")
    p.add_argument("--jobs", type=int, default=2, help="--jobs for the suite")
    p.add_argument("--streams", type=int, default=1, help="--streams for the suite (runs per job at once)")
    p.add_argument(
        "--layouts",
        default=None,
        help="several suite layouts JOBSxSTREAMS, comma-separated (such as 8x1,1x15), each timed "
        "against one measurement of the reference (default: --jobs x --streams)",
    )
    p.add_argument("--seeds", default="0,1,2", help="seeds for the suite")
    p.add_argument("--suite-steps", type=int, default=200, help="steps per run in the suite")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    for key in ("steps", "repeats", "batch_size", "threads", "jobs", "streams", "suite_steps"):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be >= 1")
    if args.warmup < 0 or args.ref_workers < 0:
        p.error("--warmup and --ref-workers must be >= 0")
    try:
        args.layouts = parse_layouts(args.layouts) if args.layouts else [(args.jobs, args.streams)]
    except ValueError as exc:
        p.error(f"--layouts: {exc}")
    try:
        args.variants, args.device = variant_names(args.variants), resolve_device(args.device)
        for name in args.variants:
            check_reference(get_variant(name))
    except UsageError as exc:
        p.error(str(exc))
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    device, names = args.device, args.variants
    torch.set_num_threads(args.threads)
    env = environment(device, args)
    for key, value in env.items():
        print(f"# {key}: {value}")
    report: dict = {"environment": env}
    if args.suite:
        s = bench_suite(args, device, names)
        report["suite"] = s
        print(
            f"reference, the {s['runs']} runs x {s['steps_per_run']} steps one after another: "
            f"{s['reference_wall_s']:.1f} s ({s['reference_steps_per_s']:.1f} steps/s)"
        )
        for lay in s["layouts"]:
            b, slots = lay["breakdown"], min(lay["jobs"] * lay["streams"], s["runs"])
            print(f"# suite: {lay['suite_command']}")
            print(
                f"suite --jobs {lay['jobs']} --streams {lay['streams']}: {lay['suite_wall_s']:.1f} s "
                f"({lay['suite_steps_per_s']:.1f} steps/s)"
            )
            print(
                f"# job-slot time {b['slot_s']:.1f} s ({slots} slots x {lay['suite_wall_s']:.1f} s): "
                f"training {b['train_s']:.1f} s, evaluation {b['eval_s']:.1f} s (summed over {b['runs']} runs), "
                f"the rest {b['other_s']:.1f} s (start-up, data, checkpoints, samples, idle slots)"
            )
            print(
                "# median steps/s of a run inside the suite: "
                + ", ".join(f"{v} {x:.1f}" for v, x in b["steps_per_s_in_suite"].items())
            )
            print(
                f"suite ratio (aggregate throughput, suite/reference), --jobs {lay['jobs']} --streams "
                f"{lay['streams']}: {lay['ratio']:.2f}x"
            )
    else:
        print(
            f"# {args.repeats} blocks of {args.steps} steps per side after {args.warmup} warm-up steps, "
            f"batch {args.batch_size}"
        )
        print(f"{'variant':<9} {'models':<8} {'reference st/s':>15} {'core st/s':>10} {'ratio':>7}  core step")
        rows = []
        for name in names:
            r = bench_variant(name, args, device)
            rows.append(r)
            print(
                f"{name:<9} {'same' if r['same_models'] else 'DIFFER':<8} {r['reference_steps_per_s']:>15.2f} "
                f"{r['core_steps_per_s']:>10.2f} {r['ratio']:>6.2f}x  {r['core_step_mode']}",
                flush=True,
            )
        report["variants"] = rows
        geo = math.exp(statistics.mean(math.log(r["ratio"]) for r in rows))
        listing = ", ".join(f"{r['variant']} {r['ratio']:.2f}x" for r in rows)
        print(f"ratio core/reference: {listing} (geomean {geo:.2f}x)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
