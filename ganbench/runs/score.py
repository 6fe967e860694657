"""`ganbench score`: score what was made elsewhere, a generator (a factory and its weights)
or a fixed set of samples, with the evaluator of ganbench's own runs, and write the record
where the tables read runs:

    <out>/<dataset dirname>/<NAME>/seed0/
      config.json    kind "scored", trained_by_ganbench false: what was scored, its path and
                     sha256, the dataset, the evaluation settings
      metrics.jsonl  one eval record, with "step": null (nothing was trained)
      status.json    done
      samples.png    the image grid or the scatter, from what was scored

NAME may not be a registered variant's name, so `ganbench run` (which trains registered
variants only) never meets the folder, and `ganbench eval` and `ganbench baseline` refuse
or skip records of this kind.

Inputs are checked before anything is scored; every bad input is one UsageError (exit 2)
that says what was expected. Too few samples is an error, never a smaller evaluation.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .. import provenance
from ..core.record import SCORED, dataset_record, is_scored
from ..core.samples import FixedSamples, Sampler, write_samples
from ..data import Dataset, load_dataset
from ..errors import UsageError
from ..rundir import RunDir
from .plan import registered_variants
from .score_inputs import (
    DEFAULT_RANGE,
    ZERO_ONE_NOTE,
    CheckedSampler,
    as_samples,
    build_scored_generator,
    check_count,
    default_eval_samples,
    looks_like_zero_one,
    probe_generator,
    read_samples,
    sha256_file,
    sha256_source,
)

SEED = 0  # a scored record is one "seed": seed0/
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class ScoreConfig:
    """What the evaluator reads of a config (eval_samples, eval_seed, device), and the row's identity."""

    variant: str  # the record's NAME: its row in the tables
    dataset: str
    eval_samples: int
    eval_seed: int
    device: str
    seed: int = SEED
    z_dim: int | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# --- where the record goes ------------------------------------------------------------


def check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise UsageError(
            f"--name {name!r}: expected a folder name of letters, digits, '.', '_' or '-' "
            "(starting with a letter or digit, at most 64 characters)"
        )
    taken = {v.lower(): v for v in registered_variants()}
    if name.lower() in taken:
        raise UsageError(
            f"--name {name} is the registered variant {taken[name.lower()]}'s name; a scored record must not "
            "pass for a ganbench run: pick another --name"
        )


def target_dir(out: Path, dataset: str, name: str, overwrite: bool) -> RunDir:
    """The record's run directory; refuses one holding a ganbench run, or a record without --overwrite."""
    run = RunDir(out, dataset, name, SEED)
    if run.config_path.exists():
        if not is_scored(run.read_config()):
            raise UsageError(f"{run.path} holds a run that ganbench trained, not a scored record; pick another --name")
        if not overwrite:
            raise UsageError(f"{run.path} already holds a scored record; pass --overwrite to replace it")
    return run


# --- checking what was made elsewhere -------------------------------------------------


def load_reference(dataset: str, data_root, device: str) -> Dataset:
    """The dataset as scoring needs it: its reference split (one training item is loaded)."""
    return load_dataset(dataset, data_root, device, limit=1)


def score_generator(
    spec: str,
    weights: Path,
    z_dim: int,
    *,
    dataset: str,
    name: str,
    out: Path,
    evaluator,
    device: str,
    data_root=None,
    eval_samples: int | None = None,
    eval_seed: int = 0,
    value_range: tuple[float, float] | None = None,
    overwrite: bool = False,
    warn=None,
) -> tuple[RunDir, dict]:
    """Score factory() with `weights` on the evaluation noise of ganbench's own runs."""
    check_name(name)
    data = load_reference(dataset, data_root, device)
    run = target_dir(out, data.name, name, overwrite)
    if data.kind == "points" and value_range is not None:
        raise UsageError("--range applies to images; a generator of points is scored as it returns them")
    g, module_file = build_scored_generator(spec, weights, device)
    probe_generator(g, z_dim, data, device, spec)
    cfg = ScoreConfig(name, data.name, eval_samples or default_eval_samples(data), eval_seed, device, z_dim=z_dim)
    rng = value_range or DEFAULT_RANGE
    note = warn if value_range is None else None  # the [0, 1] note: only when no range was declared
    sampler = CheckedSampler(Sampler(g, z_dim, torch.device(device), eval_seed), data, rng, spec, note)
    module = Path(module_file) if module_file else None
    scored = {
        "what": "generator",
        "generator": spec,
        "module": (
            {"path": str(module.resolve()), "sha256": sha256_file(module)} if module and module.is_file() else None
        ),
        "weights": {"path": str(weights.resolve()), "sha256": sha256_file(weights)},
        "z_dim": z_dim,
        "range": list(rng) if data.kind == "images" else None,
    }
    return run, _score(run, sampler, data, cfg, evaluator, scored)


