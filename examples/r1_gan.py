"""An example ganbench plugin: the non-saturating GAN with an R1 penalty, on a residual MLP.

Mescheder, Geiger, Nowozin. "Which Training Methods for GANs do actually Converge?"
ICML 2018. arXiv:1801.04406.

    ganbench --plugin examples/r1_gan.py run r1-gan dcgan --dataset ring8 --profile smoke
    ganbench --plugin examples/r1_gan.py list

It adds what no built-in has:
- a penalty, R1 (Sec. 4.1, Eq. 9): gamma/2 * E_{x ~ real}[ ||grad_x D(x)||^2 ], on real
  data only, with no interpolation and no target norm (WGAN-GP's penalty has both);
- a net family, "resmlp": a generator of residual fully connected blocks, and a plain
  LeakyReLU MLP discriminator; it serves 2-D points and images alike.

It imports from ganbench.api only: that module is the public surface (docs/plugins.md).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganbench.api import Variant, d_nonsaturating, g_nonsaturating, register_arch, register_variant

# Mescheder et al. 2018, Sec. 5 and the authors' released configs (GAN_stability): gamma = 10.
GAMMA = 10.0


def r1_penalty(critic, real, fake, generator=None, weight=GAMMA):
    """weight/2 * E[||grad_x D(x)||_2^2] on real x (Eq. 9); `weight` is gamma.

    `fake` and `generator` are unused: R1 looks at real data only and draws nothing.
    `create_graph=True` keeps the penalty differentiable in D's weights (double backward).
    """
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return 0.5 * weight * grad.flatten(1).pow(2).sum(dim=1).mean()


# --- the "resmlp" net family ------------------------------------------------------------
WIDTH, BLOCKS = 256, 3  # points: 3 residual blocks of 256 units
IMAGE_WIDTH, IMAGE_BLOCKS = 512, 2


def _norm(kind: str, width: int) -> nn.Module:
    # "spectral" is applied by ganbench to D after build; in G it means no normalisation.
    return {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}.get(kind, lambda w: nn.Identity())(width)


class Block(nn.Module):
    """x + Linear(ReLU(norm(Linear(x)))): a residual block of two linear layers."""

    def __init__(self, width: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(width, width), _norm(norm, width), nn.ReLU(), nn.Linear(width, width))

    def forward(self, x):
        return torch.relu(x + self.body(x))


class ResMLPGenerator(nn.Module):
    def __init__(self, z_dim: int, out_shape, norm: str):
        super().__init__()
        images = len(out_shape) > 1
        width, blocks = (IMAGE_WIDTH, IMAGE_BLOCKS) if images else (WIDTH, BLOCKS)
        self.out_shape = tuple(out_shape)
        self.net = nn.Sequential(
            nn.Linear(z_dim, width),  # (B, width)
            nn.ReLU(),
            *[Block(width, norm) for _ in range(blocks)],
            nn.Linear(width, math.prod(out_shape)),  # (B, prod(out_shape))
            nn.Tanh() if images else nn.Identity(),  # images live in [-1, 1]
        )

    def forward(self, z):
        return self.net(z).view(z.shape[0], *self.out_shape)  # (B, *out_shape)


def mlp_critic(in_shape, norm: str) -> nn.Module:
    width = IMAGE_WIDTH if len(in_shape) > 1 else WIDTH
    return nn.Sequential(
        nn.Flatten(),  # (B, prod(in_shape))
        nn.Linear(math.prod(in_shape), width),
        nn.LeakyReLU(0.2),
        nn.Linear(width, width),
        _norm(norm, width),
        nn.LeakyReLU(0.2),
        nn.Linear(width, 1),
        nn.Flatten(0),  # (B,) raw scores
    )


def build_resmlp(z_dim, sample_shape, g_norm, d_norm):
    """ganbench's net family signature: (noise size, one sample's shape, norms) -> (G, D)."""
    return ResMLPGenerator(z_dim, sample_shape, g_norm), mlp_critic(sample_shape, d_norm)


register_arch(
    "resmlp",
    build_resmlp,
    generator=lambda z_dim, sample_shape, g_norm: ResMLPGenerator(z_dim, sample_shape, g_norm),
    summary="residual MLP generator, LeakyReLU MLP critic (examples/r1_gan.py)",
)

R1_GAN = register_variant(
    Variant(
        name="r1-gan",
        paper="Mescheder et al. 2018, Which Training Methods for GANs do actually Converge? (arXiv:1801.04406)",
        arch="resmlp",
        d_loss=d_nonsaturating,  # Sec. 5: the non-saturating loss, with R1 on D
        g_loss=g_nonsaturating,
        n_critic=1,  # one D step per G step (the released configs' default)
        d_penalty=r1_penalty,
        penalty_weight=GAMMA,
        # No normalisation layers in either net, as in the paper's ResNet architectures
        # (the penalty is per sample; a batch-normalised critic would mix samples).
        g_norm="none",
        d_norm="none",
        # The released configs use RMSProp at lr 1e-4; ganbench offers Adam and SGD, so
        # this is Adam at the same rate with beta1 = 0 (no momentum, as RMSProp has none)
        # and beta2 = 0.99: a departure from the paper, stated here.
        optimizer="adam",
        lr_d=1e-4,
        lr_g=1e-4,
        betas=(0.0, 0.99),
        summary="non-saturating loss + R1 penalty (gamma 10) on real data, residual MLP nets [plugin]",
    )
)
