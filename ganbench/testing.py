"""Helpers for projects that test their GAN code with pytest.

    from ganbench.testing import assert_stable, train_smoke

    def test_training_is_still_stable():
        assert_stable(baseline="results/baseline")         # trains, then judges
        assert_stable(baseline="baseline.json", runs="runs/")            # judges finished runs

    def test_my_plugin_trains(tmp_path):
        run = train_smoke("my-gan", tmp_path, plugins=["my_gan.py"])     # a few steps on ring8
        assert json.loads((run / "status.json").read_text())["status"] == "done"

`assert_stable` does what `ganbench check` does and raises AssertionError with the verdict
table when any verdict fails. A baseline or request that cannot be checked raises
ganbench's UsageError (a problem with the test, not a regression). `train_smoke` trains
one variant (a plugin's included) for a few steps on the CPU and returns its run
directory; `registries_restored` undoes what plugins registered (tests that load several).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from . import plugins as plugin_loader
from .config import RunConfig, RunOptions
from .data import DATASET_FACTORIES, DATASETS
from .errors import RunError
from .losses import LOSSES, PENALTIES
from .metrics.evaluate import make_evaluator
from .nets import ARCHS
from .protocols import PROTOCOLS
from .runs.one import run_one
from .runs.plan import VARIANTS, resolve
from .stability.check import CheckReport, run_check
from .stability.tolerance import resolve_tolerance


def train_smoke(
    variant: str,
    out: str | Path,
    *,
    dataset: str = "ring8",
    steps: int = 20,
    seed: int = 0,
    plugins: Iterable[str | Path] = (),
    data_root=None,
    **overrides,
) -> Path:
    """Train `variant` for `steps` generator steps on the CPU (profile smoke, scored at the
    end) into `out`, loading `plugins` first; the run directory. RunError if it did not end
    "done" (a diverged run says so). `overrides` are RunConfig fields (batch_size=16, ...)."""
    plugin_loader.load_all(str(p) for p in plugins)
    base = dict(profile="smoke", device="cpu", steps=steps, log_every=min(steps, 10))
    cfg = resolve(RunConfig(variant=variant, dataset=dataset, seed=seed, **{**base, **overrides}))
    options = RunOptions(out=Path(out), evaluator=make_evaluator(), data_root=data_root, progress=False)
    outcome = run_one(cfg, options, echo=lambda msg: None)
    if outcome.status != "done":
        raise RunError(f"{outcome.run_dir.path}: {outcome.status}: {outcome.message}")
    return outcome.run_dir.path


@contextlib.contextmanager
def registries_restored() -> Iterator[None]:
    """Within this block plugins may register anything; on leaving it every registry (and
    the record of loaded plugins) is as it was, so one test's plugin does not leak into the next."""
    tables = (VARIANTS, ARCHS, LOSSES, PENALTIES, DATASETS, DATASET_FACTORIES, PROTOCOLS)
    saved = [dict(t) for t in tables]
    try:
        with plugin_loader.state_restored():
            yield
    finally:
        for table, before in zip(tables, saved, strict=True):
            table.clear()
            table.update(before)


def assert_stable(
    baseline: str | Path,
    runs: str | Path | None = None,
    *,
    out: str | Path | None = None,
    profile: str | None = None,
    steps: int | None = None,
    datasets=None,
    variants=None,
    seeds=None,
    device: str | None = None,
    tolerance: dict | None = None,
    std_multiplier: float | None = None,
    pyproject: str | Path | bool = True,
    data_root=None,
) -> CheckReport:
    """Pass quietly (returning the report) or raise AssertionError with the table.

    `tolerance` maps metric -> floor ({"modes": 2, "fid": "5%", "diverged": 1}), as
    `--tolerance` does; `pyproject` is True (the nearest pyproject.toml), a path, or False.
    """
    tol = resolve_tolerance({k: str(v) for k, v in (tolerance or {}).items()}, std_multiplier, pyproject)
    report = run_check(
        baseline,
        runs=runs,
        out=out,
        datasets=list(datasets) if datasets else None,
        variants=list(variants) if variants else None,
        seeds=list(seeds) if seeds else None,
        profile=profile,
        steps=steps,
        device=device,
        tolerance=tol,
        data_root=data_root,
    )
    if not report.passed:
        reasons = "\n".join(f"- {v.message}" for v in report.failures)
        raise AssertionError(f"stability regression against {baseline}:\n{reasons}\n\n{report.text()}")
    return report
