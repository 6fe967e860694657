"""The variant registry, shipped as `ganbench.variants`.

A plain dict filled by `register_variant`, which refuses duplicates. Each module in this
folder defines one `Variant` and registers it on import.
"""

from __future__ import annotations

from ganbench.errors import UsageError
from ganbench.spec import Variant

VARIANTS: dict[str, Variant] = {}


def register_variant(variant: Variant) -> Variant:
    if variant.name in VARIANTS:
        raise ValueError(f"variant {variant.name!r} is already registered")
    VARIANTS[variant.name] = variant
    return variant


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise UsageError(f"unknown variant {name!r}; choose from: {', '.join(VARIANTS)}") from None


def variant_names(text: str) -> list[str]:
    """ "dcgan, wgan-gp" -> ["dcgan", "wgan-gp"], each checked against the registry."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError(f"no variant named; choose from: {', '.join(VARIANTS)}")
    for name in names:
        get_variant(name)
    return names


# Registration order is the order of `ganbench list` and of every table.
from . import vanilla, dcgan, lsgan, wgan_gp, hinge  # noqa: E402,F401,I001
