#!/usr/bin/env python
"""One run's training speed: ganbench's core step against a tutorial-style PyTorch loop, in one process.

For each variant, on the same device, batch size and models, this times
  (a) the reference (scripts/benchlib/reference.py): a loop written the way the PyTorch
      DCGAN tutorial writes it: a torch DataLoader over torchvision's MNIST Dataset with
      per-item transforms (ToTensor + Normalize), fp32, and a loss `.item()` every step;
      the variant's loss, n_critic and penalty written out inline;
  (b) ganbench's core: `Trainer.run_steps` (data resident on the device, losses summed on
      the device and read once per timed block; on CUDA the whole step as one CUDA graph
      unless --no-cuda-graph),
and prints steps/s of each and the ratio core/reference. The two sides alternate block by
block, so a neighbour's load on a shared machine hits both; figures are medians over
--repeats blocks of --steps generator steps each, after --warmup steps, with
torch.cuda.synchronize() before every clock read on CUDA. Both sides use the same torch
thread count (--threads) on a CPU. scripts/bench_suite.py times a whole suite instead.

    python scripts/bench_step.py --device cpu --steps 20 --repeats 5
    python scripts/bench_step.py --device cuda --steps 500 --repeats 7
"""

from __future__ import annotations

import argparse
import math
import statistics

import torch

from benchlib.common import (
    add_common_args,
    check_common_args,
    environment,
    print_environment,
    timed,
    torch_flags,
    write_json,
)
from benchlib.reference import ReferenceLoop, architecture, n_params
from ganbench.config import RunConfig
from ganbench.core.step import Trainer
from ganbench.data import load_dataset
from ganbench.runs.plan import get_variant, resolve
from ganbench.seeding import seed_everything


class CoreLoop:
    def __init__(self, cfg: RunConfig, data_root):
        seed_everything(cfg.seed, cfg.deterministic)
        data = load_dataset("mnist", data_root, cfg.device)
        self.trainer = Trainer(cfg, get_variant(cfg.variant), data)

    def run(self, n: int) -> None:
        self.trainer.run_steps(n)
        self.trainer.read_losses()  # one host sync per block, as the training loop does per log


def bench_variant(name: str, args) -> dict:
    cfg = resolve(
        RunConfig(
            variant=name,
            dataset="mnist",
            batch_size=args.batch_size,
            device=args.device,
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


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(p)
    p.add_argument("--steps", type=int, default=50, help="generator steps per timed block")
    p.add_argument("--repeats", type=int, default=5, help="timed blocks per side (median reported)")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps per side first")
    args = p.parse_args(argv)
    check_common_args(p, args, positive=("steps", "repeats"))
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    env = environment(args)
    print_environment(env)
    print(
        f"# {args.repeats} blocks of {args.steps} steps per side after {args.warmup} warm-up steps, "
        f"batch {args.batch_size}"
    )
    print(f"{'variant':<9} {'models':<8} {'reference st/s':>15} {'core st/s':>10} {'ratio':>7}  core step")
    rows = []
    for name in args.variants:
        r = bench_variant(name, args)
        rows.append(r)
        print(
            f"{name:<9} {'same' if r['same_models'] else 'DIFFER':<8} {r['reference_steps_per_s']:>15.2f} "
            f"{r['core_steps_per_s']:>10.2f} {r['ratio']:>6.2f}x  {r['core_step_mode']}",
            flush=True,
        )
    geo = math.exp(statistics.mean(math.log(r["ratio"]) for r in rows))
    listing = ", ".join(f"{r['variant']} {r['ratio']:.2f}x" for r in rows)
    print(f"ratio core/reference: {listing} (geomean {geo:.2f}x)")
    report = {"environment": env, "variants": rows}
    write_json(args.json, report)
    return report


if __name__ == "__main__":
    main()
