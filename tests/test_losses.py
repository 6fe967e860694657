"""Every loss against values worked out by hand, and the gradient penalty's analytics."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganbench import losses

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_nonsaturating_d_loss_by_hand():
    # -log sigmoid(r) = softplus(-r); -log(1 - sigmoid(f)) = softplus(f)
    expected = (softplus(-2.0) + softplus(1.0)) / 2 + (softplus(0.5) + softplus(-3.0)) / 2
    assert losses.d_nonsaturating(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_nonsaturating_g_loss_by_hand():
    expected = (softplus(-0.5) + softplus(3.0)) / 2
    assert losses.g_nonsaturating(FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_nonsaturating_matches_bce_with_logits():
    bce = nn.functional.binary_cross_entropy_with_logits
    d = bce(REAL, torch.ones(2)) + bce(FAKE, torch.zeros(2))
    assert losses.d_nonsaturating(REAL, FAKE).item() == pytest.approx(d.item(), rel=1e-6)
    assert losses.g_nonsaturating(FAKE).item() == pytest.approx(bce(FAKE, torch.ones(2)).item(), rel=1e-6)


def test_least_squares_by_hand():
    # 0.5*mean((r-1)^2) + 0.5*mean(f^2) = 0.5*(1+4)/2 + 0.5*(0.25+9)/2
    assert losses.d_least_squares(REAL, FAKE).item() == pytest.approx(0.5 * 2.5 + 0.5 * 4.625, rel=1e-6)
    # 0.5*mean((f-1)^2) = 0.5*(0.25+16)/2
    assert losses.g_least_squares(FAKE).item() == pytest.approx(0.5 * 8.125, rel=1e-6)


def test_wasserstein_by_hand():
    assert losses.d_wasserstein(REAL, FAKE).item() == pytest.approx(-1.25 - 0.5)
    assert losses.g_wasserstein(FAKE).item() == pytest.approx(1.25)


def test_hinge_by_hand():
    # relu(1-2)=0, relu(1+1)=2 -> 1; relu(1+0.5)=1.5, relu(1-3)=0 -> 0.75
    assert losses.d_hinge(REAL, FAKE).item() == pytest.approx(1.75)
    assert losses.g_hinge(FAKE).item() == pytest.approx(1.25)


def test_losses_prefer_real_scores_high():
    """One sign convention: pushing real scores up and fake down lowers every D loss
    (inside (0, 1), where the least-squares targets 1 and 0 have not been passed)."""
    real, fake = torch.tensor([0.1, 0.4]), torch.tensor([0.6, 0.9])
    for d_loss in (losses.d_nonsaturating, losses.d_least_squares, losses.d_wasserstein, losses.d_hinge):
        better = d_loss(real + 0.05, fake - 0.05)
        assert better.item() < d_loss(real, fake).item(), d_loss.__name__


class Linear(nn.Module):
    """D(x) = <w, x> + b over all non-batch dimensions: grad_x D = w everywhere."""

    def __init__(self, shape):
        super().__init__()
        self.w = nn.Parameter(torch.randn(shape))
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1) + self.b


@pytest.mark.parametrize("shape", [(2,), (1, 8, 8), (3, 8, 8)], ids=["points", "gray", "rgb"])
def test_gradient_penalty_matches_analytic_value_for_linear_critic(shape):
    torch.manual_seed(0)
    critic = Linear(shape)
    real, fake = torch.randn(16, *shape), torch.randn(16, *shape)
    gen = torch.Generator().manual_seed(1)
    pen = losses.gradient_penalty(critic, real, fake, generator=gen, weight=10.0)
    expected = 10.0 * (critic.w.detach().norm() - 1.0) ** 2
    assert pen.item() == pytest.approx(expected.item(), rel=1e-5)


class HalfSquaredNorm(nn.Module):
    """D(x) = ||x||^2 / 2 per sample: grad_x D = x, a different norm for every sample."""

    def forward(self, x):
        return 0.5 * x.flatten(1).pow(2).sum(1)


@pytest.mark.parametrize("shape", [(2,), (1, 8, 8), (3, 8, 8)], ids=["points", "gray", "rgb"])
def test_gradient_penalty_is_the_mean_of_per_sample_squares_at_per_sample_interpolates(shape):
    torch.manual_seed(0)
    real, fake = torch.randn(16, *shape), 3 * torch.randn(16, *shape)
    pen = losses.gradient_penalty(HalfSquaredNorm(), real, fake, generator=torch.Generator().manual_seed(1))
    # The same draws: one eps per sample, broadcast over the rest.
    eps = torch.rand((16,) + (1,) * len(shape), generator=torch.Generator().manual_seed(1))
    norms = (eps * real + (1 - eps) * fake).flatten(1).norm(dim=1)
    expected = 10.0 * ((norms - 1) ** 2).mean()
    assert pen.item() == pytest.approx(expected.item(), rel=1e-5)
    # Not vacuous: the square of the mean norm, or one eps for the whole batch, differ.
    assert abs(pen.item() - 10.0 * ((norms.mean() - 1) ** 2).item()) > 1e-3 * pen.item()
    shared = (eps[0] * real + (1 - eps[0]) * fake).flatten(1).norm(dim=1)
    assert abs(pen.item() - 10.0 * ((shared - 1) ** 2).mean().item()) > 1e-3 * pen.item()


def test_gradient_penalty_is_zero_for_unit_norm_critic_and_differentiable():
    critic = Linear((3, 4, 4))
    with torch.no_grad():
        critic.w.div_(critic.w.norm())
    real, fake = torch.randn(8, 3, 4, 4), torch.randn(8, 3, 4, 4)
    pen = losses.gradient_penalty(critic, real, fake)
    assert pen.item() == pytest.approx(0.0, abs=1e-8)
    # Double backward: the penalty must give gradients to the critic's weights.
    with torch.no_grad():
        critic.w.mul_(2.0)  # ||w|| = 2 -> penalty 10 * (2-1)^2, gradient 20 * w/||w||
    pen = losses.gradient_penalty(critic, real, fake)
    (grad_w,) = torch.autograd.grad(pen, critic.w)
    assert torch.allclose(grad_w, 20.0 * critic.w.detach() / critic.w.detach().norm(), atol=1e-5)


def test_gradient_penalty_interpolates_per_sample():
    """x_hat lies on the segment between each real and its own fake sample."""
    seen = {}

    class Spy(nn.Module):
        def forward(self, x):
            seen["x"] = x.detach()
            return x.flatten(1).sum(1)

    real, fake = torch.zeros(5, 1, 2, 2), torch.ones(5, 1, 2, 2)
    losses.gradient_penalty(Spy(), real, fake, generator=torch.Generator().manual_seed(0))
    x = seen["x"]
    # Every pixel of a sample shares one epsilon, and epsilons differ across samples.
    per_sample = x.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample))
    assert per_sample[:, 0].unique().numel() == 5
    assert ((x >= 0) & (x <= 1)).all()


def test_gradient_penalty_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        losses.gradient_penalty(Linear((2,)), torch.zeros(4, 2), torch.zeros(3, 2))
