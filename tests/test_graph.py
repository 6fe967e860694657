"""The CUDA-graph step: its warm-up/capture/fallback logic on a CPU (with a stand-in for
the capture), and the real thing on CUDA (skipped without a GPU)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from support import mnist_available, tiny_config

from ganbench.core import checkpoint as ckpt
from ganbench.core.cuda.graph import GraphedStep
from ganbench.core.loop import train
from ganbench.core.step import Trainer
from ganbench.data import load_dataset
from ganbench.rundir import RunDir
from ganbench.runs.schedule import run_suite
from ganbench.seeding import Generators, seed_everything
from ganbench.variants import VARIANTS, get_variant

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def make_trainer(variant: str, dataset: str = "ring8", variant_obj=None, **overrides) -> Trainer:
    cfg = tiny_config(variant, dataset, **overrides)
    seed_everything(cfg.seed)
    data = load_dataset(dataset, None, cfg.device, cfg.data_limit)
    return Trainer(cfg, variant_obj or get_variant(variant), data)


def same_weights(a: Trainer, b: Trainer) -> bool:
    sa, sb = {**a.g.state_dict(), **a.d.state_dict()}, {**b.g.state_dict(), **b.d.state_dict()}
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# --- the logic, on a CPU ---------------------------------------------------------------
def test_warm_up_spans_calls_then_one_capture_then_replays():
    calls = {"eager": 0, "captures": 0, "replays": 0}

    def step():
        calls["eager"] += 1

    def capture(step_fn, generator, stream):
        calls["captures"] += 1

        def replay():
            calls["replays"] += 1

        return replay

    holder = Generators.create(0, 0, torch.device("cpu"))
    graphed = GraphedStep(step, holder, torch.device("cpu"), warmup=3, capture=capture)
    graphed.run(1)
    graphed.run(1)
    assert calls == {"eager": 2, "captures": 0, "replays": 0} and graphed.replay is None
    graphed.run(5)  # one more warm-up step, the capture, four replays
    assert calls == {"eager": 3, "captures": 1, "replays": 4}
    graphed.run(2)
    assert calls == {"eager": 3, "captures": 1, "replays": 6}
    assert graphed.mode == "cuda-graph" and graphed.failure is None


def test_a_failed_capture_trains_on_eagerly_from_the_same_random_stream():
    """A capture that consumed random numbers and then failed changes nothing: the run
    ends bit-identical to a purely eager one, and the failure says why."""
    eager = make_trainer("wgan-gp")
    eager.run_steps(8)

    tr = make_trainer("wgan-gp")

    def failing_capture(step_fn, generator, stream):
        torch.randn(1000, generator=generator)  # a capture advances the generator's offset...
        raise RuntimeError("operation not permitted when stream is capturing\nmore detail")  # ...then fails

    tr._graph = GraphedStep(tr.train_step, tr.gens, tr.device, warmup=3, capture=failing_capture)
    tr.run_steps(8)
    assert same_weights(eager, tr)
    assert tr.step_mode == "eager" and tr.graph_failure is not None
    assert tr.step_mode_reason == tr.graph_failure
    assert "RuntimeError: operation not permitted when stream is capturing" in tr.graph_failure
    assert "more detail" not in tr.graph_failure  # one line


def test_an_error_inside_the_generator_update_does_not_leave_the_critic_frozen():
    boom = {"armed": True}

    def g_loss(fake):
        if boom["armed"]:
            boom["armed"] = False
            raise RuntimeError("cannot capture this")
        return -fake.mean()

    v = dataclasses.replace(get_variant("hinge"), g_loss=g_loss)
    tr = make_trainer("hinge", variant_obj=v)
    with pytest.raises(RuntimeError):
        tr.train_step()
    assert all(p.requires_grad for p in tr.d.parameters())
    before = [p.detach().clone() for p in tr.d.parameters()]
    tr.run_steps(1)  # and training goes on, updating D
    assert any(not torch.equal(b, p) for b, p in zip(before, tr.d.parameters(), strict=True))


def test_the_cpu_step_reports_eager_and_why():
    tr = make_trainer("dcgan")
    assert (tr.step_mode, tr.step_mode_reason, tr.graph_failure) == ("eager", "CPU", None)


# --- the real thing, on CUDA -----------------------------------------------------------
CUDA_DATASETS = ["ring8", pytest.param("mnist", marks=pytest.mark.skipif(not mnist_available(), reason="no MNIST"))]


def loss_curve(tr: Trainer, steps: int, every: int) -> torch.Tensor:
    rows = []
    for _ in range(steps // every):
        tr.run_steps(every)
        losses = tr.read_losses()
        rows.append([losses["d_loss"], losses["g_loss"], losses.get("penalty", 0.0)])
    return torch.tensor(rows, dtype=torch.float64)


@requires_cuda
@pytest.mark.parametrize("dataset", CUDA_DATASETS)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_graph_and_eager_loss_curves_match_for_every_variant(variant, dataset):
    eager = make_trainer(variant, dataset, device="cuda", cuda_graph=False)
    graphed = make_trainer(variant, dataset, device="cuda", cuda_graph=True)
    assert eager.step_mode == "eager" and "--no-cuda-graph" in eager.step_mode_reason
    a = loss_curve(eager, 300, 20)
    b = loss_curve(graphed, 300, 20)
    assert graphed.step_mode == "cuda-graph", graphed.step_mode_reason
    assert graphed.step_mode_reason.startswith("captured"), graphed.step_mode_reason
    assert torch.isfinite(a).all()
    # Same kernels, same random numbers (the generator is registered with the graph):
    # the curves agree to floating-point tolerance over 300 steps.
    torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-4)
    for pe, pg in zip(eager.g.parameters(), graphed.g.parameters(), strict=True):
        torch.testing.assert_close(pg, pe, rtol=1e-3, atol=1e-4)


@requires_cuda
def test_loading_a_checkpoint_drops_the_graph_and_captures_anew():
    tr = make_trainer("wgan-gp", device="cuda", cuda_graph=True)
    tr.run_steps(10)
    assert tr._graph.replay is not None
    state = {k: v for k, v in tr.state_dict().items()}
    tr.load_state_dict(state)  # new optimiser state tensors: the old graph would write to freed memory
    assert tr._graph.replay is None and tr._graph.warmed == 0
    tr.run_steps(5)
    assert tr._graph.replay is not None and tr.step == 15


@requires_cuda
@pytest.mark.parametrize("variant", ["dcgan", "wgan-gp", "hinge"])
def test_a_graph_run_resumed_from_a_checkpoint_ends_where_the_uninterrupted_run_ends(tmp_path, variant):
    cfg = tiny_config(variant, "ring8", device="cuda", cuda_graph=True, steps=120, log_every=20, checkpoint_every=40)
    run = RunDir(tmp_path, "ring8", variant, 0)
    assert train(cfg, get_variant(variant), run, progress=False).status == "done"
    assert run.read_status()["step_mode"] == "cuda-graph"
    ref_g = torch.load(run.path / "generator.pt")
    ref_records = run.read_metrics()
    # As if killed after step 40: only the step-40 checkpoint is left.
    for step, path in ckpt.list_checkpoints(run.checkpoint_dir):
        if step > 40:
            path.unlink()
    run.write_status("running", step=40)
    assert train(cfg, get_variant(variant), run, resume=True, progress=False).status == "done"
    g = torch.load(run.path / "generator.pt")
    for k in ref_g:
        torch.testing.assert_close(g[k], ref_g[k], rtol=1e-4, atol=1e-5)
    records = run.read_metrics()
    assert [r["step"] for r in records] == [r["step"] for r in ref_records] == [20, 40, 60, 80, 100, 120]
    for r, ref in zip(records, ref_records, strict=True):
        assert r["d_loss"] == pytest.approx(ref["d_loss"], rel=1e-4, abs=1e-5)
        assert r["g_loss"] == pytest.approx(ref["g_loss"], rel=1e-4, abs=1e-5)


@requires_cuda
def test_a_step_that_cannot_be_captured_falls_back_to_eager_and_says_so(tmp_path):
    def d_loss_with_host_sync(real, fake):
        loss = fake.mean() - real.mean()
        if float(loss) > 1e9:  # .item(): a host sync, which a capture cannot record
            raise AssertionError
        return loss

    v = dataclasses.replace(get_variant("wgan-gp"), d_loss=d_loss_with_host_sync)
    warnings: list[str] = []
    results = {}
    for graph in (True, False):
        cfg = tiny_config("wgan-gp", "ring8", device="cuda", cuda_graph=graph, steps=40, log_every=10)
        run = RunDir(tmp_path / str(graph), "ring8", "wgan-gp", 0)
        assert train(cfg, v, run, progress=False, echo=warnings.append).status == "done"
        results[graph] = (torch.load(run.path / "generator.pt"), run.read_metrics(), run.read_status())
    status = results[True][2]
    assert status["step_mode"] == "eager" and "CUDA graph capture failed" in status["step_mode_reason"]
    assert len(warnings) == 1 and "CUDA graph capture failed" in warnings[0]
    # the eager fallback continued the same random stream: the same run as one never graphed
    g_fallback, g_eager = results[True][0], results[False][0]
    for k in g_eager:
        torch.testing.assert_close(g_fallback[k], g_eager[k], rtol=1e-5, atol=1e-6)
    assert [r["step"] for r in results[True][1]] == [r["step"] for r in results[False][1]]


@requires_cuda
def test_cuda_runs_inside_jobs_match_the_runs_alone(tmp_path):
    # WGAN-GP second: in one long-lived process it used to drift from the same run alone.
    cfgs = [tiny_config(v, "ring8", device="cuda", steps=60, log_every=20) for v in ("dcgan", "wgan-gp")]
    for jobs in (1, 2):
        outcomes = run_suite(cfgs, out=tmp_path / f"jobs{jobs}", jobs=jobs, echo=lambda m: None)
        assert [o.status for o in outcomes] == ["done", "done"]
    for cfg in cfgs:
        # "Alone" means the first run of a fresh process: on CUDA a WGAN-GP run that followed
        # another in the same process did not give the same bits (see core/cuda/order.py).

        alone_outcomes = run_suite([cfg], out=tmp_path / "alone", processes=True, echo=lambda m: None)
        assert [o.status for o in alone_outcomes] == ["done"]
        alone = RunDir(tmp_path / "alone", "ring8", cfg.variant, 0)
        a = torch.load(alone.path / "generator.pt")
        for jobs in (1, 2):
            b = torch.load(RunDir(tmp_path / f"jobs{jobs}", "ring8", cfg.variant, 0).path / "generator.pt")
            for k in a:
                torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6)


@requires_cuda
@pytest.mark.parametrize("graph", [True, False], ids=["graph", "eager"])
def test_a_cuda_wgan_gp_run_does_not_depend_on_what_ran_before_it_in_the_process(tmp_path, graph):
    # Without the backward-order guard (core/cuda/order.py), a WGAN-GP run trained after
    # another in the same process ended 0.2 away from the same run in a fresh process.

    cfg = tiny_config("wgan-gp", "ring8", device="cuda", cuda_graph=graph, steps=60, log_every=20)
    assert [o.status for o in run_suite([cfg], out=tmp_path / "fresh", processes=True, echo=lambda m: None)] == ["done"]
    fresh = torch.load(RunDir(tmp_path / "fresh", "ring8", "wgan-gp", 0).path / "generator.pt")
    before = tiny_config("dcgan", "ring8", device="cuda", cuda_graph=graph, steps=60, log_every=20)
    assert (
        train(before, get_variant("dcgan"), RunDir(tmp_path / "here", "ring8", "dcgan", 0), progress=False).status
        == "done"
    )
    for k in range(2):  # after a DCGAN run, then after a WGAN-GP run
        run = RunDir(tmp_path / f"here{k}", "ring8", "wgan-gp", 0)
        assert train(cfg, get_variant("wgan-gp"), run, progress=False).status == "done"
        g = torch.load(run.path / "generator.pt")
        for name in fresh:
            torch.testing.assert_close(g[name], fresh[name], rtol=1e-5, atol=1e-6)
