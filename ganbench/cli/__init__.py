"""The `ganbench` command line (click).

Errors print as one line: usage errors exit 2, runtime faults exit 1. `--debug`, anywhere
on the command line, shows the traceback instead. Ctrl-C exits 130 and SIGTERM (timeout,
docker stop, Slurm) 143, both after marking the runs in progress "failed: interrupted"
and saying to rerun with --resume.

Plugins load before any command runs: `ganbench --plugin FILE ...` (repeatable),
$GANBENCH_PLUGINS and the `ganbench.plugins` entry points (ganbench/plugins.py).
"""

from __future__ import annotations

import errno
import sys

import click

from .. import plugins
from ..errors import GanbenchError, RunError
from ..signals import Terminated, sigterm_as_interrupt


def _interrupted(exc: BaseException) -> None:
    """Ctrl-C's (or SIGTERM's) one line and exit code: 130, or 143 for SIGTERM (128 + signal)."""
    if isinstance(exc, Terminated):
        click.echo("Error: interrupted (SIGTERM); rerun with --resume to continue", err=True)
        sys.exit(143)
    click.echo("Error: interrupted; rerun with --resume to continue", err=True)
    sys.exit(130)


def _one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return " ".join(lines) if lines else ""


class Group(click.Group):
    """A click group whose errors are one line on stderr and a meaningful exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EOFError as exc:
            # click takes an EOFError for stdin closed at a prompt and turns it into a bare
            # "aborted" (with --debug too). ganbench never prompts: here it is a file that ends
            # early (a truncated gzip, pickle or checkpoint) that no reader caught.
            detail = f"EOFError: {_one_line(exc)}" if _one_line(exc) else "EOFError"
            raise RunError(
                f"a file ended early ({detail}); it is truncated: rerun with --debug to see which, "
                "then replace or delete it"
            ) from exc

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in args
        args = [a for a in args if a != "--debug"]
        try:
            with sigterm_as_interrupt():  # SIGTERM takes Ctrl-C's path (ganbench/signals.py)
                rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort as exc:  # click's wrapping of Ctrl-C
            if isinstance(exc.__context__, KeyboardInterrupt):
                _interrupted(exc.__context__)
            click.echo("Error: aborted", err=True)
            sys.exit(1)
        except click.ClickException as exc:  # UsageError, BadParameter, ...: exit 2
            if debug:
                raise
            click.echo(f"Error: {_one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except GanbenchError as exc:
            if debug:
                raise
            click.echo(f"Error: {_one_line(exc)}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:
            if debug:
                raise
            hint = (
                " (the disk is full; free space and rerun: finished work is kept)" if exc.errno == errno.ENOSPC else ""
            )
            click.echo(f"Error: {_one_line(exc)}{hint}", err=True)
            sys.exit(1)
        except KeyboardInterrupt as exc:
            _interrupted(exc)
        except Exception as exc:
            if debug:
                raise
            click.echo(
                f"Error: internal error: {type(exc).__name__}: {_one_line(exc)} (rerun with --debug for details)",
                err=True,
            )
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="ganbench")
@click.option(
    "--plugin",
    "plugin_paths",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help=f"A Python file that registers variants, nets, losses or datasets (repeatable; also ${plugins.ENV}, "
    f"os.pathsep-separated, and the '{plugins.ENTRY_POINT_GROUP}' entry points). See docs/plugins.md.",
)
def cli(plugin_paths) -> None:
    """Train, score and compare GAN variants under one seeded training core.

    Add --debug anywhere to see tracebacks.
    """
    plugins.load_all(plugins.discover(plugin_paths))


def main() -> None:
    cli()


from . import check, evaluate, figures, inspect, run, score, sweep  # noqa: E402,F401,I001  (register the commands)
