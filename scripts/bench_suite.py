#!/usr/bin/env python
"""A whole suite's training speed: `ganbench run` over many runs against the reference loop run by run.

This times the wall clock of `ganbench run VARIANTS --dataset mnist --seeds 0,1,2 --jobs N
--streams K` (a subprocess: process start-up, data loading, checkpoints and the MNIST
classifier's evaluations included) against the tutorial-style loop of
scripts/benchlib/reference.py run for the same runs one after another, each from scratch,
and prints the aggregate throughput ratio suite/reference. `--layouts 8x1,1x15` times
several (jobs x streams) layouts against one measurement of the reference, and each
layout's job-slot time is split into training, evaluation and the rest.
scripts/bench_step.py times one run's step instead.

    python scripts/bench_suite.py --device cuda --jobs 8 --steps 2000
    python scripts/bench_suite.py --device cuda --layouts 8x1,1x15,3x5 --steps 1000
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchlib.common import add_common_args, check_common_args, environment, print_environment, torch_flags, write_json
from benchlib.reference import ReferenceLoop
from ganbench.config import RunConfig
from ganbench.report.results import find_run_dirs
from ganbench.rundir import RunDir
from ganbench.runs.plan import get_variant, resolve


def parse_layouts(text: str) -> list[tuple[int, int]]:
    """The pairs (jobs, streams) written as JOBSxSTREAMS, such as 8x1,1x15."""
    layouts = []
    for item in text.split(","):
        jobs, sep, streams = item.strip().lower().partition("x")
        if not sep or not jobs.isdigit() or not streams.isdigit() or int(jobs) < 1 or int(streams) < 1:
            raise ValueError(f"{item.strip()!r} is not JOBSxSTREAMS (such as 8x1 or 1x15)")
        layouts.append((int(jobs), int(streams)))
    return layouts


def suite_command(args, jobs: int, streams: int) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "ganbench",
        "run",
        *args.variants,
        "--dataset",
        "mnist",
        "--seeds",
        ",".join(map(str, args.seeds)),
        "--steps",
        str(args.steps),
        "--batch-size",
        str(args.batch_size),
        "--device",
        args.device,
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


def time_suite(args, jobs: int, streams: int, n_runs: int) -> dict:
    cmd = suite_command(args, jobs, streams)
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
        "suite_steps_per_s": n_runs * args.steps / suite_s,
        "breakdown": breakdown,
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


def bench_suite(args) -> dict:
    """Each layout (jobs x streams) of the suite, then the reference once: one measurement
    of the reference serves every layout's ratio."""
    n_runs = len(args.variants) * len(args.seeds)
    layouts = [time_suite(args, j, k, n_runs) for j, k in args.layouts]
    # The reference: the same runs one after another, each from scratch (dataset, loader,
    # models), as a script looping over variants and seeds would do.
    dev = torch.device(args.device)
    t0 = time.perf_counter()
    for name in args.variants:
        for seed in args.seeds:
            torch.manual_seed(seed)
            cfg = resolve(
                RunConfig(variant=name, dataset="mnist", seed=seed, batch_size=args.batch_size, device=args.device)
            )
            with torch_flags(False):
                ref = ReferenceLoop(cfg, get_variant(name), args.data_root, args.ref_workers)
                ref.run(args.steps)
                ref.close()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    ref_s = time.perf_counter() - t0
    for layout in layouts:
        layout["ratio"] = ref_s / layout["suite_wall_s"]
    return {
        "runs": n_runs,
        "steps_per_run": args.steps,
        "reference_wall_s": ref_s,
        "reference_steps_per_s": n_runs * args.steps / ref_s,
        "layouts": layouts,
    }


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(p)
    p.add_argument("--steps", type=int, default=200, help="generator steps per run")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds: runs are variants x seeds")
    p.add_argument("--jobs", type=int, default=None, help="the suite's --jobs (default 2)")
    p.add_argument("--streams", type=int, default=None, help="the suite's --streams: runs per job at once (default 1)")
    p.add_argument(
        "--layouts",
        default=None,
        help="several suite layouts JOBSxSTREAMS, comma-separated (such as 8x1,1x15), each timed "
        "against one measurement of the reference (instead of --jobs and --streams)",
    )
    args = p.parse_args(argv)
    check_common_args(p, args, positive=("steps",))
    try:
        args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        p.error(f"--seeds: {args.seeds!r} is not comma-separated integers (such as 0,1,2)")
    if not args.seeds:
        p.error("--seeds: no seed given")
    if args.layouts is not None:
        if args.jobs is not None or args.streams is not None:
            p.error("--layouts names each layout's jobs and streams: give it or --jobs/--streams, not both")
        try:
            args.layouts = parse_layouts(args.layouts)
        except ValueError as exc:
            p.error(f"--layouts: {exc}")
    else:
        for key in ("jobs", "streams"):
            if getattr(args, key) is not None and getattr(args, key) < 1:
                p.error(f"--{key} must be >= 1")
        args.layouts = [(2 if args.jobs is None else args.jobs, 1 if args.streams is None else args.streams)]
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    env = environment(args)
    print_environment(env)
    s = bench_suite(args)
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
    report = {"environment": env, "suite": s}
    write_json(args.json, report)
    return report


if __name__ == "__main__":
    main()
