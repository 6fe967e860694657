"""The two kinds of failure a user can cause, and how the CLI reports them.

UsageError: the command line asks for something impossible (unknown variant, negative
            steps, a batch larger than the dataset). Exit code 2.
RunError:   the request is fine but the world is not (data missing, unwritable output,
            a corrupt file). Exit code 1. The message says what to do.
ReportNotWritten: `ganbench check` judged everything but could not write its report
            (--junit-xml). Exit code 3, apart from 1, which means a regression.
Both print as one line; tracebacks only with --debug.
"""


class GanbenchError(Exception):
    exit_code = 1


class UsageError(GanbenchError):
    exit_code = 2


class RunError(GanbenchError):
    exit_code = 1


class DataUnavailable(RunError):
    """A dataset's files are not on this machine and could not be downloaded."""


class ConfigMismatch(UsageError):
    """A run directory holds a run with a different config (a usage conflict: exit 2)."""


class ReportNotWritten(RunError):
    """A report (check's --junit-xml) could not be written; the results themselves are fine."""

    exit_code = 3


class RunLocked(RunError):
    """Another process is training this run directory."""
