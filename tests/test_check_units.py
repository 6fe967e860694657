"""Tolerance arithmetic, verdicts and baseline validation, on hand-made numbers (no training)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from check_helpers import invoke, one_line_error

from ganbench.errors import UsageError
from ganbench.report.tables import DIRECTIONS
from ganbench.stability import schema
from ganbench.stability.compare import BETTER, FAIL, NA, PASS, divergence_verdict, metric_verdict
from ganbench.stability.tolerance import DEFAULT_FLOORS, DEFAULT_STD_MULTIPLIER, resolve_tolerance

WHERE = ("mnist", "dcgan")


def now(metric: str, mean: float, n: int = 3) -> pd.Series:
    return pd.Series({f"{metric}_mean": mean, f"{metric}_std": 0.0, f"{metric}_n": n})


def base(metric: str, mean, std, n=3) -> dict:
    return {"direction": DIRECTIONS[metric], "mean": mean, "std": std, "n": n}


@pytest.fixture
def tol():
    return resolve_tolerance(pyproject=False)


def test_every_ranked_metric_has_a_floor():
    assert set(DEFAULT_FLOORS) == set(DIRECTIONS)


def test_the_slack_is_the_larger_of_k_std_and_the_floor(tol):
    assert DEFAULT_STD_MULTIPLIER == 3.0
    assert tol.slack("modes", 7.0, 0.5) == pytest.approx(1.5)  # 3 x 0.5 beats the floor of 1
    assert tol.slack("modes", 7.0, 0.1) == pytest.approx(1.0)  # the floor beats 3 x 0.1
    assert tol.slack("fid", 40.0, 0.0) == pytest.approx(2.0)  # 5% of the baseline mean
    assert tol.slack("fid", 40.0, 1.0) == pytest.approx(3.0)


@pytest.mark.parametrize(
    "metric, baseline, value, verdict",
    [
        ("fid", 40.0, 41.9, PASS),  # rose, within 5% = 2
        ("fid", 40.0, 42.1, FAIL),  # rose past it
        ("fid", 40.0, 30.0, BETTER),  # fell far: lower is better
        ("modes", 8.0, 7.0, PASS),  # lost one mode: the floor
        ("modes", 8.0, 6.9, FAIL),
        ("modes", 8.0, 9.5, BETTER),
        ("hq_frac", 0.50, 0.47, FAIL),
        ("reverse_kl", 0.30, 0.349, PASS),
        ("reverse_kl", 0.30, 0.351, FAIL),
    ],
)
def test_verdicts_follow_each_metrics_direction(tol, metric, baseline, value, verdict):
    v = metric_verdict(WHERE, metric, base(metric, baseline, 0.0), now(metric, value), tol)
    assert v.verdict == verdict, v
    if verdict == FAIL:
        assert v.message.startswith(f"mnist/dcgan: {metric} ") and ("rose" in v.message or "fell" in v.message)


def test_the_direction_is_the_harnesss_not_the_baseline_files(tol):
    # A baseline without its "direction" field (edited by hand) must not turn a lost mode
    # into "better".
    undirected = {k: v for k, v in base("modes", 8.0, 0.0).items() if k != "direction"}
    assert metric_verdict(WHERE, "modes", undirected, now("modes", 5.0), tol).verdict == FAIL
    assert metric_verdict(WHERE, "modes", undirected, now("modes", 9.5), tol).verdict == BETTER


def test_identical_numbers_pass_even_with_no_slack():
    tight = resolve_tolerance({"fid": "0", "modes": "0"}, std_multiplier=0, pyproject=False)
    third = 1 / 3  # a mean that does not round-trip through the bound's arithmetic exactly
    assert metric_verdict(WHERE, "fid", base("fid", third, 0.0), now("fid", third), tight).verdict == PASS
    assert metric_verdict(WHERE, "fid", base("fid", third, 0.0), now("fid", third + 1e-6), tight).verdict == FAIL


def test_a_missing_value_fails_and_a_missing_baseline_is_not_judged(tol):
    assert metric_verdict(WHERE, "fid", base("fid", 40.0, 1.0), now("fid", math.nan, n=0), tol).verdict == FAIL
    assert metric_verdict(WHERE, "fid", base("fid", None, None, n=0), now("fid", 40.0), tol).verdict == NA


def divergence(d_base, n_base, d_now, n_now, tol):
    entry = {"n_seeds": n_base, "n_diverged": d_base}
    row = pd.Series({"n_seeds": n_now, "n_diverged": d_now, "diverged_at": [100] * d_now})
    return divergence_verdict(WHERE, entry, row, tol).verdict


def test_divergence_is_judged_against_the_baselines_share(tol):
    assert divergence(0, 3, 0, 3, tol) == PASS
    assert divergence(0, 3, 1, 3, tol) == FAIL  # diverged where the baseline had none
    assert divergence(1, 3, 1, 3, tol) == PASS
    assert divergence(1, 3, 2, 3, tol) == FAIL
    assert divergence(1, 2, 2, 4, tol) == PASS  # half the seeds, before and now
    loose = resolve_tolerance({"diverged": "1"}, pyproject=False)
    assert divergence(0, 3, 1, 3, loose) == PASS and divergence(0, 3, 2, 3, loose) == FAIL


def test_precedence_defaults_then_pyproject_then_command_line(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.ganbench.check]\nstd_multiplier = 2\nmodes = 3\nfid = "10%"\n')
    tol = resolve_tolerance({"modes": "4"}, pyproject=pyproject)
    assert tol.std_multiplier == 2.0
    assert tol.slack("modes", 8.0, 0.0) == 4.0  # the command line beat the pyproject's 3
    assert tol.slack("fid", 40.0, 0.0) == pytest.approx(4.0)  # the pyproject's 10%
    assert tol.slack("hq_frac", 0.5, 0.0) == DEFAULT_FLOORS["hq_frac"]  # untouched default
    assert resolve_tolerance(std_multiplier=1.0, pyproject=pyproject).std_multiplier == 1.0


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"modse": "2"}, "unknown tolerance key 'modse'"),
        ({"modes": "two"}, "must be a number or a percentage"),
        ({"modes": "-1"}, "finite number >= 0"),
        ({"diverged": "0.5"}, "whole number"),
        ({"std_multiplier": "5%"}, "plain number"),
    ],
)
def test_bad_tolerances_are_usage_errors(overrides, fragment):
    with pytest.raises(UsageError, match=fragment):
        resolve_tolerance(overrides, pyproject=False)


def test_bad_tolerance_options_on_the_command_line_are_one_line_errors(tmp_path):
    baseline = tmp_path / "b.json"
    line = one_line_error(invoke("check", "--baseline", baseline, "--tolerance", "modes"), 2)
    assert "METRIC=VALUE" in line
    line = one_line_error(invoke("check", "--baseline", baseline, "--tolerance", "speed=3"), 2)
    assert "unknown tolerance key 'speed'" in line
    broken = tmp_path / "pyproject.toml"
    broken.write_text("[tool.ganbench.check\nmodes = ")
    line = one_line_error(invoke("check", "--baseline", baseline, "--pyproject", broken), 2)
    assert "not valid TOML" in line


def good_doc() -> dict:
    metric = {"direction": "higher", "mean": 7.0, "std": 0.5, "n": 3, "values": {}}
    protocol = dict.fromkeys(schema.PROTOCOL_CONFIG + schema.PROTOCOL_EVAL)
    entry = {
        "dataset": "ring8",
        "variant": "dcgan",
        "protocol": protocol,
        "seeds": [0, 1, 2],
        "n_seeds": 3,
        "n_diverged": 0,
        "metrics": {"modes": metric},
    }
    return {"schema": 1, "kind": "ganbench-baseline", "environment": {}, "entries": [entry]}


def _metric(doc: dict, **fields) -> dict:
    entry = doc["entries"][0]
    modes = {**entry["metrics"]["modes"], **fields}
    return {**doc, "entries": [{**entry, "metrics": {"modes": modes}}]}


def test_a_valid_document_loads(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps(good_doc()))
    assert schema.load(path)["entries"][0]["metrics"]["modes"]["mean"] == 7.0


@pytest.mark.parametrize(
    "corrupt, fragment",
    [
        (lambda d: "{not json", "is not valid JSON"),
        (lambda d: [1, 2], "top level is not a JSON object"),
        (lambda d: {**d, "kind": "other"}, "'kind' is 'other'"),
        (lambda d: {k: v for k, v in d.items() if k != "schema"}, "no integer 'schema'"),
        (lambda d: {**d, "schema": 99}, "schema 99, newer than this ganbench reads (1); upgrade"),
        (lambda d: {**d, "entries": []}, "'entries' is missing or empty"),
        (lambda d: {**d, "entries": [{**d["entries"][0], "protocol": {}}]}, "lacks profile"),
        (lambda d: {**d, "entries": d["entries"] * 2}, "ring8/dcgan appears twice"),
        (lambda d: {**d, "entries": [{**d["entries"][0], "seeds": [-1]}]}, "seeds of ring8/dcgan"),
        (lambda d: {**d, "entries": [{**d["entries"][0], "metrics": {"speed": {}}}]}, "unknown metric 'speed'"),
        (
            lambda d: {**d, "entries": [{**d["entries"][0], "metrics": {"modes": {"mean": "7", "std": 0, "n": 3}}}]},
            "modes mean of ring8/dcgan is not a finite number",
        ),
        (lambda d: _metric(d, mean=math.nan), "modes mean of ring8/dcgan is not a finite number"),
        (lambda d: _metric(d, n="3"), "modes n of ring8/dcgan is not a count of seeds (0 to 3)"),
        (lambda d: _metric(d, n=4), "modes n of ring8/dcgan is not a count of seeds (0 to 3)"),
        (lambda d: _metric(d, direction="lower"), "modes of ring8/dcgan says direction 'lower'; it is 'higher'"),
        (lambda d: {**d, "entries": [{**d["entries"][0], "n_seeds": 0}]}, "ring8/dcgan has n_seeds 0"),
    ],
)
def test_a_malformed_baseline_is_a_one_line_usage_error(tmp_path, corrupt, fragment):
    doc = corrupt(good_doc())
    path = tmp_path / "b.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    line = one_line_error(invoke("check", "--baseline", path), 2)
    assert fragment in line and str(path) in line


def test_a_missing_or_unreadable_baseline_is_a_one_line_usage_error(tmp_path):
    line = one_line_error(invoke("check", "--baseline", tmp_path / "nope.json"), 2)
    assert "does not exist" in line and "ganbench baseline --out RUNS" in line
    line = one_line_error(invoke("check", "--baseline", tmp_path), 2)
    assert "holds no baseline JSON file" in line
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "cannot read baseline" in one_line_error(invoke("check", "--baseline", binary), 2)


def _baseline_doc(cpu: str) -> dict:
    return {"schema": 1, "kind": "ganbench-baseline", "environment": {"cpu_model": cpu}, "entries": []}


def test_a_baseline_folder_picks_the_file_made_on_this_cpu(tmp_path):
    """CPU runs are bit-identical per CPU model only: the folder holds one per model."""
    for name, cpu in (("amd.json", "AMD EPYC"), ("intel.json", "Intel(R) Xeon(R) Processor")):
        (tmp_path / name).write_text(json.dumps(_baseline_doc(cpu)))
    (tmp_path / "notes.json").write_text("not json")  # skipped when choosing
    said = []
    assert schema.pick(tmp_path, "Intel(R) Xeon(R) Processor", said.append).name == "intel.json"
    assert schema.pick(tmp_path, "AMD EPYC", said.append).name == "amd.json"
    assert said == []
    # Another model: the last by name, and a note that says why numbers may not match.
    assert schema.pick(tmp_path, "Apple M9", said.append).name == "intel.json"
    assert len(said) == 1 and "Apple M9" in said[0] and "make_baseline.py" in said[0]
    assert schema.slug("Intel(R) Xeon(R) Processor") == "intel-r-xeon-r-processor"


def test_the_committed_ci_baselines_cover_every_variant_on_both_mixtures():
    """results/baseline/ is what CI checks against (scripts/make_baseline.py): the file for
    this machine's CPU covers every variant; one made earlier on another CPU model covers
    registered variants only (a variant added since is checked on the CPUs that have it)."""
    from pathlib import Path

    from ganbench.provenance import cpu_model
    from ganbench.variants import VARIANTS

    folder = Path(__file__).resolve().parent.parent / "results" / "baseline"
    mine = schema.pick(folder, cpu_model())
    files = sorted(folder.glob("*.json"))
    assert files
    for path in files:
        doc = schema.load(path)
        pairs = {(e["dataset"], e["variant"]) for e in doc["entries"]}
        wanted = {(d, v) for d in ("ring8", "grid25") for v in VARIANTS}
        if path == mine and doc["environment"]["cpu_model"] == cpu_model():
            assert pairs == wanted, "remake it with `python scripts/make_baseline.py` after adding a variant"
        else:
            assert pairs <= wanted and {d for d, _ in pairs} == {"ring8", "grid25"}
        for e in doc["entries"]:
            assert e["seeds"] == [0, 1, 2] and e["protocol"]["profile"] == "smoke" and e["protocol"]["steps"] == 300
            assert e["settings"] == {"device": "cpu", "cpu_threads": 1}  # bit-identical reruns on a CPU
