"""Stacked MNIST: three independently drawn digits as channels, built deterministically."""

import pytest
import torch
from metrics_helpers import mnist_root

from ganbench.data import get_dataset_spec
from ganbench.data.stacked_mnist import MODE_SAMPLES, N_REFERENCE, load, stack


def test_stack_draws_each_channel_from_the_source_with_its_label():
    images = torch.arange(20, dtype=torch.uint8).view(20, 1, 1, 1).expand(20, 1, 28, 28).contiguous()
    labels = torch.arange(20) % 10
    stacked, modes = stack(images, labels, 500, seed=3)
    assert stacked.shape == (500, 3, 28, 28) and stacked.dtype == torch.uint8
    source = stacked[:, :, 0, 0].long()  # which source image each channel copied
    assert torch.equal(stacked, images[source.flatten(), 0].view(500, 3, 28, 28))
    assert torch.equal(modes, (labels[source] * torch.tensor([100, 10, 1])).sum(1))
    assert len(set(source[:, 0].tolist())) == 20  # every source image is used in a channel
    again, _ = stack(images, labels, 500, seed=3)
    assert torch.equal(stacked, again)
    other, _ = stack(images, labels, 500, seed=4)
    assert not torch.equal(stacked, other)


def test_registered_after_mnist():
    spec = get_dataset_spec("stacked-mnist")
    assert spec.kind == "images" and spec.batch_size == 64 and spec.z_dim == 100


@pytest.mark.mnist
def test_load_is_deterministic_and_a_limit_keeps_a_prefix():
    root = mnist_root()
    small = load(root, torch.device("cpu"), limit=32)
    larger = load(root, torch.device("cpu"), limit=64)
    assert small.train.shape == (32, 3, 28, 28)
    assert small.train.min() >= -1 and small.train.max() <= 1
    assert torch.equal(small.train, larger.train[:32])
    assert small.reference.shape == (N_REFERENCE, 3, 28, 28) and small.reference.dtype == torch.uint8
    assert torch.equal(small.reference, larger.reference)
    assert small.extras["mode_samples"] == MODE_SAMPLES == 26_000
    assert len(torch.unique(small.extras["reference_modes"])) > 990
