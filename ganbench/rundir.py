"""One directory per run, and the only files the tables are built from.

<out>/<dataset>/<variant>/seed<k>/
  config.json     resolved config, variant hyperparameters, library versions, git commit
  metrics.jsonl   one JSON record per line, appended and flushed: losses every log
                  interval, metrics at every evaluation
  status.json     running | done | failed | diverged, with step, reason and timings
  samples.png     image grid, or a scatter over the mode centres for 2-D data
  generator.pt, discriminator.pt   final weights (state dicts)
  checkpoints/    step_XXXXXXXX.pt, written atomically, the last few kept
  tb/             TensorBoard event files (--tensorboard, or `ganbench export-tb`)

Every whole-file write goes to a temporary file first and is renamed into place, so a
crash leaves either the old file or the new one, never half of one. An append that a crash
cuts short leaves a torn last line; the next append first moves it to metrics.jsonl.torn, so
every record starts on a fresh line and metrics.jsonl stays one complete JSON object a line.

Observers (RunOptions.observers, attached by the training loop) mirror what the run
directory records: each appended record goes to `record(rec)`, a resume's truncation to
`truncated(last_step)`, and `close()` comes when the run lets go of its lock. TensorBoard
event files are written this way (report/tb.py), with no code of their own in the loop.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path

from .errors import RunError, RunLocked

STATUSES = ("running", "done", "failed", "diverged")


def dataset_dirname(dataset: str) -> str:
    """A folder name for a dataset name; folder:PATH becomes folder-<name of the folder>-<hash>,
    the hash of its resolved path, so that /data/a/train and /data/b/train do not share one.

    Run directories named by older versions (folder-<name>) are still read: the tables and
    `ganbench eval` go by each run's config.json, not by its directory's name."""
    prefix, sep, arg = dataset.partition(":")
    if not sep:
        return dataset
    resolved = os.path.realpath(os.path.expanduser(arg))
    tail = Path(resolved).name or "root"
    return f"{prefix}-{tail}-{hashlib.sha1(resolved.encode()).hexdigest()[:8]}"


def private_tmp(path: Path, suffix: str = "") -> Path:
    """A temporary name beside `path` that no other process or thread will pick.

    Caches (unpacked MNIST, decoded faces, reference statistics, Inception weights) are
    shared by the job processes of `run --jobs N`: two writers must never share a temporary
    file, or one renames it away from under the other.
    """
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{suffix}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = private_tmp(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk, say: leave no temporary file behind
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path) -> dict | None:
    """The JSON object in `path`; None when it is missing, unreadable, or not an object."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


TORN_SUFFIX = ".torn"


def _last_line_start(f, end: int, block: int = 1 << 16) -> int:
    """The offset just after the last newline before `end` in the binary file `f` (0: none)."""
    pos = end
    while pos > 0:
        n = min(block, pos)
        pos -= n
        f.seek(pos)
        i = f.read(n).rfind(b"\n")
        if i >= 0:
            return pos + i + 1
    return 0


def append_line(path: Path, line: str) -> None:
    """Append `line` and a newline to `path` and flush it to disk before returning.

    A crash mid-append leaves a last line with no newline. Writing straight after it would
    glue the new line onto the torn one, and readers would skip both; so a torn tail is first
    appended to `<path>.torn` (kept for inspection, not read by anything) and cut off.
    """
    with open(path, "a+b") as f:
        end = f.seek(0, os.SEEK_END)
        if end:
            f.seek(end - 1)
            if f.read(1) != b"\n":
                start = _last_line_start(f, end)
                f.seek(start)
                torn = f.read()
                with open(path.with_name(path.name + TORN_SUFFIX), "ab") as aside:
                    aside.write(torn + b"\n")
                    aside.flush()
                    os.fsync(aside.fileno())
                f.truncate(start)
        f.write(line.encode() + b"\n")  # "a" mode: lands at the end, wherever the seeks left us
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: Path) -> list[dict]:
    """Every complete record; a torn or corrupt line (a crash mid-write) is skipped."""
    records = []
    try:
        text = path.read_text()
    except OSError:
        return records
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            records.append(rec)
    return records


