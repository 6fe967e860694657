"""GAN losses as pure functions, and the gradient penalty.

One sign convention everywhere: the discriminator returns raw scores (logits for the
BCE-based losses), and higher means "more real". Every discriminator loss has the
signature `d_loss(real_scores, fake_scores) -> scalar` and every generator loss
`g_loss(fake_scores) -> scalar`, so the training core calls them without knowing which
one it holds (the compare_gan convention). A penalty is
`penalty(critic, real, fake, generator=None, weight=...) -> scalar`, added to the D loss.

Losses and penalties are registered by their `__name__` (the name config.json and `ganbench
list` show), so two different functions never share a name; `register_variant` registers
a variant's own on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .plugins import note_origin, origin_of, refuse

DLoss = Callable[[Tensor, Tensor], Tensor]  # (real_scores, fake_scores) -> scalar
GLoss = Callable[[Tensor], Tensor]  # fake_scores -> scalar


class Penalty(Protocol):
    def __call__(
        self,
        critic: nn.Module,
        real: Tensor,
        fake: Tensor,
        generator: torch.Generator | None = None,
        weight: float = 1.0,
    ) -> Tensor: ...


LOSSES: dict[str, Callable] = {}  # d and g losses, by __name__
PENALTIES: dict[str, Callable] = {}


def _register(table: dict[str, Callable], kind: str, fn: Callable) -> Callable:
    name = getattr(fn, "__name__", None)
    if not callable(fn) or not name or name == "<lambda>":
        raise refuse(f"a {kind} must be a named function, got {fn!r}")
    if name in table and table[name] is not fn:
        raise refuse(f"{kind} {name!r} is already registered ({origin_of(kind, name)}); give yours another name")
    if name not in table:
        table[name] = fn
        note_origin(kind, name)
    return fn


def register_loss(fn: Callable) -> Callable:
    """Register a D loss `(real, fake) -> scalar` or a G loss `(fake) -> scalar` by its name."""
    return _register(LOSSES, "loss", fn)


def register_penalty(fn: Callable) -> Callable:
    """Register a penalty `(critic, real, fake, generator=None, weight=...) -> scalar` by its name."""
    return _register(PENALTIES, "penalty", fn)


# --- non-saturating GAN (Goodfellow et al. 2014, Sec. 3) --------------------------------
def d_nonsaturating(real: Tensor, fake: Tensor) -> Tensor:
    """-log D(x) - log(1 - D(G(z))), with D = sigmoid(score); softplus keeps it stable."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def g_nonsaturating(fake: Tensor) -> Tensor:
    """-log D(G(z)): the non-saturating generator loss the paper recommends in practice."""
    return F.softplus(-fake).mean()


# --- least squares (Mao et al. 2017, Eq. 2 with the 0-1 coding a=0, b=1, c=1) -----------
def d_least_squares(real: Tensor, fake: Tensor) -> Tensor:
    return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()


def g_least_squares(fake: Tensor) -> Tensor:
    return 0.5 * ((fake - 1.0) ** 2).mean()


# --- Wasserstein (Arjovsky et al. 2017; used with a penalty by Gulrajani et al. 2017) ---
def d_wasserstein(real: Tensor, fake: Tensor) -> Tensor:
    return fake.mean() - real.mean()


def g_wasserstein(fake: Tensor) -> Tensor:
    return -fake.mean()


# --- hinge (Lim & Ye 2017; Miyato et al. 2018, Eq. 16-17) -------------------------------
def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def g_hinge(fake: Tensor) -> Tensor:
    return -fake.mean()


# --- gradient penalty (Gulrajani et al. 2017, Algorithm 1) ------------------------------
def gradient_penalty(
    critic: nn.Module,
    real: Tensor,
    fake: Tensor,
    generator: torch.Generator | None = None,
    weight: float = 10.0,
) -> Tensor:
    """weight * E[(||grad_x D(x_hat)||_2 - 1)^2] on x_hat = eps*real + (1-eps)*fake.

    eps is one uniform number per sample, broadcast over every other dimension, so the
    same code serves 2-D points (B, 2), grayscale (B, 1, H, W) and RGB (B, 3, H, W).
    The norm is over all non-batch dimensions. `create_graph=True` keeps the penalty
    differentiable with respect to the critic's weights (double backward).
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)  # (B, 1, ..., 1)
    eps = torch.rand(eps_shape, generator=generator, device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1.0 - eps) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    grad_norm = grad.flatten(1).norm(2, dim=1)  # (B,)
    return weight * ((grad_norm - 1.0) ** 2).mean()


for _fn in (
    d_nonsaturating,
    g_nonsaturating,
    d_least_squares,
    g_least_squares,
    d_wasserstein,
    g_wasserstein,
    d_hinge,
    g_hinge,
):
    register_loss(_fn)
register_penalty(gradient_penalty)
