"""`run --streams K`: several runs interleaved in one process, each giving what it gives alone."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time

import pytest
import torch
from click.testing import CliRunner
from support import assert_same_run, requires_mnist, run_files, tiny_config

from ganbench.cli import cli
from ganbench.config import RunOptions
from ganbench.core.step import Trainer
from ganbench.rundir import RunDir
from ganbench.runs.interleave import Interleaver
from ganbench.runs.one import guarded_run
from ganbench.runs.schedule import run_suite
from ganbench.variants import get_variant

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
QUIET = dict(echo=lambda m: None)


def run_dir(out, cfg) -> RunDir:
    return RunDir(out, cfg.dataset, cfg.variant, cfg.seed)


def cfgs_mixed():
    # Different variants advance by stretches of different cost; two seeds of one variant
    # share every shape, so a mix-up between runs could not hide behind a shape error.
    short = dict(steps=40, log_every=10, checkpoint_every=20)
    return [
        tiny_config("dcgan", "ring8", seed=0, **short),
        tiny_config("dcgan", "ring8", seed=1, **short),
        tiny_config("wgan-gp", "ring8", **short),
        tiny_config("hinge", "ring8", steps=30, log_every=5, checkpoint_every=15),
    ]


def test_interleaved_runs_are_bit_identical_to_each_run_alone_and_really_interleave(tmp_path, monkeypatch):
    cfgs = cfgs_mixed()
    order = []  # (trainer, step) of every stretch, in the order they were queued
    real = Trainer.run_steps

    def spy(self, n):
        order.append((id(self), self.step))
        return real(self, n)

    monkeypatch.setattr(Trainer, "run_steps", spy)
    outcomes = run_suite(cfgs, out=tmp_path / "together", streams=3, **QUIET)
    assert [o.status for o in outcomes] == ["done"] * 4
    # Runs took turns: the first three started before any of them finished.
    trainers = list(dict.fromkeys(t for t, _ in order))
    assert len(trainers) == 4
    first_end = max(i for i, (t, _) in enumerate(order) if t == trainers[0])
    starts = [min(i for i, (t, _) in enumerate(order) if t == tr) for tr in trainers[:3]]
    assert max(starts) < first_end
    assert order[:3] == [(trainers[0], 0), (trainers[1], 0), (trainers[2], 0)]

    monkeypatch.setattr(Trainer, "run_steps", real)
    for cfg in cfgs:
        assert guarded_run(cfg, out=tmp_path / "alone", progress=False, **QUIET).status == "done"
        assert_same_run(run_dir(tmp_path / "together", cfg), run_dir(tmp_path / "alone", cfg))
    # the comparison is not vacuous: the two DCGAN seeds differ
    g0, _, _ = run_files(run_dir(tmp_path / "together", cfgs[0]))
    g1, _, _ = run_files(run_dir(tmp_path / "together", cfgs[1]))
    assert not all(torch.equal(g0[k], g1[k]) for k in g0)


@requires_mnist
def test_interleaved_image_runs_with_evaluations_match_the_runs_alone(tmp_path):
    # Conv nets with BatchNorm, and the MNIST classifier's evaluation between stretches.
    from ganbench.metrics.evaluate import EvalSettings, make_evaluator

    evaluator = make_evaluator(EvalSettings(inception=False))
    cfgs = [
        tiny_config(v, "mnist", steps=6, log_every=2, eval_every=4, eval_samples=32, checkpoint_every=3)
        for v in ("dcgan", "wgan-gp")
    ]
    outcomes = run_suite(cfgs, out=tmp_path / "together", streams=2, evaluator=evaluator, **QUIET)
    assert [o.status for o in outcomes] == ["done", "done"]
    for cfg in cfgs:
        assert guarded_run(cfg, out=tmp_path / "alone", evaluator=evaluator, progress=False, **QUIET).status == "done"
        together, alone = run_dir(tmp_path / "together", cfg), run_dir(tmp_path / "alone", cfg)
        assert_same_run(together, alone)
        assert any(r["type"] == "eval" for r in together.read_metrics())


def test_a_failing_or_diverging_run_ends_alone_and_the_others_go_on(tmp_path, monkeypatch):
    from ganbench import variants

    good = tiny_config("dcgan", "ring8", steps=20, log_every=5)
    diverging = tiny_config("lsgan", "ring8", steps=20, log_every=5, lr_d=1e6, lr_g=1e6, loss_bound=1.0)
    broken = tiny_config("hinge", "ring8", steps=20, log_every=5)
    hinge = get_variant("hinge")

    def bad_loss(*args, **kwargs):
        raise RuntimeError("a bug in this variant's loss")

    monkeypatch.setitem(variants.VARIANTS, "hinge", dataclasses.replace(hinge, d_loss=bad_loss))
    outcomes = run_suite([broken, diverging, good], out=tmp_path, streams=3, **QUIET)
    assert [o.status for o in outcomes] == ["failed", "diverged", "done"]
    assert "a bug in this variant's loss" in outcomes[0].message
    assert run_dir(tmp_path, broken).read_status()["status"] == "failed"
    assert not run_dir(tmp_path, broken).is_locked()
    assert_same_run(run_dir(tmp_path, good), _alone(good, tmp_path / "alone"))


def _alone(cfg, out) -> RunDir:
    assert guarded_run(cfg, out=out, progress=False, **QUIET).status == "done"
    return run_dir(out, cfg)


def test_an_interrupt_marks_every_run_resumable_and_the_resume_ends_where_an_unbroken_run_does(tmp_path, monkeypatch):
    cfgs = [tiny_config(v, "ring8", steps=40, log_every=10, checkpoint_every=10) for v in ("dcgan", "wgan-gp")]
    real = Trainer.run_steps
    calls = {"n": 0}

    def ctrl_c_on_the_fifth_stretch(self, n):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(self, n)

    monkeypatch.setattr(Trainer, "run_steps", ctrl_c_on_the_fifth_stretch)
    with pytest.raises(KeyboardInterrupt):
        run_suite(cfgs, out=tmp_path / "runs", streams=2, **QUIET)
    monkeypatch.setattr(Trainer, "run_steps", real)
    for cfg in cfgs:
        run = run_dir(tmp_path / "runs", cfg)
        status = run.read_status()
        assert status["status"] == "failed" and status["reason"] == "interrupted", status
        assert 0 < status["step"] < cfg.steps and not run.is_locked()
    resumed = run_suite(cfgs, out=tmp_path / "runs", streams=2, resume=True, **QUIET)
    assert [o.status for o in resumed] == ["done", "done"]
    for cfg in cfgs:
        assert_same_run(run_dir(tmp_path / "runs", cfg), _alone(cfg, tmp_path / "alone"))


def test_closing_a_run_before_its_end_marks_it_interrupted_and_unlocks_it(tmp_path):
    cfg = tiny_config("dcgan", "ring8", steps=40, log_every=10)
    active = Interleaver()
    active.add(0, cfg, RunOptions(out=tmp_path, progress=False))
    assert active.advance() == [] and active.advance() == []
    run = run_dir(tmp_path, cfg)
    assert run.is_locked()
    active.close()
    assert len(active) == 0 and not run.is_locked()
    assert run.read_status()["status"] == "failed" and run.read_status()["reason"] == "interrupted"


class FakeEvent:
    """Stands in for the CUDA event that marks the end of a run's queued stretch."""

    def __init__(self, done: bool = False):
        self.done = done

    def query(self) -> bool:
        return self.done


