"""`ganbench sweep`: random hyperparameter search with equal budgets (Lucic et al. 2018)."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import PROFILES, RunOptions, resolve_device
from ..core.record import existing_state
from ..errors import UsageError
from ..metrics.evaluate import make_evaluator
from ..protocols import get_protocol
from ..report import sweep as sweep_report
from ..runs import space as spaces
from ..runs import sweep as sweep_plan
from ..runs.plan import get_variant, registered_variants, take_shard
from ..runs.sweep import TRIAL_SEED
from . import cli
from .metric_options import eval_settings, metric_options
from .options import (
    DATA_ROOT_OPTION,
    DEVICE_OPTION,
    TENSORBOARD_OPTION,
    CommaList,
    backend_options,
    check_backend,
    count,
    deviation_banner,
    echo_err,
    flatten,
    run_on_backend,
    tensorboard_observers,
)

# Metrics an evaluator computes only with --inception (off by default on a CPU).
INCEPTION_METRICS = ("fid", "kid_mean", "precision", "recall", "density", "coverage", "is_mean")


@cli.command("sweep")
@click.argument("variants", nargs=-1)
@click.option("--all", "all_variants", is_flag=True, help="Sweep every registered variant.")
@click.option(
    "--dataset",
    "--datasets",
    "datasets",
    type=CommaList(str),
    multiple=True,
    help="Dataset(s); required unless --protocol names them.",
)
@click.option(
    "--space",
    "space_name",
    default="lucic-wide",
    show_default=True,
    help=f"A built-in space ({', '.join(spaces.BUILTIN)}) or a TOML/YAML FILE (docs/sweeps.md).",
)
@click.option("--trials", type=count(min=1), required=True, help="Sampled configurations per variant and dataset.")
@click.option(
    "--seeds",
    "rerun_seeds",
    type=count(min=0),
    default=3,
    show_default=True,
    help="Reruns of each variant's best configuration, with seeds 1..K (the trials use seed 0).",
)
@click.option("--sample-seed", type=count(min=0), default=0, show_default=True, help="Seeds the sampler.")
@click.option("--profile", type=click.Choice(list(PROFILES)), default="quick", show_default=True)
@click.option(
    "--protocol",
    help="A search study from `ganbench list` (lucic-2018): its rows, datasets, fixed settings, length, space, "
    "budget, selection and metric are the defaults, every departure is recorded as a deviation, and "
    "OUT/report/protocol.md sets the reruns beside the paper's table.",
)
@click.option("--steps", type=count(min=1), help="Generator steps (overrides the profile).")
@click.option("--eval-every", type=count(min=0), help="Steps between evaluations (0: only at the end).")
@click.option("--eval-samples", type=count(min=1), help="Generated samples per evaluation.")
@click.option("--checkpoint-every", type=count(min=1), help="Steps between checkpoints.")
@click.option("--cpu-threads", type=count(min=1), help="Torch threads per run on a CPU. [default: 1]")
@click.option(
    "--select",
    type=click.Choice(sweep_report.SELECT),
    default="final",
    show_default=True,
    help="Score a trial at its final evaluation, or at its best one (Lucic et al.: the best checkpoint).",
)
@click.option("--metric", default=None, help="Metric to select on. [default: per dataset, see docs/sweeps.md]")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Sweep folder: trials/, best/, report/ and sweep.json.",
)
@DEVICE_OPTION
@DATA_ROOT_OPTION
@click.option("--jobs", type=count(min=1), default=1, show_default=True, help="--backend local: runs at once.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@TENSORBOARD_OPTION
@backend_options
@metric_options
def sweep_cmd(
    variants,
    all_variants,
    datasets,
    space_name,
    trials,
    rerun_seeds,
    sample_seed,
    protocol,
    select,
    metric,
    out,
    device,
    data_root,
    jobs,
    no_progress,
    tensorboard,
    backend,
    ray_address,
    cpus_per_run,
    gpus_per_run,
    shard,
    inception,
    inception_weights,
    reference_samples,
    **length,
) -> None:
    """Sample --trials configurations of each VARIANT (or --all) from --space, train each
    as a run directory, rerun each variant's best with --seeds more seeds, and write the
    tables and budget curves to OUT/report. Rerunning resumes: finished trials are skipped.
    """
    ctx = click.get_current_context()

    def given(name: str) -> bool:
        return ctx.get_parameter_source(name).name == "COMMANDLINE"

    if all_variants and variants:
        raise UsageError("give variant names or --all, not both")
    proto = None
    if protocol is not None:
        proto = get_protocol(protocol)
        if proto.search is None:
            raise UsageError(
                f"protocol {proto.name} is not a search study (it has no [search]); "
                "run it with `ganbench run --protocol`"
            )
        if all_variants:
            raise UsageError("--protocol sweeps the protocol's rows; name some of them, or none, but not --all")
        if given("profile"):
            raise UsageError("--protocol sets the length and the evaluation itself; drop --profile")
        variants = variants or tuple(r.variant for r in proto.rows)
        for name in variants:
            proto.row(name)  # a variant with no row is refused with the rows listed
        datasets = datasets or (list(proto.datasets),)
        space_name = space_name if given("space_name") else proto.search.space
        select = select if given("select") else proto.search.select
        metric = metric if metric is not None else proto.search.metric
        if inception is None and metric in INCEPTION_METRICS:
            inception = True  # the protocol is scored on an Inception metric, on any device
    if not datasets:
        raise UsageError("name the dataset(s) with --dataset, or give a --protocol that names them")
    if not all_variants and not variants:
        raise UsageError(f"name at least one variant ({', '.join(registered_variants())}) or pass --all")
    if metric is not None and metric not in sweep_report.DIRECTIONS:
        raise UsageError(f"--metric {metric}: unknown; choose from {', '.join(sweep_report.DIRECTIONS)}")
    check_backend(backend, ray_address, jobs)
    observers = tensorboard_observers(tensorboard)
    names = registered_variants() if all_variants else list(dict.fromkeys(variants))
    for name in names:
        get_variant(name)
    space = spaces.load_space(space_name)
    unknown = sorted(set(space.per_variant) - set(registered_variants()))
    if unknown:
        echo_err(f"note: space {space.name} has tables for unregistered variant(s) {', '.join(unknown)}")
    overrides = {k: v for k, v in length.items() if v is not None}
    if proto is not None:
        overrides.pop("profile", None)  # the protocol fixes the length and the evaluation
    overrides.update(device=device)
    dataset_names = flatten(datasets)
    fixed = None
    deviations: list[str] = []
    if proto is not None:
        for ds in dataset_names:
            proto.overrides(names[0], ds)  # a dataset the protocol does not have is refused
        fixed = proto.overrides
        bases = sweep_plan.base_configs(names, dataset_names, overrides, fixed)
        seeds = list(range(TRIAL_SEED + 1, TRIAL_SEED + 1 + rerun_seeds))
        deviations = proto.deviations(bases, seeds) + proto.search_deviations(space.name, trials, select, metric)
        echo_err(deviation_banner(proto.name, deviations))
    trials_plan = sweep_plan.plan_trials(space, names, dataset_names, trials, out, overrides, sample_seed, fixed)
    manifest = {
        "space": space.record(),
        "sample_seed": sample_seed,
        "trials": trials,
        "variants": names,
        "datasets": sorted({t.cfg.dataset for t in trials_plan}, key=[t.cfg.dataset for t in trials_plan].index),
        "rerun_seeds": list(range(TRIAL_SEED + 1, TRIAL_SEED + 1 + rerun_seeds)),
        "select": select,
        "metric": metric,
        "overrides": {k: v for k, v in overrides.items()},
        "protocol": proto.name if proto is not None else None,
        "deviations": deviations,
    }
    sweep_plan.write_records(out, manifest, trials_plan)
    run_device = resolve_device(device)
    options = RunOptions(
        out=out,
        evaluator=make_evaluator(eval_settings(inception, inception_weights, reference_samples, run_device)),
        data_root=data_root,
        resume=True,  # a sweep resumes its unfinished trials, as `run --all` does
        progress=not no_progress,
        echo=echo_err,
        observers=observers,
        protocol_deviations=tuple(deviations),
    )
    backend_args = dict(
        backend=backend, ray_address=ray_address, cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run, jobs=jobs
    )
    mine = take_shard(trials_plan, shard)
    where = f" (shard {shard[0]}/{shard[1]}: {len(mine)} of {len(trials_plan)})" if shard else ""
    echo_err(f"sweep {out}: {len(trials_plan)} trials, {trials} per variant and dataset, space {space.name}{where}")
    outcomes = list(_train(mine, options, backend_args, outs=[t.out for t in mine]))

    # The best configurations need every trial finished (other shards' too); a trial this
    # command tried and that failed counts as unscored rather than as waiting.
    tried = {str(o.run_dir.path) for o in outcomes if o.status == "failed"}
    unfinished = [
        t for t in trials_plan if existing_state(t.run_dir, t.cfg) != "done" and str(t.run_dir.path) not in tried
    ]
    if unfinished:
        echo_err(f"{len(unfinished)} trial(s) not finished: the best configurations are picked once all are")
    elif rerun_seeds:
        scores = sweep_report.trial_scores(out, metric, select)
        best = sweep_report.best_trials(scores)
        by_path = {str(t.run_dir.path): t.cfg for t in trials_plan}
        picked = {(r.dataset, r.variant): by_path[r.run_dir] for r in best.itertuples() if r.run_dir in by_path}
        for ds, variant in sorted({(t.cfg.dataset, t.cfg.variant) for t in trials_plan} - set(picked)):
            echo_err(f"{ds}/{variant}: no trial has a score, so there is no best configuration to rerun")
        reruns = take_shard(sweep_plan.rerun_configs(picked, rerun_seeds), shard)
        echo_err(f"rerunning the best configurations: {len(reruns)} runs under {sweep_plan.best_out(out)}")
        outcomes += _train(reruns, options.replace(out=sweep_plan.best_out(out)), backend_args)

    result = sweep_report.write_report(out, metric, select)
    if "tables" in result:
        click.echo("\n" + result["tables"]["best"].to_markdown(index=False))
        if "protocol" in result:
            click.echo("\n" + result["protocol"])
        click.echo(f"\ntables and plots: {out / sweep_plan.REPORT}")
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "diverged", "failed")}
    click.echo(f"{len(outcomes)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if counts["failed"]:
        click.get_current_context().exit(1)


def _train(items, options: RunOptions, backend_args: dict, outs=None) -> list:
    configs = [getattr(t, "cfg", t) for t in items]
    if not configs:
        return []
    args = dict(backend_args)
    return run_on_backend(configs, options, outs=outs, **args)
