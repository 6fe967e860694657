"""The reference: a GAN training loop written the way the PyTorch DCGAN tutorial writes it.

A torch DataLoader over torchvision's MNIST Dataset with per-item transforms (ToTensor +
Normalize), fp32, label tensors made each step, and a loss `.item()` every step. The
variant's loss, n_critic and penalty are written out inline, looked up by name in
REFERENCE_LOSSES and REFERENCE_PENALTIES: a variant whose loss is not there is refused with
one line naming it, rather than benchmarked against some other loss.

Like the core, this module is handed the Variant; it does not look variants up by name.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.config import RunConfig
from ganbench.data import data_root as resolve_root
from ganbench.data.mnist import torchvision_root
from ganbench.errors import UsageError
from ganbench.nets import build_nets, dcgan_init_
from ganbench.spec import Variant

NZ = 100  # latent size of the tutorial's nets (and of ganbench's MNIST protocol)


# --- the nets ------------------------------------------------------------------------
def tutorial_dcgan_nets(nz: int = NZ) -> tuple[nn.Module, nn.Module]:
    """The models of the speed issue, written out as a tutorial would.

    G = Linear(100, 128*7*7)+BN+ReLU, ConvT(128,64,4,2,1)+BN+ReLU, ConvT(64,1,4,2,1)+Tanh
    D = Conv(1,64,4,2,1)+LeakyReLU(0.2), Conv(64,128,4,2,1)+BN+LeakyReLU(0.2), Linear(128*7*7,1)
    The first BN acts on the Linear's 6272 outputs, before the reshape to (128, 7, 7).
    """

    class View(nn.Module):
        def __init__(self, *shape):
            super().__init__()
            self.shape = shape

        def forward(self, x):
            return x.view(x.shape[0], *self.shape)

    g = nn.Sequential(
        nn.Linear(nz, 128 * 7 * 7),
        nn.BatchNorm1d(128 * 7 * 7),
        nn.ReLU(),
        View(128, 7, 7),
        nn.ConvTranspose2d(128, 64, 4, 2, 1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1),
        nn.Tanh(),
    )
    d = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1),
        nn.BatchNorm2d(128),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(128 * 7 * 7, 1),
    )
    return g, d


def architecture(net: nn.Module) -> list[tuple[str, tuple]]:
    """(layer type, parameter shapes) of every layer with parameters, in order."""
    out = []
    for m in net.modules():
        own = [tuple(p.shape) for p in m.parameters(recurse=False)]
        if own:
            out.append((type(m).__name__, tuple(own)))
    return out


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def reference_nets(variant: Variant, shape, nz: int) -> tuple[nn.Module, nn.Module]:
    """The tutorial's own nets where the variant trains them (DCGAN nets with BatchNorm in
    D), else ganbench's builders (layer-norm, spectral-norm and MLP discriminators)."""
    v = variant
    if v.arch == "dcgan" and v.g_norm == "batch" and v.d_norm == "batch" and tuple(shape) == (1, 28, 28):
        g, d = tutorial_dcgan_nets(nz)
        dcgan_init_(g)  # the tutorial's weights_init: N(0, 0.02), BN scale N(1, 0.02)
        dcgan_init_(d)
        return g, d
    return build_nets(v.arch, nz, shape, v.g_norm, v.d_norm)


# --- the losses and the penalty, by name ---------------------------------------------
_bce, _mse = nn.BCEWithLogitsLoss(), nn.MSELoss()


def _labels(out: Tensor, value: float) -> Tensor:
    """The tutorial's label tensor, made each step: torch.full((b,), label, device=device)."""
    return torch.full((out.shape[0],), value, device=out.device)


# The __name__ of a loss in ganbench.losses -> the same loss spelled as a tutorial spells it:
# nn.BCEWithLogitsLoss / nn.MSELoss against label tensors. Discriminator losses take
# (real_scores, fake_scores), generator losses (fake_scores). A new loss in ganbench.losses
# needs its line here before the bench can time a variant that uses it.
REFERENCE_LOSSES: dict[str, Callable[..., Tensor]] = {
    "d_nonsaturating": lambda real, fake: _bce(real, _labels(real, 1.0)) + _bce(fake, _labels(fake, 0.0)),
    "g_nonsaturating": lambda fake: _bce(fake, _labels(fake, 1.0)),
    "d_least_squares": lambda real, fake: 0.5 * _mse(real, _labels(real, 1.0)) + 0.5 * _mse(fake, _labels(fake, 0.0)),
    "g_least_squares": lambda fake: 0.5 * _mse(fake, _labels(fake, 1.0)),
    "d_wasserstein": lambda real, fake: fake.mean() - real.mean(),
    "g_wasserstein": lambda fake: -fake.mean(),
    "d_hinge": lambda real, fake: F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean(),
    "g_hinge": lambda fake: -fake.mean(),
}


