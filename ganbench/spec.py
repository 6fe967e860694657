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
NOISES = ("normal", "uniform")
# The fields a Variant and a RunConfig share beyond the optimiser's (issue 20): config.resolve
# fills each RunConfig None from the variant, as it does lr_d or n_critic.
TRAINING_FIELDS = (
    "noise",
    "g_steps",
    "simultaneous",
    "fresh_g_noise",
    "pack",
    "d_maxout",
    "d_hidden",
    "g_hidden",
    "bn_eps",
    "bn_momentum",
    "train_size",
)
NET_AND_STEP_FIELDS = ("arch", "g_norm", "d_norm", *TRAINING_FIELDS)


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def training_field_problem(values: Mapping[str, object]) -> str | None:
    """What is wrong with these TRAINING_FIELDS values (any subset; None values are
    skipped), as one line, or None. Shared by Variant and config.validate."""

    def given(key):
        return values.get(key) is not None

    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    if given("noise") and values["noise"] not in NOISES:
        return f"unknown noise {values['noise']!r}; choose one of {', '.join(NOISES)}"
    for key in ("g_steps", "pack"):
        if given(key) and not (is_int(values[key]) and values[key] >= 1):
            return f"{key.replace('_', '-')} must be an integer >= 1, got {values[key]!r}"
    for key in ("simultaneous", "fresh_g_noise"):
        if given(key) and not isinstance(values[key], bool):
            return f"{key.replace('_', '-')} must be true or false, got {values[key]!r}"
    if given("d_maxout") and not (is_int(values["d_maxout"]) and (values["d_maxout"] == 0 or values["d_maxout"] >= 2)):
        return f"d-maxout must be 0 (no maxout) or an integer >= 2 (pieces), got {values['d_maxout']!r}"
    for key in ("d_hidden", "g_hidden"):
        if given(key):
            widths = values[key]
            if not (isinstance(widths, (tuple, list)) and widths and all(is_int(w) and w > 0 for w in widths)):
                return f"{key.replace('_', '-')} must be one or more positive integer widths, got {widths!r}"
    if given("bn_eps") and not (isinstance(values["bn_eps"], (int, float)) and 0 < values["bn_eps"] < float("inf")):
        return f"bn-eps must be a positive finite number, got {values['bn_eps']!r}"
    if given("bn_momentum") and not (
        isinstance(values["bn_momentum"], (int, float)) and 0 <= values["bn_momentum"] <= 1
    ):
        return f"bn-momentum must be from 0 to 1, got {values['bn_momentum']!r}"
    if given("train_size") and not (is_int(values["train_size"]) and values["train_size"] >= 1):
        return f"train-size must be a positive integer, got {values['train_size']!r}"
    return None


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
    # How the nets and the step are shaped (issue 20). Each default reproduces the
    # behaviour from before these fields existed; RunConfig has a same-named field for each.
    noise: str = "normal"  # "normal" N(0, I) | "uniform" U(-1, 1): G's latent draws
    g_steps: int = 1  # generator updates per iteration, after the n_critic D updates
    simultaneous: bool = False  # D and G take gradients on the same batch and step together
    fresh_g_noise: bool = False  # the G step draws new z (else it reuses the last critic batch's)
    pack: int = 1  # PacGAN packing degree m: D judges m samples concatenated
    d_maxout: int = 0  # maxout pieces in D's hidden layers (0: LeakyReLU(0.2))
    d_hidden: tuple[int, ...] | None = None  # D's MLP widths; None: the family's default
    g_hidden: tuple[int, ...] | None = None  # G's MLP widths; None: the family's default
    bn_eps: float = 1e-5  # every BatchNorm's eps (torch's default)
    bn_momentum: float = 0.1  # every BatchNorm's momentum (torch's default)
    train_size: int | None = None  # generated datasets: a fixed set of this many points; None: fresh each batch
    # Where these defaults depart from the authors' released code, one line each, with the
    # code cited (`ganbench list` prints them). Changes no number.
    departures: tuple[str, ...] = ()

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
        if not (isinstance(self.departures, (tuple, list)) and all(isinstance(d, str) for d in self.departures)):
            raise refuse(f"{self.name}: departures must be a tuple of strings, got {self.departures!r}")
        object.__setattr__(self, "departures", tuple(self.departures))
        for which in ("d_hidden", "g_hidden"):
            if getattr(self, which) is not None:
                object.__setattr__(self, which, tuple(getattr(self, which)))
        problem = training_field_problem({k: getattr(self, k) for k in TRAINING_FIELDS})
        if problem:
            raise refuse(f"{self.name}: {problem}")

    def defaults(self, kind: str) -> dict:
        """The RunConfig defaults this variant sets for data of `kind` ("points" | "images")."""
        out = {
            "lr_d": self.lr_d,
            "lr_g": self.lr_g,
            "betas": tuple(self.betas),
            "n_critic": self.n_critic,
            "penalty_weight": self.penalty_weight,
            **{k: getattr(self, k) for k in NET_AND_STEP_FIELDS},
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
            **{k: _plain(getattr(self, k)) for k in TRAINING_FIELDS},
            "points_overrides": dict(self.points_overrides),
        }
