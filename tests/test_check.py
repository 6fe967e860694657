"""`ganbench baseline` and `ganbench check` end to end, on a tiny CPU protocol."""

from __future__ import annotations

import json
import shutil
import statistics
import xml.etree.ElementTree as ET

import pytest
from check_helpers import DATASET, VARIANT, exploding, flipped, invoke, one_line_error, patched, table_rows, train

from ganbench.report.results import collect
from ganbench.testing import assert_stable


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Runs of the tiny protocol and the baseline made from them."""
    root = tmp_path_factory.mktemp("baseline")
    train(root / "runs")
    result = invoke("baseline", "--out", root / "runs", "-o", root / "baseline.json")
    assert result.exit_code == 0, result.output
    return root / "runs", root / "baseline.json"


@pytest.fixture(scope="module")
def broken(made, tmp_path_factory):
    """`ganbench check` of the same protocol with lsgan's generator loss sign flipped."""
    _, baseline = made
    root = tmp_path_factory.mktemp("broken")
    with patched(flipped(VARIANT)):
        result = invoke(
            "check", "--baseline", baseline, "--out", root / "runs", "--junit-xml", root / "check.xml", "--no-progress"
        )
    return result, root / "runs", root / "check.xml"


def test_baseline_holds_mean_std_counts_protocol_and_environment(made):
    runs, path = made
    doc = json.loads(path.read_text())
    assert doc["schema"] == 1 and doc["kind"] == "ganbench-baseline"
    assert doc["environment"]["versions"]["torch"] and doc["environment"]["device"] == "cpu"
    (entry,) = doc["entries"]
    assert (entry["dataset"], entry["variant"], entry["seeds"]) == (DATASET, VARIANT, [0, 1])
    assert entry["n_seeds"] == 2 and entry["n_diverged"] == 0
    p = entry["protocol"]
    assert (p["profile"], p["steps"], p["batch_size"], p["eval_samples"]) == ("smoke", 150, 100, 2500)
    assert p["extractor"] == "nearest mode within 3 sigma" and p["inception"] is None
    df = collect(runs)  # the numbers, recomputed from the run directories
    for metric in ("modes", "hq_frac", "reverse_kl"):
        values = [float(v) for v in df[metric]]
        m = entry["metrics"][metric]
        assert m["mean"] == pytest.approx(statistics.mean(values))
        assert m["std"] == pytest.approx(statistics.stdev(values))
        assert m["n"] == 2 and sorted(m["values"].values()) == sorted(values)
    assert entry["metrics"]["modes"]["direction"] == "higher" and entry["metrics"]["reverse_kl"]["direction"] == "lower"
    assert not list(path.parent.glob(".*tmp*"))  # written atomically: no temporary file left


def test_unchanged_code_passes_against_its_fresh_baseline(made, tmp_path):
    _, baseline = made
    result = invoke("check", "--baseline", baseline, "--out", tmp_path, "--no-progress")
    assert result.exit_code == 0, result.output
    rows = table_rows(result.output)
    assert set(rows) == {(DATASET, VARIANT, m) for m in ("modes", "hq_frac", "reverse_kl", "diverged")}
    assert set(rows.values()) == {"pass"} and "No regression" in result.output
    # CPU runs are deterministic: the check reproduced the baseline's numbers exactly.
    doc = json.loads(baseline.read_text())["entries"][0]["metrics"]
    now = collect(tmp_path)
    assert [float(v) for v in now["modes"]] == [doc["modes"]["values"][s] for s in ("0", "1")]


def test_a_flipped_generator_loss_fails_and_names_variant_and_metric(broken):
    result, _, _ = broken
    assert result.exit_code == 1, result.output
    rows = table_rows(result.output)
    assert rows[(DATASET, VARIANT, "modes")] == "FAIL"
    assert f"Regressions: {DATASET}/{VARIANT} modes" in result.output


def test_junit_xml_is_well_formed_with_one_failure_per_failing_row(broken):
    result, _, xml_path = broken
    root = ET.parse(xml_path).getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    failing = [k for k, v in table_rows(result.output).items() if v == "FAIL"]
    assert len(cases) == 4 and int(suite.get("tests")) == 4
    assert int(suite.get("failures")) == len(failing) == len(suite.findall("testcase/failure")) >= 1
    for case in cases:
        failure = case.find("failure")
        assert (failure is not None) == ((DATASET, VARIANT, case.get("name")) in failing)
        if failure is not None:
            assert case.get("classname") == f"ganbench.check.{DATASET}.{VARIANT}"
            assert f"{DATASET}/{VARIANT}: {case.get('name')}" in failure.get("message")