def score_samples(
    path: Path,
    *,
    dataset: str,
    name: str,
    out: Path,
    evaluator,
    device: str,
    data_root=None,
    eval_samples: int | None = None,
    value_range: tuple[float, float] | None = None,
    overwrite: bool = False,
    warn=None,
) -> tuple[RunDir, dict]:
    """Score a fixed set of samples: the first `eval_samples` of them (more: an error)."""
    check_name(name)
    data = load_reference(dataset, data_root, device)
    run = target_dir(out, data.name, name, overwrite)
    raw, fmt = read_samples(path, data)
    dtype = str(getattr(raw, "dtype", "")).replace("torch.", "")
    shape = list(getattr(raw, "shape", ()))
    samples = as_samples(raw, data, value_range, f"--samples {path}")
    cfg = ScoreConfig(name, data.name, eval_samples or default_eval_samples(data), 0, device)
    used = check_count(len(samples), data, cfg.eval_samples, f"--samples {path}")
    # Only when no range was declared; then the samples are as given.
    if warn and value_range is None and data.kind == "images" and dtype != "uint8" and looks_like_zero_one(samples):
        warn(f"note: --samples {path}: {ZERO_ONE_NOTE}")
    scored = {
        "what": "samples",
        "source": {"path": str(path.resolve()), "sha256": sha256_source(path), "format": fmt},
        "count": len(samples),
        "used": used,
        "as_given": {"shape": shape, "dtype": dtype},
        "range": None if data.kind == "points" or dtype == "uint8" else list(value_range or DEFAULT_RANGE),
    }
    return run, _score(run, FixedSamples(samples), data, cfg, evaluator, scored)


def _score(run: RunDir, sampler, data: Dataset, cfg: ScoreConfig, evaluator, scored: dict) -> dict:
    getattr(evaluator, "refuse_unscorable", lambda data, cfg: None)(data, cfg)
    record = evaluator(sampler, data, cfg)
    protocol = record.setdefault("protocol", {})
    if scored["what"] == "samples":
        n = protocol.get("sampling", {}).get("samples", scored["used"])
        protocol["sampling"] = {
            "samples": n,
            "eval_seed": None,
            "noise": None,
            "source": f"the first {n:,} of {scored['count']:,} fixed samples in {scored['source']['path']}",
            "generator_mode": None,
        }
    protocol["scored"] = {k: v for k, v in scored.items() if k != "as_given"}
    config = {
        "kind": SCORED,
        "trained_by_ganbench": False,
        "note": "made elsewhere and scored by `ganbench score`: no ganbench command trains it",
        "config": cfg.to_dict(),
        "scored": scored,
        "dataset": {**dataset_record(data), "train_size": None},
        "environment": provenance.environment(cfg.device),
    }
    run.lock()
    try:
        run.clear()
        run.write_config(config)
        run.append_metrics({"type": "eval", "step": None, **record})
        write_samples(_Preview(sampler), data, run.samples_path, title=f"{cfg.variant} (scored)")
        run.write_status("done", step=None, scored=True)
    finally:
        run.unlock()
    return record


class _Preview:
    """The grid or scatter of samples.png from what was scored: up to as many as there are."""

    def __init__(self, sampler):
        self.sampler = sampler

    def sample(self, n: int, generator: torch.Generator | None = None, batch: int = 500) -> Tensor:
        if isinstance(self.sampler, FixedSamples):
            n = min(n, len(self.sampler))
        return self.sampler.sample(n, generator, batch)
