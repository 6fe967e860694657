"""`ganbench baseline` and `ganbench check`: stability regression checks for CI.

Exit codes of `check`: 0 every verdict passes, 1 a regression (or a fault while checking,
such as data that cannot be loaded), 2 the check could not be done as asked (missing or
malformed baseline, protocol mismatch, bad tolerance, runs missing from --runs), 3 every
verdict passes but the --junit-xml report could not be written.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..config import MAX_EVAL_SAMPLES, PROFILES
from ..errors import ReportNotWritten
from . import cli
from .metric_options import INCEPTION_WEIGHTS_OPTION
from .options import (
    DATA_ROOT_OPTION,
    RUNS_OPTION,
    TENSORBOARD_OPTION,
    CommaList,
    count,
    echo_err,
    flatten,
    tensorboard_observers,
)


@cli.command("baseline")
@RUNS_OPTION
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    default="baseline.json",
    show_default=True,
    help="Baseline file to write.",
)
@click.option("--datasets", type=CommaList(str), multiple=True, help="Only these datasets (default: all runs).")
@click.option("--variants", type=CommaList(str), multiple=True, help="Only these variants (default: all runs).")
def baseline_cmd(out: Path, output: Path, datasets, variants) -> None:
    """Turn finished runs into a baseline: per (dataset, variant) the final metrics' mean
    and std over seeds, the seed and divergence counts, the protocol and the environment."""
    from ..stability import baseline

    doc = baseline.from_runs(out, flatten(datasets), flatten(variants))
    baseline.write(output, doc)
    runs = sum(e["n_seeds"] for e in doc["entries"])
    diverged = sum(e["n_diverged"] for e in doc["entries"])
    for e in doc["entries"]:
        p = e["protocol"]
        shown = ", ".join(f"{m} {v['mean']:.4g}" for m, v in e["metrics"].items() if v["mean"] is not None)
        click.echo(
            f"{e['dataset']}/{e['variant']}: {e['n_seeds']} seeds, {e['n_diverged']} diverged; "
            f"{shown or 'no metric'} (profile {p['profile']}, {p['steps']} steps)"
        )
    click.echo(f"wrote {output}: {len(doc['entries'])} (dataset, variant) pairs from {runs} runs, {diverged} diverged")


@cli.command("check")
@click.option(
    "--baseline",
    "baseline_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Baseline JSON file, or a folder of them, one per CPU model: the one made on this machine's CPU is used.",
)
@click.option(
    "--profile",
    type=click.Choice(list(PROFILES)),
    default=None,
    help="Expected profile; refused if the baseline used another. [default: the baseline's]",
)
@click.option("--steps", type=count(min=1), help="Expected steps; refused if the baseline used others.")
@click.option(
    "--eval-samples", type=click.IntRange(1, MAX_EVAL_SAMPLES), help="Expected evaluation samples; refused likewise."
)
@click.option("--datasets", type=CommaList(str), multiple=True, help="Check only these datasets of the baseline.")
@click.option("--variants", type=CommaList(str), multiple=True, help="Check only these variants of the baseline.")
@click.option("--seeds", type=CommaList(int), multiple=True, help="Seeds to run. [default: the baseline's]")
@click.option(
    "--runs",
    type=click.Path(path_type=Path),
    default=None,
    help="Judge the finished runs in this folder instead of training new ones.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the check's runs here (runs of the same dataset/variant/seed are replaced). "
    "[default: a temporary folder, removed]",
)
@click.option(
    "--junit-xml", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write verdicts as JUnit XML."
)
@click.option(
    "--tolerance",
    "tolerances",
    multiple=True,
    metavar="METRIC=VALUE",
    help="Floor of a metric's slack: an absolute number (modes=2) or a percentage of the baseline mean (fid=5%); "
    "diverged=N allows N more diverged runs. Repeatable; overrides pyproject.toml [tool.ganbench.check].",
)
@click.option(
    "--std-multiplier",
    type=click.FloatRange(min=0),
    default=None,
    help="k in slack = max(k x std over the baseline's seeds, floor). [default: 3, or pyproject.toml]",
)
@click.option(
    "--pyproject",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="pyproject.toml to read [tool.ganbench.check] from. [default: the nearest one from here up]",
)
@click.option("--device", default=None, help="auto, cpu or cuda[:N]. [default: the baseline's device]")
@DATA_ROOT_OPTION
@INCEPTION_WEIGHTS_OPTION
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@TENSORBOARD_OPTION
@click.option(
    "--jobs",
    type=count(min=1),
    default=1,
    show_default=True,
    help="Runs trained at once, each in its own process (as for `ganbench run`).",
)
def check_cmd(
    baseline_path,
    profile,
    steps,
    eval_samples,
    datasets,
    variants,
    seeds,
    runs,
    out,
    junit_xml,
    tolerances,
    std_multiplier,
    pyproject,
    device,
    data_root,
    inception_weights,
    no_progress,
    jobs,
    tensorboard,
):
    """Rerun what a baseline covers under its protocol (or judge --runs DIR) and compare.

    Prints one row per (dataset, variant, metric): baseline, now, allowed range, verdict.
    Exit 0: all pass. Exit 1: a regression (a metric worse than allowed, a run that
    diverged where the baseline had none, a crash). Exit 2: the check could not be done
    as asked (missing or malformed baseline, protocol mismatch, bad options). Exit 3: all
    pass, but the --junit-xml report could not be written (with a regression: exit 1).
    """
    from ..stability import junit
    from ..stability.check import run_check
    from ..stability.tolerance import parse_cli_overrides, resolve_tolerance

    tolerance = resolve_tolerance(parse_cli_overrides(tolerances), std_multiplier, pyproject or True)
    seed_list = flatten(seeds)
    if any(s < 0 for s in seed_list):
        from ..errors import UsageError

        raise UsageError(f"seeds must be >= 0, got {seed_list}")
    report = run_check(
        baseline_path,
        runs=runs,
        out=out,
        datasets=flatten(datasets),
        variants=flatten(variants),
        seeds=seed_list,
        profile=profile,
        steps=steps,
        eval_samples=eval_samples,
        device=device,
        tolerance=tolerance,
        inception_weights=inception_weights,
        data_root=data_root,
        progress=not no_progress,
        echo=echo_err,
        jobs=jobs,
        observers=tensorboard_observers(tensorboard),
    )
    click.echo(report.text())
    if junit_xml is not None:
        try:
            junit.write(
                junit_xml, report.verdicts, properties={"baseline": baseline_path, "runs": report.runs or "temp"}
            )
        except ReportNotWritten as exc:
            if report.passed:
                raise  # exit 3: the code is fine, the report is not
            echo_err(f"Error: {exc}")  # a regression outranks it: exit 1, as without --junit-xml
            return 1
        click.echo(f"wrote {junit_xml}", err=True)
    return 0 if report.passed else 1
