"""`ganbench run`: train variants on datasets over seeds, one run directory each."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import DEFAULT_PROFILE, MAX_EVAL_SAMPLES, PROFILES, RENAMED_PROFILES, RunOptions, resolve_device
from ..data import DATASETS
from ..data.folder import strict_check
from ..errors import UsageError
from ..metrics.evaluate import make_evaluator
from ..protocols import get_protocol
from ..report.results import collect
from ..report.tables import render
from ..runs.one import run_one
from ..runs.plan import get_variant, plan, plan_protocol, registered_variants, take_shard
from . import cli
from .metric_options import eval_settings, metric_options
from .options import (
    DATA_ROOT_OPTION,
    DEVICE_OPTION,
    TENSORBOARD_OPTION,
    CommaList,
    SeedList,
    backend_options,
    check_backend,
    count,
    deviation_banner,
    echo_err,
    flatten,
    run_on_backend,
    tensorboard_observers,
)

DEFAULT_DATASET = "ring8"  # embedded: works on any machine, no download


@cli.command("run")
@click.argument("variants", nargs=-1)
@click.option("--all", "all_variants", is_flag=True, help="Run every registered variant.")
@click.option(
    "--variants",
    "variant_list",
    type=CommaList(str),
    multiple=True,
    help="Variant(s), comma-separated, as well as or instead of the VARIANTS arguments.",
)
@click.option(
    "--protocol",
    help="Run a published protocol (`ganbench list`): its rows (or the VARIANTS named, each one of its rows) "
    "on its datasets (or --datasets) over its number of trials as seeds 0..N-1 (or --seeds), with its settings; "
    "any option that departs from it (--steps, fewer seeds, another device) is recorded as a deviation.",
)
@click.option(
    "--dataset",
    "--datasets",
    "datasets",
    type=CommaList(str),
    multiple=True,
    help=f"Dataset name(s), comma-separated. [default: {DEFAULT_DATASET}] folder:PATH is any folder of images: "
    "gray stays 1 channel, colour is RGB; resized to --image-size; with train/ and test/ (or val/) subfolders "
    "it trains on train/ and scores against test/, else against a seeded 10% held out. It is scored by the "
    "Inception metrics only, which are off on a CPU unless --inception is passed (see `ganbench list`).",
)
@click.option(
    "--seed",
    "--seeds",
    "seeds",
    type=SeedList(),
    multiple=True,
    help="Seed(s), comma-separated, each a number or a range such as 0-9. [default: 0]",
)
@click.option(
    "--profile",
    type=click.Choice([*PROFILES, *RENAMED_PROFILES]),
    default=DEFAULT_PROFILE,
    show_default=True,
    help="How long to train and how to evaluate (see README). 'paper' is now 'long'; a paper's own "
    "settings are a --protocol.",
)
@click.option("--steps", type=count(min=1), help="Generator steps (overrides the profile).")
@click.option("--batch-size", type=count(min=1), help="Batch size (default: the dataset's protocol).")
@click.option("--lr-d", type=click.FloatRange(min=0, min_open=True), help="Discriminator learning rate.")
@click.option("--lr-g", type=click.FloatRange(min=0, min_open=True), help="Generator learning rate.")
@click.option("--n-critic", type=count(min=1), help="Discriminator steps per generator step.")
@click.option("--log-every", type=count(min=1), help="Steps between loss records.")
@click.option("--eval-every", type=count(min=0), help="Steps between evaluations (0: only at the end).")
@click.option(
    "--eval-samples",
    type=click.IntRange(1, MAX_EVAL_SAMPLES),
    help="Generated samples per evaluation (mode counts on Stacked MNIST always use 26,000).",
)
@click.option("--checkpoint-every", type=count(min=1), help="Steps between checkpoints.")
@click.option("--data-limit", type=count(min=1), help="Train on the first N items of the dataset only.")
@click.option(
    "--image-size",
    type=click.IntRange(8, 512),
    help="folder:PATH only: the side its images are center-cropped and resized to, an even number. "
    "[default: the images' own side when all are one square size up to 128, else 64]",
)
@click.option(
    "--strict-images",
    is_flag=True,
    help="folder:PATH: fail when an image file does not decode, instead of skipping it with a warning.",
)
@click.option("--cpu-threads", type=count(min=1), help="Torch threads per run on a CPU. [default: 1]")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default="runs",
    show_default=True,
    help="Output folder; runs land in <out>/<dataset>/<variant>/seed<k>/.",
)
@DEVICE_OPTION
@DATA_ROOT_OPTION
@click.option(
    "--jobs",
    type=count(min=1),
    default=1,
    show_default=True,
    help="Runs trained at once, each in its own process (CPU: each keeps --cpu-threads; "
    "several GPUs: one run per GPU in turn).",
)
@click.option(
    "--streams",
    type=count(min=1),
    default=1,
    show_default=True,
    help="Runs each job trains at once, interleaved in one process, each on its own CUDA stream so "
    "their kernels overlap on the GPU (no speed-up on a CPU).",
)
@click.option(
    "--no-cuda-graph",
    is_flag=True,
    help="On CUDA, run the step eagerly instead of replaying it as one captured CUDA graph.",
)
@click.option("--resume", is_flag=True, help="Continue unfinished runs from their last checkpoint.")
@click.option("--overwrite", is_flag=True, help="Delete and redo runs whose directory already exists.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@TENSORBOARD_OPTION
@backend_options
@metric_options
def run_cmd(
    variants,
    all_variants,
    variant_list,
    protocol,
    datasets,
    seeds,
    strict_images,
    out,
    device,
    data_root,
    jobs,
    streams,
    no_cuda_graph,
    resume,
    overwrite,
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
    **config_fields,
) -> None:
    """Train VARIANTS (or --all) on each dataset for each seed.

    Finished runs with the same config are skipped. With --all, unfinished runs are
    resumed; otherwise pass --resume. A failed or diverged run does not stop the others.
    Each run is scored every --eval-every steps and at the end (see docs/metrics.md).
    --jobs N trains N runs at once, with one line per run as it starts and ends;
    --streams K has each job train K runs at once on one GPU (see docs/speed.md).
    """
    # config_fields: the options named after RunConfig fields (--steps, --lr-d, ...);
    # each one given overrides the profile's, dataset's or variant's default.
    if all_variants and (variants or variant_list):
        raise UsageError("give variant names or --all, not both")
    if resume and overwrite:
        raise UsageError("--resume and --overwrite contradict each other")
    check_backend(backend, ray_address, jobs, streams)
    observers = tensorboard_observers(tensorboard)  # without the package: one line, before any work
    variants = list(dict.fromkeys([*variants, *flatten(variant_list)]))
    overrides = {k: v for k, v in config_fields.items() if v is not None}
    overrides.update(device=device, cuda_graph=False if no_cuda_graph else None)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    deviations: list[str] = []
    if protocol is not None:
        if all_variants:
            raise UsageError("--protocol runs the protocol's rows; name some of them, or none, but not --all")
        if click.get_current_context().get_parameter_source("profile").name == "COMMANDLINE":
            raise UsageError("--protocol sets the length and the evaluation itself; drop --profile")
        proto = get_protocol(protocol)
        names = variants or [r.variant for r in proto.rows]
        for name in names:
            get_variant(name)
        seed_list = flatten(seeds) or list(range(proto.trials))
        dataset_names = flatten(datasets) or list(proto.datasets)
        suite, deviations = plan_protocol(proto, names, dataset_names, seed_list, overrides, data_root=data_root)
        echo_err(deviation_banner(proto.name, deviations))
    else:
        if not all_variants and not variants:
            raise UsageError(f"name at least one variant ({', '.join(registered_variants())}) or pass --all")
        names = registered_variants() if all_variants else variants
        for name in names:
            get_variant(name)  # unknown names fail before anything runs
        # --all with no --datasets: every registered dataset whose data is on this machine.
        dataset_names = flatten(datasets) or (list(DATASETS) if all_variants else [DEFAULT_DATASET])
        seed_list = flatten(seeds) or [0]  # their range is checked with the rest of the config
        suite = plan(names, dataset_names, seed_list, overrides, data_root=data_root, explicit_datasets=bool(datasets))
    for name, how in suite.unavailable.items():
        echo_err(f"skipping dataset {name}: not on this machine; {how}")
    if strict_images:
        for name, size in dict.fromkeys((c.dataset, c.image_size) for c in suite.configs if c.image_size):
            strict_check(name, size)  # decodes each folder once, before any run starts
    run_device = resolve_device(device)
    options = RunOptions(
        out=out,
        evaluator=make_evaluator(eval_settings(inception, inception_weights, reference_samples, run_device)),
        data_root=data_root,
        resume=resume,
        overwrite=overwrite,
        progress=not no_progress,
        echo=echo_err,
        observers=observers,
        protocol_deviations=tuple(deviations),
    )
    configs = take_shard(suite.configs, shard)
    if shard is not None:
        echo_err(f"shard {shard[0]}/{shard[1]}: {len(configs)} of the plan's {len(suite.configs)} runs")
        if not configs:
            return
    if len(configs) == 1 and shard is None and backend == "local":
        # One run: its error, if any, is the command's error.
        outcome = run_one(configs[0], options)
        click.echo(f"{outcome.run_dir.path}: {outcome.status}{': ' + outcome.message if outcome.message else ''}")
        return
    if streams > 1 and not run_device.startswith("cuda"):
        echo_err(
            f"note: --streams {streams} on a CPU: the runs take turns, with no speed-up (their results do not change)"
        )
    # --all and --protocol suites are built over several sittings: they resume what is unfinished.
    go_on = resume or all_variants or protocol is not None
    options = options.replace(resume=go_on)
    outcomes = run_on_backend(
        configs, options, backend, ray_address, cpus_per_run, gpus_per_run, jobs=jobs, streams=streams
    )
    if protocol is not None:
        _print_protocol_table(out, protocol)
    else:
        _print_comparison(out, outcomes)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "diverged", "failed")}
    click.echo(f"\n{len(outcomes)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if counts["failed"]:
        click.get_current_context().exit(1)


def _print_protocol_table(out: Path, name: str) -> None:
    from ..report.protocols import render_protocol

    df = collect(out)
    if not df.empty:
        click.echo("\n" + render_protocol(df, get_protocol(name), "markdown"))


def _print_comparison(out: Path, outcomes) -> None:
    """The comparison table of the runs this command covered (from their directories)."""
    df = collect(out)
    if df.empty:
        return
    covered = {(o.cfg.dataset, o.cfg.variant, o.cfg.seed) for o in outcomes}
    keep = [(d, v, s) in covered for d, v, s in zip(df["dataset"], df["variant"], df["seed"], strict=True)]
    if any(keep):
        click.echo("\n" + render(df[keep], "markdown"))
