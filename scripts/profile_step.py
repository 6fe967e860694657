#!/usr/bin/env python
"""Where a training step's time goes: ganbench's core step for each variant under torch.profiler.

For each variant, on MNIST at the given batch size, this prints:
  - the eager step's wall time (ms per generator step, median of --repeats blocks);
  - on CUDA, the replayed CUDA graph's step time, timed the same way;
  - what the profiler saw over --steps eager steps: kernels per step and their summed
    time (CUDA), or operator calls per step and the CPU time of everything profiled (CPU);
  - the busy fraction on CUDA: summed kernel time / graph step time. Near 1, the GPU runs
    one kernel after another for the whole step, and only kernels of other runs overlapping
    with these (`--streams`, MPS) can add throughput; well below 1, the step waits between
    kernels;
  - the operators with the most self time (device time on CUDA).
`--no-deterministic` runs the core without deterministic kernels, to show what they cost
(cuDNN's deterministic algorithms can be slow for some convolution backward passes).

    python scripts/profile_step.py --device cuda --variants dcgan,wgan-gp
    python scripts/profile_step.py --device cpu --variants dcgan --steps 3 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from ganbench.config import RunConfig, resolve_device
from ganbench.core.step import Trainer
from ganbench.data import load_dataset
from ganbench.errors import UsageError
from ganbench.runs.plan import resolve
from ganbench.seeding import seed_everything
from ganbench.variants import VARIANTS, get_variant, variant_names


def make_trainer(variant: str, device: str, batch_size: int, deterministic: bool, graph: bool, data_root) -> Trainer:
    cfg = resolve(
        RunConfig(
            variant=variant,
            dataset="mnist",
            device=device,
            batch_size=batch_size,
            deterministic=deterministic,
            cuda_graph=graph,
        )
    )
    seed_everything(cfg.seed, cfg.deterministic)
    return Trainer(cfg, get_variant(variant), load_dataset("mnist", data_root, cfg.device))


def ms_per_step(trainer: Trainer, steps: int, repeats: int) -> float:
    """Median wall time of one step over `repeats` blocks, device work included."""
    dev = trainer.device
    times = []
    for _ in range(repeats):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        trainer.run_steps(steps)
        trainer.read_losses()  # the host sync a log boundary does
        times.append((time.perf_counter() - t0) / steps * 1e3)
    return statistics.median(times)


def _inside_aten(event) -> bool:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith("aten::"):
            return True
        parent = parent.cpu_parent
    return False


def profile_variant(name: str, args, device: str) -> dict:
    dev = torch.device(device)
    eager = make_trainer(name, device, args.batch_size, args.deterministic, False, args.data_root)
    eager.run_steps(args.warmup)
    eager.read_losses()
    row: dict = {
        "variant": name,
        "n_critic": eager.cfg.n_critic,
        "eager_ms": ms_per_step(eager, args.steps, args.repeats),
    }

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with profile(activities=activities) as prof:
        eager.run_steps(args.steps)
        eager.read_losses()
    events = prof.events()
    if dev.type == "cuda":
        kernels = [e for e in events if e.device_type == DeviceType.CUDA]
        row["kernels_per_step"] = len(kernels) / args.steps
        row["kernel_ms_per_step"] = sum(e.device_time for e in kernels) / 1e3 / args.steps
        sort_key, attr = "self_device_time_total", "self_device_time_total"
    else:
        # An operator call is an aten op not called from inside another aten op (the
        # backward pass's ops sit under autograd's own events).
        ops = [e for e in events if e.name.startswith("aten::") and not _inside_aten(e)]
        row["ops_per_step"] = len(ops) / args.steps
        row["op_ms_per_step"] = sum(e.self_cpu_time_total for e in events) / 1e3 / args.steps
        sort_key, attr = "self_cpu_time_total", "self_cpu_time_total"
    averages = sorted(prof.key_averages(), key=lambda a: getattr(a, attr), reverse=True)
    total = sum(getattr(a, attr) for a in averages) or 1.0
    row["top_ops"] = [
        {"name": a.key, "calls_per_step": a.count / args.steps, "share": getattr(a, attr) / total}
        for a in averages[: args.top]
    ]
    row["top_table"] = prof.key_averages().table(sort_by=sort_key, row_limit=args.top)

    if dev.type == "cuda":
        graphed = make_trainer(name, device, args.batch_size, args.deterministic, True, args.data_root)
        graphed.run_steps(args.warmup)  # warm-up and capture
        graphed.read_losses()
        row["graph_ms"] = ms_per_step(graphed, args.steps, args.repeats)
        row["graph_step_mode"] = graphed.step_mode
        row["busy_fraction"] = row["kernel_ms_per_step"] / row["graph_ms"]
    return row


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated (default: all)")
    p.add_argument("--steps", type=int, default=50, help="generator steps per timed block and profiled")
    p.add_argument("--repeats", type=int, default=5, help="timed blocks (median reported)")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first (>= 3 for the graph's capture)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--top", type=int, default=12, help="operators listed")
    p.add_argument("--no-deterministic", dest="deterministic", action="store_false", help="torch's default kernels")
    p.add_argument("--data-root", type=Path, default=None, help="folder with MNIST/raw (default $GANBENCH_DATA)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    for key in ("steps", "repeats", "batch_size", "top"):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be >= 1")
    if args.warmup < 3:
        p.error("--warmup must be >= 3 (the CUDA graph is captured after 3 eager steps)")
    try:
        args.variants, args.device = variant_names(args.variants), resolve_device(args.device)
    except UsageError as exc:
        p.error(str(exc))
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    device, names = args.device, args.variants
    name = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else "cpu"
    print(f"# command: {' '.join([sys.executable, *sys.argv])}")
    print(f"# device: {device} ({name}); torch {torch.__version__}; deterministic: {args.deterministic}")
    print(f"# MNIST, batch {args.batch_size}; {args.repeats} blocks of {args.steps} steps after {args.warmup}")
    rows = []
    for variant in names:
        r = profile_variant(variant, args, device)
        rows.append(r)
        if device.startswith("cuda"):
            print(
                f"{variant}: eager {r['eager_ms']:.3f} ms/step, graph {r['graph_ms']:.3f} ms/step; "
                f"{r['kernels_per_step']:.0f} kernels/step summing {r['kernel_ms_per_step']:.3f} ms "
                f"(busy fraction {r['busy_fraction']:.2f})"
            )
        else:
            print(
                f"{variant}: eager {r['eager_ms']:.3f} ms/step; {r['ops_per_step']:.0f} operator calls/step; "
                f"profiled CPU time {r['op_ms_per_step']:.3f} ms/step"
            )
        print(r["top_table"], flush=True)
    report = {"device": device, "device_name": name, "torch": torch.__version__, "variants": rows}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
