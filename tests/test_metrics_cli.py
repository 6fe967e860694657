"""`ganbench run` scores runs as they train; `ganbench eval` scores finished ones; bad input is one line."""

import json

import pytest
from click.testing import CliRunner
from metrics_helpers import mnist_root

from ganbench.cli import cli
from ganbench.rundir import read_jsonl


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def evals(run_dir):
    return [r for r in read_jsonl(run_dir / "metrics.jsonl") if r["type"] == "eval"]


def test_run_scores_ring8_every_eval_every_and_at_the_end(tmp_path):
    r = invoke("run", "vanilla", "--dataset", "ring8", "--steps", 40, "--eval-every", 20, "--log-every", 20,
               "--checkpoint-every", 20, "--out", tmp_path, "--device", "cpu", "--no-progress")  # fmt: skip
    assert r.exit_code == 0, r.output
    records = evals(tmp_path / "ring8" / "vanilla" / "seed0")
    assert [e["step"] for e in records] == [20, 40]
    for e in records:
        assert 0 <= e["modes"] <= 8 and 0 <= e["hq_frac"] <= 1
        assert e["reverse_kl"] is None or e["reverse_kl"] >= 0
        assert e["protocol"]["sampling"]["samples"] == 2500 and e["protocol"]["coverage"]["samples"] == 2500
        assert e["protocol"]["sampling"]["eval_seed"] == 0


@pytest.mark.mnist
def test_run_and_eval_on_mnist_record_class_metrics_and_say_why_inception_is_off(tmp_path):
    mnist_root()
    r = invoke("run", "dcgan", "--dataset", "mnist", "--profile", "smoke", "--steps", 2, "--log-every", 1,
               "--checkpoint-every", 2, "--data-limit", 64, "--eval-samples", 200, "--out", tmp_path,
               "--device", "cpu", "--no-progress")  # fmt: skip
    assert r.exit_code == 0, r.output
    run_dir = tmp_path / "mnist" / "dcgan" / "seed0"
    (record,) = evals(run_dir)
    assert record["step"] == 2
    assert 1 <= record["modes"] <= 10 and record["kl_uniform"] >= 0 and 1 <= record["mnist_is"] <= 10
    assert record["mnist_fid"] > 0
    for key in ("fid", "kid_mean", "kid_std", "precision", "recall", "is_mean", "is_std"):
        assert record[key] is None and "off by default on a CPU" in record["unavailable"][key]
    proto = record["protocol"]
    assert proto["inception"] == {"enabled": False}
    assert proto["classifier"]["samples"] == 200 and len(proto["classifier"]["sha256"]) == 64
    assert proto["classifier"]["reference"] == {"split": "MNIST test split (10,000 images)", "count": 10_000}
    json.dumps(record, allow_nan=False)  # a strict-JSON record: no NaN hiding in it

    r = invoke("eval", run_dir, "--device", "cpu", "--no-inception")
    assert r.exit_code == 0, r.output
    assert f"{run_dir}: step 2: modes=" in r.output
    first, again = evals(run_dir)
    assert again["step"] == 2
    # Same generator, same evaluation stream: the same numbers.
    assert {k: again[k] for k in ("modes", "kl_uniform", "mnist_is", "mnist_fid")} == {
        k: first[k] for k in ("modes", "kl_uniform", "mnist_is", "mnist_fid")
    }
    assert "turned off (--no-inception)" in again["unavailable"]["fid"]


def test_eval_refuses_bad_paths_in_one_line(tmp_path):
    r = invoke("eval", tmp_path / "nowhere")
    assert r.exit_code == 1 and "does not exist" in r.output and len(r.output.strip().splitlines()) == 1
    r = invoke("eval", tmp_path)
    assert r.exit_code == 1 and "no config.json" in r.output
    (tmp_path / "config.json").write_text("{}")
    r = invoke("eval", tmp_path)
    assert r.exit_code == 1 and "no generator.pt" in r.output
    (tmp_path / "status.json").write_text('{"status": "diverged", "step": 7}')
    r = invoke("eval", tmp_path)
    assert r.exit_code == 1 and "diverged at step 7" in r.output
    (tmp_path / "generator.pt").write_bytes(b"")
    r = invoke("eval", tmp_path, "--no-inception")
    assert r.exit_code == 1 and "has no config" in r.output and "Traceback" not in r.output


def test_bad_inception_weights_fail_before_training(tmp_path):
    r = invoke("run", "vanilla", "--dataset", "ring8", "--inception-weights", tmp_path / "none.pth", "--out", tmp_path)
    assert r.exit_code == 2 and "does not exist" in r.output
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"junk")
    r = invoke("run", "vanilla", "--dataset", "ring8", "--inception", "--inception-weights", junk, "--out", tmp_path)
    assert r.exit_code == 1 and "could not be loaded" in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "ring8").exists()  # nothing trained
