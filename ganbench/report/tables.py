"""Comparison tables: per dataset, one row per variant, mean +- std over seeds.

Built from `results.collect()` (run directories alone). Each metric is taken at a run's
final evaluation; only finished runs enter the means. A (dataset, variant) whose runs all
diverged shows `diverged at step N` instead of a number. The best value per column is
marked, each metric's direction is stated, and the protocol is printed under each table.
"""

from __future__ import annotations

import json
import math

import pandas as pd

from ..metrics.keys import DIRECTIONS, HIGHER, LOWER  # noqa: F401  (re-exported)

METRIC_ORDER = list(DIRECTIONS)
# Decimals shown: mode counts are integers per run (a mean over seeds needs one decimal);
# FIDs live on a scale of tens to thousands.
DIGITS = {"modes": 1, "fid": 2, "mnist_fid": 2}
FORMATS = ("markdown", "csv", "latex", "json")


def arrow(metric: str) -> str:
    return {HIGHER: "↑", LOWER: "↓"}.get(DIRECTIONS.get(metric, ""), "")


def _present_metrics(df: pd.DataFrame) -> list[str]:
    """Ranked metrics with at least one value in `df`, in a stable order."""
    return [m for m in METRIC_ORDER if m in df.columns and df[m].notna().any()]


def aggregate(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, variant): n_seeds, n_diverged, n_failed, n_unfinished (running or
    interrupted), and for each metric
    its mean and std over the finished runs' final evaluations."""
    metrics = _present_metrics(df)
    rows = []
    for (dataset, variant), group in df.groupby(["dataset", "variant"], sort=False):
        done = group[group["status"] == "done"]
        diverged = group[group["status"] == "diverged"]
        row = {
            "dataset": dataset,
            "variant": variant,
            "n_seeds": len(group),
            "n_done": len(done),
            "n_diverged": len(diverged),
            "n_failed": int((group["status"] == "failed").sum()),
            "n_unfinished": int((~group["status"].isin(["done", "diverged", "failed"])).sum()),
            "diverged_at": sorted(int(s) for s in diverged["step"].dropna()),
        }
        for m in metrics:
            values = pd.to_numeric(done[m], errors="coerce").dropna() if m in done else pd.Series(dtype=float)
            row[f"{m}_mean"] = values.mean() if len(values) else math.nan
            row[f"{m}_std"] = values.std(ddof=1) if len(values) > 1 else (0.0 if len(values) == 1 else math.nan)
            row[f"{m}_n"] = len(values)
        rows.append(row)
    return pd.DataFrame(rows)


def best_variants(agg: pd.DataFrame, metric: str) -> set[str]:
    """Variants holding the best mean of `metric` (ties share it); empty if unranked."""
    col = f"{metric}_mean"
    if metric not in DIRECTIONS or col not in agg or agg[col].isna().all():
        return set()
    best = agg[col].max() if DIRECTIONS[metric] == HIGHER else agg[col].min()
    return set(agg.loc[agg[col] == best, "variant"])


def _number(value: float, digits: int) -> str:
    """`value` to `digits` decimals; a value that would read as 0 without being 0 (a
    coverage of 0.0004) keeps two significant digits instead."""
    text = f"{value:.{digits}f}"
    return f"{value:.2g}" if value != 0 and float(text) == 0 else text


def _cell(row: pd.Series, metric: str) -> str:
    mean, std, n = row[f"{metric}_mean"], row[f"{metric}_std"], row[f"{metric}_n"]
    if n == 0 or pd.isna(mean):
        if row["n_diverged"]:
            steps = ", ".join(str(s) for s in row["diverged_at"])
            return f"diverged at step {steps}"
        return "n/a"
    digits = DIGITS.get(metric, 3)
    text = f"{_number(mean, digits)} ± {_number(std, digits)}" if n > 1 else _number(mean, digits)
    if n != row["n_seeds"]:  # fewer seeds behind this mean than the row's "seeds" says
        text += f" (n={n})"
    return text


COUNTS_NOTE = "(n=K): a mean over K of the row's seeds, the others diverged, failed, unfinished or unscored."


def counts_note(table: pd.DataFrame) -> str:
    """COUNTS_NOTE if a cell of `table` (from display_table) shows its count, else ""."""
    shown = any(isinstance(v, str) and "(n=" in v for col in table.columns for v in table[col])
    return COUNTS_NOTE if shown else ""


def display_table(agg: pd.DataFrame, dataset: str, bold=("**", "**")) -> pd.DataFrame:
    """The human table for one dataset: cells as 'mean ± std', best marked, and '(n=K)'
    after a mean over fewer seeds than the row's."""
    sub = agg[agg["dataset"] == dataset].reset_index(drop=True)
    metrics = [m for m in METRIC_ORDER if f"{m}_mean" in sub and sub[f"{m}_n"].sum() > 0]
    out = pd.DataFrame({"variant": sub["variant"]})
    for m in metrics:
        best = best_variants(sub, m)
        cells = []
        for _, row in sub.iterrows():
            cell = _cell(row, m)
            cells.append(f"{bold[0]}{cell}{bold[1]}" if row["variant"] in best and bold[0] else cell)
        out[f"{m} {arrow(m)}"] = cells
    if not metrics:  # no run of this dataset reached an evaluation
        out["result"] = [
            f"diverged at step {', '.join(map(str, row['diverged_at']))}" if row["n_diverged"] else "no evaluation"
            for _, row in sub.iterrows()
        ]
    out["seeds"] = sub["n_seeds"]
    out["diverged"] = sub["n_diverged"]
    out["failed"] = sub["n_failed"]
    if sub["n_unfinished"].any():  # a suite still training, or one that was interrupted
        out["unfinished"] = sub["n_unfinished"]
    return out


