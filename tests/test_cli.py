"""The command line through click's CliRunner: output, files, and one-line errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ganbench.cli import cli
from ganbench.variants import VARIANTS

SMOKE = ["--profile", "smoke", "--steps", "20", "--log-every", "10", "--device", "cpu", "--no-progress"]


def invoke(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def assert_one_line_error(result, code: int, *fragments: str):
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_list_names_every_variant_dataset_and_paper():
    result = invoke("list")
    assert result.exit_code == 0, result.output
    for name, v in VARIANTS.items():
        assert name in result.output and v.paper in result.output
    for token in ("ring8", "grid25", "mnist", "lr_d=0.0001", "betas=(0.0, 0.9)", "n_critic=5", "D-norm=spectral"):
        assert token in result.output


def test_run_writes_a_complete_run_directory(tmp_path):
    result = invoke("run", "dcgan", "--dataset", "ring8", "--seed", "3", "--out", tmp_path, *SMOKE)
    assert result.exit_code == 0, result.output
    run = tmp_path / "ring8" / "dcgan" / "seed3"
    for name in ("config.json", "metrics.jsonl", "status.json", "samples.png", "generator.pt", "discriminator.pt"):
        assert (run / name).is_file(), name
    record = json.loads((run / "config.json").read_text())
    assert record["config"]["steps"] == 20 and record["config"]["seed"] == 3
    assert record["config"]["lr_d"] == 2e-4 and record["config"]["batch_size"] == 100
    assert record["environment"]["versions"]["torch"]
    assert "commit" in record["environment"]["git"]
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "done" and status["step"] == 20 and status["steps_per_s"] > 0
    lines = (run / "metrics.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in lines if json.loads(line)["type"] == "train"]
    assert steps == [10, 20]
    assert (run / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_all_then_table(tmp_path):
    result = invoke("run", "--all", "--dataset", "grid25", "--out", tmp_path, *SMOKE)
    assert result.exit_code == 0, result.output
    # The suite ends with the comparison table of what it ran.
    assert "### grid25" in result.output and "modes ↑" in result.output and "Protocol: profile smoke" in result.output
    assert sorted(p.name for p in (tmp_path / "grid25").iterdir()) == sorted(VARIANTS)
    table = invoke("table", "--out", tmp_path)
    assert table.exit_code == 0, table.output
    for name in VARIANTS:
        assert name in table.output
    import pandas as pd

    df = pd.read_csv(tmp_path / "runs.csv")
    assert len(df) == len(VARIANTS)
    assert set(df["status"]) == {"done"}
    assert (df["steps_per_s"] > 0).all() and df["d_loss"].notna().all()
    # A rerun skips finished runs with the same config.
    again = invoke("run", "--all", "--dataset", "grid25", "--out", tmp_path, *SMOKE)
    assert again.exit_code == 0 and again.output.count("skipped") >= len(VARIANTS)


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["run", "nosuchgan"], ["unknown variant", "dcgan"]),
        (["run", "dcgan", "--dataset", "nosuchdata"], ["unknown dataset", "ring8"]),
        (["run", "dcgan", "--steps", "0"], ["--steps", "0"]),
        (["run", "dcgan", "--steps", "-5"], ["--steps"]),
        (["run", "dcgan", "--batch-size", "0"], ["--batch-size"]),
        (["run", "dcgan", "--seed", "-1"], ["seed"]),
        (["run", "dcgan", "--data-root", "/no/such/folder"], ["--data-root", "/no/such/folder"]),
        (["run"], ["--all"]),
        (["run", "dcgan", "--all"], ["not both"]),
        (["run", "dcgan", "--resume", "--overwrite"], ["contradict"]),
        (["run", "dcgan", "--device", "tpu"], ["device"]),
        (["run", "dcgan", "--penalty-weight", "1"], []),
        (["run", "dcgan", "--seeds", ""], ["--seeds", "names no int values"]),
        (["run", "dcgan", "--seed", "99999999999999999999"], ["seed must be from 0 to 4294967295"]),
        (["run", "dcgan", "--lr-d", "inf"], ["lr-d", "finite"]),
        (["run", "dcgan", "--eval-samples", "100000000000"], ["--eval-samples", "100000"]),
        (["frobnicate"], ["frobnicate"]),
        # Integer options stop at a billion: a typo never starts training.
        (["run", "dcgan", "--steps", "99999999999999999999999"], ["--steps", "1<=x<=1000000000"]),
        (["run", "dcgan", "--checkpoint-every", "10000000000"], ["--checkpoint-every", "1000000000"]),
        (["run", "dcgan", "--eval-every", "10000000000"], ["--eval-every", "0<=x<=1000000000"]),
        (["run", "dcgan", "--jobs", "10000000000"], ["--jobs", "1000000000"]),
        (["check", "--baseline", "b.json", "--steps", "10000000000"], ["--steps", "1000000000"]),
        # An empty item in a comma list is a typo, not a shorter list.
        (["run", "dcgan", "--seeds", "1,,2"], ["--seeds", "'1,,2' has an empty item"]),
        (["run", "dcgan", "--seeds", "1,2,"], ["--seeds", "empty item"]),
        (["run", "dcgan", "--datasets", "ring8,,grid25"], ["--datasets", "empty item"]),
        (["check", "--baseline", "b.json", "--seeds", ",1"], ["--seeds", "empty item"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, fragments):
    result = invoke(*args, "--out", tmp_path) if args[0] == "run" else invoke(*args)
    assert_one_line_error(result, 2, *fragments)


def test_missing_mnist_says_both_ways_to_get_it(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    # Make the download fail fast and deterministically, as it does offline.
    import torchvision

    def offline(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", offline)
    result = invoke("run", "dcgan", "--dataset", "mnist", "--data-root", empty, "--out", tmp_path / "o", *SMOKE)
    assert_one_line_error(result, 1, "MNIST", "--data-root", "GANBENCH_DATA", "internet")


def test_a_seed_or_dataset_named_twice_is_one_run(tmp_path):
    result = invoke(
        "run",
        "dcgan",
        "--dataset",
        "ring8,ring8",
        "--seeds",
        "0,0",
        "--seed",
        "0",
        "--steps",
        "3",
        "--out",
        tmp_path,
        *SMOKE,
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [f"{tmp_path}/ring8/dcgan/seed0: done"]  # one run, alone


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setattr("ganbench.cli.run.plan", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    quiet = invoke("run", "dcgan", "--out", tmp_path)
    assert_one_line_error(quiet, 1, "boom", "--debug")
    loud = invoke("run", "dcgan", "--out", tmp_path, "--debug")
    assert loud.exit_code != 0 and isinstance(loud.exception, RuntimeError)


def test_table_on_a_missing_folder_is_one_line(tmp_path):
    assert_one_line_error(invoke("table", "--out", tmp_path / "nothing"), 1, "does not exist")


def test_jobs_through_the_cli_score_each_run_like_a_sequential_suite(tmp_path):
    """--jobs sends the evaluator to the job processes: the eval records must match."""
    args = ["run", "dcgan", "lsgan", "--dataset", "ring8", *SMOKE, "--steps", "40"]
    assert invoke(*args, "--out", tmp_path / "seq").exit_code == 0
    result = invoke(*args, "--out", tmp_path / "par", "--jobs", "2")
    assert result.exit_code == 0, result.output
    for variant in ("dcgan", "lsgan"):
        seq = (tmp_path / "seq" / "ring8" / variant / "seed0" / "metrics.jsonl").read_text()
        par = (tmp_path / "par" / "ring8" / variant / "seed0" / "metrics.jsonl").read_text()
        assert '"type": "eval"' in par and par == seq
