"""Remake this CPU's baseline in results/baseline/: what the project's CI checks every change against.

    python scripts/make_baseline.py            # about 4-6 minutes on 2 busy CPU cores

Trains every variant on the 2-D mixtures ring8 and grid25 for seeds 0, 1, 2 under the
smoke profile (300 steps, 2,500 evaluation samples), on the CPU with one torch thread,
so the runs are bit-identical on any rerun with the same libraries; then writes

    results/baseline/<cpu>.json   `ganbench baseline` of those runs (what CI compares with)
    results/baseline/<cpu>.md     `ganbench table` of the same runs, for people

where <cpu> names this machine's CPU model ("amd-epyc"): CPU runs are bit-identical per CPU
model only, so there is one baseline per model CI has been seen on, and
`ganbench check --baseline results/baseline` picks the one made on the CPU it runs on.
CI then runs (see docs/check.md):

    ganbench check --baseline results/baseline --profile smoke --junit-xml check.xml

Why smoke: the whole check must fit in a few CPU minutes, and 300 steps is enough for
dcgan, lsgan, wgan-gp and hinge to cover many grid25 modes, so a change that stops a
variant learning (or makes it diverge, or crash) falls far outside the seeds' spread.
It is not enough to see small quality shifts on ring8 (sigma 0.01 is a hard target) or
anything of vanilla (SGD at lr 0.1 has not reached a mode by step 300): those rows can
only fail by divergence or a crash. Remake the baseline when a change improves a variant
on purpose (the check then reports "better").
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from ganbench.provenance import cpu_model
from ganbench.stability.schema import slug

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "baseline"
PROTOCOL = ["--datasets", "ring8,grid25", "--seeds", "0,1,2", "--profile", "smoke", "--device", "cpu"]


def ganbench(*args: str, stdout=None) -> None:
    subprocess.run([sys.executable, "-m", "ganbench", *args], check=True, cwd=ROOT, stdout=stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=str(ROOT / "runs" / "baseline"), help="where the runs go (git-ignored)")
    args = parser.parse_args()
    # --overwrite: the baseline must describe the code as it is now, never runs left by older code.
    ganbench("run", "--all", *PROTOCOL, "--cpu-threads", "1", "--out", args.runs, "--overwrite", "--no-progress")
    OUT.mkdir(parents=True, exist_ok=True)
    name = slug(cpu_model())
    ganbench("baseline", "--out", args.runs, "-o", str(OUT / f"{name}.json"))
    with open(OUT / f"{name}.md", "w") as f:
        ganbench("table", "--out", args.runs, stdout=f)


if __name__ == "__main__":
    main()
