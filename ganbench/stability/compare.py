"""Verdicts: one per (dataset, variant, metric), plus one for divergence per (dataset, variant).

A metric passes while its mean over seeds now stays inside the allowed range: at most
`slack` worse than the baseline mean in the metric's bad direction (tolerance.py), and
any amount better. A metric the baseline had a value for and the runs now have none for
(every run diverged, or none scored) fails. Divergence: more diverged runs now than the
baseline's share of the seeds (plus the allowed extra) fails. A run that crashed is an
error: there is no number to judge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ..report.tables import DIRECTIONS, HIGHER
from .baseline import plain
from .tolerance import DIVERGED, Tolerance

PASS, BETTER, FAIL, ERROR, NA = "pass", "better", "FAIL", "ERROR", "n/a"
FAILING = (FAIL, ERROR)


@dataclass(frozen=True)
class Verdict:
    dataset: str
    variant: str
    metric: str
    baseline: str  # human text of the baseline value
    now: str
    allowed: str
    verdict: str  # pass | better | FAIL | ERROR | n/a
    message: str = ""  # why, in one sentence (the JUnit failure message)

    @property
    def failed(self) -> bool:
        return self.verdict in FAILING

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.variant} {self.metric}"


def fmt(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.4g}"


def _spread(mean, std, n) -> str:
    if mean is None or not math.isfinite(mean):
        return "n/a"
    return f"{fmt(mean)} ± {fmt(std)} (n={n})" if n and n > 1 else f"{fmt(mean)} (n={n})"


def metric_verdict(where: tuple[str, str], metric: str, base: dict, now: pd.Series, tol: Tolerance) -> Verdict:
    b_mean, b_std, b_n = base.get("mean"), base.get("std"), base.get("n", 0)
    higher = DIRECTIONS[metric] == HIGHER  # the harness's, not the file's (validated to agree)
    n_now = int(now.get(f"{metric}_n", 0) or 0)
    m_now = plain(now.get(f"{metric}_mean")) if n_now else None
    s_now = plain(now.get(f"{metric}_std")) if n_now else None
    now_text = _spread(m_now, s_now, n_now)
    base_text = _spread(b_mean, b_std, b_n)
    if b_mean is None:
        return Verdict(*where, metric, base_text, now_text, "-", NA, "the baseline has no value to compare with")
    slack = tol.slack(metric, b_mean, b_std or 0.0)
    bound = b_mean - slack if higher else b_mean + slack
    allowed = f"≥ {fmt(bound)}" if higher else f"≤ {fmt(bound)}"
    if m_now is None:
        msg = f"{where[0]}/{where[1]}: {metric} has no value now (no run finished with a score); baseline {base_text}"
        return Verdict(*where, metric, base_text, now_text, allowed, FAIL, msg)
    # A relative epsilon: bit-identical means must pass whatever rounding the bound took.
    eps = 1e-9 * max(1.0, abs(b_mean))
    worse = m_now < bound - eps if higher else m_now > bound + eps
    if worse:
        word = "fell" if higher else "rose"
        msg = (
            f"{where[0]}/{where[1]}: {metric} {word} to {fmt(m_now)} from {fmt(b_mean)} "
            f"(allowed {allowed}: slack {fmt(slack)} = max({tol.std_multiplier:g} x std {fmt(b_std)}, "
            f"floor {tol.floors.get(metric, '0')}))"
        )
        return Verdict(*where, metric, base_text, now_text, allowed, FAIL, msg)
    better = m_now > b_mean + slack + eps if higher else m_now < b_mean - slack - eps
    if better:
        msg = "better than the baseline by more than the slack; consider remaking the baseline"
        return Verdict(*where, metric, base_text, now_text, allowed, BETTER, msg)
    return Verdict(*where, metric, base_text, now_text, allowed, PASS)


def divergence_verdict(where: tuple[str, str], entry: dict, now: pd.Series, tol: Tolerance) -> Verdict:
    n_base, d_base = entry["n_seeds"], entry["n_diverged"]
    n_now, d_now = int(now["n_seeds"]), int(now["n_diverged"])
    # The baseline's share of diverged seeds, scaled to the seeds run now.
    allowed_n = math.floor(d_base / n_base * n_now + 1e-9) + tol.extra_diverged
    steps = ", ".join(map(str, now.get("diverged_at") or []))
    now_text = f"{d_now} of {n_now}" + (f" (at step {steps})" if d_now else "")
    base_text = f"{d_base} of {n_base}"
    allowed = f"≤ {allowed_n} of {n_now}"
    if d_now > allowed_n:
        msg = f"{where[0]}/{where[1]}: {d_now} of {n_now} runs diverged (at step {steps}); the baseline had {base_text}"
        return Verdict(*where, DIVERGED, base_text, now_text, allowed, FAIL, msg)
    return Verdict(*where, DIVERGED, base_text, now_text, allowed, PASS)


def failed_verdict(where: tuple[str, str], rows: pd.DataFrame) -> Verdict | None:
    bad = rows[~rows["status"].isin(["done", "diverged"])]
    if bad.empty:
        return None
    first = bad.iloc[0]
    reason = str(first.get("reason") or first["status"])
    msg = f"{where[0]}/{where[1]}: {len(bad)} run(s) did not finish: seed {first['seed']}: {reason}"
    return Verdict(*where, "failed", "0", str(len(bad)), "0", ERROR, msg)


def compare_entry(entry: dict, rows: pd.DataFrame, agg_row: pd.Series, tol: Tolerance) -> list[Verdict]:
    where = (entry["dataset"], entry["variant"])
    out = [metric_verdict(where, m, base, agg_row, tol) for m, base in entry["metrics"].items()]
    out.append(divergence_verdict(where, entry, agg_row, tol))
    failed = failed_verdict(where, rows)
    if failed is not None:
        out.append(failed)
    return out


def table(verdicts: list[Verdict]) -> str:
    """The verdicts as a fixed-width text table, one row each."""
    frame = pd.DataFrame(
        [(v.dataset, v.variant, v.metric, v.baseline, v.now, v.allowed, v.verdict) for v in verdicts],
        columns=["dataset", "variant", "metric", "baseline", "now", "allowed", "verdict"],
    )
    return frame.to_string(index=False)


def summary(verdicts: list[Verdict]) -> str:
    counts = {k: sum(v.verdict == k for v in verdicts) for k in (PASS, BETTER, NA, FAIL, ERROR)}
    parts = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    failing = [v.name for v in verdicts if v.failed]
    head = f"{len(verdicts)} checks: {parts}"
    return f"{head}. Regressions: {'; '.join(failing)}" if failing else f"{head}. No regression."
