"""Generator and discriminator builders, sized from the dataset's sample shape.

Net families are a registry: `register_arch(name, build)`, where
`build(z_dim, sample_shape, g_norm, d_norm, options) -> (G, D)` returns both nets,
initialised; `options` is a `NetOptions` (MLP widths, maxout pieces, packing degree).
A family registered with the older four-argument `build(z_dim, sample_shape, g_norm,
d_norm)` keeps working: it gets no options, and refuses widths or maxout with one line;
packed, its D is built for the packed sample shape. Then, for every family alike,
`build_nets` sets every BatchNorm's eps and momentum from the options and applies
`d_norm="spectral"` to every linear and convolutional layer of D.

Packing (Lin et al. 2018, PacGAN): D judges m samples at once, concatenated along the
first sample dimension: points (2,) -> (2m,), images (C, H, W) -> (mC, H, W), as
PacGAN's released code concatenates (fjxmlzn/PacGAN, synthetic_data_experiments/PacGAN/
pacgan/bricks.py:67, axis=1; stacked_MNIST_experiments/VEEGAN_experiment/model.py:113,
the channel axis). So D is built for `packed_shape(sample_shape, m)`.

Three built-in families register themselves the same way:
- "mlp":   fully connected nets. For 2-D points they follow PacGAN/VEEGAN's toy setup
           (G: 4 hidden layers of 400, D: 3 hidden layers of 200); for images, Goodfellow
           et al. 2014's MNIST generator (2 hidden layers of 1200) and a D of matching size.
- "dcgan": Radford et al. 2016's all-convolutional nets: strided (transposed) convolutions,
           4x4 kernels, doubling channels per resolution step, ReLU in G, LeakyReLU(0.2)
           in D, tanh output. On 2-D data the "dcgan" family falls back to an MLP of the
           same style (BatchNorm in G, LeakyReLU in D), since there is nothing to convolve.
- "dcgan5": the carpedm20 DCGAN-tensorflow nets with 5x5 kernels, as PacGAN's Stacked
           MNIST (VEEGAN setting) experiment uses them (see `dcgan5_generator`); on 2-D
           data the same MLP fallback as "dcgan".
The MLPs' widths are `NetOptions.d_hidden` / `g_hidden` (None: the defaults below); with
`d_maxout` k >= 2 D's hidden layers are maxout units of k pieces with no normalisation,
as PacGAN's 2-D discriminator (2DRing_GAN&PacGAN/pacgan_task.py:61-90).

The discriminator's normalisation comes from the variant: "batch", "layer", "spectral" or
"none". The first D layer is never batch- or layer-normalised (Radford et al. 2016, Sec. 3).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .errors import UsageError
from .plugins import note_origin, origin_of, refuse

NORMS = ("batch", "layer", "spectral", "none")


@dataclass(frozen=True)
class NetOptions:
    """How a family sizes its nets beyond (z_dim, sample_shape, norms); the defaults are
    what every family built before these options existed."""

    d_hidden: tuple[int, ...] | None = None  # D's MLP widths; None: the family's default
    g_hidden: tuple[int, ...] | None = None  # G's MLP widths; None: the family's default
    d_maxout: int = 0  # maxout pieces per D hidden unit; 0: LeakyReLU(0.2)
    pack: int = 1  # D judges `pack` samples concatenated (packed_shape)
    bn_eps: float = 1e-5  # every BatchNorm's eps (torch's default)
    bn_momentum: float = 0.1  # every BatchNorm's momentum (torch's default)


def net_options(cfg) -> NetOptions:
    """The NetOptions of a resolved RunConfig (or anything with the same fields)."""
    return NetOptions(
        d_hidden=tuple(cfg.d_hidden) if cfg.d_hidden is not None else None,
        g_hidden=tuple(cfg.g_hidden) if cfg.g_hidden is not None else None,
        d_maxout=cfg.d_maxout,
        pack=cfg.pack,
        bn_eps=cfg.bn_eps,
        bn_momentum=cfg.bn_momentum,
    )


def packed_shape(sample_shape: Sequence[int], pack: int) -> tuple[int, ...]:
    """One packed sample's shape: m samples concatenated along their first dimension."""
    return (sample_shape[0] * pack, *sample_shape[1:])


# build(z_dim, sample_shape, g_norm, d_norm, options) -> (G, D), both initialised
# (or the older build(z_dim, sample_shape, g_norm, d_norm))
BuildNets = Callable[..., tuple[nn.Module, nn.Module]]
# generator(z_dim, sample_shape, g_norm, options) -> G (its initial values are overwritten)
# (or the older generator(z_dim, sample_shape, g_norm))
BuildGenerator = Callable[..., nn.Module]


