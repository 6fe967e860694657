"""Shared helpers of the metrics tests (a plain module, so it cannot clash with a conftest.py)."""

from __future__ import annotations

import functools

import pytest

from ganbench.data import data_root
from ganbench.data.mnist import locate


def mnist_root():
    """The data root holding MNIST, or skip the test: MNIST is not on every machine."""
    root = data_root(None)
    if locate(root) is None:
        pytest.skip("MNIST is not under $GANBENCH_DATA (see shared/data/README.md)")
    return root


@functools.lru_cache(maxsize=2)
def mnist_split(train: bool):
    """(uint8 images (N, 1, 28, 28), labels (N,)) of one split, loaded once per test session."""
    from ganbench.data.mnist import load_split

    return load_split(mnist_root(), train=train)
