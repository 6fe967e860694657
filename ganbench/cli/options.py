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