def test_only_runs_whose_queued_steps_have_finished_are_advanced_and_the_driver_waits_for_one():
    from ganbench.runs.interleave import _Run

    log = []

    def stretches(key):
        for i in range(3):
            log.append((key, i))
            yield
        return f"{key} ended"

    active = Interleaver()
    slow, fast = FakeEvent(), FakeEvent(done=True)
    for key, event in (("slow", slow), ("fast", fast)):
        run = _Run(key, None, None, stretches(key), None)
        run.queued = event
        active.runs.append(run)
    active.advance()
    active.advance()
    assert log == [("fast", 0), ("fast", 1)]  # the slow run's device work is not done: not touched
    slow.done = True
    active.advance()
    assert log[2:] == [("slow", 0), ("fast", 2)]
    # Nothing ready: advance() waits until something is, then advances only that.
    slow.done = fast.done = False
    threading.Timer(0.05, lambda: setattr(fast, "done", True)).start()
    t0 = time.perf_counter()
    assert active.advance() == [("fast", "fast ended")]
    assert time.perf_counter() - t0 >= 0.04 and len(log) == 4  # the slow run was not advanced
    assert len(active) == 1


def test_on_cuda_each_run_advances_under_its_own_stream_and_marks_its_queued_work(monkeypatch):
    # The CUDA bookkeeping, with stand-ins for streams and events (no GPU needed).
    import contextlib

    from ganbench.runs.interleave import _Run

    current = [None]
    recorded = []

    @contextlib.contextmanager
    def stream(s):
        current.append(s)
        try:
            yield
        finally:
            current.pop()

    class Event(FakeEvent):
        def record(self, s):
            recorded.append((self, s))

    monkeypatch.setattr(torch.cuda, "stream", stream)
    monkeypatch.setattr(torch.cuda, "Event", Event)
    seen = []

    def stretches(key):
        for _ in range(2):
            seen.append((key, current[-1]))
            yield
        return key

    active = Interleaver()
    active.runs = [_Run(k, None, None, stretches(k), f"stream-{k}") for k in ("a", "b")]
    active.advance()
    assert seen == [("a", "stream-a"), ("b", "stream-b")] and current == [None]
    assert [(run.queued, s) for run, s in zip(active.runs, ("stream-a", "stream-b"), strict=True)] == [
        (e, s) for e, s in recorded
    ]
    recorded[1][0].done = True  # b's queued steps have finished, a's have not
    active.advance()
    assert seen[2:] == [("b", "stream-b")]


