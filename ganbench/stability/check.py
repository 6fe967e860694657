"""`ganbench check` as a function: rerun (or read) what a baseline covers, then judge it.

Flow: load the baseline -> pick its entries -> refuse a protocol other than the baseline's
-> train the runs with runs.plan/run_suite under that protocol (or read --runs DIR) ->
aggregate with tables.aggregate -> one verdict per (dataset, variant, metric).

The runs reuse the baseline's seeds, device and CPU thread count by default, so unchanged
code on the same machine reproduces the baseline bit for bit (CPU runs are deterministic);
the tolerance is for other machines, other library versions and other seeds.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config import RunOptions
from ..errors import UsageError
from ..metrics.evaluate import ByDataset, EvalSettings, make_evaluator
from ..provenance import environment
from ..report.results import collect
from ..report.tables import aggregate
from ..runs.plan import plan
from ..runs.schedule import run_suite
from . import schema
from .baseline import PROTOCOL_CONFIG, PROTOCOL_EVAL, first_values, group_protocol, run_protocols
from .compare import Verdict, compare_entry, summary, table
from .tolerance import Tolerance, resolve_tolerance


@dataclass
class CheckReport:
    baseline: Path
    verdicts: list[Verdict]
    tolerance: Tolerance
    notes: list[str] = field(default_factory=list)
    runs: Path | None = None  # where the judged runs are (None: a temporary folder, removed)

    @property
    def passed(self) -> bool:
        return not any(v.failed for v in self.verdicts)

    @property
    def failures(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.failed]

    def text(self) -> str:
        lines = [
            table(self.verdicts),
            "",
            summary(self.verdicts),
            f"Tolerance: {self.tolerance.describe({v.metric for v in self.verdicts})}.",
        ]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)


def select(doc: dict, datasets=None, variants=None) -> list[dict]:
    """The baseline's entries for the asked datasets and variants (all by default)."""
    entries = doc["entries"]
    for key, wanted in (("dataset", datasets), ("variant", variants)):
        if wanted:
            have = list(dict.fromkeys(e[key] for e in entries))
            missing = [w for w in wanted if w not in have]
            if missing:
                raise UsageError(
                    f"the baseline does not cover {key} {', '.join(missing)}; it covers: {', '.join(have)}"
                )
            entries = [e for e in entries if e[key] in wanted]
    if not entries:
        raise UsageError("the baseline covers none of the asked (dataset, variant) pairs")
    return entries


def refuse_other_protocol(entries: list[dict], asked: dict) -> None:
    """--profile/--steps/--eval-samples must agree with the baseline: a mismatch is refused."""
    for e in entries:
        for key, value in asked.items():
            if value is not None and e["protocol"].get(key) != value:
                raise UsageError(
                    f"protocol mismatch: the baseline ran {e['dataset']}/{e['variant']} with {key} "
                    f"{e['protocol'].get(key)}, this check asks for {value}; refusing to compare "
                    "(make a baseline under that protocol with `ganbench baseline`)"
                )


def protocol_mismatch(base: dict, now: dict) -> list[str]:
    """Fields that differ; eval facts count only where both sides have them (a run that
    diverged before scoring has none)."""
    out = []
    for key in (*PROTOCOL_CONFIG, *PROTOCOL_EVAL):
        b, n = base.get(key), now.get(key)
        if key in PROTOCOL_EVAL and (b is None or n is None):
            continue
        if b != n:
            out.append(f"{key} {b} in the baseline, {n} now")
    return out


def _train(entries, seeds, out: Path, device, inception_weights, data_root, progress, echo, jobs: int, observers=()):
    configs, evaluators = [], {}
    for e in entries:
        p, s = e["protocol"], e.get("settings") or {}
        overrides = {k: p[k] for k in PROTOCOL_CONFIG if p.get(k) is not None}
        overrides["device"] = device or s.get("device") or "auto"
        if s.get("cpu_threads"):
            overrides["cpu_threads"] = s["cpu_threads"]
        suite = plan([e["variant"]], [e["dataset"]], seeds or e["seeds"], overrides, data_root=data_root)
        configs += suite.configs
        evaluators[e["dataset"]] = make_evaluator(
            EvalSettings(
                inception=p.get("inception"),
                inception_weights=str(inception_weights) if inception_weights else None,
                reference_samples=p.get("inception_reference") if p.get("inception") else None,
            )
        )

    # Each dataset scored as its baseline was; overwrite: a check judges the code as it is
    # now, never a run left by older code.
    options = RunOptions(
        out=out,
        evaluator=ByDataset(evaluators),
        data_root=data_root,
        overwrite=True,
        progress=progress,
        echo=echo,
        observers=tuple(observers),
    )
    return run_suite(configs, options, jobs=jobs)


def _with_crashes(df: pd.DataFrame, outcomes) -> pd.DataFrame:
    """Rows for runs that crashed before writing their directory (so collect() cannot see
    them): a crash in the code under test is a verdict (ERROR, exit 1), not a missing run."""
    seen = set(df["run_dir"]) if "run_dir" in df else set()
    rows = []
    for o in outcomes:
        if o.status == "failed" and str(o.run_dir.path) not in seen:
            cfg = {f"cfg.{k}": str(v) if isinstance(v, (list, tuple)) else v for k, v in o.cfg.to_dict().items()}
            ids = {"dataset": o.cfg.dataset, "variant": o.cfg.variant, "seed": o.cfg.seed}
            rows.append({**ids, "status": "failed", "reason": o.message, "run_dir": str(o.run_dir.path), **cfg})
    return pd.concat([df, pd.DataFrame(rows)], ignore_index=True) if rows else df


