"""A sweep's results from its folder alone: each trial's score, the best trial per variant,
budget curves (Lucic et al. 2018), tables and plots.

The score of a trial is one metric (per dataset by default: DEFAULT_METRIC; `--metric`
overrides it) read from its eval records, either at the end (`final`: the finished run's
final evaluation) or at its best evaluation (`best-checkpoint`, as Lucic et al. take the best
of the FIDs computed along training). A trial with no score (failed, unfinished, diverged
under `final`, or a metric reported unavailable) is counted, and for the budget curves it
takes the worst score of any trial on that dataset: a variant whose trials diverge pays for
them, as a diverged model's FID does in the paper.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import DATASETS, get_dataset_spec
from ..rundir import RunDir, atomic_write_bytes, atomic_write_json, read_json, read_jsonl
from ..runs.plan import registered_variants
from ..runs.sweep import BEST, REPORT, TRIAL_RECORD, TRIALS
from .results import number, run_row
from .tables import DIRECTIONS, HIGHER

SELECT = ("final", "best-checkpoint")
BOOTSTRAP_DRAWS = 1000
BAND = 0.95


def default_metric(dataset: str) -> str:
    """The metric a sweep selects on for `dataset`."""
    spec = get_dataset_spec(dataset)
    if spec.kind == "points":
        return "reverse_kl"  # PacGAN's mode balance; continuous where `modes` ties
    return {"mnist": "mnist_fid", "stacked_mnist": "modes"}.get(spec.name, "fid")


def higher_is_better(metric: str) -> bool:
    return DIRECTIONS.get(metric) == HIGHER


def _score(records: list[dict], metric: str, select: str, status: str, steps) -> float | None:
    evals = [r for r in records if r.get("type") == "eval" and number(r.get(metric)) is not None]
    if select == "final":
        if status != "done":
            return None
        final = [r for r in evals if r.get("step") == steps]
        return float(final[-1][metric]) if final else None
    values = [float(r[metric]) for r in evals if math.isfinite(float(r[metric]))]
    if not values:
        return None
    return max(values) if higher_is_better(metric) else min(values)


def trial_scores(root: Path, metric: str | None = None, select: str = "final") -> pd.DataFrame:
    """One row per trial: dataset, variant, trial, status, metric, score (None when it has
    none), floored (the score the budget curves use), the sampled values (`p.NAME`), run_dir."""
    if select not in SELECT:
        raise ValueError(f"select must be one of {SELECT}")
    rows = []
    for record_path in sorted(Path(root).glob(f"{TRIALS}/t*/*/*/{TRIAL_RECORD}")):
        rec = read_json(record_path) or {}
        run_path = Path(root) / rec["run"] if "run" in rec else None
        if run_path is None or not (run_path / "config.json").exists():
            row = {"dataset": None, "variant": record_path.parent.name, "status": "not started", "run_dir": None}
            cfg = {}
        else:
            row = run_row(run_path)
            cfg = (RunDir.at(run_path).read_config() or {}).get("config", {})
        ds = cfg.get("dataset") or row.get("dataset") or record_path.parent.parent.name
        m = metric or default_metric(ds)
        score = None
        if cfg:
            score = _score(read_jsonl(run_path / "metrics.jsonl"), m, select, row["status"], cfg.get("steps"))
        out = {
            "dataset": ds,
            "variant": cfg.get("variant") or record_path.parent.name,
            "trial": rec.get("trial"),
            "status": row["status"],
            "metric": m,
            "score": score,
            "run_dir": str(run_path) if run_path else None,
        }
        out.update({f"p.{k}": v for k, v in (rec.get("values") or {}).items()})
        rows.append(out)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df["floored"] = df["score"].astype(float)
    for ds, sub in df.groupby("dataset"):
        scored = sub["score"].dropna().astype(float)
        if scored.empty:
            continue
        worst = scored.min() if higher_is_better(sub["metric"].iloc[0]) else scored.max()
        df.loc[(df.dataset == ds) & df.score.isna(), "floored"] = worst
    # datasets and variants in registry order, as every table; unregistered ones after, by name
    d_order = {name: i for i, name in enumerate(DATASETS)}
    v_order = {name: i for i, name in enumerate(registered_variants())}
    df["_d"] = df["dataset"].map(lambda d: d_order.get(d, len(d_order)))
    df["_v"] = df["variant"].map(lambda v: v_order.get(v, len(v_order)))
    df = df.sort_values(["_d", "dataset", "_v", "variant", "trial"], kind="stable")
    return df.drop(columns=["_d", "_v"]).reset_index(drop=True)


def expected_best(scores, n: int, higher: bool) -> float:
    """E[best of n trials drawn with replacement from `scores`], computed exactly:
    sum_i s_(i) [(i/N)^n - ((i-1)/N)^n] over the scores sorted from worst to best."""
    s = np.sort(np.asarray(scores, dtype=float))
    if not higher:
        s = s[::-1]
    big_n = len(s)
    i = np.arange(1, big_n + 1)
    weights = (i / big_n) ** n - ((i - 1) / big_n) ** n
    return float(np.sum(s * weights))


def budget_curve(scores, higher: bool, n_max: int | None = None, draws: int = BOOTSTRAP_DRAWS, seed: int = 0):
    """DataFrame n, expected (exact), lo, hi: the central BAND of the best of n trials
    resampled with replacement (`draws` bootstrap draws, seeded)."""
    s = np.asarray(scores, dtype=float)
    n_max = n_max or len(s)
    rng = np.random.default_rng(seed)
    rows = []
    for n in range(1, n_max + 1):
        picks = s[rng.integers(0, len(s), size=(draws, n))]
        best = picks.max(axis=1) if higher else picks.min(axis=1)
        lo, hi = np.quantile(best, [(1 - BAND) / 2, (1 + BAND) / 2])
        rows.append({"n": n, "expected": expected_best(s, n, higher), "lo": float(lo), "hi": float(hi)})
    return pd.DataFrame(rows)


def best_trials(scores: pd.DataFrame) -> pd.DataFrame:
    """The best scored trial of each (dataset, variant); ties go to the lower trial number."""
    scored = scores.dropna(subset=["score"])
    picks = []
    for (_, _), sub in scored.groupby(["dataset", "variant"], sort=False):
        higher = higher_is_better(sub["metric"].iloc[0])
        picks.append(sub.sort_values(["score", "trial"], ascending=[not higher, True], kind="stable").iloc[0])
    return pd.DataFrame(picks, columns=scores.columns).reset_index(drop=True)


def rerun_scores(root: Path, metric_of: dict[str, str], select: str) -> pd.DataFrame:
    """Scores of the best configs' reruns (DIR/best): dataset, variant, seed, score."""
    rows = []
    for path in sorted(Path(root).glob(f"{BEST}/*/*/seed*/config.json")):
        row = run_row(path.parent)
        cfg = (read_json(path) or {}).get("config", {})
        m = metric_of.get(row["dataset"]) or default_metric(row["dataset"])
        score = _score(read_jsonl(path.parent / "metrics.jsonl"), m, select, row["status"], cfg.get("steps"))
        rows.append({"dataset": row["dataset"], "variant": row["variant"], "seed": row["seed"], "score": score})
    return pd.DataFrame(rows, columns=["dataset", "variant", "seed", "score"])


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def best_table(scores: pd.DataFrame, reruns: pd.DataFrame) -> pd.DataFrame:
    best = best_trials(scores)
    rows = []
    for (ds, variant), sub in scores.groupby(["dataset", "variant"], sort=False):
        pick = best[(best.dataset == ds) & (best.variant == variant)]
        again = reruns[(reruns.dataset == ds) & (reruns.variant == variant)]["score"].dropna().astype(float)
        row = {
            "dataset": ds,
            "variant": variant,
            "metric": f"{sub['metric'].iloc[0]} {'↑' if higher_is_better(sub['metric'].iloc[0]) else '↓'}",
            "trials": len(sub),
            "unscored": int(sub["score"].isna().sum()),
        }
        if len(pick):
            p = pick.iloc[0]
            row["best trial"] = f"t{int(p['trial']):03d}"
            row["best score"] = _fmt(float(p["score"]))
            row["rerun mean ± std"] = (
                f"{again.mean():.4g} ± {again.std(ddof=1) if len(again) > 1 else 0:.2g} (n={len(again)})"
                if len(again)
                else "–"
            )
            row["its hyperparameters"] = ", ".join(
                f"{k[2:]}={_fmt(p[k])}" for k in scores.columns if k.startswith("p.") and pd.notna(p[k])
            )
        rows.append(row)
    return pd.DataFrame(rows).fillna("–")


