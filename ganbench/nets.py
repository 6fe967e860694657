"""Generator and discriminator builders, sized from the dataset's sample shape.

Net families are a registry: `register_arch(name, build)`, where
`build(z_dim, sample_shape, g_norm, d_norm) -> (G, D)` returns both nets, initialised.
`d_norm="spectral"` is then applied by `build_nets` to every linear and convolutional
layer of D, for every family alike. Two built-in families register themselves the same way:
- "mlp":   fully connected nets. For 2-D points they follow PacGAN/VEEGAN's toy setup
           (G: 4 hidden layers of 400, D: 3 hidden layers of 200); for images, Goodfellow
           et al. 2014's MNIST generator (2 hidden layers of 1200) and a D of matching size.
- "dcgan": Radford et al. 2016's all-convolutional nets: strided (transposed) convolutions,
           4x4 kernels, doubling channels per resolution step, ReLU in G, LeakyReLU(0.2)
           in D, tanh output. On 2-D data the "dcgan" family falls back to an MLP of the
           same style (BatchNorm in G, LeakyReLU in D), since there is nothing to convolve.

The discriminator's normalisation comes from the variant: "batch", "layer", "spectral" or
"none". The first D layer is never batch- or layer-normalised (Radford et al. 2016, Sec. 3).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .plugins import note_origin, origin_of, refuse

NORMS = ("batch", "layer", "spectral", "none")

# build(z_dim, sample_shape, g_norm, d_norm) -> (G, D), both initialised
BuildNets = Callable[[int, Sequence[int], str, str], tuple[nn.Module, nn.Module]]
# generator(z_dim, sample_shape, g_norm) -> G (its initial values are overwritten)
BuildGenerator = Callable[[int, Sequence[int], str], nn.Module]


@dataclass(frozen=True)
class Arch:
    name: str
    build: BuildNets
    generator: BuildGenerator | None = None  # G alone, for `ganbench eval`; None: build's G
    summary: str = ""


ARCHS: dict[str, Arch] = {}


def register_arch(name: str, build: BuildNets, *, generator: BuildGenerator | None = None, summary: str = "") -> Arch:
    """Register a net family under `name` (a Variant's `arch`); refuses a name already taken."""
    if not isinstance(name, str) or not name.strip():
        raise refuse(f"a net family needs a non-empty name, got {name!r}")
    if name in ARCHS:
        raise refuse(f"net family {name!r} is already registered ({origin_of('arch', name)})")
    if not callable(build):
        raise refuse(f"net family {name!r}: build must be callable, got {type(build).__name__}")
    if generator is not None and not callable(generator):
        raise refuse(f"net family {name!r}: generator must be callable, got {type(generator).__name__}")
    ARCHS[name] = arch = Arch(name, build, generator, summary)
    note_origin("arch", name)
    return arch


def get_arch(name: str) -> Arch:
    try:
        return ARCHS[name]
    except KeyError:
        raise ValueError(f"unknown arch {name!r}; choose one of {', '.join(ARCHS)}") from None


# Widths. The toy sizes follow PacGAN (Lin et al. 2018, App. D), which follows VEEGAN.
TOY_G_HIDDEN = (400, 400, 400, 400)
TOY_D_HIDDEN = (200, 200, 200)
# Goodfellow et al. 2014's MNIST generator: two ReLU layers of 1200 units.
IMAGE_G_HIDDEN = (1200, 1200)
IMAGE_D_HIDDEN = (512, 256)
# DCGAN: 64 feature maps at the finest resolution, doubled at each coarser one.
DCGAN_BASE_CHANNELS = 64


def _feature_norm(kind: str, features: int, conv: bool) -> nn.Module | None:
    """The normalisation layer after a hidden layer, or None."""
    if kind == "batch":
        return nn.BatchNorm2d(features) if conv else nn.BatchNorm1d(features)
    if kind == "layer":
        # GroupNorm with one group normalises over (C, H, W) per sample: layer norm for
        # convolutions, as Gulrajani et al. 2017 recommend for a WGAN-GP critic.
        return nn.GroupNorm(1, features) if conv else nn.LayerNorm(features)
    if kind in ("spectral", "none"):
        return None
    raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")


def apply_spectral_norm_(module: nn.Module) -> nn.Module:
    """Spectrally normalise every linear and convolutional layer (Miyato et al. 2018).

    Applied after initialisation: registering the parametrisation runs power iterations
    on the weight it finds, so the estimate of the top singular value matches the
    weight the net starts with.
    """
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            spectral_norm(m)
    return module


class Reshape(nn.Module):
    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], *self.shape)


