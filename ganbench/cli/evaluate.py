"""`ganbench eval`: score finished runs again, from their config.json and generator.pt."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import MAX_EVAL_SAMPLES
from ..core.record import is_scored
from ..errors import RunError, UsageError
from ..rundir import read_json
from . import cli
from .metric_options import eval_settings, metric_options
from .options import DATA_ROOT_OPTION, DEVICE_OPTION

SHOWN = ("modes", "hq_frac", "reverse_kl", "kl_uniform", "mnist_is", "mnist_fid", "fid", "kid_mean", "precision")


def _check(path: Path) -> None:
    """One-line errors for anything that is not a finished run directory."""
    if not path.exists():
        raise RunError(f"{path} does not exist")
    if not path.is_dir():
        raise RunError(f"{path} is not a directory (expected a run directory <out>/<dataset>/<variant>/seed<k>)")
    if not (path / "config.json").is_file():
        raise RunError(f"{path} is not a run directory (no config.json)")
    if is_scored(read_json(path / "config.json")):
        raise UsageError(
            f"{path} holds a record of `ganbench score` (made elsewhere), not a ganbench run: score it again "
            "with `ganbench score ... --overwrite`"
        )
    if not (path / "generator.pt").is_file():
        status = read_json(path / "status.json") or {}
        if status.get("status") == "diverged":
            raise RunError(f"{path} diverged at step {status.get('step')}: there is no final generator to score")
        raise RunError(f"{path} has no generator.pt: the run has not finished (resume it with `ganbench run --resume`)")


@cli.command("eval")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--eval-samples", type=click.IntRange(1, MAX_EVAL_SAMPLES), help="Generated samples (default: the run's own)."
)
@DEVICE_OPTION
@DATA_ROOT_OPTION
@metric_options
def eval_cmd(run_dirs, eval_samples, device, data_root, inception, inception_weights, reference_samples) -> None:
    """Score the generators of finished RUN_DIRS; append an eval record to each metrics.jsonl.

    The record carries the run's final step and the protocol, like those written while
    training. Every path is checked before anything is scored.
    """
    from ..config import resolve_device
    from ..metrics.evaluate import make_evaluator
    from ..runs.rescore import evaluate_run_dir

    for path in run_dirs:
        _check(path)
    device = resolve_device(device)
    evaluator = make_evaluator(eval_settings(inception, inception_weights, reference_samples, device))
    for path in run_dirs:
        step, record = evaluate_run_dir(path, evaluator, device=device, data_root=data_root, eval_samples=eval_samples)
        shown = ", ".join(f"{k}={_fmt(record[k])}" for k in SHOWN if k in record)
        click.echo(f"{path}: step {step}: {shown}")


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