def distribution_table(scores: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (ds, variant), sub in scores.groupby(["dataset", "variant"], sort=False):
        s = sub["score"].dropna().astype(float)
        q = s.quantile([0, 0.25, 0.5, 0.75, 1]).tolist() if len(s) else [None] * 5
        rows.append(
            {
                "dataset": ds,
                "variant": variant,
                "metric": sub["metric"].iloc[0],
                "scored": len(s),
                "unscored": int(sub["score"].isna().sum()),
                "min": _fmt(q[0]),
                "q25": _fmt(q[1]),
                "median": _fmt(q[2]),
                "q75": _fmt(q[3]),
                "max": _fmt(q[4]),
            }
        )
    return pd.DataFrame(rows)


def shared_table(scores: pd.DataFrame, top: float = 0.25) -> pd.DataFrame:
    """Per (dataset, variant, sampled parameter): its median over all trials and over the best
    `top` fraction of the scored trials, with their ranges: what the good trials share."""
    rows = []
    params = [c for c in scores.columns if c.startswith("p.")]
    for (ds, variant), sub in scores.groupby(["dataset", "variant"], sort=False):
        scored = sub.dropna(subset=["score"])
        if scored.empty:
            continue
        higher = higher_is_better(sub["metric"].iloc[0])
        k = max(1, int(round(top * len(scored))))
        good = scored.sort_values("score", ascending=not higher, kind="stable").head(k)
        for col in params:
            allv, goodv = sub[col].dropna(), good[col].dropna()
            if allv.nunique() <= 1:
                continue  # fixed in this space
            rows.append(
                {
                    "dataset": ds,
                    "variant": variant,
                    "parameter": col[2:],
                    "all trials: median [min, max]": _summary(allv),
                    f"best {k}: median [min, max]": _summary(goodv),
                }
            )
    return pd.DataFrame(rows)


def _summary(values: pd.Series) -> str:
    if pd.api.types.is_numeric_dtype(values):
        return f"{_fmt(float(values.median()))} [{_fmt(float(values.min()))}, {_fmt(float(values.max()))}]"
    counts = values.astype(str).value_counts()
    return ", ".join(f"{k} x{v}" for k, v in counts.items())


def _write_table(df: pd.DataFrame, path: Path) -> list[Path]:
    written = []
    for suffix, text in (
        (".md", df.to_markdown(index=False) if not df.empty else "(empty)"),
        (".csv", df.to_csv(index=False)),
        (".tex", df.to_latex(index=False) if not df.empty else ""),
        (".json", df.to_json(orient="records", indent=2, force_ascii=False)),
    ):
        p = path.with_suffix(suffix)
        atomic_write_bytes(p, (text + ("\n" if not text.endswith("\n") else "")).encode())  # shards may race
        written.append(p)
    return written


def write_report(root: Path, metric: str | None = None, select: str = "final") -> dict:
    """Tables (markdown, csv, latex, json) and plots under DIR/report; returns what it wrote
    and the tables, for the command to print."""
    from . import plots

    root = Path(root)
    report = root / REPORT
    report.mkdir(parents=True, exist_ok=True)
    scores = trial_scores(root, metric, select)
    if scores.empty:
        return {"scores": scores, "written": []}
    metric_of = dict(zip(scores["dataset"], scores["metric"], strict=False))
    reruns = rerun_scores(root, metric_of, select)
    tables = {
        "best": best_table(scores, reruns),
        "scores": distribution_table(scores),
        "shared": shared_table(scores),
        "trials": scores.drop(columns=["run_dir"]).map(lambda x: _fmt(x) if isinstance(x, float) else x),
    }
    written = []
    for name, df in tables.items():
        written += _write_table(df, report / name)
    curves = {}
    for (ds, variant), sub in scores.groupby(["dataset", "variant"], sort=False):
        floored = sub["floored"].dropna()
        if len(floored):
            curves[(ds, variant)] = budget_curve(floored, higher_is_better(sub["metric"].iloc[0]))
    if curves:
        rows = [{"dataset": d, "variant": v, **r} for (d, v), c in curves.items() for r in c.to_dict("records")]
        curve_df = pd.DataFrame(rows)
        written += _write_table(curve_df, report / "budget")
        for ds in dict.fromkeys(d for d, _ in curves):
            m = metric_of[ds]
            written += plots.budget_curves(
                {v: c for (d, v), c in curves.items() if d == ds}, ds, m, higher_is_better(m), report / f"budget_{ds}"
            )
            written += plots.score_strips(scores[scores.dataset == ds], ds, m, report / f"scores_{ds}")
    atomic_write_json(
        report / "selection.json", {"select": select, "metric": metric_of, "floor": "worst scored trial of the dataset"}
    )
    result = {"scores": scores, "tables": tables, "written": written}
    protocol_table = write_protocol_tables(root)
    if protocol_table is not None:
        result["protocol"] = protocol_table
        written += [report / f"protocol.{s}" for s in ("md", "csv", "tex", "json")]
    return result


def protocol_frame(root: Path) -> pd.DataFrame:
    """The reruns of a sweep's best configurations (DIR/best) as `collect` rows, for a
    protocol's table: the trials are a search, not seeds of one configuration, so they stay
    out. Each metric the sweep's protocol publishes is taken at the sweep's selection (the
    best checkpoint, under best-checkpoint, as the trials were scored)."""
    from ..protocols import PROTOCOLS
    from ..runs.sweep import MANIFEST
    from .results import collect

    manifest = read_json(Path(root) / MANIFEST) or {}
    df = collect(Path(root) / BEST)
    proto = PROTOCOLS.get(manifest.get("protocol") or "")
    select = manifest.get("select", "final")
    if df.empty or proto is None or select == "final":
        return df
    df = df.copy()
    metrics = sorted({m for row in proto.rows for pub in row.published.values() for m in pub})
    for i, r in df.iterrows():
        cfg = (read_json(Path(r["run_dir"]) / "config.json") or {}).get("config", {})
        records = read_jsonl(Path(r["run_dir"]) / "metrics.jsonl")
        for m in metrics:
            df.loc[i, m] = _score(records, m, select, r["status"], cfg.get("steps"))
    return df


def write_protocol_tables(root: Path) -> str | None:
    """DIR/report/protocol.{md,csv,tex,json}: the reruns beside the paper's table, when the
    sweep ran under a registered protocol; returns the markdown (None: no protocol, or no rerun)."""
    from ..protocols import PROTOCOLS
    from ..runs.sweep import MANIFEST
    from .protocols import render_protocol

    name = (read_json(Path(root) / MANIFEST) or {}).get("protocol")
    if not name or name not in PROTOCOLS:
        return None
    df = protocol_frame(root)
    if df.empty:
        return None
    report = Path(root) / REPORT
    report.mkdir(parents=True, exist_ok=True)
    for fmt, suffix in (("markdown", "md"), ("csv", "csv"), ("latex", "tex"), ("json", "json")):
        atomic_write_bytes(report / f"protocol.{suffix}", render_protocol(df, PROTOCOLS[name], fmt).encode())
    return render_protocol(df, PROTOCOLS[name], "markdown")


def protocol_of(root: Path) -> str:
    """One line saying what produced a sweep's numbers, from its sweep.json."""
    from ..runs.sweep import MANIFEST

    m = read_json(Path(root) / MANIFEST) or {}
    space = m.get("space") or {}
    length = ", ".join(f"{k} {v}" for k, v in (m.get("overrides") or {}).items())
    under = ""
    if m.get("protocol"):
        under = f"protocol {m['protocol']} (deviations: {'; '.join(m.get('deviations') or []) or 'none'}); "
    return (
        f"sweep: {under}space {space.get('name', '?')} (sha256 {str(space.get('sha256', '?'))[:12]}), "
        f"{m.get('trials', '?')} trials per variant and dataset (sample seed {m.get('sample_seed', '?')}), "
        f"score {m.get('metric') or 'the dataset default'} at {m.get('select', 'final')}, "
        f"best configuration rerun with seeds {m.get('rerun_seeds', [])}; trials: {length or 'defaults'}. "
        "Budget curve: expected best score of n trials drawn with replacement, 95% bootstrap band."
    )


def dataset_parts(root: Path, fig_dir: Path) -> list[tuple[str, pd.DataFrame, list[Path]]]:
    """Per dataset of a sweep: (dataset, its best-per-variant table, its budget-curve and
    score-strip figures written under `fig_dir`), for `ganbench report`; [] before any
    trial has a score."""
    from ..runs.sweep import MANIFEST
    from . import plots

    manifest = read_json(Path(root) / MANIFEST) or {}
    select = manifest.get("select", "final")
    scores = trial_scores(root, manifest.get("metric"), select)
    if scores.empty:
        return []
    metric_of = dict(zip(scores["dataset"], scores["metric"], strict=False))
    table = best_table(scores, rerun_scores(root, metric_of, select))
    parts = []
    for ds in dict.fromkeys(scores["dataset"]):
        sub = scores[scores.dataset == ds]
        metric, higher = metric_of[ds], higher_is_better(metric_of[ds])
        curves = {}
        for variant, v in sub.groupby("variant", sort=False):
            floored = v["floored"].dropna()
            if len(floored):
                curves[variant] = budget_curve(floored, higher)
        figures = []
        if curves:
            figures += plots.budget_curves(curves, ds, metric, higher, Path(fig_dir) / f"sweep_budget_{ds}")
        figures += plots.score_strips(sub, ds, metric, Path(fig_dir) / f"sweep_scores_{ds}")
        parts.append((ds, table[table.dataset == ds].drop(columns=["dataset"]), figures))
    return parts
