#!/usr/bin/env python
"""Retrain committed runs from their recorded config and compare metrics.jsonl byte for byte.

A refactor of the training core must not change a single number on a CPU. This script
takes run directories (for example the committed reference runs), retrains each from the
`config` block of its config.json into a scratch folder, with the default evaluator (as
`ganbench run` uses it: Inception off on a CPU), and prints, per run, whether the new
metrics.jsonl is byte-identical to the committed one.

    python scripts/rerun_identical.py results/reference/runs/ring8/wgan-gp/seed0 \\
        results/reference/runs/mnist/dcgan/seed0 --out /tmp/rerun

Exit code 0 when every run is identical, 1 otherwise.

CPU results are bit-identical on one machine, not across CPU models (their kernels differ):
runs committed from another machine print their platform beside ours and will differ. To
check a refactor there, train the same runs with the old checkout on this machine and pass
that folder as the runs to compare with.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import sys
import tempfile
import time
from pathlib import Path

from ganbench.config import RunConfig, RunOptions
from ganbench.core.loop import train
from ganbench.metrics.evaluate import make_evaluator
from ganbench.rundir import RunDir
from ganbench.runs.plan import get_variant


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def rerun(run_path: Path, out: Path, data_root) -> bool:
    stored = RunDir.at(run_path)
    record = stored.read_config()
    cfg = RunConfig.from_dict(record["config"], record.get("variant"))
    fresh = RunDir(out, cfg.dataset, cfg.variant, cfg.seed)
    options = RunOptions(out=out, evaluator=make_evaluator(), data_root=data_root, overwrite=True, progress=False)
    t0 = time.perf_counter()
    result = train(cfg, get_variant(cfg.variant), fresh, options, echo=lambda m: print(f"  {m}", file=sys.stderr))
    same = stored.metrics_path.read_bytes() == fresh.metrics_path.read_bytes()
    made_on = (stored.read_config().get("environment") or {}).get("platform")
    print(
        f"{run_path} (made on {made_on}; here {platform.platform()}): {result.status} in "
        f"{time.perf_counter() - t0:.0f} s; metrics.jsonl "
        f"{sha256(stored.metrics_path)} committed, {sha256(fresh.metrics_path)} now: "
        f"{'byte-identical' if same else 'DIFFERENT'}"
    )
    return same


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="run directories holding config.json and metrics.jsonl")
    p.add_argument("--out", type=Path, default=None, help="scratch folder for the reruns (default: a temporary one)")
    p.add_argument("--data-root", type=Path, default=None, help="folder with local datasets (default $GANBENCH_DATA)")
    args = p.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="ganbench-rerun-"))
    results = [rerun(run, out, args.data_root) for run in args.runs]
    print(f"{sum(results)} of {len(results)} runs byte-identical")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