def _accepts(fn: Callable, n: int) -> bool:
    """Whether `fn` can be called with n positional arguments."""
    try:
        inspect.signature(fn).bind(*([None] * n))
    except TypeError:
        return False
    except ValueError:  # no signature to inspect
        return False
    return True


@dataclass(frozen=True)
class Arch:
    name: str
    build: BuildNets
    generator: BuildGenerator | None = None  # G alone, for `ganbench eval`; None: build's G
    summary: str = ""

    @property
    def takes_options(self) -> bool:
        """build takes NetOptions as a fifth argument (else: the older four-argument build)."""
        return _accepts(self.build, 5)

    @property
    def generator_takes_options(self) -> bool:
        return self.generator is not None and _accepts(self.generator, 4)


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


class Maxout(nn.Module):
    """A maxout layer (Goodfellow et al. 2013): Linear(d_in, width * pieces), then the max
    over each unit's `pieces` consecutive outputs, as blocks' LinearMaxout (a Linear and
    a Maxout that reshapes (..., width * pieces) to (..., width, pieces) and takes the max
    over the last axis), which PacGAN's 2-D discriminator uses."""

    def __init__(self, d_in: int, width: int, pieces: int):
        super().__init__()
        self.width, self.pieces = width, pieces
        self.linear = nn.Linear(d_in, width * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.width, self.pieces).amax(dim=-1)  # (B, width)


def mlp_discriminator(in_shape: Sequence[int], hidden: Sequence[int], norm: str, maxout: int = 0) -> nn.Module:
    """LeakyReLU(0.2) hidden layers, the first never normalised; or, with `maxout` pieces,
    maxout hidden layers with no normalisation (PacGAN's 2-D D). Linear output, (B,)."""
    layers: list[nn.Module] = [nn.Flatten()]  # (B, prod(in_shape))
    d_in = math.prod(in_shape)
    for i, width in enumerate(hidden):
        if maxout:
            layers.append(Maxout(d_in, width, maxout))  # (B, width)
        else:
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


# --- "dcgan5": carpedm20's DCGAN-tensorflow, as in PacGAN's Stacked MNIST experiment ---
# fjxmlzn/PacGAN, stacked_MNIST_experiments/VEEGAN_experiment/model.py (M) and ops.py (O):
#   D (M:287-297): conv 64 -> lrelu; conv 128, 256, 512 -> BatchNorm -> lrelu; linear -> 1.
#   G (M:299-330): linear -> 512 x s/16 x s/16 -> BatchNorm -> relu; transposed convs to
#      256 @ s/8, 128 @ s/4, 64 @ s/2 (each BatchNorm, relu) and C @ s, tanh; for s = 28 the
#      sides are 2, 4, 7, 14, 28 (conv_out_size_same, M:15-16: ceil(s/2) per step).
#   conv2d (O:52-63): 5x5, stride 2, padding SAME, weights truncated N(0, 0.02), bias 0.
#   deconv2d (O:65-88): 5x5, stride 2, SAME, to a given output side, weights N(0, 0.02), bias 0.
#   linear (O:93-104): weights N(0, 0.02), bias 0.   lrelu (O:90-91): leak 0.2.
#   batch_norm (O:29-43): eps 1e-5, decay 0.9 (torch momentum 0.1), scale and offset
#      (gamma 1, beta 0), over the channel axis: G's first BatchNorm normalises 512
#      channels of the 2x2 map (BatchNorm2d), not 2048 features.
DCGAN5_CHANNELS = (64, 128, 256, 512)
DCGAN5_KERNEL = 5


def _same_pad(size_in: int, size_out: int, kernel: int = DCGAN5_KERNEL, stride: int = 2) -> tuple[int, int]:
    """TensorFlow's SAME padding of a strided conv from size_in to size_out: (before, after),
    the odd pixel after."""
    total = max((size_out - 1) * stride + kernel - size_in, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Module):
    """tf.nn.conv2d(padding="SAME") with stride 2: zero padding (before, after), the odd
    pixel on the bottom and right, then a conv with no padding. (B, C, s, s) -> (B, C', ceil(s/2), ...)."""

    def __init__(self, c_in: int, c_out: int, size_in: int):
        super().__init__()
        before, after = _same_pad(size_in, math.ceil(size_in / 2))
        self.pad = nn.ZeroPad2d((before, after, before, after))
        self.conv = nn.Conv2d(c_in, c_out, DCGAN5_KERNEL, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pad(x))


