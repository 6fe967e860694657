"""Score a finished run directory again (what `ganbench eval` does): rebuild G alone from
config.json + generator.pt, score its Sampler, append the record at the run's step."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from ..config import RunConfig
from ..core.record import is_scored
from ..core.samples import Sampler
from ..data import load_dataset
from ..errors import RunError
from ..nets import build_generator, net_options
from ..rundir import RunDir
from .plan import get_variant


def load_run_config(run: RunDir) -> RunConfig:
    record = run.read_config()
    if not record or not isinstance(record.get("config"), dict):
        raise RunError(f"{run.config_path} is unreadable or has no config")
    if is_scored(record):
        raise RunError(f"{run.path} holds a record of `ganbench score` (made elsewhere), not a ganbench run")
    try:
        variant_record = record.get("variant") if isinstance(record.get("variant"), dict) else None
        cfg = RunConfig.from_dict(record["config"], variant_record)
    except (TypeError, ValueError) as exc:
        raise RunError(f"{run.config_path} does not hold a ganbench config ({exc})") from exc
    if not cfg.is_resolved:
        raise RunError(f"{run.config_path} holds an unresolved config")
    return cfg


def run_step(run: RunDir, cfg: RunConfig) -> int:
    """The step the weights in generator.pt belong to: status.json's, else the config's last."""
    status = run.read_status() or {}
    step = status.get("step")
    return int(step) if isinstance(step, int) else int(cfg.steps)


def evaluate_run_dir(path: Path, evaluator, *, device: str, data_root=None, eval_samples: int | None = None):
    """(step, record) after appending {"type": "eval", "step": step, **record} to metrics.jsonl."""
    run = RunDir.at(path)
    cfg = load_run_config(run)
    cfg = dataclasses.replace(cfg, device=device, eval_samples=eval_samples or cfg.eval_samples)
    get_variant(cfg.variant)  # its plugin must be loaded
    # Scoring reads only the reference split; a one-item training split keeps Stacked
    # MNIST's 1.2 GB of training images out of memory.
    data = load_dataset(cfg.dataset, data_root, cfg.device, limit=1, image_size=cfg.image_size)
    trained_on = ((run.read_config() or {}).get("dataset") or {}).get("reference_split")
    if trained_on and trained_on != data.reference_split:
        # A folder whose images changed since: another reference would be scored against.
        raise RunError(
            f"{run.path}: the dataset's reference is no longer the one this run was scored against "
            f"(then: {trained_on}; now: {data.reference_split}); restore the data, or train again"
        )
    g = build_generator(cfg.arch, cfg.z_dim, data.shape, cfg.g_norm, cfg.d_norm, net_options(cfg)).to(cfg.device)
    try:
        g.load_state_dict(torch.load(run.path / "generator.pt", map_location=cfg.device, weights_only=True))
    except Exception as exc:  # truncated file, another architecture, ...
        raise RunError(f"{run.path / 'generator.pt'} does not load into this run's generator ({exc})") from exc
    step = run_step(run, cfg)
    run.lock()  # refuses while a training process holds the run
    try:
        record = evaluator(Sampler(g, cfg.z_dim, torch.device(cfg.device), cfg.eval_seed, cfg.noise), data, cfg)
        run.append_metrics({"type": "eval", "step": step, **record})
    finally:
        run.unlock()
    return step, record
