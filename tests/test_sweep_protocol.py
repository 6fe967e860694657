"""`ganbench sweep --protocol` (issue 15's lucic-2018 hook): a search study's protocol fixes
the runs' settings and the search's budget, every departure is recorded, and its table sets
the reruns of the best configurations (never the trials) beside the paper's numbers."""

from __future__ import annotations

import json
import math
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from ganbench.cli import cli
from ganbench.protocols import PROTOCOLS, SELECT, get_protocol, parse, register_protocol
from ganbench.report import sweep as sweep_report
from ganbench.rundir import read_jsonl
from ganbench.runs import space as spaces
from ganbench.runs import sweep as sweep_plan
from ganbench.runs.plan import check_protocol
from ganbench.testing import registries_restored

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# A search study small enough for a test: ring8, 60 steps, two rows, one published number each.
TINY = """
name = "tiny-search"
title = "A tiny search study"
citation = "a test"
code = "tests/test_sweep_protocol.py"
table = "the TINY string"
trials = 5
error = "std"
device = "cpu"

[search]
space = "lucic-narrow"
trials = 4
select = "best-checkpoint"
metric = "hq_frac"
source = "the TINY string"

[sources]
device = "test"
steps = "test"
batch_size = "test"
z_dim = "test"
noise = "test"
eval_every = "test"
eval_samples = "test"
log_every = "test"
checkpoint_every = "test"

[datasets]
ring8 = "the ring"

[describe]
nets = "n"
step = "s"
schedule = "s"
length = "l"
evaluation = "e"

[settings]
steps = 60
batch_size = 32
z_dim = 3
noise = "uniform"
eval_every = 30
eval_samples = 500
log_every = 30
checkpoint_every = 30

[[rows]]
label = "NS GAN"
variant = "dcgan"
[rows.published.ring8]
hq_frac = [0.5, 0.1]

[[rows]]
label = "LSGAN"
variant = "lsgan"
[rows.published.ring8]
hq_frac = [0.6, 0.2]
"""


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def tiny(**changes):
    data = tomllib.loads(TINY)
    for key, value in changes.items():
        data[key] = value
    return parse(data, "tiny")


# --- the file and its [search] ---------------------------------------------------------


def test_lucic_2018_is_a_search_study_whose_rows_and_space_resolve():
    proto = get_protocol("lucic-2018")
    check_protocol(proto)  # every row a registered variant
    assert proto.search is not None
    assert proto.search.select == "best-checkpoint" and proto.search.metric == "fid"
    assert proto.search.space in spaces.BUILTIN
    assert proto.error == "std"
    # Every row, on every dataset, takes the protocol's settings under every built-in Lucic
    # space, and none of them fixes what a space samples.
    for space_name in ("lucic-wide", "lucic-narrow"):
        space = spaces.load_space(space_name)
        variants = [r.variant for r in proto.rows]
        trials = sweep_plan.plan_trials(space, variants, list(proto.datasets), 2, "/tmp/x", {}, 0, proto.overrides)
        assert len(trials) == 2 * len(variants) * len(proto.datasets)
        for t in trials:
            assert t.cfg.protocol == "lucic-2018"
            for key, value in proto.overrides(t.cfg.variant, t.cfg.dataset).items():
                assert getattr(t.cfg, key) == value, (t.cfg.variant, key)
    mnist = proto.overrides("dcgan", "mnist")
    assert (mnist["batch_size"], mnist["z_dim"], mnist["noise"]) == (64, 64, "uniform")


def test_protocols_select_matches_the_sweeps():
    assert SELECT == sweep_report.SELECT


@pytest.mark.parametrize(
    "search, fragment",
    [
        ({"space": "x", "trials": 0, "select": "final", "metric": "hq_frac", "source": "s"}, "trials must be >= 1"),
        ({"space": "x", "trials": 2, "select": "best", "metric": "hq_frac", "source": "s"}, "select must be one of"),
        ({"space": "x", "trials": 2, "select": "final", "metric": "nope", "source": "s"}, "unknown metric 'nope'"),
        ({"space": "x", "trials": 2, "select": "final", "metric": "hq_frac", "source": "s", "k": 1}, "unknown key 'k'"),
        ({"space": "x", "trials": 2, "select": "final", "metric": "hq_frac"}, "has no 'source'"),
        # the rows publish hq_frac, and a search is scored on one metric
        ({"space": "x", "trials": 2, "select": "final", "metric": "modes", "source": "s"}, "scored on modes alone"),
    ],
)
def test_a_bad_search_table_is_refused(search, fragment):
    from ganbench.protocols import _Invalid

    with pytest.raises(_Invalid, match=fragment):
        tiny(search=search)


def test_search_deviations_name_each_departure():
    proto = tiny()
    assert proto.search_deviations("lucic-narrow", 4, "best-checkpoint", "hq_frac") == []
    assert proto.search_deviations("lucic-wide", 2, "final", "modes") == [
        "space lucic-wide (protocol: lucic-narrow)",
        "2 trials per variant and dataset (protocol: 4)",
        "select final (protocol: best-checkpoint)",
        "metric modes (protocol: hq_frac)",
    ]


# --- a sweep under a protocol ----------------------------------------------------------


@pytest.fixture(scope="module")
def protocol_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("psweep")
    with registries_restored():
        register_protocol(tiny())
        result = invoke("sweep", "--protocol", "tiny-search", "--trials", "2", "--seeds", "2", "--out", out,
                        "--device", "cpu", "--no-progress")  # fmt: skip
        table = invoke("table", "--out", out, "--protocol", "tiny-search", "--format", "json")
    assert "tiny-search" not in PROTOCOLS
    return out, result, table


