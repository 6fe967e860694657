"""The variant registry, shipped as `ganbench.variants`.

A plain dict filled by `register_variant`, which refuses duplicates. Each module in this
folder defines one `Variant` and registers it on import; plugins (ganbench/plugins.py)
register theirs after these, through `ganbench.api`.
"""

from __future__ import annotations

from ganbench.errors import UsageError
from ganbench.losses import register_loss, register_penalty
from ganbench.plugins import note_origin, origin_of, refuse
from ganbench.spec import Variant

VARIANTS: dict[str, Variant] = {}


def register_variant(variant: Variant) -> Variant:
    """Register `variant` (and its losses and penalty, by name, if new); refuses a name
    that is already registered, and a loss or penalty whose name another function holds."""
    if not isinstance(variant, Variant):
        raise refuse(f"register_variant takes a ganbench Variant, got {type(variant).__name__}")
    if variant.name in VARIANTS:
        raise refuse(f"variant {variant.name!r} is already registered ({origin_of('variant', variant.name)})")
    register_loss(variant.d_loss)
    register_loss(variant.g_loss)
    if variant.d_penalty is not None:
        register_penalty(variant.d_penalty)
    VARIANTS[variant.name] = variant
    note_origin("variant", variant.name)
    return variant


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise UsageError(
            f"unknown variant {name!r}; choose from: {', '.join(VARIANTS)} "
            "(a plugin's variant needs `ganbench --plugin FILE ...` or $GANBENCH_PLUGINS)"
        ) from None


def variant_names(text: str) -> list[str]:
    """ "dcgan, wgan-gp" -> ["dcgan", "wgan-gp"], each checked against the registry."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError(f"no variant named; choose from: {', '.join(VARIANTS)}")
    for name in names:
        get_variant(name)
    return names


# Registration order is the order of `ganbench list` and of every table.
# pacgan2/pacgan4 come last so that tables made before them keep their row order.
from . import vanilla, dcgan, lsgan, wgan_gp, hinge, pacgan  # noqa: E402,F401,I001
