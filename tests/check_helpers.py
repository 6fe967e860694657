"""Shared by the stability-check tests: a tiny protocol and the runs made under it."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from ganbench.cli import cli
from ganbench.variants import VARIANTS

# grid25 and lsgan: 150 smoke steps put it on 14-19 of the 25 modes with two seeds, enough
# signal for a broken generator (3 modes) to fall far outside the seeds' spread.
DATASET, VARIANT, SEEDS = "grid25", "lsgan", "0,1"
TRAIN = ["--profile", "smoke", "--steps", "150", "--device", "cpu", "--no-progress"]


def invoke(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def train(out: Path, *extra) -> None:
    result = invoke("run", VARIANT, "--dataset", DATASET, "--seeds", SEEDS, "--out", out, *TRAIN, *extra)
    assert result.exit_code == 0, result.output


def one_line_error(result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def table_rows(output: str) -> dict[tuple[str, str, str], str]:
    """(dataset, variant, metric) -> verdict, parsed from the printed table."""
    rows = {}
    for line in output.splitlines():
        parts = line.split()
        if (
            len(parts) >= 4
            and parts[0] in ("ring8", "grid25")
            and parts[-1] in ("pass", "better", "FAIL", "ERROR", "n/a")
        ):
            rows[(parts[0], parts[1], parts[2])] = parts[-1]
    return rows


def flipped(variant_name: str):
    """The variant with its generator loss negated: G learns to look fake."""
    v = VARIANTS[variant_name]
    g_loss = v.g_loss

    def g_loss_flipped(fake_scores):
        return -g_loss(fake_scores)

    return dataclasses.replace(v, g_loss=g_loss_flipped)


def exploding(variant_name: str):
    """The variant with absurd learning rates: it diverges within the first log interval."""
    return dataclasses.replace(VARIANTS[variant_name], lr_d=1e6, lr_g=1e6)


@contextlib.contextmanager
def patched(variant):
    """A context in which the registry holds `variant` under its own name."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(VARIANTS, variant.name, variant)
        yield