def test_divergence_where_the_baseline_had_none_is_a_regression(made, tmp_path):
    _, baseline = made
    with patched(exploding(VARIANT)):
        result = invoke("check", "--baseline", baseline, "--out", tmp_path, "--no-progress")
    assert result.exit_code == 1, result.output
    rows = table_rows(result.output)
    assert rows[(DATASET, VARIANT, "diverged")] == "FAIL"
    assert "2 of 2 (at step" in result.output
    assert rows[(DATASET, VARIANT, "modes")] == "FAIL"  # no run scored: no value to pass with
    assert f"Note: {DATASET}/{VARIANT}: lr_d is 1000000.0 now, 0.0002 in the baseline" in result.output


def test_tolerance_overrides_from_the_command_line_turn_the_verdict(made, broken):
    _, baseline = made
    _, broken_runs, _ = broken
    loose = ["--tolerance", "modes=25", "--tolerance", "hq_frac=1", "--tolerance", "reverse_kl=5"]
    result = invoke("check", "--baseline", baseline, "--runs", broken_runs, *loose)
    assert result.exit_code == 0, result.output
    assert "floors: modes 25, hq_frac 1, reverse_kl 5" in result.output
    # Only modes loosened: the other metrics still fail.
    result = invoke("check", "--baseline", baseline, "--runs", broken_runs, "--tolerance", "modes=25")
    assert result.exit_code == 1 and table_rows(result.output)[(DATASET, VARIANT, "modes")] == "pass"


def test_tolerance_from_pyproject_applies_and_the_command_line_wins(made, broken, tmp_path, monkeypatch):
    _, baseline = made
    _, broken_runs, _ = broken
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "mine"\n\n[tool.ganbench.check]\nstd_multiplier = 3\n\n'
        '[tool.ganbench.check.tolerance]\nmodes = 25\nhq_frac = 1\nreverse_kl = "500%"\n'
    )
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # found in a parent folder, as for a test run from tests/
    result = invoke("check", "--baseline", baseline, "--runs", broken_runs)
    assert result.exit_code == 0, result.output
    assert "reverse_kl 500%" in result.output and str(tmp_path / "pyproject.toml") in result.output
    result = invoke("check", "--baseline", baseline, "--runs", broken_runs, "--tolerance", "modes=0")
    assert result.exit_code == 1 and table_rows(result.output)[(DATASET, VARIANT, "modes")] == "FAIL"


def test_assert_stable_passes_quietly_and_fails_with_the_table(made, broken):
    runs, baseline = made
    _, broken_runs, _ = broken
    report = assert_stable(baseline=baseline, runs=runs, pyproject=False)
    assert report.passed and len(report.verdicts) == 4
    with pytest.raises(AssertionError) as info:
        assert_stable(baseline=baseline, runs=broken_runs, pyproject=False)
    text = str(info.value)
    assert f"{DATASET}/{VARIANT}: modes fell to" in text
    assert "baseline" in text and "allowed" in text and "verdict" in text  # the table's header
    assert assert_stable(baseline, broken_runs, tolerance={"modes": 25, "hq_frac": 1, "reverse_kl": 5}).passed


def test_protocol_mismatch_is_refused_not_compared(made, tmp_path):
    _, baseline = made
    line = one_line_error(invoke("check", "--baseline", baseline, "--profile", "quick"), 2)
    assert "protocol mismatch" in line and "profile smoke" in line
    line = one_line_error(invoke("check", "--baseline", baseline, "--steps", "300"), 2)
    assert "steps 150" in line
    train(tmp_path, "--steps", "20")  # finished runs under another protocol
    line = one_line_error(invoke("check", "--baseline", baseline, "--runs", tmp_path), 2)
    assert "protocol mismatch" in line and "steps 150 in the baseline, 20 now" in line


def test_runs_that_lack_what_the_baseline_covers_are_a_usage_error(made, tmp_path):
    runs, baseline = made
    line = one_line_error(invoke("check", "--baseline", baseline, "--runs", tmp_path), 2)
    assert f"holds no runs of {DATASET}/{VARIANT}" in line
    line = one_line_error(invoke("check", "--baseline", baseline, "--runs", runs, "--seeds", "0,7"), 2)
    assert "seed 7" in line
    line = one_line_error(invoke("check", "--baseline", baseline, "--runs", runs, "--variants", "dcgan"), 2)
    assert "does not cover variant dcgan" in line