def test_a_protocol_sweep_takes_its_rows_datasets_settings_and_space(protocol_sweep):
    out, result, _ = protocol_sweep
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["protocol"] == "tiny-search"
    assert manifest["space"]["name"] == "lucic-narrow"  # the protocol's, as none was given
    assert manifest["select"] == "best-checkpoint" and manifest["metric"] == "hq_frac"
    assert manifest["variants"] == ["dcgan", "lsgan"] and manifest["datasets"] == ["ring8"]
    configs = sorted(out.glob("trials/t*/ring8/*/seed0/config.json"))
    configs += sorted(out.glob("best/ring8/*/seed*/config.json"))
    assert len(configs) == 2 * 2 + 2 * 2
    lrs = set()
    for path in configs:
        record = json.loads(path.read_text())
        cfg = record["config"]
        assert cfg["protocol"] == "tiny-search"
        assert (cfg["steps"], cfg["batch_size"], cfg["z_dim"], cfg["noise"]) == (60, 32, 3, "uniform")
        assert cfg["betas"][0] == 0.5 and cfg["n_critic"] == 1  # lucic-narrow's fixed values
        assert 1e-4 <= cfg["lr_d"] <= 1e-3  # lucic-narrow's sampled range
        lrs.add(cfg["lr_d"])
        # every run records the suite's departures, the search's among them
        assert "2 trials per variant and dataset (protocol: 4)" in record["protocol"]["deviations"]
    assert len(lrs) >= 3  # the trials sample, the reruns repeat the best


def test_the_banner_lists_every_deviation_before_the_work(protocol_sweep):
    _, result, _ = protocol_sweep
    banner = next(line for line in result.output.splitlines() if line.startswith("protocol tiny-search"))
    assert "DEVIATIONS" in banner
    assert "2 seeds (protocol: 5 trials)" in banner
    assert "2 trials per variant and dataset (protocol: 4)" in banner
    assert "space" not in banner and "select" not in banner  # the protocol's own defaults were taken


def test_the_protocol_table_holds_the_reruns_best_checkpoints_not_the_trials(protocol_sweep):
    out, result, table = protocol_sweep
    assert (out / "report" / "protocol.md").is_file() and (out / "report" / "protocol.json").is_file()
    md = (out / "report" / "protocol.md").read_text()
    assert "| NS GAN" in md and "0.500 ± 0.100" in md and "(n=2)" in md
    payload = json.loads((out / "report" / "protocol.json").read_text())
    assert table.exit_code == 0, table.output
    assert json.loads((out / "protocol-tiny-search.json").read_text())["cells"] == payload["cells"]
    for cell in payload["cells"]:
        reruns = sorted(out.glob(f"best/ring8/{cell['variant']}/seed*"))
        assert len(reruns) == 2 and cell["n"] == 2  # the two reruns, none of the trials
        best = []
        for run in reruns:
            values = [r["hq_frac"] for r in read_jsonl(run / "metrics.jsonl") if r.get("type") == "eval"]
            values = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
            assert len(values) == 2  # the evaluations at steps 30 and 60
            best.append(max(values))  # best-checkpoint, higher is better
        assert cell["ours_mean"] == pytest.approx(sum(best) / 2)
        assert cell["ours_error"] == pytest.approx(pd.Series(best).std(ddof=1))
        assert cell["verdict"] in ("agrees", "better", "worse")


def test_the_html_report_of_a_protocol_sweep_compares_its_reruns(protocol_sweep, tmp_path):
    out, _, _ = protocol_sweep
    with registries_restored():
        register_protocol(tiny())
        result = invoke("report", "--out", out, "--to", tmp_path / "r.html")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r.html").read_text()
    assert "Against the paper: A tiny search study" in page
    assert "protocol tiny-search (deviations:" in page  # the sweep's protocol line names it
    assert "(n=2)" in page and "(n=4)" not in page


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--protocol", "pacgan-2d"], "not a search study"),
        (["--protocol", "tiny-search", "--profile", "smoke"], "drop --profile"),
        (["--protocol", "tiny-search", "hinge"], "has no row for variant 'hinge'"),
        (["--protocol", "tiny-search", "--all"], "not --all"),
        (["--protocol", "tiny-search", "--dataset", "grid25"], "has no dataset 'grid25'"),
        (["dcgan"], "name the dataset(s) with --dataset"),
    ],
)
def test_bad_protocol_sweeps_are_one_line_usage_errors(tmp_path, args, fragment):
    with registries_restored():
        register_protocol(tiny())
        result = invoke("sweep", *args, "--trials", "2", "--out", tmp_path / "s")
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "Traceback" not in result.output
    assert not (tmp_path / "s" / "trials").exists()


def test_a_protocol_that_fixes_what_the_space_samples_is_refused(tmp_path):
    data = tomllib.loads(TINY)
    data["settings"]["lr_d"] = 1e-4
    data["sources"]["lr_d"] = "test"
    with registries_restored():
        register_protocol(parse(data, "tiny"))
        result = invoke("sweep", "--protocol", "tiny-search", "--trials", "2", "--out", tmp_path / "s")
    assert result.exit_code == 2, result.output
    assert "the protocol fixes lr_d for dcgan on ring8, which space lucic-narrow samples" in result.output


def test_list_says_how_to_run_a_search_study():
    result = invoke("list")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "search study (ganbench sweep --protocol lucic-2018)" in x)
    assert "100 trials of lucic-wide at 15,625 steps, scored on fid at best-checkpoint" in line
    assert "the best rerun 50 times, ± std" in line
