"""A protocol's table: per dataset and row, ours beside the paper's, with a verdict per cell.

Ours is the mean over the finished runs of that row, dataset and protocol (their final
evaluations), with the protocol's own kind of error bar over the seeds we ran. The verdict
(docs/protocols.md):
- "agrees": |ours - paper| <= 2 x the combined standard error sqrt(se_ours^2 + se_paper^2),
  each se the standard error of its mean (a "std" protocol's error is turned into one with
  its number of trials);
- "better" / "worse": outside that band, in the metric's direction (metrics/keys.py);
- "not comparable", with why: no finished run has the metric, or under 2 seeds (no error bar).
Over every table, a banner lists how the runs depart from the protocol: what each run's
config.json records (steps, device, other settings) and the seeds against the trials.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import pandas as pd

from ..metrics.keys import DIRECTIONS, HIGHER
from ..protocols import Protocol, Published
from .tables import DIGITS, latex_text

AGREES, BETTER, WORSE, NOT_COMPARABLE = "agrees", "better", "worse", "not comparable"


@dataclass(frozen=True)
class Verdict:
    verdict: str
    why: str = ""


def standard_error(error: float, kind: str, n: int) -> float:
    """The standard error of a mean over n trials, from an error bar of `kind`."""
    return error if kind == "sem" else error / math.sqrt(n)


def error_bar(values: pd.Series, kind: str) -> float:
    """The protocol's kind of error bar over our seeds' values (n >= 2)."""
    sd = float(values.std(ddof=1))
    return sd / math.sqrt(len(values)) if kind == "sem" else sd


def verdict(metric: str, values: pd.Series, paper: Published, kind: str, trials: int) -> Verdict:
    """How our values (one per seed) stand against the paper's mean and error bar."""
    n = len(values)
    if n == 0:
        return Verdict(NOT_COMPARABLE, "no finished run has this metric")
    if n < 2:
        return Verdict(NOT_COMPARABLE, "under 2 seeds: no error bar")
    ours = float(values.mean())
    se_ours = standard_error(error_bar(values, kind), kind, n)
    se_paper = standard_error(paper.error, kind, trials)
    band = 2 * math.hypot(se_ours, se_paper)
    diff = ours - paper.value
    if abs(diff) <= band:
        return Verdict(AGREES, f"|{diff:.3g}| <= {band:.3g}")
    higher = DIRECTIONS[metric] == HIGHER
    good = diff > 0 if higher else diff < 0
    return Verdict(BETTER if good else WORSE, f"|{diff:.3g}| > {band:.3g}")


def _fmt(metric: str, value: float, err: float | None) -> str:
    digits = DIGITS.get(metric, 3)
    return f"{value:.{digits}f}" if err is None else f"{value:.{digits}f} ± {err:.{digits}f}"


def _runs_of(df: pd.DataFrame, protocol: Protocol) -> pd.DataFrame:
    if "cfg.protocol" not in df:
        return df.iloc[0:0]
    return df[df["cfg.protocol"] == protocol.name]


def compare(df: pd.DataFrame, protocol: Protocol) -> pd.DataFrame:
    """One line per (dataset, row, published metric): ours, the paper's, the verdict."""
    runs = _runs_of(df, protocol)
    lines = []
    for ds in protocol.datasets:
        for row in protocol.rows:
            mine = runs[(runs["dataset"] == ds) & (runs["variant"] == row.variant)]
            done = mine[mine["status"] == "done"]
            for metric, paper in row.published.get(ds, {}).items():
                values = pd.to_numeric(done[metric], errors="coerce").dropna() if metric in done else pd.Series([])
                v = verdict(metric, values, paper, protocol.error, protocol.trials)
                mean = float(values.mean()) if len(values) else math.nan
                err = error_bar(values, protocol.error) if len(values) > 1 else math.nan
                lines.append(
                    {
                        "dataset": ds,
                        "row": row.label,
                        "variant": row.variant,
                        "metric": metric,
                        "ours_mean": mean,
                        "ours_error": err,
                        "n": len(values),
                        "runs": len(mine),
                        "paper_mean": paper.value,
                        "paper_error": paper.error,
                        "verdict": v.verdict,
                        "why": v.why,
                    }
                )
    return pd.DataFrame(lines)