def mlp_generator(z_dim: int, out_shape: Sequence[int], hidden: Sequence[int], norm: str, tanh: bool) -> nn.Module:
    out_features = math.prod(out_shape)
    layers: list[nn.Module] = []
    d_in = z_dim
    for width in hidden:
        layers.append(nn.Linear(d_in, width))
        if (n := _feature_norm(norm, width, conv=False)) is not None:
            layers.append(n)
        layers.append(nn.ReLU())
        d_in = width
    layers.append(nn.Linear(d_in, out_features))  # (B, prod(out_shape))
    if tanh:
        layers.append(nn.Tanh())  # images live in [-1, 1]
    layers.append(Reshape(*out_shape))  # (B, *out_shape)
    return nn.Sequential(*layers)


def mlp_discriminator(in_shape: Sequence[int], hidden: Sequence[int], norm: str) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]  # (B, prod(in_shape))
    d_in = math.prod(in_shape)
    for i, width in enumerate(hidden):
        layers.append(nn.Linear(d_in, width))
        if i > 0 and (n := _feature_norm(norm, width, conv=False)) is not None:
            layers.append(n)
        layers.append(nn.LeakyReLU(0.2))
        d_in = width
    layers.append(nn.Linear(d_in, 1))  # (B, 1)
    layers.append(nn.Flatten(0))  # (B,)
    return nn.Sequential(*layers)


def dcgan_plan(size: int) -> tuple[int, int]:
    """(base resolution, number of 2x up-sampling steps) for a square image side `size`.

    28 -> (7, 2) as in the DCGAN-for-MNIST nets; 32 -> (4, 3); 64 -> (4, 4) as in DCGAN.
    """
    base, steps = size, 0
    while base > 7 and base % 2 == 0:
        base //= 2
        steps += 1
    if steps == 0:
        raise ValueError(f"the dcgan nets need an image side divisible by 2 at least once, got {size}")
    return base, steps


def dcgan_generator(z_dim: int, out_shape: Sequence[int], norm: str = "batch") -> nn.Module:
    c_out, h, w = out_shape
    if h != w:
        raise ValueError(f"the dcgan nets need square images, got {h}x{w}")
    base, steps = dcgan_plan(h)
    ch = DCGAN_BASE_CHANNELS * 2 ** (steps - 1)
    layers: list[nn.Module] = [nn.Linear(z_dim, ch * base * base)]  # (B, ch*base*base)
    if (n := _feature_norm(norm, ch * base * base, conv=False)) is not None:
        layers.append(n)
    layers += [nn.ReLU(), Reshape(ch, base, base)]  # (B, ch, base, base)
    for i in range(steps):
        last = i == steps - 1
        nxt = c_out if last else ch // 2
        layers.append(nn.ConvTranspose2d(ch, nxt, 4, 2, 1))  # (B, nxt, 2H, 2W)
        if last:
            layers.append(nn.Tanh())
        else:
            if (n := _feature_norm(norm, nxt, conv=True)) is not None:
                layers.append(n)
            layers.append(nn.ReLU())
        ch = nxt
    return nn.Sequential(*layers)  # (B, c_out, size, size)


