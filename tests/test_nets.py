"""Architecture facts the variants promise."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganbench.nets import build_nets, dcgan_plan
from ganbench.variants import VARIANTS, get_variant

SHAPES = {"points": (2,), "mnist": (1, 28, 28), "rgb64": (3, 64, 64)}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_nets_produce_the_right_shapes(variant, shape):
    v = get_variant(variant)
    g, d = build_nets(v.arch, 16, shape, v.g_norm, v.d_norm)
    z = torch.randn(4, 16)
    x = g(z)
    assert x.shape == (4, *shape)
    assert d(x).shape == (4,)
    if len(shape) == 3:
        assert x.min() >= -1 and x.max() <= 1  # tanh output, the data's range


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_wgan_gp_critic_has_no_batchnorm(shape):
    v = get_variant("wgan-gp")
    _, d = build_nets(v.arch, 16, shape, v.g_norm, v.d_norm)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in d.modules())
    # ...and the per-sample normalisation that replaces it is there.
    assert any(isinstance(m, (nn.LayerNorm, nn.GroupNorm)) for m in d.modules())


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_hinge_discriminator_is_spectrally_normalised(shape):
    v = get_variant("hinge")
    _, d = build_nets(v.arch, 16, shape, v.g_norm, v.d_norm)
    layers = [m for m in d.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)
    d.train()
    for _ in range(20):  # power iterations run in training-mode forward passes
        d(torch.randn(4, *shape))
    d.eval()
    for m in layers:
        w = m.weight.detach().flatten(1)  # the normalised weight, as a matrix
        top = torch.linalg.matrix_norm(w, ord=2).item()
        assert top == pytest.approx(1.0, abs=0.05), m


def test_dcgan_plan_matches_the_published_nets():
    assert dcgan_plan(28) == (7, 2)  # the MNIST DCGAN: 7x7 -> 14 -> 28
    assert dcgan_plan(64) == (4, 4)  # DCGAN 64x64: 4 -> 8 -> 16 -> 32 -> 64
    with pytest.raises(ValueError):
        dcgan_plan(7)


def test_dcgan_init_follows_radford():
    v = get_variant("dcgan")
    g, d = build_nets(v.arch, 100, (1, 28, 28), v.g_norm, v.d_norm)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    stds = [m.weight.std().item() for m in convs]
    assert all(0.015 < s < 0.025 for s in stds), stds