class RunDir:
    def __init__(self, out: str | os.PathLike, dataset: str, variant: str, seed: int):
        self.out = Path(out)
        self.path = self.out / dataset_dirname(dataset) / variant / f"seed{seed}"
        self._lock_file = None
        self.observers: list = []

    @classmethod
    def at(cls, path: str | os.PathLike) -> RunDir:
        """A RunDir for an existing directory (layout <out>/<dataset>/<variant>/seed<k>)."""
        path = Path(path)
        obj = cls.__new__(cls)
        obj.out = path.parent.parent.parent
        obj.path = path
        obj._lock_file = None
        obj.observers = []
        return obj

    # --- paths ---------------------------------------------------------------------
    config_path = property(lambda self: self.path / "config.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    status_path = property(lambda self: self.path / "status.json")
    samples_path = property(lambda self: self.path / "samples.png")
    checkpoint_dir = property(lambda self: self.path / "checkpoints")
    tb_dir = property(lambda self: self.path / "tb")

    def create(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise RunError(f"cannot write to {self.path} ({exc.strerror}); choose another --out") from exc

    # --- lock: one process trains a run directory at a time -------------------------
    # A process that only checks (is_locked: a table drawn while a suite trains) holds the
    # lock for microseconds; lock() waits this long for such a check before refusing.
    LOCK_WAIT_S = 1.0

    def lock(self) -> None:
        self.create()
        f = open(self.path / ".lock", "a+")
        deadline = time.monotonic() + self.LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    f.close()
                    raise RunLocked(
                        f"{self.path} is being trained by another process; wait for it or use another --out"
                    ) from None
                time.sleep(0.01)
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._lock_file = f

    def unlock(self) -> None:
        """Release the lock; the run is over for this process, so its observers are closed."""
        observers, self.observers = self.observers, []
        for observer in observers:
            observer.close()
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def is_locked(self) -> bool:
        """True when another process holds this run's lock."""
        lock_path = self.path / ".lock"
        if not lock_path.exists():
            return False
        try:
            f = open(lock_path)  # read-only: checking works on a results folder we cannot write
        except OSError:
            return False
        with f:
            try:  # shared: checkers never block each other, only a trainer's exclusive lock
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
            return False

    # --- files ---------------------------------------------------------------------
    OUTPUTS = (
        "config.json",
        "metrics.jsonl",
        "metrics.jsonl" + TORN_SUFFIX,
        "status.json",
        "samples.png",
        "generator.pt",
        "discriminator.pt",
    )

    def clear(self) -> None:
        """Remove every output of an earlier run in this directory (not the lock)."""
        for name in self.OUTPUTS:
            (self.path / name).unlink(missing_ok=True)
        shutil.rmtree(self.tb_dir, ignore_errors=True)
        if self.checkpoint_dir.is_dir():
            for p in self.checkpoint_dir.iterdir():
                p.unlink()

    def read_config(self) -> dict | None:
        return read_json(self.config_path)

    def write_config(self, record: dict) -> None:
        atomic_write_json(self.config_path, record)

    def read_status(self) -> dict | None:
        return read_json(self.status_path)

    def write_status(self, state: str, **fields) -> None:
        if state not in STATUSES:
            raise ValueError(f"unknown status {state!r}")
        atomic_write_json(self.status_path, {"status": state, "updated": time.time(), **fields})

    def append_metrics(self, record: dict) -> None:
        """Append one record on a line of its own and flush it to disk before returning."""
        append_line(self.metrics_path, json.dumps(record, sort_keys=True, allow_nan=True))
        for observer in self.observers:
            observer.record(record)
        _hold_for_test(self.path, record)

    def read_metrics(self) -> list[dict]:
        return read_jsonl(self.metrics_path)

    def truncate_metrics(self, last_step: int) -> None:
        """Keep the records up to `last_step` (a resume replays the rest); drop torn lines."""
        if self.metrics_path.exists():
            kept = [r for r in self.read_metrics() if r.get("step", 0) <= last_step]
            data = "".join(json.dumps(r, sort_keys=True, allow_nan=True) + "\n" for r in kept)
            atomic_write_bytes(self.metrics_path, data.encode())
        for observer in self.observers:
            observer.truncated(last_step)


# --- a test-only hold: signal a run at a known step, however busy the machine -----------
# With GANBENCH_TEST_HOLD_AT_STEP=N and GANBENCH_TEST_HOLD_DIR=D, the first record at step
# N or later that a process appends to a run's metrics.jsonl is followed by a hold: the
# process writes D/<its pid> (holding the run's path) and waits while that file exists, up
# to 120 s. Tests that Ctrl-C, SIGTERM or SIGKILL a run in a child process use it, so the
# run cannot end before the signal lands: they wait for the file, signal, and delete it to
# let a process that was not signalled go on. Nothing but the tests sets these variables.
HOLD_AT_STEP_ENV, HOLD_DIR_ENV = "GANBENCH_TEST_HOLD_AT_STEP", "GANBENCH_TEST_HOLD_DIR"
HOLD_MAX_S = 120.0
_held: set[str] = set()


def _hold_for_test(run_path: Path, record: dict) -> None:
    at, folder = os.environ.get(HOLD_AT_STEP_ENV), os.environ.get(HOLD_DIR_ENV)
    step = record.get("step")
    if not (at and folder) or str(run_path) in _held or not isinstance(step, int) or step < int(at):
        return
    _held.add(str(run_path))
    marker = Path(folder) / str(os.getpid())
    atomic_write_bytes(marker, f"{run_path}\n".encode())
    deadline = time.monotonic() + HOLD_MAX_S
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # a signal's handler (Ctrl-C's KeyboardInterrupt) raises from here
