"""ganbench's public API for plugins: everything here is stable; the rest may change.

A plugin is a Python file (or an installed package's `ganbench.plugins` entry point)
that imports from this module and registers what it adds when it is imported:

    from ganbench.api import Variant, register_variant, d_nonsaturating, g_nonsaturating

    register_variant(Variant(name="my-gan", paper="...", arch="dcgan",
                             d_loss=d_nonsaturating, g_loss=g_nonsaturating))

A plugin may add a published protocol too: register_protocol(load_protocol("my_paper.toml"))
(the file format: docs/protocols.md).

Load it with `ganbench --plugin my_gan.py run my-gan ...`, $GANBENCH_PLUGINS or the entry
point. docs/plugins.md lists what a plugin can and cannot change.

The signatures (one sign convention: D returns raw scores, higher means "more real"):
    d_loss(real_scores, fake_scores) -> scalar tensor                        DLoss
    g_loss(fake_scores) -> scalar tensor                                     GLoss
    penalty(critic, real, fake, generator=None, weight=...) -> scalar tensor Penalty
        added to D's loss; `generator` is the run's torch.Generator for any random draw,
        `weight` the run's penalty_weight (already applied by the penalty, not by ganbench)
    build(z_dim, sample_shape, g_norm, d_norm) -> (G, D)                      BuildNets
        G maps (B, z_dim) noise to (B, *sample_shape); D maps (B, *sample_shape) to (B,)
        raw scores; both initialised. sample_shape is (2,) for points, (C, H, W) for
        images (in [-1, 1]). d_norm "spectral" is applied by ganbench afterwards.
"""

from __future__ import annotations

from .data import Dataset, DatasetSpec, register_dataset
from .losses import (
    DLoss,
    GLoss,
    Penalty,
    d_hinge,
    d_least_squares,
    d_nonsaturating,
    d_wasserstein,
    g_hinge,
    g_least_squares,
    g_nonsaturating,
    g_wasserstein,
    gradient_penalty,
    register_loss,
    register_penalty,
)
from .nets import NORMS, BuildGenerator, BuildNets, NetOptions, packed_shape, register_arch
from .plugins import PluginError, RegistryError
from .protocols import Protocol, load_protocol, register_protocol
from .runs.plan import register_variant
from .spec import OPTIMIZERS, Variant

__all__ = [
    "NORMS",
    "OPTIMIZERS",
    "BuildGenerator",
    "BuildNets",
    "DLoss",
    "Dataset",
    "DatasetSpec",
    "GLoss",
    "NetOptions",
    "Penalty",
    "PluginError",
    "Protocol",
    "RegistryError",
    "Variant",
    "d_hinge",
    "d_least_squares",
    "d_nonsaturating",
    "d_wasserstein",
    "g_hinge",
    "g_least_squares",
    "g_nonsaturating",
    "g_wasserstein",
    "gradient_penalty",
    "load_protocol",
    "packed_shape",
    "register_arch",
    "register_dataset",
    "register_loss",
    "register_penalty",
    "register_protocol",
    "register_variant",
]
