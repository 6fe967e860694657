"""Issue 20's nets and step features, as data the loop reads: the Variant/RunConfig fields,
old run directories, maxout, widths, BatchNorm settings, "dcgan5", packing, noise, k G
steps, simultaneous updates, fresh G noise and a fixed finite 2-D training set."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from support import tiny_config
from torch import nn

from ganbench.config import LEGACY_DEFAULTS, RunConfig, resolve
from ganbench.core.record import existing_state, refuse_different
from ganbench.errors import ConfigMismatch, UsageError
from ganbench.rundir import RunDir
from ganbench.runs.plan import resolve as plan_resolve
from ganbench.runs.rescore import load_run_config
from ganbench.spec import TRAINING_FIELDS, Variant
from ganbench.variants import get_variant

REPO = Path(__file__).resolve().parents[1]
# A run directory committed before these fields existed (its config.json lacks them).
OLD_RUN = REPO / "results" / "reference" / "runs" / "ring8" / "wgan-gp" / "seed0"


# --- the fields ---------------------------------------------------------------------------
def test_resolve_fills_every_new_field_from_the_variant_and_keeps_overrides():
    cfg = tiny_config("dcgan", "ring8")
    v = get_variant("dcgan")
    for key in ("arch", "g_norm", "d_norm", *TRAINING_FIELDS):
        assert getattr(cfg, key) == getattr(v, key), key
    assert (cfg.noise, cfg.g_steps, cfg.pack, cfg.bn_eps, cfg.bn_momentum) == ("normal", 1, 1, 1e-5, 0.1)
    assert cfg.is_resolved
    over = tiny_config("dcgan", "ring8", noise="uniform", pack=2, d_hidden=(8, 8), d_norm="none", d_maxout=3)
    assert (over.noise, over.pack, over.d_hidden, over.d_maxout) == ("uniform", 2, (8, 8), 3)
    # tuples round-trip through config.json as lists
    record = json.loads(json.dumps(over.to_dict()))
    assert record["d_hidden"] == [8, 8] and RunConfig.from_dict(record) == over


def test_a_variant_shows_the_new_fields_and_can_set_them():
    hp = get_variant("dcgan").hyperparameters()
    assert {k: hp[k] for k in ("noise", "g_steps", "pack", "d_maxout", "bn_eps")} == {
        "noise": "normal",
        "g_steps": 1,
        "pack": 1,
        "d_maxout": 0,
        "bn_eps": 1e-5,
    }
    v = dataclasses.replace(get_variant("dcgan"), name="dcgan-u", noise="uniform", g_hidden=[16, 16])
    assert v.g_hidden == (16, 16) and v.hyperparameters()["g_hidden"] == [16, 16]
    cfg = resolve(RunConfig(variant="dcgan-u", dataset="ring8", profile="smoke", device="cpu"), v)
    assert cfg.noise == "uniform" and cfg.g_hidden == (16, 16)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(noise="gamma"), "unknown noise 'gamma'"),
        (dict(g_steps=0), "g-steps must be an integer >= 1"),
        (dict(pack=0), "pack must be an integer >= 1"),
        (dict(d_maxout=1), "d-maxout must be 0"),
        (dict(d_hidden=(8, 0)), "d-hidden must be one or more positive integer widths"),
        (dict(g_hidden=()), "g-hidden must be one or more positive integer widths"),
        (dict(bn_eps=0.0), "bn-eps must be a positive finite number"),
        (dict(bn_momentum=1.5), "bn-momentum must be from 0 to 1"),
        (dict(train_size=50), "train-size (50) must hold at least one batch (100)"),
        (dict(d_maxout=5), "a maxout D (d-maxout 5) takes no batch norm"),
        (dict(simultaneous=True, n_critic=5), "n-critic must be 1"),
        (dict(simultaneous=True, g_steps=2), "g-steps must be 1"),
        (dict(arch="resnet"), "unknown arch 'resnet'"),
        (dict(d_norm="instance"), "unknown d-norm 'instance'"),
    ],
)
def test_bad_values_are_one_line_usage_errors(change, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        tiny_config("dcgan", "ring8", **change)
    assert "\n" not in str(err.value)


def test_train_size_applies_to_generated_data_only():
    with pytest.raises(UsageError, match="train-size applies to the generated 2-D datasets"):
        resolve(RunConfig(variant="dcgan", dataset="mnist", train_size=1000, device="cpu"), get_variant("dcgan"))


def test_a_variant_refuses_bad_values_too():
    with pytest.raises(ValueError, match="dcgan-x: unknown noise 'cauchy'"):
        dataclasses.replace(get_variant("dcgan"), name="dcgan-x", noise="cauchy")


# --- old run directories --------------------------------------------------------------------
def test_an_old_config_json_reads_with_the_values_that_reproduce_it(tmp_path):
    """A run directory written before the fields existed: still "done" for today's config,
    its config reads back complete, and a config that really differs is still refused."""
    stored = json.loads((OLD_RUN / "config.json").read_text())
    assert not set(TRAINING_FIELDS) & set(stored["config"]), "the fixture must predate the fields"
    run_path = tmp_path / "ring8" / "wgan-gp" / "seed0"
    shutil.copytree(OLD_RUN, run_path)
    run = RunDir.at(run_path)
    base = dict(variant="wgan-gp", dataset="ring8", seed=0, profile="quick", device="cpu")
    today = plan_resolve(RunConfig(**base))
    assert existing_state(run, today) == "done"
    refuse_different(run, today)  # no ConfigMismatch
    loaded = load_run_config(run)  # what `ganbench eval` rebuilds G from
    assert loaded == today and loaded.arch == "dcgan" and loaded.noise == LEGACY_DEFAULTS["noise"]
    assert RunConfig.from_dict(stored["config"], stored["variant"]) == today
    # An old run is not "done" for a config that asks for something it did not do.
    for change in (dict(noise="uniform"), dict(pack=2), dict(g_steps=2), dict(bn_eps=1e-4)):
        other = plan_resolve(RunConfig(**base, **change))
        assert existing_state(run, other) == "different", change
        with pytest.raises(ConfigMismatch, match=f"differs in: {next(iter(change))}"):
            refuse_different(run, other)


# --- helpers for the nets and the step ----------------------------------------------------------
def variant(**fields) -> Variant:
    """dcgan with the given fields, under a fresh name (not registered)."""
    return dataclasses.replace(get_variant("dcgan"), name="dcgan-test", **fields)


def config_for(v: Variant, dataset: str = "ring8", **overrides) -> RunConfig:
    base = dict(variant=v.name, dataset=dataset, profile="smoke", device="cpu")
    if dataset != "ring8" and dataset != "grid25":
        base.update(data_limit=64, batch_size=8)
    base.update(overrides)
    return resolve(RunConfig(**base), v)


def count_modules(net: nn.Module, kind) -> int:
    return sum(isinstance(m, kind) for m in net.modules())
