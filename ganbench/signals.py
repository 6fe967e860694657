"""SIGTERM taken as Ctrl-C.

`timeout`, `docker stop`, Slurm and a job's parent process stop a program with SIGTERM,
whose default ends Python at once: a run's status.json would stay "running", with no
reason, and nothing would be printed. Under `sigterm_as_interrupt()` SIGTERM raises
`Terminated`, a KeyboardInterrupt, so it takes Ctrl-C's path: the runs in progress are
marked "failed: interrupted" (resumable) and the command says how to continue. A second
SIGTERM, while that cleanup runs, ends the process as SIGTERM always did.
"""

from __future__ import annotations

import contextlib
import signal
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: handled as Ctrl-C is."""


def _raise_terminated(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the next SIGTERM is not held up by cleanup
    raise Terminated("SIGTERM")


def take_sigterm_as_interrupt() -> None:
    """From now on in this process, SIGTERM raises Terminated (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM raises Terminated inside the block; the previous handler is back after it."""
    if threading.current_thread() is not threading.main_thread():  # signals go to the main thread
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
