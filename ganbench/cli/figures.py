"""`ganbench plot`, `ganbench report` and `ganbench export-tb`: figures, an HTML page and
TensorBoard event files from run directories."""

from __future__ import annotations

from pathlib import Path

import click

from . import cli
from .options import RUNS_OPTION, echo_err, require_runs


@cli.command("plot")
@RUNS_OPTION
@click.option(
    "--to",
    "to",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the figures (default: <out>/plots).",
)
@click.option("--pdf", is_flag=True, help="Also write each figure as PDF.")
def plot_cmd(out: Path, to: Path | None, pdf: bool) -> None:
    """Metric curves, final-metric bars, side-by-side samples and class histograms."""
    from ..report.figures import make_figures

    runs = require_runs(out)
    made = make_figures(out, to or out / "plots", pdf=pdf, runs=runs, warn=echo_err)
    for fig in made:
        click.echo(" ".join(str(p) for p in fig["paths"]))
    click.echo(f"{sum(len(f['paths']) for f in made)} files in {to or out / 'plots'}")


@cli.command("report")
@RUNS_OPTION
@click.option(
    "--to",
    "to",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The HTML file to write (default: <out>/report.html).",
)
@click.option("--title", default="ganbench report", show_default=True)
def report_cmd(out: Path, to: Path | None, title: str) -> None:
    """One self-contained HTML page with the tables, figures and samples."""
    from ..report.page import build_report

    runs = require_runs(out)
    path = build_report(out, to or out / "report.html", title=title, runs=runs, warn=echo_err)
    click.echo(str(path))


@cli.command("export-tb")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
def export_tb_cmd(run_dirs) -> None:
    """Rebuild RUN_DIRS' TensorBoard event files (<run>/tb/) from their metrics.jsonl, for runs
    trained without --tensorboard: every loss and metric at its step, the config, and the
    final samples.png (needs pip install 'ganbench[tensorboard]')."""
    from ..report import tb

    tb.require()
    for run_dir in run_dirs:
        n = tb.export(run_dir)
        click.echo(f"{run_dir / 'tb'}: {n} records")
