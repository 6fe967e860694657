"""Figures, with matplotlib only. Reads arrays, DataFrames and run directories; never trains."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..runs.plan import registered_variants  # noqa: E402
from .results import number  # noqa: E402

# --- comparison figures ---------------------------------------------------------------
VARIANT_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink")


def _colours(variants) -> dict:
    """One colour per variant, fixed by registry order, so a variant looks the same in every figure."""
    known = registered_variants()
    extra = [v for v in dict.fromkeys(variants) if v not in known]
    order = known + extra
    return {v: VARIANT_COLOURS[order.index(v) % len(VARIANT_COLOURS)] for v in dict.fromkeys(variants)}


def _finish(fig, path, pdf: bool) -> list:
    """Save `fig` as PNG (and PDF), close it, return the written paths."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [path.with_suffix(".png")]
    fig.savefig(written[0], dpi=110, bbox_inches="tight")
    if pdf:
        written.append(path.with_suffix(".pdf"))
        fig.savefig(written[1], bbox_inches="tight")
    plt.close(fig)
    return written


def eval_history(runs: pd.DataFrame) -> pd.DataFrame:
    """The eval records of every run, one per (run, step): columns dataset, variant, seed,
    step and the metrics. A step scored again (`ganbench eval` appends a record at the run's
    final step) keeps its last record, the one the tables show."""
    from ..rundir import read_jsonl
    from .results import number

    rows = []
    for _, run in runs.iterrows():
        for rec in read_jsonl(Path(run["run_dir"]) / "metrics.jsonl"):
            # A damaged record (a step or a metric that is not a number) gives what it still can.
            if rec.get("type") == "eval" and number(rec.get("step")) is not None:
                flat = {k: number(v) for k, v in rec.items() if not isinstance(v, (dict, list)) and k != "type"}
                rows.append({"dataset": run["dataset"], "variant": run["variant"], "seed": run["seed"], **flat})
    history = pd.DataFrame(rows)
    if history.empty:
        return history
    for col in history.columns.difference(["dataset", "variant", "seed"]):
        history[col] = pd.to_numeric(history[col], errors="coerce")
    return history.drop_duplicates(["dataset", "variant", "seed", "step"], keep="last").reset_index(drop=True)


def metric_curves(history, dataset: str, metric: str, path, pdf: bool = False, direction: str = "") -> list:
    """`metric` against training step, one line per variant (mean over seeds, band = ± std)."""
    # A record scored by `ganbench score` has no training step (step null): no place on a curve.
    sub = (
        history[(history["dataset"] == dataset) & history[metric].notna() & history["step"].notna()]
        if metric in history
        else history[:0]
    )
    if sub.empty:
        return []
    fig, ax = plt.subplots(figsize=(6, 4))
    colours = _colours(dict.fromkeys(history["variant"]))
    for variant, group in sub.groupby("variant", sort=False):
        stats = group.groupby("step")[metric].agg(["mean", "std", "count"]).sort_index()
        std = stats["std"].fillna(0.0)
        ax.plot(
            stats.index,
            stats["mean"],
            marker="o",
            ms=3,
            color=colours[variant],
            label=f"{variant} (n={stats['count'].max()})",
        )
        ax.fill_between(stats.index, stats["mean"] - std, stats["mean"] + std, color=colours[variant], alpha=0.2)
    ax.set_xlabel("generator step")
    steps = sorted(sub["step"].unique())
    if len(steps) <= 8:  # a tick at each evaluation, not at step 9.6 around a lone one
        ax.set_xticks(steps, [str(int(s)) for s in steps])
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.ticklabel_format(axis="y", useOffset=False)  # values as they are, not "1e-5+1" and offsets
    ax.set_ylabel(metric + (f" ({direction} is better)" if direction else ""))
    ax.set_title(f"{dataset}: {metric} during training (mean ± std over seeds)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _finish(fig, path, pdf)


def metric_bars(agg, dataset: str, metric: str, path, pdf: bool = False, direction: str = "") -> list:
    """Final `metric` per variant: bar = mean over finished seeds, error bar = std."""
    sub = agg[(agg["dataset"] == dataset)]
    col = f"{metric}_mean"
    if col not in sub or sub[col].isna().all():
        return []
    fig, ax = plt.subplots(figsize=(6, 3.6))
    colours = _colours(sub["variant"])
    x = np.arange(len(sub))
    means = sub[col].to_numpy(dtype=float)
    stds = sub[f"{metric}_std"].fillna(0).to_numpy(dtype=float)
    ax.bar(x, np.nan_to_num(means), yerr=stds, capsize=4, color=[colours[v] for v in sub["variant"]])
    for i, (_, row) in enumerate(sub.iterrows()):
        if np.isnan(means[i]):
            label = "diverged" if row["n_diverged"] else "n/a"
            ax.text(i, 0, label, ha="center", va="bottom", fontsize=8, rotation=90)
    ax.set_xticks(x, sub["variant"])
    ax.set_ylabel(metric + (f" ({direction} is better)" if direction else ""))
    ax.set_title(f"{dataset}: final {metric} (mean ± std over seeds)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return _finish(fig, path, pdf)


def drawn_title(info: dict) -> bool:
    """Whether a samples.png (its PIL `info`) has a title drawn on it: a scatter written by
    matplotlib before ganbench stored the title as the "Title" text chunk instead."""
    return str(info.get("Software", "")).startswith("Matplotlib") and "Title" not in info


def panel_title(variant: str, status, step, drawn: bool) -> str:
    """One panel's title: the variant, its step and any status other than done; only the
    status when the image has its own title drawn (which names the variant and the step)."""
    note = "" if status == "done" else str(status)
    if drawn:
        return f"({note})" if note else ""
    step = number(step)
    return ", ".join([variant, *([f"step {int(step)}"] if step is not None else []), *([note] if note else [])])


def samples_side_by_side(runs, dataset: str, seed: int, path, pdf: bool = False, warn=None) -> list:
    """Each variant's samples.png for one seed, side by side, each panel titled once. Every
    run draws its grid from the same evaluation noise, so the panels differ only by the
    variant. A samples.png that does not decode is left out, and `warn` told which."""
    from PIL import Image

    sub = runs[(runs["dataset"] == dataset) & (runs["seed"] == seed)]
    panels = []
    for _, r in sub.iterrows():
        png = Path(r["run_dir"]) / "samples.png"
        if not png.exists():
            continue
        try:
            with Image.open(png) as im:
                image, drawn = np.asarray(im.convert("RGB")), drawn_title(im.info)
        except Exception as exc:  # truncated or not a PNG: PIL raises OSError, SyntaxError, ValueError...
            if warn is not None:
                warn(f"warning: {png} is not a readable image ({type(exc).__name__}: {exc}); left out of the figure")
            continue
        panels.append((panel_title(r["variant"], r["status"], r.get("step"), drawn), image))
    if not panels:
        return []
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.9), squeeze=False)
    for ax, (title, image) in zip(axes[0], panels, strict=True):
        ax.imshow(image)
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.suptitle(f"{dataset}, seed {seed}: samples on the same fixed noise", fontsize=11)
    return _finish(fig, path, pdf)


