"""The scoring options shared by `ganbench run` and `ganbench eval` (and `--inception-weights` by `check`)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import count

INCEPTION_WEIGHTS_OPTION = click.option(
    "--inception-weights",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="torch-fidelity Inception weights file (default: $GANBENCH_INCEPTION_WEIGHTS, then the "
    "offline extra, then torch-fidelity's download).",
)


def metric_options(f):
    """--inception/--no-inception, --inception-weights, --reference-samples."""
    f = click.option(
        "--reference-samples",
        type=count(min=2),
        default=None,
        help="Score the Inception metrics against the first N reference images only "
        "(default: the whole reference split). Recorded in the protocol.",
    )(f)
    f = INCEPTION_WEIGHTS_OPTION(f)
    f = click.option(
        "--inception/--no-inception",
        default=None,
        help="Compute FID/KID/precision/recall/IS on images. [default: on for CUDA, off on CPU, "
        "where Inception runs at about 7 images/s]",
    )(f)
    return f


def eval_settings(inception, inception_weights, reference_samples, device: str):
    """EvalSettings from the options; resolves the Inception weights now when they will be
    needed, so a missing file fails before any training, as one line."""
    from ..metrics.evaluate import EvalSettings

    settings = EvalSettings(
        inception=inception,
        inception_weights=str(inception_weights) if inception_weights else None,
        reference_samples=reference_samples,
    )
    if settings.inception_on(device):
        settings.weights()
    return settings
