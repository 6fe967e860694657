"""One self-contained HTML page: what was run, the protocol, the environment, the results.

Tables are HTML, figures and sample grids are embedded as base64 PNG, and no script or
stylesheet is fetched, so the file opens offline in any browser.

Other parts of ganbench add to the page with `Section`s: a titled table and/or figures
with the protocol line that says what produced them. Either pass them ready-made
(`build_report(sections=...)`), or add a maker to `SECTION_MAKERS`: a function of a
`SectionContext` returning sections, called on every report, which writes its figures
into `ctx.fig_dir` and tells `ctx.warn` of any damaged input it leaves out.
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..rundir import atomic_write_bytes, read_json
from ..runs.sweep import is_sweep
from .figures import make_figures
from .results import collect
from .tables import aggregate, counts_note, display_table, protocol_line

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 0.3em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.protocol { color: #555; font-size: 0.85em; margin-bottom: 1.5em; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 560px; border: 1px solid #eee; }
figure.wide { display: block; }
figure.wide img { max-width: 100%; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""

WIDE_FIGURES = ("samples", "classes")  # one panel per variant: as wide as the page


@dataclass(frozen=True)
class Section:
    """An extra part of the report. `dataset` names a dataset of the runs to place it under
    that dataset's results (after its figures); None, or a dataset no run has, gives it its
    own heading after the results. `protocol` is required: a number without what produced
    it is not comparable. Cells and text are escaped; **x** in a cell is shown bold."""

    title: str
    protocol: str
    table: pd.DataFrame | None = None
    figures: tuple[Path, ...] = ()
    dataset: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "figures", tuple(Path(f) for f in self.figures))
        if self.table is None and not self.figures:
            raise ValueError(f"report section {self.title!r} has neither a table nor a figure")
        if not self.protocol.strip():
            raise ValueError(f"report section {self.title!r} has no protocol line")

    def html(self, level: int) -> list[str]:
        parts = [f"<h{level}>{html.escape(self.title)}</h{level}>"]
        if self.table is not None:
            parts.append(_bold_markdown_to_html(self.table))
        parts.append(f"<p class='protocol'>{html.escape(self.protocol)}</p>")
        parts += [f"<figure class='wide'>{_img(path, self.title)}</figure>" for path in self.figures]
        return parts


@dataclass(frozen=True)
class SectionContext:
    """What a section maker gets: the output folder, its runs (as `results.collect` gives
    them), a folder for its figures (alive until the page is written), and `warn`."""

    out: Path
    runs: pd.DataFrame
    fig_dir: Path
    warn: Callable[[str], None]


SectionMaker = Callable[[SectionContext], Iterable[Section]]


# Called by every build_report (unless it is given makers=...), in this order. Wiring a new
# kind of result into `ganbench report` is one import and one entry here.
def sweep_sections(ctx: SectionContext) -> list[Section]:
    """A sweep's folder (ganbench sweep): per dataset, the best trial of each variant with its
    reruns, the budget curves and every trial's score, under the sweep's protocol line."""
    from . import sweep

    if not is_sweep(ctx.out):
        return []
    protocol = sweep.protocol_of(ctx.out)
    return [
        Section(f"Sweep on {ds}: each variant tuned", protocol, table=table, figures=tuple(figures), dataset=ds)
        for ds, table, figures in sweep.dataset_parts(ctx.out, ctx.fig_dir)
    ]


SECTION_MAKERS: list[SectionMaker] = [sweep_sections]


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _bold_markdown_to_html(frame: pd.DataFrame) -> str:
    table = frame.to_html(index=False, escape=True, border=0)
    # display_table marks the best cell with **...**; show it in bold.
    import re

    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", table)


def _environment(runs: pd.DataFrame) -> dict:
    for run_dir in runs["run_dir"]:
        record = read_json(Path(run_dir) / "config.json") or {}
        if record.get("environment"):
            return record["environment"]
    return {}


def build_report(
    out: Path,
    path: Path,
    title: str = "ganbench report",
    runs: pd.DataFrame | None = None,
    warn=None,
    sections: Iterable[Section] = (),
    makers: Iterable[SectionMaker] | None = None,
) -> Path:
    """Write the page for `out` to `path`; `warn` is told of each damaged file left out.
    `sections`, then those of `makers` (default: SECTION_MAKERS), are added to the page."""
    runs = collect(out, warn=warn) if runs is None else runs
    makers = list(SECTION_MAKERS if makers is None else makers)
    agg = aggregate(runs)
    env = _environment(runs)
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]

    datasets = list(dict.fromkeys(runs["dataset"]))
    variants = list(dict.fromkeys(runs["variant"]))
    seeds = sorted({int(s) for s in runs["seed"].dropna()})
    statuses = runs["status"].value_counts().to_dict()
    parts.append("<h2>What was run</h2><ul>")
    parts.append(
        f"<li>{len(runs)} runs from <code>{html.escape(str(out))}</code>: "
        + ", ".join(f"{n} {html.escape(s)}" for s, n in statuses.items())
        + "</li>"
    )
    parts.append(f"<li>datasets: {html.escape(', '.join(datasets))}</li>")
    parts.append(f"<li>variants: {html.escape(', '.join(variants))}</li>")
    parts.append(f"<li>seeds: {html.escape(', '.join(map(str, seeds)))}</li></ul>")

    parts.append("<h2>Environment</h2><ul>")
    versions = env.get("versions", {})
    parts.append("<li>" + html.escape(", ".join(f"{k} {v}" for k, v in versions.items() if v)) + "</li>")
    parts.append(f"<li>python {html.escape(str(env.get('python')))}, {html.escape(str(env.get('platform')))}</li>")
    parts.append(f"<li>device: {html.escape(str(env.get('device')))} ({html.escape(str(env.get('device_name')))})</li>")
    git = env.get("git") or {}
    dirty = " (with uncommitted changes)" if git.get("dirty") else ""
    parts.append(f"<li>git commit: <code>{html.escape(str(git.get('commit')))}</code>{dirty}</li></ul>")

    with tempfile.TemporaryDirectory() as tmp:
        figures = make_figures(out, Path(tmp), runs=runs, warn=warn)
        extra = list(sections)
        for k, maker in enumerate(makers):
            fig_dir = Path(tmp) / f"section{k}"
            fig_dir.mkdir()
            extra += maker(SectionContext(Path(out), runs, fig_dir, warn or (lambda message: None)))
        parts.append("<h2>Results</h2>")
        for ds in datasets:
            parts.append(f"<h3>{html.escape(ds)}</h3>")
            table = display_table(agg, ds)
            note = " ".join(filter(None, [protocol_line(runs, ds), counts_note(table)]))
            parts.append(_bold_markdown_to_html(table))
            parts.append(f"<p class='protocol'>{html.escape(note)}</p>")
            for fig in (f for f in figures if f["dataset"] == ds):
                # Each figure draws its own title, so no caption repeats it; the samples (one
                # panel per variant) get the page's width.
                wide = " class='wide'" if fig["kind"] in WIDE_FIGURES else ""
                parts.append(f"<figure{wide}>{_img(fig['paths'][0], fig['title'])}</figure>")
            for section in (x for x in extra if x.dataset == ds):
                parts += section.html(4)
        for section in (x for x in extra if x.dataset not in datasets):
            parts += section.html(2)
        # A sweep's trials are a search, not seeds: its protocol table is its reruns'.
        if is_sweep(out):
            from .sweep import protocol_frame

            parts.extend(_protocol_sections(protocol_frame(out)))
        else:
            parts.extend(_protocol_sections(runs))
    parts.append("<h2>Per-run data</h2><details><summary>every run (JSON)</summary><pre>")
    cols = ["dataset", "variant", "seed", "status", "step", "reason", "wall_time_s", "steps_per_s"]
    parts.append(html.escape(json.dumps(json.loads(runs[cols].to_json(orient="records")), indent=1)))
    parts.append("</pre></details></body></html>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, "\n".join(parts).encode("utf-8"))
    return path


def _protocol_sections(runs) -> list[str]:
    """Per registered protocol with runs here: its banner and, per dataset, ours beside the paper's."""
    from ..protocols import PROTOCOLS
    from .protocols import banner, compare, display

    names = [n for n in PROTOCOLS if "cfg.protocol" in runs and (runs["cfg.protocol"] == n).any()]
    parts = []
    for name in names:
        proto = PROTOCOLS[name]
        cmp = compare(runs, proto)
        parts.append(f"<h2>Against the paper: {html.escape(proto.title)}</h2>")
        parts.append(f"<p class='protocol'><strong>{html.escape(banner(runs, proto))}</strong></p>")
        for ds in proto.datasets:
            parts.append(f"<h3>{html.escape(ds)}</h3>")
            parts.append(display(cmp, ds).to_html(index=False, escape=True))
    return parts
