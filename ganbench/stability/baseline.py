"""Baseline files: what finished runs scored, and under which protocol.

A baseline is one JSON document (schema 1):

    {
      "schema": 1,
      "kind": "ganbench-baseline",
      "environment": {versions, python, platform, device, device_name, torch_threads, git},
      "entries": [
        {
          "dataset": "ring8", "variant": "dcgan",
          "protocol": {profile, steps, batch_size, eval_samples, eval_seed, log_every,
                       loss_bound, data_limit, extractor, reference, inception,
                       inception_reference},       # must match for a fair comparison
          "settings": {device, cpu_threads},       # how it ran; the check reuses them
          "hyperparameters": {lr_d, lr_g, betas, n_critic, penalty_weight, z_dim},
          "seeds": [0, 1, 2], "n_seeds": 3, "n_done": 3, "n_diverged": 0, "diverged_at": [],
          "metrics": {"modes": {"mean", "std", "n", "direction", "values": {"0": 7, ...}}, ...}
        }, ...
      ]
    }

Means and stds come from tables.aggregate (sample std, ddof=1, over the finished runs'
final evaluations); NaN is written as null so the file is strict JSON.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from ..errors import RunError, UsageError
from ..report.results import collect, final_records
from ..report.tables import DIRECTIONS, aggregate
from ..rundir import RunDir, atomic_write_bytes

SCHEMA = 1
KIND = "ganbench-baseline"

# RunConfig fields that decide what a number means: a check under other values is refused.
# (Variant hyperparameters are deliberately absent: changing them is the code under test.)
PROTOCOL_CONFIG = (
    "profile",
    "steps",
    "batch_size",
    "eval_samples",
    "eval_seed",  # the latent draws the metrics score
    "log_every",  # divergence is detected at log points
    "loss_bound",  # what counts as diverged
    "data_limit",
)
# Facts of the evaluation, read from the runs' eval records (None where a run never scored).
PROTOCOL_EVAL = ("extractor", "reference", "inception", "inception_reference")
SETTINGS = ("device", "cpu_threads")
HYPERPARAMETERS = ("lr_d", "lr_g", "betas", "n_critic", "penalty_weight", "z_dim")


def plain(value):
    """A JSON-ready python value: NaN/None -> None, numpy scalars -> python."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()  # numpy scalar -> python
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _eval_protocol(run_dir: str) -> dict:
    """inception on/off and its reference count, from the run's last eval record."""
    _, evals = final_records(RunDir.at(run_dir).read_metrics())
    inception = (evals.get("protocol") or {}).get("inception") or {}
    if not evals or not inception:
        return {"inception": None, "inception_reference": None}
    return {
        "inception": bool(inception.get("enabled")),
        "inception_reference": (inception.get("reference") or {}).get("count"),
    }


def run_protocols(df: pd.DataFrame) -> pd.DataFrame:
    """`df` (from results.collect) with one `protocol.<field>` column per protocol field."""
    df = df.copy()
    for key in PROTOCOL_CONFIG:
        df[f"protocol.{key}"] = [plain(v) for v in df.get(f"cfg.{key}", pd.Series([None] * len(df)))]
    for key in ("extractor", "reference"):
        df[f"protocol.{key}"] = [plain(v) for v in df.get(key, pd.Series([None] * len(df)))]
    evals = [_eval_protocol(p) for p in df["run_dir"]]
    for key in ("inception", "inception_reference"):
        df[f"protocol.{key}"] = [e[key] for e in evals]
    return df


def group_protocol(group: pd.DataFrame, where: str) -> dict:
    """The one protocol every run of `group` shares; runs that never scored (diverged
    early) have no eval facts and agree with anything there. Mixed values are refused."""
    protocol = {}
    for key in (*PROTOCOL_CONFIG, *PROTOCOL_EVAL):
        values = list(dict.fromkeys(plain(v) for v in group[f"protocol.{key}"]))
        if key in PROTOCOL_EVAL:
            values = [v for v in values if v is not None] or [None]
        if len(values) > 1:
            shown = ", ".join(map(str, values))
            raise UsageError(f"the runs of {where} mix protocols ({key}: {shown}); one baseline needs one protocol")
        protocol[key] = values[0]
    return protocol


