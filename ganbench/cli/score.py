"""`ganbench score`: score a generator or samples made elsewhere, as a row of the tables."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ..config import MAX_EVAL_SAMPLES, MAX_SEED
from ..errors import UsageError
from . import cli
from .evaluate import SHOWN, _fmt
from .metric_options import eval_settings, metric_options
from .options import DATA_ROOT_OPTION, DEVICE_OPTION, RUNS_OPTION, echo_err


class Range(click.ParamType):
    """LO,HI: the range a generator's or a float array's image values are declared in."""

    name = "LO,HI"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            lo, hi = (float(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r}: expected LO,HI, e.g. 0,1 or -1,1", param, ctx)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            self.fail(f"{value!r}: expected finite LO < HI, e.g. 0,1", param, ctx)
        return (lo, hi)


@cli.command("score")
@click.option("--generator", metavar="MODULE:FACTORY", help="factory() returns the generator (an nn.Module).")
@click.option(
    "--weights",
    type=click.Path(path_type=Path),
    help="The generator's state dict (loaded with weights_only=True).",
)
@click.option("--z-dim", type=click.IntRange(min=1), help="Latent size: G is called on N(0, I) noise (B, z-dim).")
@click.option(
    "--samples",
    type=click.Path(path_type=Path),
    help="A folder of images, or an .npz/.pt array: points (N, 2), images (N, C, H, W) or (N, H, W, C).",
)
@click.option("--dataset", required=True, help="The dataset whose reference and metrics score them.")
@click.option("--name", help="The row's name in the tables (default with --generator: the weights file's stem).")
@click.option(
    "--range",
    "value_range",
    type=Range(),
    default=None,
    help="The range of float image values (default -1,1); uint8 images are 0..255.",
)
@click.option(
    "--eval-samples",
    type=click.IntRange(1, MAX_EVAL_SAMPLES),
    help="Samples scored (default: what `ganbench run`'s default profile scores: 2,500 points, 2,000 images).",
)
@click.option(
    "--eval-seed",
    type=click.IntRange(0, MAX_SEED),
    default=0,
    show_default=True,
    help="Seed of the generator's noise (ganbench's runs score on seed 0).",
)
@RUNS_OPTION
@click.option("--overwrite", is_flag=True, help="Replace a scored record of the same name.")
@DEVICE_OPTION
@DATA_ROOT_OPTION
@metric_options
def score_cmd(
    generator,
    weights,
    z_dim,
    samples,
    dataset,
    name,
    value_range,
    eval_samples,
    eval_seed,
    out,
    overwrite,
    device,
    data_root,
    inception,
    inception_weights,
    reference_samples,
) -> None:
    """Score a generator or samples made elsewhere with ganbench's metrics and protocol.

    Writes <out>/<dataset>/<NAME>/seed0/ (config.json of kind "scored", status done, one
    eval record), which `table`, `plot` and `report` show as a row beside the variants.

    \b
    --generator MODULE:FACTORY --weights G.pt --z-dim N: ganbench draws the noise
        from its evaluation seed, as for its own runs. MODULE is importable (from the
        current folder too) or a path to a .py file; its code runs.
    --samples PATH --name NAME: the first --eval-samples of them are scored; fewer
        is an error.
    """
    from ..config import resolve_device
    from ..metrics.evaluate import make_evaluator
    from ..runs import score

    if bool(generator) == bool(samples):
        raise UsageError("give --generator MODULE:FACTORY (with --weights and --z-dim) or --samples PATH, one of them")
    if generator:
        missing = [opt for opt, v in (("--weights", weights), ("--z-dim", z_dim)) if v is None]
        if missing:
            raise UsageError(f"--generator needs {' and '.join(missing)}")
    else:
        given = [opt for opt, v in (("--weights", weights), ("--z-dim", z_dim)) if v is not None]
        if given:
            raise UsageError(f"{' and '.join(given)}: for --generator only, not --samples")
        if eval_seed:
            raise UsageError("--eval-seed seeds a generator's noise; fixed --samples have none")
        if not name:
            raise UsageError("--samples needs --name NAME: the row's name in the tables")
    name = name or Path(weights).stem
    score.check_name(name)  # before any data is loaded
    device = resolve_device(device)
    evaluator = make_evaluator(eval_settings(inception, inception_weights, reference_samples, device))
    common = dict(
        dataset=dataset,
        name=name,
        out=out,
        evaluator=evaluator,
        device=device,
        data_root=data_root,
        eval_samples=eval_samples,
        value_range=value_range,
        overwrite=overwrite,
        warn=echo_err,
    )
    if generator:
        run, record = score.score_generator(generator, weights, z_dim, eval_seed=eval_seed, **common)
    else:
        run, record = score.score_samples(samples, **common)
    shown = ", ".join(f"{k}={_fmt(record[k])}" for k in SHOWN if k in record)
    click.echo(f"{run.path}: scored {name}: {shown}")
