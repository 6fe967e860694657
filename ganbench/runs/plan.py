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
from ..errors import DataUnavailable, UsageError
from ..protocols import Protocol
from ..spec import Variant

__all__ = [
    "VARIANTS",
    "SuitePlan",
    "get_variant",
    "plan",
    "plan_protocol",
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
    return _plan(variants, datasets, seeds, lambda variant, ds: overrides, data_root, explicit_datasets)


def _plan(variants, datasets, seeds, overrides_for, data_root, explicit_datasets) -> SuitePlan:
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
                fields = overrides_for(variant, ds)
                configs.append(resolve(RunConfig(variant=variant, dataset=ds, seed=seed, **fields)))
    return SuitePlan(configs, unavailable)


def take_shard(items: list, shard: tuple[int, int] | None) -> list:
    """Part I of N of `items` (every N-th, from the I-th): the N parts partition the list."""
    if shard is None:
        return list(items)
    i, n = shard
    return list(items[i::n])


def check_protocol(protocol: Protocol) -> None:
    """Every row of `protocol` names a registered variant (UsageError, one line, if not)."""
    missing = [f"{r.label} -> {r.variant}" for r in protocol.rows if r.variant not in VARIANTS]
    if missing:
        raise UsageError(f"protocol {protocol.name}: rows name unregistered variants: {', '.join(missing)}")


def plan_protocol(
    protocol: Protocol,
    variants: list[str],
    datasets: list[str],
    seeds: list[int],
    overrides: dict,
    data_root=None,
) -> tuple[SuitePlan, list[str]]:
    """Resolved configs for every (dataset, row, seed) of `protocol`: the protocol's settings
    for that row and dataset, then `overrides` (the command line's) on top; and the suite's
    deviations from the protocol (Protocol.deviations). Every dataset is named explicitly."""
    check_protocol(protocol)
    for variant in variants:
        protocol.row(variant)  # a variant with no row is refused with the rows listed
    for ds in datasets:
        protocol.overrides(protocol.rows[0].variant, ds)  # a dataset it does not have is refused

    def overrides_for(variant: str, ds: str) -> dict:
        return {**protocol.overrides(variant, ds), **overrides}

    suite = _plan(variants, datasets, seeds, overrides_for, data_root, explicit_datasets=True)
    return suite, protocol.deviations(suite.configs, seeds)
