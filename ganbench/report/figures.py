"""All comparison figures of an output folder, made from its run directories alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import plots
from .results import collect
from .tables import DIRECTIONS, aggregate


def final_class_counts(runs: pd.DataFrame, dataset: str, seed: int) -> dict:
    """{variant: class counts of the final evaluation} for one dataset and seed, where recorded."""
    from ..rundir import read_jsonl
    from .results import final_records, number

    counts = {}
    for _, run in runs[(runs["dataset"] == dataset) & (runs["seed"] == seed)].iterrows():
        _, last_eval = final_records(read_jsonl(Path(run["run_dir"]) / "metrics.jsonl"))
        found = last_eval.get("class_counts")
        if isinstance(found, list) and found and all(number(c) is not None for c in found):
            counts[run["variant"]] = found
    return counts


def make_figures(
    out: Path, fig_dir: Path, pdf: bool = False, runs: pd.DataFrame | None = None, warn=None
) -> list[dict]:
    """Write every figure for `out` into `fig_dir`; returns [{dataset, kind, title, paths}].
    `warn` is told of each file of a run that had to be left out."""
    runs = collect(out, warn=warn) if runs is None else runs
    agg = aggregate(runs)
    history = plots.eval_history(runs)
    made: list[dict] = []

    def add(dataset: str, kind: str, title: str, paths: list) -> None:
        if paths:
            made.append({"dataset": dataset, "kind": kind, "title": title, "paths": paths})

    for dataset in dict.fromkeys(runs["dataset"]):
        stem = dataset.replace(":", "-").replace("/", "-")
        metrics = [
            m for m in DIRECTIONS if m in history and history.loc[history["dataset"] == dataset, m].notna().any()
        ]
        for m in metrics:
            add(
                dataset,
                "curve",
                f"{dataset}: {m} during training",
                plots.metric_curves(history, dataset, m, fig_dir / f"{stem}_{m}_curve", pdf, DIRECTIONS[m]),
            )
        for m in metrics:
            add(
                dataset,
                "bar",
                f"{dataset}: final {m}",
                plots.metric_bars(agg, dataset, m, fig_dir / f"{stem}_{m}_bar", pdf, DIRECTIONS[m]),
            )
        seeds = pd.to_numeric(runs.loc[runs["dataset"] == dataset, "seed"], errors="coerce").dropna()
        if seeds.empty:  # no run of this dataset says its seed (damaged config.json, odd folder names)
            continue
        seed = int(seeds.min())
        add(
            dataset,
            "samples",
            f"{dataset}: samples on the same noise (seed {seed})",
            plots.samples_side_by_side(runs, dataset, seed, fig_dir / f"{stem}_samples_seed{seed}", pdf, warn),
        )
        counts = final_class_counts(runs, dataset, seed)
        add(
            dataset,
            "classes",
            f"{dataset}: classes of generated samples (seed {seed})",
            plots.class_histograms(counts, dataset, fig_dir / f"{stem}_classes_seed{seed}", pdf),
        )
    return made
