"""Shared fixtures. Everything runs on the CPU with tiny budgets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from ganbench.data import data_root

# Two cores: keep torch from oversubscribing them when pytest runs in parallel shells.
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Caches (unpacked MNIST, Inception weights) go to one temp folder per session,
    unless GANBENCH_CACHE is set by the caller (CI sets it so downloads are reused).
    Session-scoped, so module-scoped fixtures see the same folder as the tests."""
    if os.environ.get("GANBENCH_CACHE"):
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        yield


@pytest.fixture
def data_dir() -> Path | None:
    return data_root(None)
