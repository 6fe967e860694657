"""Tables from run directories alone.

`collect(out)` walks <out>/<dataset>/<variant>/seed<k>/ and returns one row per run:
its identity, status, timings, final losses, final evaluation metrics and the whole
resolved config (prefixed `cfg.`), ready for pandas (the compare_gan convention).
A record written by `ganbench score` reads the same way, as a row whose variant is its
NAME and whose `origin` is "scored" (the other rows': "trained").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.record import is_scored
from ..data import DATASETS
from ..rundir import RunDir
from ..runs.plan import registered_variants

ID_COLUMNS = ["dataset", "variant", "seed"]
RUN_COLUMNS = ["status", "step", "steps", "reason", "d_loss", "g_loss", "wall_time_s", "steps_per_s"]


def find_run_dirs(out: str | Path) -> list[Path]:
    """Every run directory (one holding config.json) below `out`, sorted."""
    out = Path(out)
    if (out / "config.json").exists():
        return [out]
    return sorted(p.parent for p in out.glob("*/*/seed*/config.json"))


def final_records(records: list[dict]) -> tuple[dict, dict]:
    """(last train record, last eval record) of a metrics.jsonl."""
    train = next((r for r in reversed(records) if r.get("type") == "train"), {})
    evals = next((r for r in reversed(records) if r.get("type") == "eval"), {})
    return train, evals


def run_row(path: Path) -> dict:
    run = RunDir.at(path)
    record = run.read_config() or {}
    cfg = record.get("config", {})
    status = run.read_status() or {}
    state = status.get("status", "unknown")
    if state == "running" and not run.is_locked():
        state = "interrupted"  # a status of running with no process holding the lock
    train, evals = final_records(run.read_metrics())
    row = {
        "dataset": cfg.get("dataset", path.parent.parent.name),
        "variant": cfg.get("variant", path.parent.name),
        "seed": cfg.get("seed"),
        "status": state,
        "step": status.get("step"),
        "steps": cfg.get("steps"),
        "reason": status.get("reason", ""),
        "d_loss": train.get("d_loss"),
        "g_loss": train.get("g_loss"),
        "wall_time_s": status.get("wall_time_s"),
        "steps_per_s": status.get("steps_per_s"),
        "eval_step": evals.get("step"),
        "run_dir": str(path),
        # "scored": made elsewhere and scored by `ganbench score` (no steps, no losses)
        "origin": "scored" if is_scored(record) else "trained",
    }
    for key, value in evals.items():
        if key not in ("type", "step") and not isinstance(value, (dict, list)):
            row[key] = value
    row.update(protocol_fields(evals.get("protocol") or {}, cfg, record.get("dataset") or {}))
    for key, value in cfg.items():
        row[f"cfg.{key}"] = str(value) if isinstance(value, (list, tuple)) else value
    env = record.get("environment", {})
    row["env.device_name"] = env.get("device_name")
    row["env.git_commit"] = (env.get("git") or {}).get("commit")
    return row


def protocol_fields(protocol: dict, cfg: dict, dataset: dict) -> dict:
    """The few protocol facts a table states under its numbers: samples, extractor, reference."""
    sampling = protocol.get("sampling") or {}
    extractors, references = [], []
    inception = protocol.get("inception") or {}
    if inception.get("enabled"):
        extractors.append(inception.get("extractor", "Inception-v3"))
        references.append((inception.get("reference") or {}).get("split"))
    classifier = protocol.get("classifier") or {}
    if classifier:
        extractors.append("ganbench MNIST classifier")
        references.append((classifier.get("reference") or {}).get("split"))
    if protocol.get("coverage"):
        extractors.append("nearest mode within 3 sigma")
    # Stacked MNIST scores its modes on 26,000 samples and the Inception metrics on
    # --eval-samples: state each count when they differ.
    counts = {}
    if inception.get("enabled") and inception.get("samples") is not None:
        counts["Inception"] = inception["samples"]
    if classifier.get("samples") is not None:
        counts["classifier"] = classifier["samples"]
    if len(set(counts.values())) > 1:
        eval_samples = ", ".join(f"{n} ({who})" for who, n in counts.items())
    elif counts:
        eval_samples = next(iter(counts.values()))
    else:
        eval_samples = sampling.get("samples", cfg.get("eval_samples"))
    return {
        "eval_samples": eval_samples,
        "extractor": "; ".join(e for e in extractors if e) or None,
        "reference": "; ".join(dict.fromkeys(r for r in references if r)) or dataset.get("reference_split") or None,
    }


def collect(out: str | Path) -> pd.DataFrame:
    rows = [run_row(p) for p in find_run_dirs(out)]
    if not rows:
        return pd.DataFrame(columns=ID_COLUMNS + RUN_COLUMNS)
    df = pd.DataFrame(rows)
    # Datasets and variants in registry order (the order of `ganbench list`: cheapest
    # dataset first), anything unregistered (folder:PATH datasets) after, by name.
    d_order = {name: i for i, name in enumerate(DATASETS)}
    v_order = {name: i for i, name in enumerate(registered_variants())}
    df["_d"] = df["dataset"].map(lambda d: d_order.get(d, len(d_order)))
    df["_v"] = df["variant"].map(lambda v: v_order.get(v, len(v_order)))
    df = df.sort_values(["_d", "dataset", "_v", "variant", "seed"], kind="stable").drop(columns=["_d", "_v"])
    return df.reset_index(drop=True)


# Columns that describe a run rather than measure its result.
NON_METRIC = set(ID_COLUMNS) | {
    "eval_samples",
    "extractor",
    "reference",
    "status",
    "step",
    "steps",
    "reason",
    "wall_time_s",
    "steps_per_s",
    "eval_step",
    "run_dir",
    "origin",
}


def metric_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in NON_METRIC and not c.startswith(("cfg.", "env.", "protocol"))]


def display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The per-run table for people: a diverged run shows `diverged at step N` in place of
    its numbers (which are NaN or meaningless), never a number."""
    shown = df[[c for c in df.columns if not c.startswith(("cfg.", "env.")) and c != "run_dir"]].copy()
    diverged = shown["status"] == "diverged"
    if diverged.any():
        for col in metric_columns(shown):
            shown[col] = shown[col].astype(object)
            shown.loc[diverged, col] = [f"diverged at step {int(s)}" for s in shown.loc[diverged, "step"]]
    return shown
