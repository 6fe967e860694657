"""The training core: every variant on every dataset, learning, determinism."""

from __future__ import annotations

import copy
import functools
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from support import available, mnist_available, tiny_config

import ganbench.core.loop
import ganbench.core.step
from ganbench.core.loop import train
from ganbench.core.step import Trainer
from ganbench.data import DATASETS, load_dataset
from ganbench.rundir import RunDir
from ganbench.seeding import seed_everything
from ganbench.variants import VARIANTS, get_variant

BUILTIN_DATASETS = ["ring8", "grid25", "mnist", "stacked-mnist", "faces"]


def dataset_param(name):
    marks = []
    if name not in ("ring8", "grid25"):
        marks.append(pytest.mark.skipif(not available(name), reason=f"{name} not under $GANBENCH_DATA"))
    return pytest.param(name, marks=marks)


@functools.cache
def cached_dataset(name: str, limit: int | None):
    """Loading (and for faces, reading 10,000 decoded images) once per session: the
    trainer only reads the dataset, so the tests can share it."""
    return load_dataset(name, None, "cpu", limit)


def make_trainer(variant: str, dataset: str, **overrides) -> Trainer:
    cfg = tiny_config(variant, dataset, **overrides)
    seed_everything(cfg.seed)
    return Trainer(cfg, get_variant(variant), cached_dataset(dataset, cfg.data_limit))


def test_every_builtin_dataset_is_registered():
    assert set(BUILTIN_DATASETS) <= set(DATASETS)


@pytest.mark.parametrize("dataset", [dataset_param(d) for d in BUILTIN_DATASETS])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_few_steps_change_both_networks_and_give_finite_losses(variant, dataset):
    tr = make_trainer(variant, dataset)
    g0 = copy.deepcopy(tr.g.state_dict())
    d0 = copy.deepcopy(tr.d.state_dict())
    tr.run_steps(3)
    losses = tr.read_losses()
    assert set(losses) >= {"d_loss", "g_loss"}
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values()), losses
    for before, net in ((g0, tr.g), (d0, tr.d)):
        after = net.state_dict()
        changed = [k for k in before if before[k].is_floating_point() and not torch.equal(before[k], after[k])]
        weights = [k for k in before if k.endswith(("weight", "original", "bias"))]
        assert set(weights) & set(changed), f"{type(net).__name__} did not change"
    assert tr.step == 3


def test_penalty_is_logged_only_for_variants_with_one():
    for name, v in VARIANTS.items():
        tr = make_trainer(name, "ring8")
        tr.run_steps(1)
        assert ("penalty" in tr.read_losses()) == (v.d_penalty is not None)


def test_training_core_never_names_a_variant():
    """n_critic, losses, penalty and norms come from the Variant object, never a name."""
    source = inspect.getsource(ganbench.core.loop) + inspect.getsource(ganbench.core.step)
    for name in VARIANTS:
        assert not re.search(rf"\b{re.escape(name)}\b", source, re.IGNORECASE), name


def test_n_critic_controls_discriminator_updates():
    """WGAN-GP takes 5 Adam steps on D per G step; the step count in Adam's state shows it."""
    tr = make_trainer("wgan-gp", "ring8")
    tr.run_steps(2)
    d_state = next(iter(tr.opt_d.state.values()))
    g_state = next(iter(tr.opt_g.state.values()))
    assert int(d_state["step"]) == 10 and int(g_state["step"]) == 2


def chamfer(points: torch.Tensor, centres: torch.Tensor) -> float:
    """Mean distance from samples to their nearest mode and from modes to their nearest
    sample: small only when the samples sit on the modes and cover them."""
    d = torch.cdist(points, centres)
    return 0.5 * (d.min(1).values.mean() + d.min(0).values.mean()).item()


@pytest.mark.parametrize("dataset", ["ring8", "grid25"])
@pytest.mark.parametrize("variant", ["dcgan", "wgan-gp"])
def test_it_learns_the_2d_mixtures(variant, dataset):
    tr = make_trainer(variant, dataset)
    centres = tr.data.extras["centres"]
    before = chamfer(tr.sample(1000, tr.gens.eval()), centres)
    tr.run_steps(300)
    after = chamfer(tr.sample(1000, tr.gens.eval()), centres)
    assert after < before / 2.5, (before, after)


def run_once(tmp: Path, seed: int, variant: str = "dcgan", dataset: str = "ring8"):
    cfg = tiny_config(variant, dataset, seed=seed, steps=40, log_every=10, checkpoint_every=20)
    run = RunDir(tmp, cfg.dataset, cfg.variant, cfg.seed)
    result = train(cfg, get_variant(variant), run, progress=False)
    assert result.status == "done"
    g = torch.load(run.path / "generator.pt")
    d = torch.load(run.path / "discriminator.pt")
    losses = [(r["step"], r["d_loss"], r["g_loss"]) for r in run.read_metrics() if r["type"] == "train"]
    return g, d, losses


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "variant,dataset",
    [
        ("dcgan", "ring8"),
        ("wgan-gp", "grid25"),
        ("hinge", "ring8"),
        pytest.param("dcgan", "mnist", marks=pytest.mark.skipif(not mnist_available(), reason="no MNIST")),
    ],
)
def test_same_config_and_seed_give_bit_identical_runs(tmp_path, variant, dataset):
    g1, d1, l1 = run_once(tmp_path / "a", 0, variant, dataset)
    g2, d2, l2 = run_once(tmp_path / "b", 0, variant, dataset)
    assert states_equal(g1, g2) and states_equal(d1, d2)
    assert l1 == l2 and len(l1) == 4


def test_seeding_turns_on_deterministic_kernels_without_importing_the_compiler():
    # torch.use_deterministic_algorithms imports torch._inductor (1.3 s or more) for a flag
    # only torch.compile reads; every process that trains would pay for it.
    code = (
        "import sys, torch\n"
        "from ganbench.seeding import seed_everything\n"
        "seed_everything(0)\n"
        "assert torch.are_deterministic_algorithms_enabled()\n"
        "assert torch.is_deterministic_algorithms_warn_only_enabled()\n"
        "assert 'torch._inductor' not in sys.modules\n"
        "seed_everything(0, deterministic=False)\n"
        "assert not torch.are_deterministic_algorithms_enabled()\n"
        "import torch._inductor.config as c\n"
        "seed_everything(0)\n"
        "assert torch.are_deterministic_algorithms_enabled() and c.deterministic\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_different_seed_gives_a_different_run(tmp_path):
    g1, _, l1 = run_once(tmp_path / "a", 0)
    g2, _, l2 = run_once(tmp_path / "b", 1)
    assert not states_equal(g1, g2)
    assert l1 != l2


def test_sampling_for_metrics_does_not_shift_the_training_stream():
    a = make_trainer("dcgan", "ring8")
    b = make_trainer("dcgan", "ring8")
    a.run_steps(5)
    b.sample(500, b.gens.eval())  # an evaluation in the middle of training...
    b.run_steps(5)
    assert states_equal(a.g.state_dict(), b.g.state_dict())  # ...changes nothing
    # and the evaluation stream gives the same samples every time it is asked for
    assert torch.equal(b.sample(64, b.gens.eval()), b.sample(64, b.gens.eval()))
