"""Issue 20's nets and step features, as data the loop reads: the Variant/RunConfig fields,
old run directories, maxout, widths, BatchNorm settings, "dcgan5", packing, noise, k G
steps, simultaneous updates, fresh G noise and a fixed finite 2-D training set."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch
from support import tiny_config
from torch import nn

from ganbench import nets
from ganbench.config import LEGACY_DEFAULTS, RunConfig, resolve
from ganbench.core.record import existing_state, refuse_different
from ganbench.errors import ConfigMismatch, UsageError
from ganbench.nets import (
    Maxout,
    NetOptions,
    Reshape,
    SameConv2d,
    SameConvTranspose2d,
    _same_pad,
    build_nets,
    register_arch,
)
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


# --- nets -------------------------------------------------------------------------------------
def test_maxout_takes_the_max_over_each_units_pieces():
    layer = Maxout(1, 2, 3)  # 2 units of 3 pieces each
    with torch.no_grad():
        layer.linear.weight.copy_(torch.tensor([[1.0], [2.0], [3.0], [-1.0], [-2.0], [-3.0]]))
        layer.linear.bias.zero_()
    x = torch.tensor([[1.0], [-1.0], [2.0]])
    # unit 0 = max(x, 2x, 3x), unit 1 = max(-x, -2x, -3x)
    assert torch.equal(layer(x), torch.tensor([[3.0, -1.0], [-1.0, 3.0], [6.0, -2.0]]))


def test_a_maxout_d_has_the_widths_and_pieces_asked_for_and_no_normalisation():
    options = NetOptions(d_hidden=(7, 9, 11), d_maxout=5)
    _, d = build_nets("dcgan", 2, (2,), "batch", "none", options)
    maxouts = [m for m in d.modules() if isinstance(m, Maxout)]
    assert [(m.linear.in_features, m.width, m.linear.out_features) for m in maxouts] == [
        (2, 7, 35),
        (7, 9, 45),
        (9, 11, 55),
    ]
    assert count_modules(d, nn.BatchNorm1d) == count_modules(d, nn.LayerNorm) == count_modules(d, nn.LeakyReLU) == 0
    assert d(torch.randn(6, 2)).shape == (6,)


def test_mlp_widths_per_net():
    g, d = build_nets("dcgan", 3, (2,), "batch", "batch", NetOptions(d_hidden=(5, 6), g_hidden=(8,)))
    assert [m.out_features for m in g.modules() if isinstance(m, nn.Linear)] == [8, 2]
    assert [m.out_features for m in d.modules() if isinstance(m, nn.Linear)] == [5, 6, 1]
    g, d = build_nets("mlp", 3, (1, 8, 8), "batch", "batch", NetOptions(d_hidden=(4,), g_hidden=(9, 10)))
    assert [m.out_features for m in g.modules() if isinstance(m, nn.Linear)] == [9, 10, 64]
    assert [m.out_features for m in d.modules() if isinstance(m, nn.Linear)] == [4, 1]
    with pytest.raises(UsageError, match="arch dcgan's image D is convolutional: d-hidden applies to MLPs only"):
        build_nets("dcgan", 3, (1, 28, 28), "batch", "batch", NetOptions(d_hidden=(4,)))


@pytest.mark.parametrize("arch, shape", [("dcgan", (2,)), ("dcgan", (1, 28, 28)), ("dcgan5", (3, 28, 28))])
def test_batchnorm_eps_and_momentum_reach_every_batchnorm(arch, shape):
    g, d = build_nets(arch, 4, shape, "batch", "batch", NetOptions(bn_eps=1e-4, bn_momentum=0.05))
    norms = [m for net in (g, d) for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(norms) >= 3 and all((m.eps, m.momentum) == (1e-4, 0.05) for m in norms)
    default = build_nets(arch, 4, shape, "batch", "batch")[0]
    assert all((m.eps, m.momentum) == (1e-5, 0.1) for m in default.modules() if isinstance(m, nn.BatchNorm2d))


def test_dcgan5_is_carpedm20s_net_for_28x28x3():
    g, d = build_nets("dcgan5", 100, (3, 28, 28), "batch", "batch")
    x = g(torch.rand(5, 100) * 2 - 1)
    assert x.shape == (5, 3, 28, 28) and x.abs().max() <= 1
    # G: linear to 512 x 2 x 2, then 256 @ 4, 128 @ 7, 64 @ 14, 3 @ 28
    sides, h = [], torch.rand(2, 100)
    for layer in g:
        h = layer(h)
        if isinstance(layer, (SameConvTranspose2d, Reshape)):
            sides.append(tuple(h.shape[1:]))
    assert sides == [(512, 2, 2), (256, 4, 4), (128, 7, 7), (64, 14, 14), (3, 28, 28)]
    assert [m.num_features for m in g.modules() if isinstance(m, nn.BatchNorm2d)] == [512, 256, 128, 64]
    # D: 5x5 stride-2 convs of 64, 128, 256, 512 channels, BatchNorm on the last three, linear out
    convs = [m.conv for m in d.modules() if isinstance(m, SameConv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (ch, (5, 5), (2, 2)) for ch in (64, 128, 256, 512)
    ]
    assert [m.num_features for m in d.modules() if isinstance(m, nn.BatchNorm2d)] == [128, 256, 512]
    assert d(x).shape == (5,) and [m.in_features for m in d.modules() if isinstance(m, nn.Linear)] == [512 * 2 * 2]


def test_dcgan5_pads_like_tensorflow_same():
    """SAME puts the odd padding pixel after; the transposed conv is the exact adjoint of the conv."""
    assert [_same_pad(a, b) for a, b in ((28, 14), (14, 7), (7, 4), (4, 2))] == [(1, 2), (1, 2), (2, 2), (1, 2)]
    torch.manual_seed(0)
    for small, big in ((2, 4), (4, 7), (7, 14), (14, 28)):
        conv, convt = SameConv2d(3, 2, big), SameConvTranspose2d(2, 3, small, big)
        with torch.no_grad():
            convt.conv.weight.copy_(conv.conv.weight)
            conv.conv.bias.zero_()
            convt.conv.bias.zero_()
        x, y = torch.randn(1, 3, big, big, dtype=torch.float64), torch.randn(1, 2, small, small, dtype=torch.float64)
        conv.double(), convt.double()
        assert conv(x).shape == y.shape and convt(y).shape == x.shape
        torch.testing.assert_close((conv(x) * y).sum(), (x * convt(y)).sum())


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("arch, shape, packed", [("dcgan", (2,), (2,)), ("dcgan", (1, 28, 28), (1, 28, 28))])
def test_a_packed_d_is_built_for_m_samples_concatenated(arch, shape, packed, m):
    g, d = build_nets(arch, 4, shape, "batch", "batch", NetOptions(pack=m))
    assert g(torch.randn(3, 4)).shape == (3, *shape)  # G is unchanged
    first = next(x for x in d.modules() if isinstance(x, (nn.Linear, nn.Conv2d)))
    assert getattr(first, "in_features", getattr(first, "in_channels", None)) == m * packed[0]
    assert d(torch.randn(3, m * shape[0], *shape[1:])).shape == (3,)


def _four_argument_build(z_dim, shape, g_norm, d_norm):
    import math

    return nn.Sequential(nn.Linear(z_dim, math.prod(shape)), Reshape(*shape)), nn.Sequential(
        nn.Flatten(), nn.Linear(math.prod(shape), 3), nn.BatchNorm1d(3), nn.Linear(3, 1), nn.Flatten(0)
    )


def test_a_family_with_the_four_argument_build_still_works():
    if "four-arg" not in nets.ARCHS:
        register_arch("four-arg", _four_argument_build)
    g, d = build_nets("four-arg", 3, (2,), "batch", "batch")
    assert g(torch.randn(4, 3)).shape == (4, 2) and d(torch.randn(4, 2)).shape == (4,)
    _, packed = build_nets("four-arg", 3, (2,), "batch", "batch", NetOptions(pack=4, bn_eps=1e-3))
    assert packed[1].in_features == 8 and packed[2].eps == 1e-3
    assert nets.build_generator("four-arg", 3, (2,), "batch")(torch.randn(2, 3)).shape == (2, 2)
    with pytest.raises(UsageError, match="net family 'four-arg' takes no d-maxout"):
        build_nets("four-arg", 3, (2,), "batch", "none", NetOptions(d_maxout=3))
