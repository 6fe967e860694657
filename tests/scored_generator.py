"""Generators "made elsewhere", for tests/test_score.py: factories `ganbench score --generator` calls.

`ring8_dcgan` builds the very net `ganbench run dcgan --dataset ring8` trains (an MLP on
points, BatchNorm in G), so its generator.pt loads into it; the others are wrong on purpose.
"""

import torch
from torch import nn

from ganbench.nets import Reshape, build_generator


def ring8_dcgan() -> nn.Module:
    return build_generator("dcgan", 2, (2,), "batch")


def three_d_points() -> nn.Module:
    """Points of three coordinates: the wrong shape for ring8."""
    return build_generator("dcgan", 2, (3,), "batch")


class Bytes(nn.Module):
    """MNIST-shaped images in 0..255, not [-1, 1]."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(8, 784), nn.Sigmoid(), Reshape(1, 28, 28))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc(z) * 255


def mnist_bytes() -> nn.Module:
    return Bytes()


def not_a_module():
    return "a generator"
