"""Issue 20's nets and step features, as data the loop reads: the Variant/RunConfig fields,
old run directories, maxout, widths, BatchNorm settings, "dcgan5", packing, noise, k G
steps, simultaneous updates, fresh G noise and a fixed finite 2-D training set."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch
from support import assert_same_run, tiny_config
from torch import nn

from ganbench import nets
from ganbench.config import LEGACY_DEFAULTS, RunConfig, resolve
from ganbench.core import checkpoint as ckpt
from ganbench.core.loop import train
from ganbench.core.record import existing_state, refuse_different
from ganbench.core.samples import Sampler
from ganbench.core.step import Trainer
from ganbench.data import Dataset, load_dataset
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
from ganbench.runs.plan import register_variant
from ganbench.runs.plan import resolve as plan_resolve
from ganbench.runs.rescore import evaluate_run_dir, load_run_config
from ganbench.seeding import seed_everything
from ganbench.spec import TRAINING_FIELDS, Variant
from ganbench.testing import registries_restored
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
    assert tiny_config("dcgan", "ring8", noise="uniform", pack=2, d_hidden=[8, 8], d_norm="none", d_maxout=3) == over


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
    with registries_restored():
        register_arch("four-arg", _four_argument_build)
        g, d = build_nets("four-arg", 3, (2,), "batch", "batch")
        assert g(torch.randn(4, 3)).shape == (4, 2) and d(torch.randn(4, 2)).shape == (4,)
        _, packed = build_nets("four-arg", 3, (2,), "batch", "batch", NetOptions(pack=4, bn_eps=1e-3))
        assert packed[1].in_features == 8 and packed[2].eps == 1e-3
        assert nets.build_generator("four-arg", 3, (2,), "batch")(torch.randn(2, 3)).shape == (2, 2)
        with pytest.raises(UsageError, match="net family 'four-arg' takes no d-maxout"):
            build_nets("four-arg", 3, (2,), "batch", "none", NetOptions(d_maxout=3))
    assert "four-arg" not in nets.ARCHS


# --- the step ----------------------------------------------------------------------------------
def images(shape=(1, 28, 28), n=64) -> Dataset:
    """A small image dataset in [-1, 1] (no files needed)."""
    train = torch.rand(n, *shape, generator=torch.Generator().manual_seed(3)) * 2 - 1
    return Dataset(name="mnist", kind="images", shape=shape, device=torch.device("cpu"), train=train)


def trainer_for(v: Variant, dataset: str = "ring8", data: Dataset | None = None, **overrides) -> Trainer:
    cfg = config_for(v, dataset, **overrides)
    seed_everything(cfg.seed)
    return Trainer(cfg, v, data if data is not None else load_dataset(dataset, None, "cpu"))


def record_inputs(net: nn.Module) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    net.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    return seen


@pytest.mark.parametrize("m", [2, 4])
def test_packing_feeds_d_m_samples_concatenated_points(m):
    t = trainer_for(variant(pack=m))
    g0 = copy.deepcopy(t.g)
    d_inputs, g_inputs = record_inputs(t.d), record_inputs(t.g)
    t.run_steps(1)
    b = t.cfg.batch_size
    # D: real, fake (critic step), fake (G step); each (B, 2m)
    assert [tuple(x.shape) for x in d_inputs] == [(b, 2 * m)] * 3
    # G runs m times on B z each (its BatchNorm statistics per run), as PacGAN's code
    assert [tuple(z.shape) for z in g_inputs] == [(b, 2)] * m
    # the i-th run of G fills every packed example's i-th slot
    fake = d_inputs[1]
    with torch.no_grad():
        for i, z in enumerate(g_inputs):
            torch.testing.assert_close(fake[:, 2 * i : 2 * i + 2], g0(z))
    losses = t.read_losses()
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())


@pytest.mark.parametrize("m", [2, 4])
def test_packing_feeds_d_m_images_along_channels(m):
    t = trainer_for(variant(pack=m), "mnist", data=images())
    d_inputs = record_inputs(t.d)
    t.run_steps(1)
    assert [tuple(x.shape) for x in d_inputs] == [(8, m, 28, 28)] * 3
    # packed real examples are m training images stacked along channels
    real = d_inputs[0]
    flat = t.data.train.flatten(1)
    for slot in range(m):
        rows = real[:, slot].flatten(1)
        assert all((flat == row).all(dim=1).any() for row in rows)


def test_dcgan5_packed_stacked_images_train_one_step():
    t = trainer_for(variant(arch="dcgan5", noise="uniform", g_steps=2, pack=2), "mnist", data=images((3, 28, 28)))
    d_inputs = record_inputs(t.d)
    t.run_steps(1)
    assert [tuple(x.shape) for x in d_inputs] == [(8, 6, 28, 28)] * 4 and t.sampler.sample(3).shape == (3, 3, 28, 28)


@pytest.mark.parametrize("dataset, data", [("ring8", None), ("mnist", images())])
def test_the_gradient_penalty_works_on_packed_inputs(dataset, data):
    wgan = dataclasses.replace(get_variant("wgan-gp"), name="wgan-gp-test", pack=2)
    t = trainer_for(wgan, dataset, data=data)
    t.run_steps(2)
    pen = t.read_losses()["penalty"]
    assert pen > 0 and torch.isfinite(torch.tensor(pen))


def count_calls(opt) -> list[int]:
    calls = [0]
    step = opt.step

    def counted(*a, **k):
        calls[0] += 1
        return step(*a, **k)

    opt.step = counted
    return calls


@pytest.mark.parametrize("k, fresh", [(1, False), (2, False), (3, True)])
def test_k_generator_steps_per_iteration(k, fresh):
    t = trainer_for(variant(g_steps=k, fresh_g_noise=fresh, n_critic=2))
    g_calls, d_calls = count_calls(t.opt_g), count_calls(t.opt_d)
    g_inputs = record_inputs(t.g)
    t.run_steps(3)
    assert (g_calls[0], d_calls[0]) == (3 * k, 3 * 2)
    # per iteration G sees: the 2 critic batches' z, then k - 1 further forwards (same z) or k fresh ones
    per_step = 2 + (k if fresh else k - 1)
    assert len(g_inputs) == 3 * per_step
    critic_z, g_step_z = g_inputs[1], g_inputs[2:per_step]
    for z in g_step_z:
        assert torch.equal(z, critic_z) != fresh  # the same z unless fresh noise is asked for


def test_fresh_g_noise_changes_the_run_and_default_reuses_the_critic_batch():
    a = trainer_for(variant())
    b = trainer_for(variant(fresh_g_noise=True))
    ga, gb = record_inputs(a.g), record_inputs(b.g)
    a.run_steps(1), b.run_steps(1)
    assert len(ga) == 1 and len(gb) == 2 and not torch.equal(gb[0], gb[1])
    assert torch.equal(ga[0], gb[0])  # the critic's draws are the same stream


def test_simultaneous_updates_are_computed_from_the_same_parameters():
    """One SGD step (no momentum): each net moves by -lr times the gradient of its own loss
    at the pre-step parameters of both nets, on one batch; D's update holds nothing of G's loss."""
    v = variant(simultaneous=True, optimizer="sgd", betas=(0.0, 0.999), d_maxout=3, d_norm="none", lr_d=0.05, lr_g=0.05)
    t = trainer_for(v)
    g0, d0 = copy.deepcopy(t.g), copy.deepcopy(t.d)
    state = t.gens.train.get_state()
    t.run_steps(1)

    # the same batch, again, from the same stream
    gen = torch.Generator().set_state(state)
    real = t.data.sample(t.cfg.batch_size, gen)
    z = torch.randn(t.cfg.batch_size, t.cfg.z_dim, generator=gen)
    fake = g0(z)
    d_loss = v.d_loss(d0(real), d0(fake.detach()))
    g_loss = v.g_loss(d0(fake))
    d_grads = torch.autograd.grad(d_loss, list(d0.parameters()))
    g_grads = torch.autograd.grad(g_loss, list(g0.parameters()))
    for p0, grad, p1 in zip(d0.parameters(), d_grads, t.d.parameters(), strict=True):
        torch.testing.assert_close(p1, p0 - 0.05 * grad)
    for p0, grad, p1 in zip(g0.parameters(), g_grads, t.g.parameters(), strict=True):
        torch.testing.assert_close(p1, p0 - 0.05 * grad)
    # Against alternating updates: G's gradient would come from the stepped D.
    alt_g = torch.autograd.grad(v.g_loss(t.d(g0(z))), list(g0.parameters()))
    assert any(not torch.allclose(a, b) for a, b in zip(alt_g, g_grads, strict=True))


def test_uniform_noise_is_in_minus_one_one_for_training_and_for_the_sampler():
    t = trainer_for(variant(noise="uniform"))
    g_inputs = record_inputs(t.g)
    t.run_steps(1)
    z = g_inputs[0]
    assert z.min() >= -1 and z.max() <= 1 and z.min() < -0.9 and z.max() > 0.9
    assert t.sampler.noise == "uniform"
    drawn = Sampler(nn.Identity(), 50, torch.device("cpu"), 0, "uniform").sample(2000)
    assert drawn.min() >= -1 and drawn.max() <= 1 and drawn.abs().max() > 0.99
    assert abs(drawn.mean().item()) < 0.02 and abs(drawn.var().item() - 1 / 3) < 0.01  # U(-1, 1): variance 1/3
    normal = Sampler(nn.Identity(), 50, torch.device("cpu"), 0).sample(2000)
    assert normal.abs().max() > 2  # the default is still N(0, I)


def test_train_size_draws_batches_from_one_fixed_set():
    t = trainer_for(variant(), train_size=300)
    assert t.data.train.shape == (300, 2) and t.data.sampler is None
    d_inputs = record_inputs(t.d)
    t.run_steps(3)
    real_batches = d_inputs[0::3]  # real, fake, fake per step
    for batch in real_batches:
        assert all((t.data.train == row).all(dim=1).any() for row in batch)
    again, other = trainer_for(variant(), train_size=300), trainer_for(variant(), train_size=300, seed=1)
    assert torch.equal(again.data.train, t.data.train) and not torch.equal(other.data.train, t.data.train)
    assert trainer_for(variant()).data.train is None  # the default: fresh points every batch


# --- whole runs: resume and `ganbench eval` --------------------------------------------------
def largest_sample(sampler, data, cfg) -> dict:
    return {"largest": float(sampler.sample(50).abs().max())}


PACGAN_LIKE = dict(pack=2, d_maxout=3, d_norm="none", d_hidden=(16, 16), g_hidden=(24, 24), noise="uniform")


@pytest.mark.parametrize(
    "fields",
    [
        dict(PACGAN_LIKE, g_steps=2, bn_eps=1e-4, bn_momentum=0.05),
        dict(PACGAN_LIKE, simultaneous=True, fresh_g_noise=False),
        dict(fresh_g_noise=True, n_critic=2),
    ],
    ids=["alternating", "simultaneous", "fresh-noise"],
)
def test_a_run_with_the_new_fields_resumes_bit_identically_and_rescores(tmp_path, fields):
    v = variant(**fields)
    cfg = config_for(v, steps=40, log_every=10, checkpoint_every=20, train_size=500)
    assert train(cfg, v, RunDir(tmp_path / "a", "ring8", v.name, 0), progress=False).status == "done"
    run = RunDir(tmp_path / "b", "ring8", v.name, 0)
    assert train(cfg, v, run, progress=False).status == "done"
    for step, path in ckpt.list_checkpoints(run.checkpoint_dir):  # as if killed after step 20
        if step > 20:
            path.unlink()
    run.write_status("running", step=20)
    assert train(cfg, v, run, resume=True, progress=False).status == "done"
    assert_same_run(tmp_path / "a" / "ring8" / v.name / "seed0", run)
    stored = json.loads(run.config_path.read_text())
    assert stored["config"]["d_hidden"] == ([16, 16] if "d_hidden" in fields else None)
    assert stored["dataset"]["train_size"] == 500 and "500 points drawn once" in stored["dataset"]["source"]
    # `ganbench eval` rebuilds G from config.json alone (its widths, its noise) and scores it.
    with registries_restored():
        register_variant(v)
        step, record = evaluate_run_dir(run.path, largest_sample, device="cpu")
    assert step == 40 and record["largest"] > 0