def test_jobs_times_streams_share_processes_and_give_the_same_bits(tmp_path):

    cfgs = [tiny_config("dcgan", "ring8", steps=20, log_every=5, seed=s) for s in range(4)]
    outcomes = run_suite(cfgs, out=tmp_path / "jobs", jobs=2, streams=2, processes=True, **QUIET)
    assert [o.status for o in outcomes] == ["done"] * 4
    pids = [int((o.run_dir.path / ".lock").read_text()) for o in outcomes]
    assert len(set(pids)) == 2 and os.getpid() not in pids  # two processes, two runs each
    for cfg in (cfgs[0], cfgs[3]):
        assert_same_run(run_dir(tmp_path / "jobs", cfg), _alone(cfg, tmp_path / "alone"))


def test_streams_on_the_command_line(tmp_path):
    tiny = ["dcgan", "hinge", "--dataset", "ring8", "--profile", "smoke", "--device", "cpu", "--steps", "10"]
    bad = CliRunner().invoke(cli, ["run", *tiny, "--streams", "0", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "--streams" in bad.output
    ok = CliRunner().invoke(cli, ["run", *tiny, "--streams", "2", "--out", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert "no speed-up" in ok.output and "2 runs: 2 done" in ok.output
    assert json.loads((tmp_path / "ring8" / "hinge" / "seed0" / "status.json").read_text())["status"] == "done"


@requires_cuda
def test_cuda_runs_on_their_own_streams_match_each_run_alone_in_a_fresh_process(tmp_path):

    cfgs = [
        tiny_config(v, "ring8", device="cuda", steps=60, log_every=20, checkpoint_every=30)
        for v in ("dcgan", "wgan-gp", "hinge")
    ]
    outcomes = run_suite(cfgs, out=tmp_path / "together", streams=3, **QUIET)
    assert [o.status for o in outcomes] == ["done"] * 3
    for cfg in cfgs:
        assert run_dir(tmp_path / "together", cfg).read_status()["step_mode"] == "cuda-graph"
        assert [o.status for o in run_suite([cfg], out=tmp_path / "alone", processes=True, **QUIET)] == ["done"]
        a, _, _ = run_files(run_dir(tmp_path / "alone", cfg))
        b, _, _ = run_files(run_dir(tmp_path / "together", cfg))
        for k in a:
            torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6)
