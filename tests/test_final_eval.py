"""No training is lost at the final evaluation, and a split too small to score is refused
before any training (issue: hostile input, item 3)."""

from __future__ import annotations

import torch
from support import tiny_config
from test_folder import assert_one_line_error, noise, run

from ganbench.config import RunOptions
from ganbench.core import checkpoint as ckpt
from ganbench.core.loop import train
from ganbench.data import Dataset
from ganbench.metrics.evaluate import EvalSettings, Evaluator, evaluate
from ganbench.rundir import RunDir
from ganbench.variants import get_variant


def test_a_folder_too_small_to_score_with_inception_is_refused_before_training(tmp_path):
    noise(tmp_path / "tiny", 16)  # a seeded 10% held out: 1 reference image
    result = run(f"folder:{tmp_path / 'tiny'}", tmp_path / "out", "--inception")
    assert_one_line_error(result, 2, "reference split", "at least 2", "--no-inception")
    assert not list((tmp_path / "out").rglob("generator.pt"))
    assert not list((tmp_path / "out").rglob("metrics.jsonl"))  # nothing was trained
    # Without Inception the same folder trains (it is then scored by nothing, as documented).
    assert run(f"folder:{tmp_path / 'tiny'}", tmp_path / "out2", "--no-inception").exit_code == 0


class FailsOnce:
    """An evaluator whose first call fails, as a crash or an out-of-memory in scoring would."""

    def __init__(self):
        self.calls = 0

    def __call__(self, sampler, data, cfg):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("the evaluation broke")
        return {"probe": float(sampler.sample(4).abs().sum())}


def test_an_evaluation_that_fails_at_the_end_keeps_the_training_and_a_resume_redoes_only_it(tmp_path):
    cfg = tiny_config("dcgan", "ring8", steps=60, log_every=20, checkpoint_every=40, eval_every=0)
    run_dir = RunDir(tmp_path, "ring8", "dcgan", 0)
    evaluator = FailsOnce()
    options = RunOptions(out=tmp_path, evaluator=evaluator, progress=False, echo=lambda m: None)
    try:
        train(cfg, get_variant("dcgan"), run_dir, options)
    except RuntimeError as exc:
        assert "evaluation broke" in str(exc)
    else:
        raise AssertionError("the failing evaluation did not propagate")
    status = run_dir.read_status()
    assert status["status"] == "failed" and "evaluation broke" in status["reason"]
    # Everything trained was written before the evaluation ran.
    assert [s for s, _ in ckpt.list_checkpoints(run_dir.checkpoint_dir)][0] == 60
    weights = torch.load(run_dir.path / "generator.pt")
    train_records = [r for r in run_dir.read_metrics() if r["type"] == "train"]
    assert [r["step"] for r in train_records] == [20, 40, 60]

    train(cfg, get_variant("dcgan"), run_dir, options.replace(resume=True))
    assert evaluator.calls == 2  # the resume ran the evaluation, and nothing else was missing
    assert run_dir.read_status()["status"] == "done"
    records = run_dir.read_metrics()
    assert [r for r in records if r["type"] == "train"] == train_records  # no step was trained again
    assert [(r["step"], r["type"]) for r in records if r["type"] == "eval"] == [(60, "eval")]
    again = torch.load(run_dir.path / "generator.pt")
    assert all(torch.equal(weights[k], again[k]) for k in weights)


def test_a_resume_of_a_run_whose_final_evaluation_was_written_does_not_score_it_twice(tmp_path):
    cfg = tiny_config("dcgan", "ring8", steps=40, log_every=20, checkpoint_every=20, eval_every=0)
    run_dir = RunDir(tmp_path, "ring8", "dcgan", 0)
    evaluator = FailsOnce()
    evaluator.calls = 1  # never fails
    options = RunOptions(out=tmp_path, evaluator=evaluator, progress=False, echo=lambda m: None)
    train(cfg, get_variant("dcgan"), run_dir, options)
    run_dir.write_status("running", step=40)  # as a kill after the evaluation leaves it
    train(cfg, get_variant("dcgan"), run_dir, options.replace(resume=True))
    assert evaluator.calls == 2
    assert [r["step"] for r in run_dir.read_metrics() if r["type"] == "eval"] == [40]


def test_a_reference_too_small_for_fid_gives_nulls_with_the_reason():
    reference = torch.zeros(1, 1, 8, 8, dtype=torch.uint8)
    data = Dataset("folder:x", "images", (1, 8, 8), torch.device("cpu"), reference=reference)
    cfg = tiny_config("dcgan", "ring8").replace(eval_samples=4)

    class Zeros:
        def sample(self, n, generator=None):
            return torch.zeros(n, 1, 8, 8)

    record = evaluate(Zeros(), data, cfg, EvalSettings(inception=True))
    assert record["fid"] is None and record["kid_mean"] is None
    assert "at least 2 images on each side" in record["unavailable"]["fid"]
    assert "1 reference" in record["unavailable"]["fid"]
    # The same data is refused before training by the evaluator the CLI builds.
    try:
        Evaluator(EvalSettings(inception=True)).refuse_unscorable(data, cfg)
    except Exception as exc:
        assert "has 1 image(s)" in str(exc)
    else:
        raise AssertionError("not refused")