def class_histograms(counts: dict, dataset: str, path, pdf: bool = False) -> list:
    """Generated-class frequencies per variant ({variant: counts over classes}), with the
    uniform frequency of the real data as a reference line."""
    counts = {v: np.asarray(c, dtype=float) for v, c in counts.items() if c is not None and np.sum(c) > 0}
    if not counts:
        return []
    fig, axes = plt.subplots(1, len(counts), figsize=(3 * len(counts), 2.8), squeeze=False, sharey=True)
    colours = _colours(counts)
    for ax, (variant, c) in zip(axes[0], counts.items(), strict=True):
        freq = c / c.sum()
        ax.bar(np.arange(len(freq)), freq, color=colours[variant])
        ax.axhline(1 / len(freq), color="black", lw=0.8, ls="--")
        ax.set_xticks(np.arange(len(freq)))
        ax.set_title(variant, fontsize=10)
        ax.set_xlabel("predicted class")
    axes[0][0].set_ylabel("share of samples")
    fig.suptitle(f"{dataset}: classes of generated samples (dashed: uniform)", fontsize=11, y=1.02)
    fig.tight_layout()
    return _finish(fig, path, pdf)


# --- sweeps ----------------------------------------------------------------------------
def budget_curves(curves: dict, dataset: str, metric: str, higher: bool, path, pdf: bool = False) -> list:
    """Expected best score against the number of trials, one line per variant, with the
    bootstrap band (report/sweep.budget_curve), as in Lucic et al. 2018."""
    colours = _colours(curves)
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for variant, c in curves.items():
        ax.plot(c["n"], c["expected"], color=colours[variant], label=variant)
        ax.fill_between(c["n"], c["lo"], c["hi"], color=colours[variant], alpha=0.15, linewidth=0)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("trials (n)")
    ax.set_ylabel(f"expected best {metric} ({'higher' if higher else 'lower'} is better)")
    ax.set_title(f"{dataset}: best of n trials, 95% bootstrap band")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _finish(fig, path, pdf)


def score_strips(scores: pd.DataFrame, dataset: str, metric: str, path, pdf: bool = False) -> list:
    """Every trial's score per variant (unscored trials are left out and counted in the label)."""
    variants = list(dict.fromkeys(scores["variant"]))
    colours = _colours(variants)
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    labels = []
    for x, variant in enumerate(variants):
        sub = scores[scores.variant == variant]
        s = sub["score"].dropna().astype(float).to_numpy()
        jitter = np.random.default_rng(x).uniform(-0.15, 0.15, size=len(s))
        ax.scatter(x + jitter, s, s=12, color=colours[variant], alpha=0.8)
        missing = int(sub["score"].isna().sum())
        labels.append(f"{variant}" + (f"\n({missing} unscored)" if missing else ""))
    ax.set_xticks(range(len(variants)), labels, fontsize=8)
    ax.set_ylabel(metric)
    ax.set_title(f"{dataset}: score of every trial")
    ax.grid(alpha=0.3, axis="y")
    return _finish(fig, path, pdf)
