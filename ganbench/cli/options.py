"""Options and option types shared by the commands."""

from __future__ import annotations

from pathlib import Path

import click

RUNS_OPTION = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default="runs",
    show_default=True,
    help="Folder holding the run directories.",
)
DEVICE_OPTION = click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
DATA_ROOT_OPTION = click.option(
    "--data-root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder with local datasets (default: $GANBENCH_DATA).",
)

TENSORBOARD_OPTION = click.option(
    "--tensorboard",
    is_flag=True,
    help="Also write TensorBoard event files to <run>/tb/: losses, metrics, sample grids, the config "
    "(needs pip install 'ganbench[tensorboard]').",
)


def tensorboard_observers(on: bool) -> tuple:
    """RunOptions.observers for --tensorboard; a one-line error (exit 2) without the package."""
    if not on:
        return ()
    from ..report import tb

    tb.require()
    return (tb.TensorBoard(),)


# The largest value any integer option takes: far beyond any real run (a billion steps),
# small enough that a typo such as 99999999999999999999999 is refused before anything starts.
MAX_COUNT = 10**9


def count(min: int = 1, max: int = MAX_COUNT) -> click.IntRange:  # noqa: A002  (click's names)
    """An integer option's type: from `min` to `max` (by default MAX_COUNT), refused in one
    line naming the option and the range otherwise."""
    return click.IntRange(min, max)


def echo_err(msg: str) -> None:
    """One line to stderr: progress lines and warnings, apart from the command's results."""
    click.echo(msg, err=True)


def require_runs(out: Path):
    """The per-run DataFrame of `out`, or a one-line error if there is nothing to read."""
    from ..errors import RunError
    from ..report.results import collect

    if not out.is_dir():
        raise RunError(f"{out} does not exist; train something first with `ganbench run`")
    runs = collect(out, warn=echo_err)  # a damaged run still gives a row; say which and why
    if runs.empty:
        from ..runs.sweep import is_sweep

        if is_sweep(out):
            raise RunError(
                f"{out} is a sweep with no reruns of its best configurations yet (see {out}/report, "
                f"or pass --out {out}/trials/t001 for one trial's runs)"
            )
        raise RunError(f"no run directories under {out}")
    return runs


class CommaList(click.ParamType):
    """A comma-separated list, repeatable: --seeds 0,1 --seeds 2 -> [0, 1, 2]."""

    name = "list"

    def __init__(self, item_type=str):
        self.item_type = item_type

    def items(self, value, param, ctx) -> list[str]:
        """The comma-separated items of `value`, stripped; an empty list or item fails."""
        items = [v.strip() for v in str(value).split(",")]
        if not any(items):  # --seeds "" must not fall back to the defaults unnoticed
            self.fail(f"{value!r} names no {self.item_type.__name__} values", param, ctx)
        if not all(items):  # '1,,2' is a typo for something, not the list 1,2
            self.fail(f"{value!r} has an empty item; separate the values by single commas", param, ctx)
        return items

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        items = self.items(value, param, ctx)
        try:
            return [self.item_type(v) for v in items]
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of {self.item_type.__name__}", param, ctx)


class SeedList(CommaList):
    """Seeds, comma-separated, each a number or an inclusive range: --seeds 0-4,7 -> [0, 1, 2, 3, 4, 7]."""

    name = "seeds"

    def __init__(self):
        super().__init__(int)

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        out: list[int] = []
        for item in self.items(value, param, ctx):
            first, dash, last = item.partition("-")
            try:
                low, high = int(first), int(last) if dash else int(first)
            except ValueError:
                self.fail(f"{item!r} is neither a seed nor a range of seeds such as 0-9", param, ctx)
            if high < low:
                self.fail(f"{item!r}: a range goes from low to high, as in 0-9", param, ctx)
            out.extend(range(low, high + 1))
        return out


def flatten(values) -> list:
    """The values of a repeatable CommaList option, in order, each once (--seeds 0,0 is one run)."""
    out: list = []
    for v in values or ():
        out.extend(v if isinstance(v, list) else [v])
    return list(dict.fromkeys(out))


class Shard(click.ParamType):
    """--shard I/N: the I-th of N parts of the plan (0 <= I < N)."""

    name = "I/N"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        i, sep, n = str(value).partition("/")
        try:
            i, n = int(i), int(n)
        except ValueError:
            self.fail(f"{value!r} is not I/N (for example 0/4)", param, ctx)
        if not sep or n < 1 or not 0 <= i < n:
            self.fail(f"{value!r}: need 0 <= I < N, as in 0/4 ... 3/4", param, ctx)
        return (i, n)


def backend_options(f):
    """--backend local|ray, --ray-address, --cpus-per-run, --gpus-per-run, --shard."""
    options = [
        click.option(
            "--backend",
            type=click.Choice(["local", "ray"]),
            default="local",
            show_default=True,
            help="local: this machine's jobs (--jobs); ray: one Ray task per run (pip install 'ganbench[ray]'; "
            "see docs/sweeps.md).",
        ),
        click.option(
            "--ray-address",
            default=None,
            help="--backend ray: 'auto' or HOST:PORT of a running cluster (ray start --head); "
            "default: start a local one.",
        ),
        click.option(
            "--cpus-per-run",
            type=click.FloatRange(min=0, min_open=True),
            default=1,
            show_default=True,
            help="--backend ray: CPUs each run's task reserves.",
        ),
        click.option(
            "--gpus-per-run",
            type=click.FloatRange(min=0),
            default=0,
            show_default=True,
            help="--backend ray: GPUs each run's task reserves; a fraction (0.125) packs runs onto one GPU.",
        ),
        click.option(
            "--shard",
            type=Shard(),
            default=None,
            help="Train only part I of N of the plan (0-based): N commands with 0/N .. N-1/N cover it "
            "exactly once (a SLURM array: --shard $SLURM_ARRAY_TASK_ID/N).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def check_backend(backend: str, ray_address, jobs: int = 1, streams: int = 1) -> None:
    """One-line refusals of options that do not go together, before any work."""
    if backend == "local" and ray_address:
        raise click.UsageError("--ray-address needs --backend ray")
    if backend == "ray":
        if jobs > 1 or streams > 1:
            raise click.UsageError("--jobs and --streams are --backend local's; Ray runs one task per run")
        from ..runs.ray_backend import require_ray

        require_ray()


def run_on_backend(configs, options, backend: str, ray_address, cpus_per_run, gpus_per_run, outs=None, **local):
    """The suite's outcomes, trained by `backend` (local: schedule.run_suite with `local`'s
    jobs/streams; ray: runs/ray_backend.run_suite_ray)."""
    if backend == "ray":
        from ..runs.ray_backend import run_suite_ray

        return run_suite_ray(
            configs, options, outs=outs, address=ray_address, cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run
        )
    from ..runs.schedule import run_suite

    return run_suite(configs, options, outs=outs, **local)


def deviation_banner(name: str, deviations: list[str]) -> str:
    """The line `run --protocol` and `sweep --protocol` print before any work."""
    if not deviations:
        return f"protocol {name}: no deviations"
    return f"protocol {name}: DEVIATIONS: " + "; ".join(deviations)