def dcgan_discriminator(in_shape: Sequence[int], norm: str) -> nn.Module:
    c_in, h, w = in_shape
    if h != w:
        raise ValueError(f"the dcgan nets need square images, got {h}x{w}")
    base, steps = dcgan_plan(h)
    layers: list[nn.Module] = []
    ch, c = DCGAN_BASE_CHANNELS, c_in
    for i in range(steps):
        layers.append(nn.Conv2d(c, ch, 4, 2, 1))  # (B, ch, H/2, W/2)
        if i > 0 and (n := _feature_norm(norm, ch, conv=True)) is not None:
            layers.append(n)
        layers.append(nn.LeakyReLU(0.2))
        c, ch = ch, ch * 2
    layers += [nn.Flatten(), nn.Linear(c * base * base, 1), nn.Flatten(0)]  # (B,)
    return nn.Sequential(*layers)


def dcgan_init_(module: nn.Module) -> None:
    """Radford et al. 2016, Sec. 4: weights from N(0, 0.02); BatchNorm scale from N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _generator(arch: str, z_dim: int, sample_shape: Sequence[int], g_norm: str) -> nn.Module:
    if len(sample_shape) == 1:  # points always get MLPs
        return mlp_generator(z_dim, sample_shape, TOY_G_HIDDEN, g_norm, tanh=False)
    if arch == "mlp":
        return mlp_generator(z_dim, sample_shape, IMAGE_G_HIDDEN, g_norm, tanh=True)
    return dcgan_generator(z_dim, sample_shape, g_norm)


def _discriminator(arch: str, sample_shape: Sequence[int], d_norm: str) -> nn.Module:
    if len(sample_shape) == 1:
        return mlp_discriminator(sample_shape, TOY_D_HIDDEN, d_norm)
    if arch == "mlp":
        return mlp_discriminator(sample_shape, IMAGE_D_HIDDEN, d_norm)
    return dcgan_discriminator(sample_shape, d_norm)


def _builtin(arch: str) -> tuple[BuildNets, BuildGenerator]:
    """The built-in families' builders. Both nets are built before either is initialised:
    that order fixes every run's initial weights."""

    def build(z_dim: int, sample_shape: Sequence[int], g_norm: str, d_norm: str) -> tuple[nn.Module, nn.Module]:
        g = _generator(arch, z_dim, sample_shape, g_norm)
        d = _discriminator(arch, sample_shape, d_norm)
        if arch == "dcgan":
            dcgan_init_(g)
            dcgan_init_(d)
        return g, d

    def generator(z_dim: int, sample_shape: Sequence[int], g_norm: str) -> nn.Module:
        return _generator(arch, z_dim, sample_shape, g_norm)

    return build, generator


def build_nets(
    arch: str, z_dim: int, sample_shape: Sequence[int], g_norm: str, d_norm: str
) -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator) for one variant on one dataset, from the family `arch`.

    The built-in families give points (sample_shape of rank 1) MLPs and images the arch's
    nets. A spectrally normalised D is normalised here, after the family initialised it.
    """
    g, d = get_arch(arch).build(z_dim, tuple(sample_shape), g_norm, d_norm)
    if not isinstance(g, nn.Module) or not isinstance(d, nn.Module):
        raise TypeError(f"net family {arch!r}: build must return (G, D), two torch.nn.Module objects")
    if d_norm == "spectral":
        apply_spectral_norm_(d)
    return g, d


def build_generator(arch: str, z_dim: int, sample_shape: Sequence[int], g_norm: str, d_norm: str = "none") -> nn.Module:
    """The generator alone, for scoring saved weights (its initial values are overwritten):
    the family's generator builder, or G of its (G, D)."""
    family = get_arch(arch)
    if family.generator is not None:
        return family.generator(z_dim, tuple(sample_shape), g_norm)
    return build_nets(arch, z_dim, sample_shape, g_norm, d_norm)[0]


for _name, _summary in (
    ("mlp", "fully connected G and D (Goodfellow et al. 2014; PacGAN's toy nets)"),
    ("dcgan", "all-convolutional G and D (Radford et al. 2016)"),
):
    _build, _gen = _builtin(_name)
    register_arch(_name, _build, generator=_gen, summary=_summary)
