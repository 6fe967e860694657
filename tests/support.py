"""Helpers shared by the tests (imported as `support`; pytest puts tests/ on sys.path)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganbench.config import RunConfig
from ganbench.data import DATA_ENV, data_root, get_dataset_spec
from ganbench.runs.plan import resolve


def available(dataset: str) -> bool:
    """True when the dataset's files are on this machine (under $GANBENCH_DATA)."""
    return get_dataset_spec(dataset).locate(data_root(None)) is not None


def mnist_available() -> bool:
    return available("mnist")


requires_mnist = pytest.mark.skipif(
    not mnist_available(), reason=f"MNIST not found under ${DATA_ENV} (set it to a folder holding MNIST/raw/)"
)


def tiny_config(variant: str, dataset: str, **overrides) -> RunConfig:
    """A resolved config that trains in well under a second per step on a CPU."""
    base = dict(variant=variant, dataset=dataset, profile="smoke", device="cpu")
    if get_dataset_spec(dataset).kind == "images":
        base.update(data_limit=256, batch_size=16)
    base.update(overrides)
    return resolve(RunConfig(**base))


def run_files(run) -> tuple[dict, dict, str]:
    """A finished run's generator and discriminator weights and metrics.jsonl (a Path or a RunDir)."""
    run = Path(getattr(run, "path", run))
    return torch.load(run / "generator.pt"), torch.load(run / "discriminator.pt"), (run / "metrics.jsonl").read_text()


def assert_same_run(a, b) -> None:
    """Two finished runs (Paths or RunDirs) hold bit-identical weights and identical metrics."""
    (ga, da, ma), (gb, db, mb) = run_files(a), run_files(b)
    where = getattr(a, "path", a)
    assert ga.keys() == gb.keys() and all(torch.equal(ga[k], gb[k]) for k in ga), f"{where}: G differs"
    assert da.keys() == db.keys() and all(torch.equal(da[k], db[k]) for k in da), f"{where}: D differs"
    assert ma == mb, f"{where}: metrics differ"