def tutorial_gradient_penalty(d: nn.Module, real, fake, weight: float):
    """The WGAN-GP penalty as the usual PyTorch ports write it (global RNG for alpha)."""
    b = real.shape[0]
    alpha = torch.rand(b, *([1] * (real.dim() - 1)), device=real.device)
    interp = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = d(interp).view(-1)
    (grad,) = torch.autograd.grad(
        outputs=out, inputs=interp, grad_outputs=torch.ones_like(out), create_graph=True, retain_graph=True
    )
    return weight * ((grad.view(b, -1).norm(2, dim=1) - 1) ** 2).mean()


# The __name__ of a penalty in ganbench.losses -> penalty(critic, real, fake, weight).
REFERENCE_PENALTIES: dict[str, Callable[..., Tensor]] = {"gradient_penalty": tutorial_gradient_penalty}


def _lookup(table: dict, fn: Callable, what: str, variant: Variant, table_name: str) -> Callable:
    try:
        return table[fn.__name__]
    except KeyError:
        raise UsageError(
            f"the reference loop has no tutorial-style {what} {fn.__name__!r} (variant {variant.name!r}); "
            f"it knows {', '.join(table)}: add one to {table_name} in scripts/benchlib/reference.py"
        ) from None


def reference_losses(variant: Variant) -> tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor]]:
    """(d_loss(real_scores, fake_scores), g_loss(fake_scores)) for a variant, from
    REFERENCE_LOSSES; a one-line UsageError for a loss the table lacks."""
    return (
        _lookup(REFERENCE_LOSSES, variant.d_loss, "loss", variant, "REFERENCE_LOSSES"),
        _lookup(REFERENCE_LOSSES, variant.g_loss, "loss", variant, "REFERENCE_LOSSES"),
    )


def reference_penalty(variant: Variant) -> Callable[..., Tensor] | None:
    """penalty(critic, real, fake, weight) for a variant with a penalty, else None."""
    if variant.d_penalty is None:
        return None
    return _lookup(REFERENCE_PENALTIES, variant.d_penalty, "penalty", variant, "REFERENCE_PENALTIES")


def check_reference(variant: Variant) -> None:
    """Raise the UsageError now, before any timing, if the reference cannot train `variant`."""
    reference_losses(variant)
    reference_penalty(variant)


# --- the loop ------------------------------------------------------------------------
class ReferenceLoop:
    """One tutorial-style training run on MNIST; `run(n)` does n generator steps."""

    def __init__(self, cfg: RunConfig, variant: Variant, data_root, workers: int):
        import torchvision
        import torchvision.transforms as T
        from torch.utils.data import DataLoader

        self.cfg, self.v = cfg, variant
        self.device = torch.device(cfg.device)
        self.d_loss, self.g_loss = reference_losses(variant)
        self.penalty = reference_penalty(variant) if cfg.penalty_weight else None
        dataset = torchvision.datasets.MNIST(
            str(torchvision_root(resolve_root(data_root))),
            train=True,
            download=False,
            transform=T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))]),
        )
        self.loader = DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, num_workers=workers, drop_last=True)
        self.batches = self._forever()
        g, d = reference_nets(variant, (1, 28, 28), cfg.z_dim)
        self.g, self.d = g.to(self.device), d.to(self.device)
        if variant.optimizer == "adam":
            self.opt_g = torch.optim.Adam(self.g.parameters(), lr=cfg.lr_g, betas=cfg.betas)
            self.opt_d = torch.optim.Adam(self.d.parameters(), lr=cfg.lr_d, betas=cfg.betas)
        else:
            self.opt_g = torch.optim.SGD(self.g.parameters(), lr=cfg.lr_g, momentum=cfg.betas[0])
            self.opt_d = torch.optim.SGD(self.d.parameters(), lr=cfg.lr_d, momentum=cfg.betas[0])
        self.log: list[tuple[float, float]] = []

    def _forever(self):
        while True:
            yield from self.loader

    def close(self) -> None:
        """Stop the loader's worker processes now, before the next loader forks new ones
        (which would otherwise inherit this one and fail to shut it down)."""
        self.batches.close()

    def run(self, n: int) -> None:
        cfg = self.cfg
        for _ in range(n):
            for i in range(cfg.n_critic):
                real = next(self.batches)[0].to(self.device)
                b = real.size(0)
                self.d.zero_grad()
                noise = torch.randn(b, cfg.z_dim, device=self.device)
                last = i == cfg.n_critic - 1
                with torch.set_grad_enabled(last):  # the last fake batch is reused for G's step
                    fake = self.g(noise)
                err_d = self.d_loss(self.d(real).view(-1), self.d(fake.detach()).view(-1))
                if self.penalty is not None:
                    err_d = err_d + self.penalty(self.d, real, fake, cfg.penalty_weight)
                err_d.backward()
                self.opt_d.step()
            self.g.zero_grad()
            err_g = self.g_loss(self.d(fake).view(-1))
            err_g.backward()
            self.opt_g.step()
            self.log.append((err_d.item(), err_g.item()))  # the tutorial logs every step