def test_baseline_refuses_unfinished_runs_and_empty_folders(made, tmp_path):
    runs, _ = made
    line = one_line_error(invoke("baseline", "--out", tmp_path / "nowhere", "-o", tmp_path / "b.json"), 1)
    assert "does not exist" in line
    copy = tmp_path / "copy"
    shutil.copytree(runs, copy)
    status = copy / DATASET / VARIANT / "seed1" / "status.json"
    status.write_text(json.dumps({**json.loads(status.read_text()), "status": "running"}))
    line = one_line_error(invoke("baseline", "--out", copy, "-o", tmp_path / "b.json"), 1)
    assert "seed1 is interrupted" in line and "ganbench run --resume" in line
    assert not (tmp_path / "b.json").exists()


def test_baseline_refuses_runs_that_mix_protocols(made, tmp_path):
    runs, _ = made
    shutil.copytree(runs, tmp_path / "mixed")
    short = tmp_path / "short"
    train(short, "--steps", "20")
    shutil.rmtree(tmp_path / "mixed" / DATASET / VARIANT / "seed1")
    shutil.copytree(short / DATASET / VARIANT / "seed1", tmp_path / "mixed" / DATASET / VARIANT / "seed1")
    line = one_line_error(invoke("baseline", "--out", tmp_path / "mixed", "-o", tmp_path / "b.json"), 2)
    assert f"the runs of {DATASET}/{VARIANT} mix protocols (steps: 150, 20)" in line


def crashing_g_loss(fake_scores):
    raise RuntimeError("boom in the generator loss")


class CrashingTrainer:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("boom before the run directory was written")


def test_a_crash_in_the_code_under_test_is_an_error_verdict_with_exit_1(made, tmp_path, monkeypatch):
    import dataclasses

    from ganbench.variants import VARIANTS

    _, baseline = made
    xml_path = tmp_path / "check.xml"
    with patched(dataclasses.replace(VARIANTS[VARIANT], g_loss=crashing_g_loss)):
        result = invoke("check", "--baseline", baseline, "--out", tmp_path / "a", "--junit-xml", xml_path)
    assert result.exit_code == 1, result.output
    assert table_rows(result.output)[(DATASET, VARIANT, "failed")] == "ERROR"
    assert "boom in the generator loss" in result.output
    suite = ET.parse(xml_path).getroot().find("testsuite")
    assert suite.get("errors") == "1" and "boom" in suite.find("testcase/error").get("message")

    # A crash before the run wrote anything still names the run, not "no runs found".
    monkeypatch.setattr("ganbench.core.loop.Trainer", CrashingTrainer)
    result = invoke("check", "--baseline", baseline, "--out", tmp_path / "b")
    assert result.exit_code == 1, result.output
    assert table_rows(result.output)[(DATASET, VARIANT, "failed")] == "ERROR"
    assert "boom before the run directory was written" in result.output


def test_check_with_jobs_hands_the_job_processes_an_evaluator_that_pickles(made, tmp_path):
    """The evaluator of a check (each dataset scored as its baseline was) crosses into the
    job processes: `--jobs 2` must train and score every run there, and on a CPU reproduce
    the baseline's runs exactly."""
    runs, baseline = made
    result = invoke("check", "--baseline", baseline, "--out", tmp_path / "runs", "--jobs", "2", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "started (job 1)" in result.output and "started (job 2)" in result.output
    for seed in (0, 1):
        rel = f"{DATASET}/{VARIANT}/seed{seed}/metrics.jsonl"
        assert (tmp_path / "runs" / rel).read_bytes() == (runs / rel).read_bytes()


def test_an_unwritable_junit_xml_after_every_check_passed_is_exit_3_not_the_regression_code(made, broken, tmp_path):
    runs, baseline = made
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    unwritable = blocker / "check.xml"  # its folder is a file
    result = invoke("check", "--baseline", baseline, "--runs", runs, "--junit-xml", unwritable)
    assert result.exit_code == 3, result.output
    assert all(v == "pass" for v in table_rows(result.stdout).values())  # the verdicts were still printed
    [error] = [line for line in result.stderr.splitlines() if line.strip()]
    assert error.startswith("Error: cannot write") and str(unwritable) in error and "--junit-xml" in error
    # With a regression too, the regression's code wins and the report's error is still said.
    _, broken_runs, _ = broken
    result = invoke("check", "--baseline", baseline, "--runs", broken_runs, "--junit-xml", unwritable)
    assert result.exit_code == 1, result.output
    assert "FAIL" in table_rows(result.stdout).values()
    assert "Error: cannot write" in result.stderr
    help_text = invoke("check", "--help").output
    assert "Exit 3" in help_text and "--junit-xml" in help_text