def deviations(df: pd.DataFrame, protocol: Protocol) -> list[str]:
    """How the runs in `df` depart from `protocol`: each deviation their config.json records,
    and fewer seeds per cell than the protocol's trials."""
    runs = _runs_of(df, protocol)
    out: list[str] = []
    for text in runs.get("protocol.deviations", pd.Series([], dtype=object)).dropna():
        for item in str(text).split(" | "):
            # a suite's seed count is restated below from the runs themselves
            if item and not re.fullmatch(r"\d+ seeds? \(protocol: \d+ trials\)", item) and item not in out:
                out.append(item)
    done = runs[runs["status"] == "done"]
    per_cell = done.groupby(["dataset", "variant"]).size() if len(done) else pd.Series([], dtype=int)
    cells = len(protocol.datasets) * len(protocol.rows)
    if len(per_cell) < cells:
        out.append(f"{len(per_cell)} of the protocol's {cells} (dataset, row) cells have a finished run")
    if len(per_cell) and per_cell.min() < protocol.trials:
        low, high = int(per_cell.min()), int(per_cell.max())
        count = f"{low}" if low == high else f"{low} to {high}"
        out.append(f"{count} finished seeds per cell (protocol: {protocol.trials} trials)")
    steps = sorted({int(s) for s in runs.get("steps", pd.Series([], dtype=float)).dropna()})
    if len(steps) > 1:
        out.append(f"MIXED LENGTHS: runs of {', '.join(map(str, steps))} steps are pooled")
    return out


def banner(df: pd.DataFrame, protocol: Protocol) -> str:
    """The line printed over every table of this protocol."""
    found = deviations(df, protocol)
    bars = f"± {protocol.error} over {protocol.trials} trials"
    head = f"Protocol {protocol.name}: {protocol.title} ({protocol.table}; {bars})."
    if not found:
        return head + " No deviations."
    return head + " DEVIATIONS: " + "; ".join(found) + "."


def display(cmp: pd.DataFrame, dataset: str) -> pd.DataFrame:
    sub = cmp[cmp["dataset"] == dataset]
    return pd.DataFrame(
        {
            "row": sub["row"],
            "variant": sub["variant"],
            "metric": [f"{m} {'↑' if DIRECTIONS[m] == HIGHER else '↓'}" for m in sub["metric"]],
            "ours": [
                "n/a" if n == 0 else _fmt(m, mean, None if n < 2 else err) + f" (n={n})"
                for m, mean, err, n in zip(sub["metric"], sub["ours_mean"], sub["ours_error"], sub["n"], strict=True)
            ],
            "paper": [
                _fmt(m, v, e) for m, v, e in zip(sub["metric"], sub["paper_mean"], sub["paper_error"], strict=True)
            ],
            "verdict": [
                v if not w or v != NOT_COMPARABLE else f"{v}: {w}"
                for v, w in zip(sub["verdict"], sub["why"], strict=True)
            ],
        }
    )


def render_protocol(df: pd.DataFrame, protocol: Protocol, fmt: str = "markdown") -> str:
    """The protocol's tables in one of report.tables.FORMATS, the deviation banner over each."""
    cmp = compare(df, protocol)
    head = banner(df, protocol)
    rule = (
        "Verdict: agrees when |ours - paper| <= 2 combined standard errors; else better or worse in the "
        "metric's direction; not comparable under 2 seeds or with no value."
    )
    if fmt == "csv":
        return f"# {head}\n" + cmp.to_csv(index=False)
    if fmt == "json":
        payload = {"protocol": protocol.name, "banner": head, "deviations": deviations(df, protocol), "rule": rule}
        payload["differences"] = list(protocol.differences)
        payload["cells"] = json.loads(cmp.to_json(orient="records"))
        return json.dumps(payload, indent=2)
    blocks = []
    differs = "".join(f"\n- {d}" for d in protocol.differences)
    differs = f"\nWhere ganbench's runs still differ from the authors' code:\n{differs}\n" if differs else ""
    for ds in protocol.datasets:
        table = display(cmp, ds)
        if fmt == "markdown":
            blocks.append(
                f"{head}\n\n### {ds} ({protocol.datasets[ds]})\n\n{table.to_markdown(index=False)}\n\n{rule}\n{differs}"
            )
        elif fmt == "latex":
            table.columns = [latex_text(c) for c in table.columns]
            table = table.map(lambda v: latex_text(v) if isinstance(v, str) else v)
            blocks.append(table.to_latex(index=False, escape=False, caption=latex_text(f"{ds}. {head} {rule}")))
        else:
            raise ValueError(f"unknown format {fmt!r}")
    return "\n".join(blocks)
