"""`ganbench list` and `ganbench table`: read-only views of the registries and of runs."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import click

from .. import plugins
from ..config import PROFILES
from ..data import DATASET_FACTORIES, DATASETS, data_root
from ..losses import LOSSES, PENALTIES
from ..nets import ARCHS
from ..spec import TRAINING_FIELDS, Variant
from . import cli
from .options import RUNS_OPTION, require_runs


def _field_default(name: str):
    """A Variant field's default, as hyperparameters() prints it (tuples as lists)."""
    default = next(f.default for f in dataclasses.fields(Variant) if f.name == name)
    return list(default) if isinstance(default, tuple) else default


@cli.command("list")
def list_cmd() -> None:
    """Every registered variant, net family, loss, penalty and dataset, with its key
    hyperparameters, its paper and where it comes from (built-in, or a plugin)."""
    from ..runs.plan import VARIANTS

    if plugins.loaded():
        click.echo("Plugins")
        for p in plugins.loaded():
            click.echo(f"  {p['source']}" + (f" (sha256 {p['sha256']})" if p["sha256"] else ""))
        click.echo("")
    click.echo("Variants")
    for v in VARIANTS.values():
        hp = v.hyperparameters()
        penalty = f", {hp['penalty']} x{hp['penalty_weight']:g}" if hp["penalty"] else ""
        click.echo(f"  {v.name:<9} {v.summary}")
        click.echo(
            f"  {'':<9} arch={hp['arch']} loss={hp['d_loss']}/{hp['g_loss']} n_critic={hp['n_critic']}{penalty} "
            f"G-norm={hp['g_norm']} D-norm={hp['d_norm']} {hp['optimizer']}(lr_d={hp['lr_d']:g}, "
            f"lr_g={hp['lr_g']:g}, betas={tuple(hp['betas'])})"
        )
        shaped = [f"{k}={hp[k]}" for k in TRAINING_FIELDS if hp[k] != _field_default(k)]
        if shaped:
            click.echo(f"  {'':<9} nets and step: {' '.join(shaped)}")
        if hp["points_overrides"]:
            changes = ", ".join(f"{k}={val}" for k, val in hp["points_overrides"].items())
            click.echo(f"  {'':<9} on 2-D data, as in the authors' toy code: {changes}")
        click.echo(f"  {'':<9} {v.paper}")
        for departure in v.departures:
            click.echo(f"  {'':<9} departs from the authors' code: {departure}")
        click.echo(f"  {'':<9} from: {plugins.origin_of('variant', v.name)}")
    click.echo("\nNet families")
    for arch in ARCHS.values():
        click.echo(f"  {arch.name:<9} {arch.summary}; from: {plugins.origin_of('arch', arch.name)}")
    for title, kind, table in (("Losses", "loss", LOSSES), ("Penalties", "penalty", PENALTIES)):
        click.echo(f"\n{title}")
        for name in table:
            click.echo(f"  {name:<17} from: {plugins.origin_of(kind, name)}")
    click.echo("\nDatasets")
    root = data_root(None)
    for spec in DATASETS.values():
        where = spec.locate(root)
        avail = f"available ({where})" if where else "not on this machine: " + spec.how_to_get
        click.echo(f"  {spec.name:<13} {spec.summary}; batch {spec.batch_size}, z_dim {spec.z_dim}")
        click.echo(f"  {'':<13} {spec.citation}")
        click.echo(f"  {'':<13} {avail}")
        click.echo(f"  {'':<13} from: {plugins.origin_of('dataset', spec.name)}")
    for prefix in DATASET_FACTORIES:
        from ..data.folder import SUMMARY

        lines = textwrap.wrap(SUMMARY, 84)
        click.echo(f"  {prefix + ':PATH':<13} {lines[0]}")
        for line in lines[1:]:
            click.echo(f"  {'':<13} {line}")
    from ..protocols import PROTOCOLS

    click.echo(
        "\nProtocols (ganbench run --protocol NAME, a search study: ganbench sweep --protocol NAME; "
        "ganbench table --protocol NAME)"
    )
    for proto in PROTOCOLS.values():
        click.echo(f"  {proto.name:<21} {proto.title}")
        click.echo(f"  {'':<21} rows: {', '.join(f'{r.label} = {r.variant}' for r in proto.rows)}")
        if proto.search is None:
            length = f"{proto.settings['steps']:,} steps; {proto.trials} trials, ± {proto.error}"
        else:
            s = proto.search
            length = (
                f"search study (ganbench sweep --protocol {proto.name}): {s.trials} trials of {s.space} "
                f"at {proto.settings['steps']:,} steps, scored on {s.metric} at {s.select}; "
                f"the best rerun {proto.trials} times, ± {proto.error}"
            )
        click.echo(f"  {'':<21} datasets: {', '.join(proto.datasets)}; {length}")
        click.echo(f"  {'':<21} {proto.citation}")
        click.echo(f"  {'':<21} code: {proto.code}")
        click.echo(f"  {'':<21} from: {plugins.origin_of('protocol', proto.name)}")
    click.echo("\nProfiles (steps for 2-D points / images)")
    for name, kinds in PROFILES.items():
        click.echo(f"  {name:<6} {kinds['points']['steps']} / {kinds['images']['steps']}")


@cli.command("table")
@RUNS_OPTION
@click.option(
    "--format", "fmt", type=click.Choice(["markdown", "csv", "latex", "json"]), default="markdown", show_default=True
)
@click.option("--per-run", is_flag=True, help="One row per run instead of the comparison over seeds.")
@click.option(
    "--protocol",
    help="Compare this protocol's runs under --out with its paper's table: ours (± the protocol's error kind) "
    "beside the paper's, a verdict per cell, and the deviations over every table.",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the per-run CSV (default: <out>/runs.csv).",
)
def table_cmd(out: Path, fmt: str, per_run: bool, protocol: str | None, csv_path: Path | None) -> None:
    """Compare variants: per dataset, mean ± std over seeds of every final metric.

    Writes the per-run table to <out>/runs.csv and the comparison to
    <out>/comparison.<md|csv|tex|json>.
    """
    import pandas as pd

    from ..report.results import display_frame
    from ..report.tables import render
    from ..rundir import atomic_write_bytes

    if protocol is not None:
        from ..protocols import get_protocol

        get_protocol(protocol)  # an unknown name fails before anything is written
    df = require_runs(out)
    csv_path = csv_path or out / "runs.csv"
    atomic_write_bytes(csv_path, df.to_csv(index=False).encode())
    if per_run:
        with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 40):
            click.echo(display_frame(df).to_string(index=False))
        return
    suffix = {"markdown": "md", "csv": "csv", "latex": "tex", "json": "json"}[fmt]
    if protocol is not None:
        from ..protocols import get_protocol
        from ..report.protocols import render_protocol
        from ..report.sweep import protocol_frame
        from ..runs.sweep import is_sweep

        if is_sweep(out):  # a sweep's trials are a search, not seeds: its reruns make the table
            df = protocol_frame(out)
        text = render_protocol(df, get_protocol(protocol), fmt)
        atomic_write_bytes(out / f"protocol-{protocol}.{suffix}", text.encode())
        click.echo(text)
        return
    text = render(df, fmt)
    atomic_write_bytes(out / f"comparison.{suffix}", text.encode())
    click.echo(text)
