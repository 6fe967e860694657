"""What a suite trains: variants x datasets x seeds -> resolved configs.

This module is the one place that imports the variant registry (`ganbench.variants`):
everything else that needs a variant by name asks here, and the core is handed the
Variant object itself (tests/test_layout.py keeps it so).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ganbench.variants import VARIANTS, get_variant, register_variant, variant_names

from .. import config
from ..config import RunConfig
from ..data import data_root as resolve_root
from ..data import get_dataset_spec
from ..errors import DataUnavailable
from ..spec import Variant

__all__ = [
    "VARIANTS",
    "SuitePlan",
    "get_variant",
    "plan",
    "register_variant",
    "registered_variants",
    "resolve",
    "variant_names",
]


def registered_variants() -> list[str]:
    """Every registered variant's name, in registration order (the order of every table)."""
    return list(VARIANTS)


def resolve(cfg: RunConfig) -> RunConfig:
    """`config.resolve` with the variant that `cfg.variant` names."""
    return config.resolve(cfg, get_variant(cfg.variant))


def variant_of(cfg: RunConfig) -> Variant:
    return get_variant(cfg.variant)


@dataclass
class SuitePlan:
    configs: list[RunConfig]
    unavailable: dict[str, str] = field(default_factory=dict)  # dataset -> how to get it


def plan(
    variants: list[str],
    datasets: list[str],
    seeds: list[int],
    overrides: dict,
    data_root=None,
    explicit_datasets: bool = True,
) -> SuitePlan:
    """Resolved configs for every (dataset, variant, seed).

    A dataset whose files are not on disk is an error when named explicitly (after trying
    to fetch its files, which torchvision can do when online) and is listed in
    `unavailable` (and left out) when it came from a default list. Nothing is decoded
    here: each run loads its data itself.
    """
    root = resolve_root(data_root)
    configs, unavailable = [], {}
    for ds in datasets:
        spec = get_dataset_spec(ds)
        if spec.locate(root) is None:
            if not explicit_datasets:
                unavailable[ds] = spec.how_to_get
                continue
            if spec.fetch is None:
                raise DataUnavailable(f"dataset {ds} is not on this machine: {spec.how_to_get}")
            spec.fetch(root)  # raises a one-line DataUnavailable when it cannot
        for variant in variants:
            for seed in seeds:
                configs.append(resolve(RunConfig(variant=variant, dataset=ds, seed=seed, **overrides)))
    return SuitePlan(configs, unavailable)


def take_shard(items: list, shard: tuple[int, int] | None) -> list:
    """Part I of N of `items` (every N-th, from the I-th): the N parts partition the list."""
    if shard is None:
        return list(items)
    i, n = shard
    return list(items[i::n])
