"""Tables from run directories alone.

`collect(out)` walks <out>/<dataset>/<variant>/seed<k>/ and returns one row per run:
its identity, status, timings, final losses, final evaluation metrics and the whole
resolved config (prefixed `cfg.`), ready for pandas (the compare_gan convention).
A record written by `ganbench score` reads the same way, as a row whose variant is its
NAME and whose `origin` is "scored" (the other rows': "trained").

A damaged run directory (config.json empty or not JSON, status.json or metrics.jsonl
missing, a metric that is not a number) still gives a row from what its files hold: its
identity from the directory's names where config.json cannot say, an unknown status where
status.json is gone. `collect(out, warn=...)` names each such run and what is wrong with it.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..core.record import is_scored
from ..data import DATASETS
from ..rundir import RunDir
from ..runs.plan import registered_variants
from ..runs.sweep import BEST, is_sweep

ID_COLUMNS = ["dataset", "variant", "seed"]
RUN_COLUMNS = ["status", "step", "steps", "reason", "d_loss", "g_loss", "wall_time_s", "steps_per_s"]


def find_run_dirs(out: str | Path) -> list[Path]:
    """Every run directory (one holding config.json) below `out`, sorted. In a sweep's folder
    (runs/sweep.py): the reruns of each variant's best configuration, <out>/best/, the
    sweep's tuned comparison (its trials are in <out>/trials/t<k>/, each a run folder)."""
    out = Path(out)
    if (out / "config.json").exists():
        return [out]
    if is_sweep(out):
        out = out / BEST
    return sorted(p.parent for p in out.glob("*/*/seed*/config.json"))


def final_records(records: list[dict]) -> tuple[dict, dict]:
    """(last train record, last eval record) of a metrics.jsonl."""
    train = next((r for r in reversed(records) if r.get("type") == "train"), {})
    evals = next((r for r in reversed(records) if r.get("type") == "eval"), {})
    return train, evals


def number(value):
    """`value` if it is an int or a float (NaN and inf too), not a bool; else None: a damaged record's
    "abc" must not reach a mean or an axis."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _read_object(path: Path) -> tuple[dict | None, str]:
    """(the JSON object in `path`, "") or (None, what is wrong with the file)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, f"{path.name} is missing"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{path.name} cannot be read ({getattr(exc, 'strerror', None) or exc})"
    if not text.strip():
        return None, f"{path.name} is empty"
    try:
        doc = json.loads(text)
    except ValueError:
        return None, f"{path.name} is not JSON"
    if not isinstance(doc, dict):
        return None, f"{path.name} does not hold a JSON object"
    return doc, ""


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def _seed_from_name(path: Path) -> int | None:
    match = re.fullmatch(r"seed(\d+)", path.name)
    return int(match.group(1)) if match else None


def run_row(path: Path, problems: list[str] | None = None) -> dict:
    """One run's row. What is wrong with its files is appended to `problems`."""
    problems = [] if problems is None else problems
    run = RunDir.at(path)
    record, problem = _read_object(run.config_path)
    if problem:
        problems.append(f"{problem}: dataset, variant and seed are read from the directory's names")
    record = record or {}
    cfg = record.get("config")
    if not isinstance(cfg, dict):
        if record:
            problems.append('config.json has no "config" object: dataset, variant and seed are read from the names')
        cfg = {}
    status, problem = _read_object(run.status_path)
    if problem:
        problems.append(f"{problem}: its status is unknown")
    status = status or {}
    state = status.get("status", "unknown")
    if not isinstance(state, str):
        state = "unknown"
    if state == "running" and not run.is_locked():
        state = "interrupted"  # a status of running with no process holding the lock
    if not run.metrics_path.exists():
        problems.append("metrics.jsonl is missing: no losses or metrics")
    records = run.read_metrics()
    with contextlib.suppress(OSError, UnicodeDecodeError):
        lines = sum(1 for line in run.metrics_path.read_text().splitlines() if line.strip())
        if lines > len(records):  # a torn last line (a crash mid-append) or a corrupt one
            problems.append(f"metrics.jsonl: {lines - len(records)} of {lines} lines are not JSON records: skipped")
    train, evals = final_records(records)
    seed = cfg.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int):
        seed = _seed_from_name(path)
    row = {
        "dataset": str(cfg.get("dataset") or path.parent.parent.name),
        "variant": str(cfg.get("variant") or path.parent.name),
        "seed": seed,
        "status": state,
        "step": number(status.get("step")),
        "steps": number(cfg.get("steps")),
        "reason": "" if status.get("reason") is None else str(status["reason"]),
        "d_loss": number(train.get("d_loss")),
        "g_loss": number(train.get("g_loss")),
        "wall_time_s": number(status.get("wall_time_s")),
        "steps_per_s": number(status.get("steps_per_s")),
        "eval_step": number(evals.get("step")),
        "run_dir": str(path),
        # "scored": made elsewhere and scored by `ganbench score` (no steps, no losses)
        "origin": "scored" if is_scored(record) else "trained",
    }
    bad = []
    for key, value in evals.items():
        if key not in ("type", "step") and not isinstance(value, (dict, list)):
            row[key] = number(value)
            if row[key] is None and value is not None:
                bad.append(key)
    if bad:
        problems.append(f"metrics.jsonl: {', '.join(bad)} of the last evaluation not a number: left out")
    row.update(protocol_fields(_object(evals.get("protocol")), cfg, _object(record.get("dataset"))))
    # the published protocol the run followed (config.json "protocol"), and how its suite departed from it
    followed = _object(record.get("protocol"))
    deviations = followed.get("deviations")
    row["protocol.name"] = followed.get("name") if isinstance(followed.get("name"), str) else None
    row["protocol.deviations"] = " | ".join(map(str, deviations)) if isinstance(deviations, list) else ""
    for key, value in cfg.items():
        row[f"cfg.{key}"] = str(value) if isinstance(value, (list, tuple)) else value
    env = _object(record.get("environment"))
    row["env.device_name"] = env.get("device_name")
    row["env.git_commit"] = _object(env.get("git")).get("commit")
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


def collect(out: str | Path, warn: Callable[[str], None] | None = None) -> pd.DataFrame:
    """One row per run directory under `out`; `warn` is told of each damaged one."""
    rows = []
    for path in find_run_dirs(out):
        problems: list[str] = []
        rows.append(run_row(path, problems))
        if problems and warn is not None:
            warn(f"warning: {path}: {'; '.join(problems)}")
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
