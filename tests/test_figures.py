"""ganbench plot and ganbench report on real (tiny) runs: every figure, every table."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import mnist_available

from ganbench.cli import cli

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    common = [
        "--profile",
        "smoke",
        "--steps",
        "60",
        "--log-every",
        "20",
        "--eval-every",
        "30",
        "--no-progress",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(cli, ["run", "dcgan", "hinge", "--dataset", "ring8", "--seeds", "0,1", *common])
    assert result.exit_code == 0, result.output
    diverging = ["run", "lsgan", "--dataset", "ring8", "--lr-d", "1e6", "--lr-g", "1e6", *common]
    assert CliRunner().invoke(cli, diverging).exit_code == 0
    if mnist_available():
        mnist = [
            "run",
            "dcgan",
            "lsgan",
            "--dataset",
            "mnist",
            "--data-limit",
            "512",
            "--batch-size",
            "32",
            "--eval-samples",
            "300",
            *common[:-2],
            "--steps",
            "20",
            "--eval-every",
            "10",
            "--out",
            str(out),
        ]
        result = CliRunner().invoke(cli, mnist)
        assert result.exit_code == 0, result.output
    return out


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.images, self.headings, self.external = 0, [], [], []
        self._in_h = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables += 1
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag in ("script", "link") or (tag == "img" and not attrs.get("src", "").startswith("data:")):
            self.external.append(tag)
        self._in_h = tag in ("h2", "h3")

    def handle_data(self, data):
        if self._in_h:
            self.headings.append(data.strip())
            self._in_h = False


def test_plot_writes_png_and_pdf_for_every_kind_of_figure(runs_dir, tmp_path):
    result = CliRunner().invoke(cli, ["plot", "--out", str(runs_dir), "--to", str(tmp_path), "--pdf"])
    assert result.exit_code == 0, result.output
    names = {p.name for p in tmp_path.iterdir()}
    for stem in ("ring8_modes_curve", "ring8_hq_frac_curve", "ring8_reverse_kl_bar", "ring8_samples_seed0"):
        assert f"{stem}.png" in names and f"{stem}.pdf" in names, names
    for p in tmp_path.glob("*.png"):
        assert p.read_bytes()[:8] == PNG and p.stat().st_size > 5000, p
    if mnist_available():
        assert {"mnist_modes_curve.png", "mnist_mnist_fid_bar.png", "mnist_classes_seed0.png"} <= names


def test_report_is_one_self_contained_page_with_every_table_and_image(runs_dir, tmp_path):
    path = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", "--out", str(runs_dir), "--to", str(path)])
    assert result.exit_code == 0, result.output
    page = Page()
    page.feed(path.read_text())
    datasets = ["mnist", "ring8"] if mnist_available() else ["ring8"]
    assert page.tables == len(datasets)  # one comparison table per dataset
    for ds in datasets:
        assert ds in page.headings
    assert not page.external  # nothing to fetch: opens offline
    assert len(page.images) >= (14 if mnist_available() else 7)
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG
    text = path.read_text()
    for fact in ("Environment", "torch", "git commit", "Protocol: profile smoke", "diverged", "dcgan", "hinge"):
        assert fact in text, fact


# --- each sample panel is titled once ------------------------------------------------------
def _panel_titles(runs, monkeypatch, tmp_path) -> list[str]:
    """The axes titles of the side-by-side samples figure for `runs` (seed 0)."""
    from ganbench.report import plots

    shown = []
    monkeypatch.setattr(plots, "_finish", lambda fig, path, pdf: shown.append(fig) or [path])
    assert plots.samples_side_by_side(runs, "ring8", 0, tmp_path / "s") == [tmp_path / "s"]
    return [ax.get_title() for ax in shown[0].axes]


def test_samples_png_draws_no_title_and_keeps_it_as_text(tmp_path):
    import io

    import torch
    from PIL import Image

    from ganbench.core.samples import Sampler, scatter_points_png, write_samples
    from ganbench.data import load_dataset

    data = load_dataset("ring8", None, torch.device("cpu"))
    torch.manual_seed(0)
    sampler = Sampler(torch.nn.Linear(2, 2), z_dim=2, device=torch.device("cpu"))
    write_samples(sampler, data, tmp_path / "samples.png", "dcgan on ring8, step 60")
    with Image.open(tmp_path / "samples.png") as im:
        written, info = im.size, im.info
    points, centres = sampler.sample(2500).numpy(), data.extras["centres"].numpy()
    titled = Image.open(io.BytesIO(scatter_points_png(points, centres, "dcgan on ring8, step 60"))).size
    untitled = Image.open(io.BytesIO(scatter_points_png(points, centres))).size
    assert info["Title"] == "dcgan on ring8, step 60"
    assert written == untitled and titled[1] > untitled[1]  # a drawn title makes the image taller


def test_each_sample_panel_is_titled_once(tmp_path, monkeypatch):
    """New samples.png (no drawn title): the panel says variant, step and status. An older
    one with its title drawn: the panel adds only a status other than done."""
    import numpy as np
    import pandas as pd

    from ganbench.core.samples import scatter_points_png

    points, centres = np.zeros((10, 2)), np.ones((8, 2))
    rows = []
    for variant, status, caption in [("dcgan", "done", "dcgan on ring8, step 60"), ("lsgan", "diverged", None)]:
        run = tmp_path / variant
        run.mkdir()
        drawn = "" if caption else f"{variant} on ring8, step 40"  # None: as older ganbench wrote it
        (run / "samples.png").write_bytes(scatter_points_png(points, centres, drawn, caption=caption))
        rows.append({"dataset": "ring8", "seed": 0, "variant": variant, "status": status, "run_dir": str(run)})
    rows[0]["step"], rows[1]["step"] = 60, 40
    assert _panel_titles(pd.DataFrame(rows), monkeypatch, tmp_path) == ["dcgan, step 60", "(diverged)"]
    rows[1]["status"] = "done"
    assert _panel_titles(pd.DataFrame(rows), monkeypatch, tmp_path) == ["dcgan, step 60", ""]


def test_curve_ticks_are_the_evaluated_steps_and_values_carry_no_offset(tmp_path, monkeypatch):
    """A lone evaluation at step 10 gets one tick "10" (not 9.6 ... 10.4), and values near 1
    are printed as themselves, not as an offset ("1e-5+1")."""
    import pandas as pd

    from ganbench.report import plots

    shown = []
    monkeypatch.setattr(plots, "_finish", lambda fig, path, pdf: shown.append(fig) or [path])
    rows = [
        {"dataset": "mnist", "variant": v, "seed": 0, "step": 10, "mnist_is": x}
        for v, x in [("a", 1.00007), ("b", 1.00006)]
    ]
    assert plots.metric_curves(pd.DataFrame(rows), "mnist", "mnist_is", tmp_path / "c")
    ax = shown[0].axes[0]
    shown[0].canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10"]
    assert ax.yaxis.get_major_formatter().get_offset() == ""


def test_plot_and_report_on_an_empty_folder_are_one_line_errors(tmp_path):
    for command in ("plot", "report"):
        result = CliRunner().invoke(cli, [command, "--out", str(tmp_path)])
        assert result.exit_code == 1 and result.output.startswith("Error: no run directories")


def test_curves_take_one_record_per_seed_and_step_the_last(tmp_path):
    import json

    import pandas as pd

    from ganbench.report.plots import eval_history

    runs = []
    for seed, rescored in ((0, 0.9), (1, None)):
        run = tmp_path / f"seed{seed}"
        run.mkdir()
        records = [{"type": "train", "step": 30}, {"type": "eval", "step": 30, "modes": 2}]
        records.append({"type": "eval", "step": 60, "modes": 4 + seed, "protocol": {"sampling": {}}})
        if rescored is not None:  # `ganbench eval` appended a second record at the final step
            records.append({"type": "eval", "step": 60, "modes": rescored})
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        runs.append({"dataset": "ring8", "variant": "dcgan", "seed": seed, "run_dir": str(run)})
    history = eval_history(pd.DataFrame(runs))
    assert len(history) == 4  # 2 seeds x 2 steps
    final = history[history.step == 60].set_index("seed")["modes"]
    assert final.to_dict() == {0: 0.9, 1: 5}
    assert eval_history(pd.DataFrame(runs[:0], columns=["dataset", "variant", "seed", "run_dir"])).empty


# --- extra sections (protocol-vs-paper tables, sweep figures) -----------------------------
def test_report_places_extra_sections_with_their_protocol_lines(one_run, tmp_path):
    import pandas as pd

    from ganbench.report.page import Section, build_report

    seen = []

    def sweep_figures(ctx):
        seen.append((ctx.out, len(ctx.runs), ctx.fig_dir.is_dir()))
        fig = ctx.fig_dir / "lr.png"
        fig.write_bytes((one_run / "ring8" / "dcgan" / "seed0" / "samples.png").read_bytes())
        return [Section("lr sweep <all>", "Protocol: sweep of lr_d over 3 values", figures=[fig])]

    paper = pd.DataFrame({"variant": ["dcgan"], "ours": ["**4.0**"], "paper": ["7.9 ± 0.1"]})
    near = Section("dcgan: ours vs the paper", "Protocol: PacGAN ring8, 10 trials", table=paper, dataset="ring8")
    path = build_report(one_run, tmp_path / "r.html", sections=[near], makers=[sweep_figures])
    text = path.read_text()
    assert seen == [(one_run, 1, True)]
    page = Page()
    page.feed(text)
    assert page.headings == ["What was run", "Environment", "Results", "ring8", "lr sweep <all>", "Per-run data"]
    assert page.tables == 2 and not page.external
    order = [
        text.index(x) for x in ("<h3>ring8", "<h4>dcgan: ours vs the paper", "10 trials", "<h2>lr sweep &lt;all&gt;")
    ]
    assert order == sorted(order)
    assert "<strong>4.0</strong>" in text and "Protocol: sweep of lr_d over 3 values" in text
    assert sum(src.startswith("data:image/png;base64,") for src in page.images) == len(page.images) > 1


def test_a_section_without_protocol_or_content_is_refused():
    import pandas as pd

    from ganbench.report.page import Section

    with pytest.raises(ValueError, match="no protocol line"):
        Section("t", " ", table=pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match="neither a table nor a figure"):
        Section("t", "Protocol: x")


# --- damaged run directories: plot and report use what is left, and say what is wrong -----
def _damage(run: Path, kind: str) -> str:
    """Damage the run directory `run` one way; returns what the warning must name."""
    if kind == "empty config.json":
        (run / "config.json").write_text("")
        return "config.json is empty"
    if kind == "config.json not JSON":
        (run / "config.json").write_text('{"config": {"dataset": "ring8",')
        return "config.json is not JSON"
    if kind == "truncated metrics.jsonl":
        text = (run / "metrics.jsonl").read_bytes()
        (run / "metrics.jsonl").write_bytes(text[: len(text) - 40])  # the last record cut mid-line
        return "metrics.jsonl: 1 of"
    if kind == "metric not a number":
        (run / "metrics.jsonl").write_text('{"type": "eval", "step": 40, "modes": "seven", "hq_frac": 0.5}\n')
        return "modes of the last evaluation not a number"
    if kind == "missing status.json":
        (run / "status.json").unlink()
        return "status.json is missing"
    if kind == "samples.png not an image":
        (run / "samples.png").write_text("not a png")
        return "samples.png is not a readable image"
    if kind == "missing samples.png":
        (run / "samples.png").unlink()
        return ""
    raise AssertionError(kind)


DAMAGE = [
    "empty config.json",
    "config.json not JSON",
    "truncated metrics.jsonl",
    "metric not a number",
    "missing status.json",
    "samples.png not an image",
    "missing samples.png",
]


@pytest.fixture(scope="module")
def one_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one")
    args = ["run", "dcgan", "--dataset", "ring8", "--steps", "40", "--eval-every", "20", "--no-progress"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("kind", DAMAGE)
def test_plot_and_report_survive_a_damaged_run_and_name_it(one_run, tmp_path, kind):
    import shutil

    out = tmp_path / "runs"
    shutil.copytree(one_run, out)
    run = out / "ring8" / "dcgan" / "seed0"
    expected = _damage(run, kind)
    plot = CliRunner().invoke(cli, ["plot", "--out", str(out), "--to", str(tmp_path / "plots")])
    report = CliRunner().invoke(cli, ["report", "--out", str(out), "--to", str(tmp_path / "r.html")])
    table = CliRunner().invoke(cli, ["table", "--out", str(out)])
    for result in (plot, report, table):
        assert result.exit_code == 0, result.output
        assert "internal error" not in result.output and "Traceback" not in result.output
        if expected and not (result is table and "samples.png" in kind):  # the table reads no image
            warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
            assert len(warnings) == 1 and str(run) in warnings[0] and expected in warnings[0], result.stderr
    assert "| dcgan " in table.stdout  # the run keeps its row, under its directory's names
    # The figures that the damaged files still allow are drawn; the page has its table.
    assert list((tmp_path / "plots").glob("ring8_*_curve.png")), plot.output
    samples = (tmp_path / "plots" / "ring8_samples_seed0.png").exists()
    assert samples == (kind not in ("samples.png not an image", "missing samples.png")), kind
    page = Page()
    page.feed((tmp_path / "r.html").read_text())
    assert page.tables == 1 and "ring8" in page.headings