class SameConvTranspose2d(nn.Module):
    """tf.nn.conv2d_transpose(padding="SAME", output side `size_out`) with stride 2: the
    transpose of SameConv2d from size_out, i.e. the full transposed conv cropped by the
    forward conv's padding, `before` pixels at the top and left. torch's ConvTranspose2d
    padding cannot crop more after than before, so the crop is explicit."""

    def __init__(self, c_in: int, c_out: int, size_in: int, size_out: int):
        super().__init__()
        if math.ceil(size_out / 2) != size_in:
            raise ValueError(f"a SAME stride-2 transposed conv cannot map side {size_in} to {size_out}")
        self.before, _ = _same_pad(size_out, size_in)
        self.size_out = size_out
        self.conv = nn.ConvTranspose2d(c_in, c_out, DCGAN5_KERNEL, 2)  # side (size_in - 1) * 2 + 5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s = self.before, self.size_out
        return self.conv(x)[:, :, b : b + s, b : b + s]


def _dcgan5_sides(size: int) -> list[int]:
    """[s, s/2, s/4, s/8, s/16], each ceil(previous / 2) (conv_out_size_same)."""
    sides = [size]
    for _ in range(len(DCGAN5_CHANNELS)):
        sides.append(math.ceil(sides[-1] / 2))
    return sides


def dcgan5_generator(z_dim: int, out_shape: Sequence[int], norm: str = "batch") -> nn.Module:
    c_out, h, w = out_shape
    if h != w:
        raise ValueError(f"the dcgan5 nets need square images, got {h}x{w}")
    sides = _dcgan5_sides(h)  # 28: [28, 14, 7, 4, 2]
    chans = DCGAN5_CHANNELS[::-1]  # 512, 256, 128, 64
    layers: list[nn.Module] = [nn.Linear(z_dim, chans[0] * sides[-1] ** 2), Reshape(chans[0], sides[-1], sides[-1])]
    if (n := _feature_norm(norm, chans[0], conv=True)) is not None:
        layers.append(n)
    layers.append(nn.ReLU())  # (B, 512, s/16, s/16)
    targets = [*chans[1:], c_out]
    for i, nxt in enumerate(targets):
        size_in, size_out = sides[-1 - i], sides[-2 - i]
        layers.append(SameConvTranspose2d(chans[i], nxt, size_in, size_out))  # (B, nxt, size_out, size_out)
        if i == len(targets) - 1:
            layers.append(nn.Tanh())
        else:
            if (n := _feature_norm(norm, nxt, conv=True)) is not None:
                layers.append(n)
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)  # (B, c_out, s, s)


def dcgan5_discriminator(in_shape: Sequence[int], norm: str) -> nn.Module:
    c_in, h, w = in_shape
    if h != w:
        raise ValueError(f"the dcgan5 nets need square images, got {h}x{w}")
    sides = _dcgan5_sides(h)
    layers: list[nn.Module] = []
    c = c_in
    for i, ch in enumerate(DCGAN5_CHANNELS):
        layers.append(SameConv2d(c, ch, sides[i]))  # (B, ch, sides[i+1], sides[i+1])
        if i > 0 and (n := _feature_norm(norm, ch, conv=True)) is not None:
            layers.append(n)
        layers.append(nn.LeakyReLU(0.2))
        c = ch
    layers += [nn.Flatten(), nn.Linear(c * sides[-1] ** 2, 1), nn.Flatten(0)]  # (B,)
    return nn.Sequential(*layers)


def dcgan5_init_(module: nn.Module) -> None:
    """ops.py's initialisers: conv weights truncated N(0, 0.02) (tf.truncated_normal_initializer
    cuts at 2 std), transposed-conv and linear weights N(0, 0.02), biases 0; BatchNorm gamma 1,
    beta 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.trunc_normal_(m.weight, 0.0, 0.02, -0.04, 0.04)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


# --- the built-in families -----------------------------------------------------------------
def _no_widths(arch: str, options: NetOptions, which: str) -> None:
    fields = ["g_hidden"] if which == "G" else ["d_hidden", "d_maxout"]
    given = [f.replace("_", "-") for f in fields if getattr(options, f)]
    if given:
        raise UsageError(f"arch {arch}'s image {which} is convolutional: {', '.join(given)} applies to MLPs only")


def _generator(arch: str, z_dim: int, sample_shape: Sequence[int], g_norm: str, options: NetOptions) -> nn.Module:
    if len(sample_shape) == 1:  # points always get MLPs
        return mlp_generator(z_dim, sample_shape, options.g_hidden or TOY_G_HIDDEN, g_norm, tanh=False)
    if arch == "mlp":
        return mlp_generator(z_dim, sample_shape, options.g_hidden or IMAGE_G_HIDDEN, g_norm, tanh=True)
    _no_widths(arch, options, "G")
    if arch == "dcgan5":
        return dcgan5_generator(z_dim, sample_shape, g_norm)
    return dcgan_generator(z_dim, sample_shape, g_norm)


def _discriminator(arch: str, sample_shape: Sequence[int], d_norm: str, options: NetOptions) -> nn.Module:
    shape = packed_shape(sample_shape, options.pack)
    if len(shape) == 1:
        return mlp_discriminator(shape, options.d_hidden or TOY_D_HIDDEN, d_norm, options.d_maxout)
    if arch == "mlp":
        return mlp_discriminator(shape, options.d_hidden or IMAGE_D_HIDDEN, d_norm, options.d_maxout)
    _no_widths(arch, options, "D")
    if arch == "dcgan5":
        return dcgan5_discriminator(shape, d_norm)
    return dcgan_discriminator(shape, d_norm)


def _builtin(arch: str) -> tuple[BuildNets, BuildGenerator]:
    """The built-in families' builders. Both nets are built before either is initialised:
    that order fixes every run's initial weights."""

    def build(
        z_dim: int, sample_shape: Sequence[int], g_norm: str, d_norm: str, options: NetOptions | None = None
    ) -> tuple[nn.Module, nn.Module]:
        options = options or NetOptions()
        g = _generator(arch, z_dim, sample_shape, g_norm, options)
        d = _discriminator(arch, sample_shape, d_norm, options)
        if arch == "dcgan" or (arch == "dcgan5" and len(sample_shape) == 1):
            dcgan_init_(g)
            dcgan_init_(d)
        elif arch == "dcgan5":
            dcgan5_init_(g)
            dcgan5_init_(d)
        return g, d

    def generator(z_dim: int, sample_shape: Sequence[int], g_norm: str, options: NetOptions | None = None) -> nn.Module:
        return _generator(arch, z_dim, sample_shape, g_norm, options or NetOptions())

    return build, generator