def _rows_for(df: pd.DataFrame, e: dict, seeds, source: str) -> pd.DataFrame:
    where = f"{e['dataset']}/{e['variant']}"
    rows = df[(df["dataset"] == e["dataset"]) & (df["variant"] == e["variant"])]
    if seeds:
        missing = sorted(set(seeds) - {int(s) for s in rows["seed"]})
        if missing:
            raise UsageError(f"{source} holds no run of {where} for seed {', '.join(map(str, missing))}")
        rows = rows[rows["seed"].isin(seeds)]
    if rows.empty:
        raise UsageError(
            f"{source} holds no runs of {where}, which the baseline covers; "
            "pass --datasets/--variants to check a subset"
        )
    unfinished = rows[rows["status"].isin(["running", "interrupted", "unknown"])]
    if len(unfinished):
        raise UsageError(f"{unfinished.iloc[0]['run_dir']} is {unfinished.iloc[0]['status']}; finish it first")
    return rows.reset_index(drop=True)


def _notes(e: dict, rows: pd.DataFrame) -> list[str]:
    """Differences that do not invalidate the comparison but explain a changed number."""
    where = f"{e['dataset']}/{e['variant']}"
    notes = []
    current = first_values(rows, (e.get("hyperparameters") or {}).keys())
    for key, before in (e.get("hyperparameters") or {}).items():
        now = current.get(key)
        if before is not None and now is not None and before != now:
            notes.append(f"{where}: {key} is {now} now, {before} in the baseline")
    seeds = sorted(int(s) for s in rows["seed"])
    if seeds != sorted(e["seeds"]):
        notes.append(f"{where}: seeds {seeds} now, {e['seeds']} in the baseline")
    return notes


def _environment_notes(doc: dict, df: pd.DataFrame) -> list[str]:
    before = doc.get("environment") or {}
    device = str(df["cfg.device"].iloc[0]) if "cfg.device" in df and len(df) else "cpu"
    now = environment(device)
    notes = []
    for lib in ("torch", "numpy"):
        b, n = (before.get("versions") or {}).get(lib), now["versions"].get(lib)
        if b and n and b != n:
            notes.append(f"the baseline was made with {lib} {b}, this is {lib} {n}: numbers may move within tolerance")
    if before.get("device") and before["device"].split(":")[0] != device.split(":")[0]:
        notes.append(f"the baseline ran on {before['device']}, these runs on {device}")
    return notes


def run_check(
    baseline: str | Path,
    *,
    runs: str | Path | None = None,
    out: str | Path | None = None,
    datasets=None,
    variants=None,
    seeds=None,
    profile: str | None = None,
    steps: int | None = None,
    eval_samples: int | None = None,
    device: str | None = None,
    tolerance: Tolerance | None = None,
    inception_weights=None,
    data_root=None,
    progress: bool = False,
    echo: Callable[[str], None] = lambda msg: None,
    jobs: int = 1,
    observers=(),
) -> CheckReport:
    """`observers`: RunOptions.observers for the runs it trains (--tensorboard), which need --out."""
    if runs is not None and out is not None:
        raise UsageError("--runs reads finished runs and --out says where to train new ones: give one of them")
    if observers and out is None:
        what = "--runs trains nothing" if runs is not None else "the check's runs go to a temporary folder"
        raise UsageError(f"--tensorboard writes into the runs a check trains, and {what}: give --out DIR")
    doc = schema.load(baseline, echo)
    entries = select(doc, datasets, variants)
    refuse_other_protocol(entries, {"profile": profile, "steps": steps, "eval_samples": eval_samples})
    tolerance = tolerance or resolve_tolerance()
    seeds = list(dict.fromkeys(seeds)) if seeds else None
    temporary = None
    if runs is not None:
        if not Path(runs).is_dir():
            raise UsageError(f"--runs {runs} is not a folder of run directories")
        folder, source = Path(runs), f"--runs {runs}"
    else:
        folder = Path(out) if out is not None else Path(temporary := tempfile.mkdtemp(prefix="ganbench-check-"))
        source = str(folder)
    try:
        if runs is None:
            outcomes = _train(
                entries, seeds, folder, device, inception_weights, data_root, progress, echo, jobs, observers
            )
            df = _with_crashes(collect(folder), outcomes)
        else:
            df = collect(folder)
        verdicts, notes = [], []
        for e in entries:
            rows = run_protocols(_rows_for(df, e, seeds, source))
            where = f"{e['dataset']}/{e['variant']}"
            mismatch = protocol_mismatch(e["protocol"], group_protocol(rows, where))
            if mismatch:
                raise UsageError(f"protocol mismatch for {where}: {'; '.join(mismatch)}; refusing to compare")
            verdicts += compare_entry(e, rows, aggregate(rows).iloc[0], tolerance)
            notes += _notes(e, rows)
        notes += _environment_notes(doc, df)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    return CheckReport(Path(baseline), verdicts, tolerance, notes, None if temporary else folder)
