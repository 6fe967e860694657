"""Helpers for projects that test their GAN code with pytest.

    from ganbench.testing import assert_stable

    def test_training_is_still_stable():
        assert_stable(baseline="results/baseline/baseline.json")         # trains, then judges
        assert_stable(baseline="baseline.json", runs="runs/")            # judges finished runs

It does what `ganbench check` does and raises AssertionError with the verdict table when
any verdict fails. A baseline or request that cannot be checked raises ganbench's
UsageError (a problem with the test, not a regression).
"""

from __future__ import annotations

from pathlib import Path

from .stability.check import CheckReport, run_check
from .stability.tolerance import resolve_tolerance


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