def first_values(group: pd.DataFrame, keys) -> dict:
    """Config fields as stored by the first run of `group` (lists back from their text form)."""
    row = group.iloc[0]
    out = {}
    for key in keys:
        value = plain(row.get(f"cfg.{key}"))
        if isinstance(value, str) and value.startswith("["):  # collect() writes lists as text
            value = json.loads(value)
        out[key] = value
    return out


def entry(group: pd.DataFrame, agg_row: pd.Series) -> dict:
    dataset, variant = agg_row["dataset"], agg_row["variant"]
    metrics = {}
    done = group[group["status"] == "done"]
    for metric, direction in DIRECTIONS.items():
        if f"{metric}_mean" not in agg_row:
            continue
        scores = pd.to_numeric(done[metric], errors="coerce")
        values = {str(int(s)): plain(v) for s, v in zip(done["seed"], scores, strict=True)}
        metrics[metric] = {
            "direction": direction,
            "mean": plain(agg_row[f"{metric}_mean"]),
            "std": plain(agg_row[f"{metric}_std"]),
            "n": int(agg_row[f"{metric}_n"]),
            "values": values,
        }
    return {
        "dataset": dataset,
        "variant": variant,
        "protocol": group_protocol(group, f"{dataset}/{variant}"),
        "settings": first_values(group, SETTINGS),
        "hyperparameters": first_values(group, HYPERPARAMETERS),
        "seeds": sorted(int(s) for s in group["seed"]),
        "n_seeds": int(agg_row["n_seeds"]),
        "n_done": int(agg_row["n_done"]),
        "n_diverged": int(agg_row["n_diverged"]),
        "diverged_at": [int(s) for s in agg_row["diverged_at"]],
        "metrics": metrics,
    }


def refuse_unfinished(df: pd.DataFrame, what: str) -> None:
    """A run that crashed or is still going has no result to stand on."""
    bad = df[~df["status"].isin(["done", "diverged"])]
    if len(bad):
        row = bad.iloc[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise RunError(
            f"{row['run_dir']} is {row['status']}{more}; {what} needs finished runs: "
            "finish them with `ganbench run --resume` or remove them"
        )


def build(df: pd.DataFrame) -> dict:
    """A baseline document from results.collect() rows (finished runs only)."""
    if df.empty:
        raise RunError("no runs to make a baseline from")
    refuse_unfinished(df, "a baseline")
    df = run_protocols(df)
    agg = aggregate(df)
    entries = []
    for _, agg_row in agg.iterrows():
        group = df[(df["dataset"] == agg_row["dataset"]) & (df["variant"] == agg_row["variant"])]
        entries.append(entry(group, agg_row))
    environment = (RunDir.at(df["run_dir"].iloc[0]).read_config() or {}).get("environment", {})
    return {"schema": SCHEMA, "kind": KIND, "environment": environment, "entries": entries}


def from_runs(out: Path, datasets=None, variants=None) -> dict:
    if not Path(out).is_dir():
        raise RunError(f"{out} does not exist; train the runs first with `ganbench run`")
    df = collect(out)
    if df.empty:
        raise RunError(f"no run directories under {out}")
    # Records of `ganbench score` were made elsewhere: `ganbench check` could not train them again.
    scored = df[df["origin"] == "scored"]
    asked = set(variants or ()) & set(scored["variant"])
    if asked:
        raise UsageError(
            f"{', '.join(sorted(asked))}: scored by `ganbench score`, not trained by ganbench; "
            "a baseline holds runs that `ganbench check` can train again"
        )
    df = df[df["origin"] != "scored"]
    if df.empty:
        raise RunError(f"no runs trained by ganbench under {out} (only records of `ganbench score`)")
    for column, wanted in (("dataset", datasets), ("variant", variants)):
        if wanted:
            missing = sorted(set(wanted) - set(df[column]))
            if missing:
                raise UsageError(f"{out} holds no runs of {column} {', '.join(missing)}")
            df = df[df[column].isin(wanted)]
    return build(df.reset_index(drop=True))


def write(path: Path, baseline: dict) -> None:
    """Strict JSON (no NaN), written to a temporary file and renamed into place."""
    text = json.dumps(baseline, indent=2, allow_nan=False) + "\n"  # in build() order: schema first
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(Path(path), text.encode())
    except OSError as exc:
        raise RunError(f"cannot write {path} ({exc.strerror}); choose another -o") from None
