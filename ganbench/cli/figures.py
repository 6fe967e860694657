"""`ganbench plot` and `ganbench report`: figures and an HTML page from run directories."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import RunError
from . import cli

OUT_OPTION = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default="runs",
    show_default=True,
    help="Folder holding the run directories.",
)


def _require_runs(out: Path):
    from ..results import collect

    if not out.is_dir():
        raise RunError(f"{out} does not exist; train something first with `ganbench run`")
    runs = collect(out)
    if runs.empty:
        raise RunError(f"no run directories under {out}")
    return runs


@cli.command("plot")
@OUT_OPTION
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
    from ..figures import make_figures

    runs = _require_runs(out)
    made = make_figures(out, to or out / "plots", pdf=pdf, runs=runs)
    for fig in made:
        click.echo(" ".join(str(p) for p in fig["paths"]))
    click.echo(f"{sum(len(f['paths']) for f in made)} files in {to or out / 'plots'}")


@cli.command("report")
@OUT_OPTION
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
    from ..report import build_report

    _require_runs(out)
    path = build_report(out, to or out / "report.html", title=title)
    click.echo(str(path))
