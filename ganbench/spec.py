"""What a GAN variant is: data, not code paths.

The training core reads these fields and never a variant's name, so adding a variant is
writing one small file in variants/ (see variants/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from torch import Tensor

from .nets import ARCHS, NORMS
from .plugins import refuse

OPTIMIZERS = ("adam", "sgd")
# A variant's name is a folder of every run directory: no separators, no spaces.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Variant:
    name: str  # registry key, e.g. "wgan-gp"
    paper: str  # citation the defaults come from
    arch: str  # a registered net family (nets.register_arch): "mlp", "dcgan", or a plugin's
    d_loss: Callable[[Tensor, Tensor], Tensor]  # (real_scores, fake_scores) -> scalar
    g_loss: Callable[[Tensor], Tensor]  # fake_scores -> scalar
    n_critic: int = 1  # discriminator steps per generator step
    # penalty(critic, real, fake, generator, weight) -> scalar, added to the D loss
    d_penalty: Callable[..., Tensor] | None = None
    penalty_weight: float = 0.0
    g_norm: str = "batch"  # normalisation in G's hidden layers
    d_norm: str = "batch"  # "batch" | "layer" | "spectral" | "none"
    optimizer: str = "adam"  # "adam" | "sgd"
    lr_d: float = 2e-4
    lr_g: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # Adam's (beta1, beta2); SGD uses beta1 as momentum
    summary: str = ""  # one line for `ganbench list`
    # Hyperparameters the authors themselves changed for 2-D toy data (RunConfig field
    # names -> values), with the reason in the variant file.
    points_overrides: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Unknown field values are refused with one line (a RegistryError, a ValueError)."""
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name):
            raise refuse(f"variant name {self.name!r}: use letters, digits, '.', '_' and '-' (it names a folder)")
        if self.arch not in ARCHS:
            raise refuse(f"{self.name}: unknown arch {self.arch!r}; registered: {', '.join(ARCHS)}")
        for which in ("g_norm", "d_norm"):
            if getattr(self, which) not in NORMS:
                raise refuse(f"{self.name}: unknown {which} {getattr(self, which)!r}; choose one of {', '.join(NORMS)}")
        if self.optimizer not in OPTIMIZERS:
            raise refuse(f"{self.name}: unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        for which in ("d_loss", "g_loss", "d_penalty"):
            fn = getattr(self, which)
            if not (fn is None and which == "d_penalty") and not callable(fn):
                raise refuse(f"{self.name}: {which} must be a function, got {fn!r}")
        if not isinstance(self.n_critic, int) or self.n_critic < 1:
            raise refuse(f"{self.name}: n_critic must be an integer >= 1, got {self.n_critic!r}")
        if (self.d_penalty is None) != (self.penalty_weight == 0.0):
            raise refuse(f"{self.name}: a penalty needs a non-zero weight and a weight needs a penalty")

    def defaults(self, kind: str) -> dict:
        """The RunConfig defaults this variant sets for data of `kind` ("points" | "images")."""
        out = {
            "lr_d": self.lr_d,
            "lr_g": self.lr_g,
            "betas": tuple(self.betas),
            "n_critic": self.n_critic,
            "penalty_weight": self.penalty_weight,
        }
        if kind == "points":
            out.update(self.points_overrides)
        return out

    def hyperparameters(self) -> dict:
        """The defaults, flat and printable (for `ganbench list` and config.json)."""
        return {
            "arch": self.arch,
            "d_loss": self.d_loss.__name__,
            "g_loss": self.g_loss.__name__,
            "n_critic": self.n_critic,
            "penalty": self.d_penalty.__name__ if self.d_penalty else None,
            "penalty_weight": self.penalty_weight,
            "g_norm": self.g_norm,
            "d_norm": self.d_norm,
            "optimizer": self.optimizer,
            "lr_d": self.lr_d,
            "lr_g": self.lr_g,
            "betas": list(self.betas),
            "points_overrides": dict(self.points_overrides),
        }