def protocol_line(df: pd.DataFrame, dataset: str) -> str:
    """What produced the numbers of one dataset's table, in one line."""
    sub = df[df["dataset"] == dataset]
    # Rows of `ganbench score` were trained elsewhere: no profile, steps or batch of ours.
    scored = sub["origin"] == "scored" if "origin" in sub else pd.Series(False, index=sub.index)
    trained = sub[~scored]

    def values(col: str, rows: pd.DataFrame = sub) -> str:
        if col not in rows:
            return "?"
        vals = sorted({_plain(v) for v in rows[col].dropna()})
        return "/".join(vals) if vals else "?"

    # (label, column, whether runs that differ in it are measured under different protocols)
    fields = [("profile", "cfg.profile", True), ("steps", "cfg.steps", True), ("batch", "cfg.batch_size", True)]
    followed = trained["cfg.protocol"].dropna() if "cfg.protocol" in trained else pd.Series([], dtype=object)
    if len(followed):  # runs of a published protocol: that, not the profile, set their length
        fields[0] = ("protocol", "cfg.protocol", True)
    training = [f"{label} {values(col, trained)}" for label, col, _ in fields] if len(trained) else []
    mixed = [label for label, col, _ in fields if col in trained and trained[col].dropna().nunique() > 1]
    fields = [
        ("eval samples", "eval_samples", True),
        ("seeds", "seed", False),
    ]
    fields += [(col, col, True) for col in ("extractor", "reference") if col in sub and sub[col].notna().any()]
    parts = training + [f"{label} {values(col)}" for label, col, _ in fields]
    # Runs made under different protocols are pooled into one mean; say so where it happens.
    mixed += [label for label, col, protocol in fields if protocol and col in sub and sub[col].dropna().nunique() > 1]
    head = "Protocol"
    if mixed:
        head = f"MIXED PROTOCOLS (the runs differ in {', '.join(mixed)}: their means are not comparable)"
    note = ""
    if len(followed):
        deviations = dict.fromkeys(
            item
            for text in sub.get("protocol.deviations", pd.Series([], dtype=object)).dropna()
            for item in str(text).split(" | ")
            if item
        )
        if deviations:
            note += f" DEVIATIONS from protocol {values('cfg.protocol', trained)}: {'; '.join(deviations)}."
    if scored.any():
        names = ", ".join(dict.fromkeys(sub.loc[scored, "variant"]))
        note += f" Scored by `ganbench score`, not trained by ganbench: {names}."
    return f"{head}: " + "; ".join(parts) + "." + note + " Arrows: ↑ higher is better, ↓ lower is better; best in bold."


def _plain(value) -> str:
    """A value as the protocol line states it: 40, not 40.0 (a column with gaps is float)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render(df: pd.DataFrame, fmt: str = "markdown") -> str:
    """Every dataset's table in one of FORMATS, with its protocol line."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    agg = aggregate(df)
    datasets = list(dict.fromkeys(agg["dataset"]))
    if fmt == "csv":
        flat = agg.drop(columns=["diverged_at"]).assign(
            diverged_at=agg["diverged_at"].map(lambda s: " ".join(map(str, s))),
            best=[
                " ".join(
                    m
                    for m in _present_metrics(df)
                    if row["variant"] in best_variants(agg[agg.dataset == row["dataset"]], m)
                )
                for _, row in agg.iterrows()
            ],
        )
        return flat.to_csv(index=False)
    if fmt == "json":
        payload = []
        for ds in datasets:
            sub = agg[agg["dataset"] == ds]
            payload.append(
                {
                    "dataset": ds,
                    "protocol": protocol_line(df, ds),
                    "directions": {m: DIRECTIONS[m] for m in _present_metrics(df[df.dataset == ds])},
                    "best": {m: sorted(best_variants(sub, m)) for m in _present_metrics(df[df.dataset == ds])},
                    "rows": json.loads(sub.to_json(orient="records")),
                }
            )
        return json.dumps(payload, indent=2)
    blocks = []
    for ds in datasets:
        if fmt == "markdown":
            table = display_table(agg, ds)
            note = " ".join(filter(None, [protocol_line(df, ds), counts_note(table)]))
            blocks.append(f"### {ds}\n\n{table.to_markdown(index=False)}\n\n{note}\n")
        else:  # latex
            table = display_table(agg, ds, bold=(_BOLD_ON, _BOLD_OFF))
            note = " ".join(filter(None, [protocol_line(df, ds), counts_note(table)]))
            table.columns = [latex_text(c) for c in table.columns]
            table = table.map(lambda v: latex_text(v) if isinstance(v, str) else v)
            blocks.append(table.to_latex(index=False, escape=False, caption=latex_text(f"{ds}. {note}")))
    return "\n".join(blocks)


# Bold marks that survive escaping, turned into \textbf{...} after it.
_BOLD_ON, _BOLD_OFF = "\x00", "\x01"
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    _BOLD_ON: r"\textbf{",
    _BOLD_OFF: "}",
}


def latex_text(text: str) -> str:
    """`text` as LaTeX source: special characters escaped (metric names like kid_mean, paths in
    folder: datasets), the table's symbols as math, bold marks as \\textbf."""
    return "".join(_LATEX_SPECIAL.get(c, c) for c in str(text))
