"""Training steps per second of each row of a protocol, to size its runs.

    python scripts/protocol_speed.py pacgan-2d ring8 --steps 200 [--device cpu] [--threads 1]

Builds each row's Trainer exactly as `ganbench run --protocol` would (seed 0), takes 3
warm-up steps, then times `--steps` steps of `Trainer.run_steps` alone: no evaluation, no
logging, no checkpoints. A whole run is slower by those (see docs/protocols.md).
"""

from __future__ import annotations

import argparse
import time

import torch

from ganbench.core.step import Trainer
from ganbench.data import load_dataset
from ganbench.protocols import get_protocol
from ganbench.runs.plan import plan_protocol, variant_of
from ganbench.seeding import seed_everything


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("protocol")
    parser.add_argument("dataset")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    proto = get_protocol(args.protocol)
    overrides = {"device": args.device, "cpu_threads": args.threads}
    suite, _ = plan_protocol(proto, [r.variant for r in proto.rows], [args.dataset], [0], overrides)
    for cfg in suite.configs:
        torch.set_num_threads(cfg.cpu_threads)
        seed_everything(cfg.seed, cfg.deterministic)
        trainer = Trainer(cfg, variant_of(cfg), load_dataset(cfg.dataset, None, cfg.device, None, None))
        trainer.run_steps(3)
        if cfg.device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        trainer.run_steps(args.steps)
        if cfg.device.startswith("cuda"):
            torch.cuda.synchronize()
        rate = args.steps / (time.perf_counter() - start)
        label = proto.row(cfg.variant).label
        print(f"{proto.name} {cfg.dataset} {label} ({cfg.variant}): {rate:.2f} steps/s", flush=True)


if __name__ == "__main__":
    main()