def set_batchnorm_(module: nn.Module, eps: float, momentum: float) -> None:
    """Every BatchNorm's eps and momentum (running = (1 - momentum) * running + momentum * batch)."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eps, m.momentum = eps, momentum


def _legacy_build(family: Arch, z_dim: int, shape: tuple[int, ...], g_norm: str, d_norm: str, options: NetOptions):
    """A four-argument family: no widths or maxout; packed, D comes from a second build
    for the packed shape."""
    given = [f.replace("_", "-") for f in ("d_hidden", "g_hidden", "d_maxout") if getattr(options, f)]
    if given:
        raise UsageError(
            f"net family {family.name!r} takes no {', '.join(given)} (its build has the four-argument signature)"
        )
    g, d = family.build(z_dim, shape, g_norm, d_norm)
    if options.pack > 1:
        d = family.build(z_dim, packed_shape(shape, options.pack), g_norm, d_norm)[1]
    return g, d


def build_nets(
    arch: str,
    z_dim: int,
    sample_shape: Sequence[int],
    g_norm: str,
    d_norm: str,
    options: NetOptions | None = None,
) -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator) for one variant on one dataset, from the family `arch`.

    The built-in families give points (sample_shape of rank 1) MLPs and images the arch's
    nets; D is built for packed_shape(sample_shape, options.pack). Every BatchNorm gets
    options' eps and momentum; a spectrally normalised D is normalised here, after the
    family initialised it.
    """
    options = options or NetOptions()
    family, shape = get_arch(arch), tuple(sample_shape)
    if family.takes_options:
        g, d = family.build(z_dim, shape, g_norm, d_norm, options)
    else:
        g, d = _legacy_build(family, z_dim, shape, g_norm, d_norm, options)
    if not isinstance(g, nn.Module) or not isinstance(d, nn.Module):
        raise TypeError(f"net family {arch!r}: build must return (G, D), two torch.nn.Module objects")
    for net in (g, d):
        set_batchnorm_(net, options.bn_eps, options.bn_momentum)
    if d_norm == "spectral":
        apply_spectral_norm_(d)
    return g, d


def build_generator(
    arch: str,
    z_dim: int,
    sample_shape: Sequence[int],
    g_norm: str,
    d_norm: str = "none",
    options: NetOptions | None = None,
) -> nn.Module:
    """The generator alone, for scoring saved weights (its initial values are overwritten):
    the family's generator builder, or G of its (G, D)."""
    options = options or NetOptions()
    family = get_arch(arch)
    if family.generator is None:
        return build_nets(arch, z_dim, sample_shape, g_norm, d_norm, options)[0]
    if family.generator_takes_options:
        g = family.generator(z_dim, tuple(sample_shape), g_norm, options)
    else:
        g = family.generator(z_dim, tuple(sample_shape), g_norm)
    set_batchnorm_(g, options.bn_eps, options.bn_momentum)
    return g


for _name, _summary in (
    ("mlp", "fully connected G and D (Goodfellow et al. 2014; PacGAN's toy nets)"),
    ("dcgan", "all-convolutional G and D (Radford et al. 2016)"),
    ("dcgan5", "carpedm20's DCGAN-tensorflow, 5x5 kernels (PacGAN's Stacked MNIST nets)"),
):
    _build, _gen = _builtin(_name)
    register_arch(_name, _build, generator=_gen, summary=_summary)
