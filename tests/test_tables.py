"""Comparison tables from run directories: aggregation, best marks, directions, formats."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from ganbench.report.tables import DIRECTIONS, aggregate, best_variants, display_table, render


def runs_frame() -> pd.DataFrame:
    rows = []
    fids = {"dcgan": [10.0, 12.0, 14.0], "hinge": [8.0, 9.0, 10.0], "wgan-gp": [20.0, 22.0, None]}
    modes = {"dcgan": [10, 10, 9], "hinge": [10, 10, 10], "wgan-gp": [7, 8, None]}
    for variant in fids:
        for seed in range(3):
            diverged = fids[variant][seed] is None
            rows.append(
                {
                    "dataset": "mnist",
                    "variant": variant,
                    "seed": seed,
                    "status": "diverged" if diverged else "done",
                    "step": 120 if diverged else 500,
                    "fid": math.nan if diverged else fids[variant][seed],
                    "modes": math.nan if diverged else modes[variant][seed],
                    "cfg.profile": "quick",
                    "cfg.steps": 500,
                    "cfg.batch_size": 64,
                    "eval_samples": 2000,
                    "extractor": "ganbench MNIST classifier",
                    "reference": "MNIST test split (10,000 images)",
                }
            )
    rows.append(
        dict(rows[0], dataset="ring8", variant="vanilla", status="diverged", step=40, fid=math.nan, modes=math.nan)
    )
    return pd.DataFrame(rows)


def test_aggregate_means_and_sample_stds_over_finished_runs():
    agg = aggregate(runs_frame()).set_index(["dataset", "variant"])
    assert agg.loc[("mnist", "dcgan"), "fid_mean"] == pytest.approx(12.0)
    assert agg.loc[("mnist", "dcgan"), "fid_std"] == pytest.approx(2.0)  # ddof=1 over 3 seeds
    wgan = agg.loc[("mnist", "wgan-gp")]
    assert wgan["fid_mean"] == pytest.approx(21.0) and wgan["fid_n"] == 2
    assert wgan["n_seeds"] == 3 and wgan["n_diverged"] == 1 and wgan["diverged_at"] == [120]


def test_best_respects_each_metrics_direction():
    agg = aggregate(runs_frame())
    mnist = agg[agg.dataset == "mnist"]
    assert DIRECTIONS["fid"] == "lower" and best_variants(mnist, "fid") == {"hinge"}
    assert DIRECTIONS["modes"] == "higher" and best_variants(mnist, "modes") == {"hinge"}


def test_display_marks_best_and_shows_divergence_in_place_of_numbers():
    agg = aggregate(runs_frame())
    mnist = display_table(agg, "mnist").set_index("variant")
    assert mnist.loc["hinge", "fid ↓"] == "**9.00 ± 1.00**"
    assert mnist.loc["dcgan", "fid ↓"] == "12.00 ± 2.00"
    assert mnist.loc["dcgan", "modes ↑"] == "9.7 ± 0.6"
    assert mnist.loc["wgan-gp", "diverged"] == 1
    ring = display_table(agg, "ring8").set_index("variant")
    assert ring.loc["vanilla", "result"] == "diverged at step 40"  # no run of ring8 reached an evaluation


def test_a_small_value_is_not_shown_as_zero():
    """A coverage of 0.0004 printed to 3 decimals read "0.000", best in bold, like a true 0."""
    df = runs_frame()
    df = df[df.dataset == "mnist"].assign(coverage=[0.0004, 0.0002, 0.0, 0.0, 0.0, 0.0, 0.01, 0.02, math.nan])
    table = display_table(aggregate(df), "mnist").set_index("variant")
    assert table.loc["dcgan", "coverage ↑"] == "0.0002 ± 0.0002"
    assert table.loc["hinge", "coverage ↑"] == "0.000 ± 0.000"  # a real 0 stays as it was
    assert table.loc["wgan-gp", "coverage ↑"] == "**0.015 ± 0.007 (n=2)**"


@pytest.mark.parametrize("fmt", ["markdown", "latex", "csv", "json"])
def test_every_format_carries_the_numbers_and_the_protocol(fmt):
    text = render(runs_frame(), fmt)
    assert "12" in text
    if fmt == "json":
        payload = json.loads(text)
        mnist = next(p for p in payload if p["dataset"] == "mnist")
        assert mnist["best"]["fid"] == ["hinge"] and mnist["directions"]["fid"] == "lower"
        assert "profile quick" in mnist["protocol"] and "eval samples 2000" in mnist["protocol"]
    elif fmt == "csv":
        df = pd.read_csv(__import__("io").StringIO(text))
        assert set(df.columns) >= {"fid_mean", "fid_std", "n_diverged", "best"}
        assert df.set_index("variant").loc["hinge", "best"] == "fid modes"
    else:
        assert "profile quick" in text and "MNIST test split" in text
        assert ("**" in text) if fmt == "markdown" else ("\\textbf{" in text)


def test_latex_escapes_what_latex_would_choke_on():
    df = runs_frame()
    df["kid_mean"] = 0.004
    df["dataset"] = "folder:my_faces#1"
    text = render(df, "latex")
    # Every _, # and & is escaped; the table's own markup is left whole.
    for special in ("_", "#"):
        assert text.count(special) == text.count("\\" + special), special
    assert "kid\\_mean $\\downarrow$" in text and "folder:my\\_faces\\#1" in text
    assert "\\textbf{9.00 $\\pm$ 1.00}" in text and "\x00" not in text and "\x01" not in text
    assert text.count("\\begin{tabular}") == 1 and text.count("{") == text.count("}")


def test_runs_made_under_different_protocols_are_flagged_where_they_are_pooled():
    from ganbench.report.tables import protocol_line

    df = runs_frame()
    assert protocol_line(df, "mnist").startswith("Protocol: profile quick;")
    df.loc[df.seed == 0, "cfg.steps"] = 20
    df.loc[df.seed == 0, "eval_samples"] = 100
    line = protocol_line(df, "mnist")
    assert line.startswith("MIXED PROTOCOLS (the runs differ in steps, eval samples: their means are not comparable)")
    assert "steps 20/500" in line and "eval samples 100/2000" in line
    assert "MIXED PROTOCOLS" in render(df, "markdown")


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown format"):
        render(runs_frame(), "xml")


def test_unfinished_runs_are_counted_apart_from_failed_ones():
    df = runs_frame()
    df.loc[len(df)] = dict(df.iloc[0], seed=3, status="running", fid=math.nan, modes=math.nan)
    df.loc[len(df)] = dict(df.iloc[0], seed=4, status="failed", fid=math.nan, modes=math.nan)
    agg = aggregate(df).set_index(["dataset", "variant"])
    assert agg.loc[("mnist", "dcgan"), "n_unfinished"] == 1 and agg.loc[("mnist", "dcgan"), "n_failed"] == 1
    assert agg.loc[("mnist", "dcgan"), "fid_mean"] == pytest.approx(12.0)  # only finished runs count
    shown = display_table(aggregate(df), "mnist").set_index("variant")
    assert shown.loc["dcgan", "unfinished"] == 1 and shown.loc["dcgan", "failed"] == 1
    assert "unfinished" not in display_table(aggregate(runs_frame()), "mnist")


def test_runs_come_in_registry_order_of_dataset_then_variant(tmp_path):
    # `ganbench list` order (cheapest dataset first), then unregistered folder:PATH data.
    from ganbench.report.results import collect
    from ganbench.rundir import RunDir, atomic_write_json

    for dataset in ("mnist", "folder:/data/cats", "ring8", "grid25"):
        for variant in ("hinge", "dcgan"):
            run = RunDir(tmp_path, dataset, variant, 0)
            run.create()
            atomic_write_json(run.path / "config.json", {"config": {"dataset": dataset, "variant": variant, "seed": 0}})
            atomic_write_json(run.path / "status.json", {"status": "done", "step": 10})
    df = collect(tmp_path)
    assert list(dict.fromkeys(df["dataset"])) == ["ring8", "grid25", "mnist", "folder:/data/cats"]
    assert list(df[df.dataset == "mnist"]["variant"]) == ["dcgan", "hinge"]
    assert list(dict.fromkeys(aggregate(df)["dataset"])) == ["ring8", "grid25", "mnist", "folder:/data/cats"]


def test_a_mean_over_fewer_seeds_than_its_row_shows_its_count_in_every_format(tmp_path):
    # A row says "seeds 2", but one seed failed: its bold best is the value of one seed.
    from click.testing import CliRunner

    from ganbench.cli import cli

    out = tmp_path / "runs"
    args = ["run", "dcgan", "--dataset", "ring8", "--seeds", "0,1", "--steps", "20", "--no-progress", "--out", out]
    assert CliRunner().invoke(cli, [str(a) for a in args]).exit_code == 0
    (out / "ring8" / "dcgan" / "seed1" / "status.json").write_text(
        json.dumps({"status": "failed", "reason": "RuntimeError: boom", "step": 10})
    )

    def table(*extra):
        result = CliRunner().invoke(cli, ["table", "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        return result.stdout

    markdown = table()
    header, _, row = (line.split("|")[1:-1] for line in markdown.splitlines() if line.startswith("|"))
    cells = dict(zip((h.strip() for h in header), (c.strip() for c in row), strict=True))
    assert cells["modes ↑"] == f"**{cells['modes ↑'].strip('*').split(' (')[0]} (n=1)**"  # bold, and counted
    assert cells["seeds"] == "2" and cells["failed"] == "1"
    assert "(n=K): a mean over K of the row's seeds" in markdown
    latex = table("--format", "latex")
    assert "(n=1)" in latex and "(n=K)" in latex
    csv = pd.read_csv(__import__("io").StringIO(table("--format", "csv"))).iloc[0]
    assert (csv["n_seeds"], csv["n_failed"], csv["modes_n"]) == (2, 1, 1)
    page = tmp_path / "report.html"
    assert CliRunner().invoke(cli, ["report", "--out", str(out), "--to", str(page)]).exit_code == 0
    assert "(n=1)</strong>" in page.read_text() and "(n=K)" in page.read_text()
