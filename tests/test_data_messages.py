"""Damaged dataset files and an unwritable cache: one line that names the file or the cache
and what to do, exit 1, and the traceback with --debug.

The gzip cases run `python -m ganbench` in a subprocess: click turns an EOFError into an
abort, and the real console is what a user sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from ganbench.cli import cli
from ganbench.data import data_root
from ganbench.data.mnist import FILES
from ganbench.rundir import RunDir

IMAGES = "train-images-idx3-ubyte"


def mnist_copy(tmp_path: Path, **replace: bytes) -> Path:
    """A data root whose MNIST/raw links to the real .gz files, except those in `replace`
    (keyed by file name with '-' as '_'), which hold the given bytes."""
    real = data_root(None) / "MNIST" / "raw"
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILES:
        gz = f"{name}.gz"
        if name.replace("-", "_") in replace:
            (raw / gz).write_bytes(replace[name.replace("-", "_")])
        else:
            (raw / gz).symlink_to(real / gz)
    return raw.parent.parent


def truncated_images() -> bytes:
    with open(data_root(None) / "MNIST" / "raw" / f"{IMAGES}.gz", "rb") as f:
        return f.read(100_000)


def run_args(dataset: str, root: Path, out: Path) -> list[str]:
    args = f"run dcgan --dataset {dataset} --profile smoke --device cpu --no-progress".split()
    return [*args, "--data-root", str(root), "--out", str(out)]


def ganbench(args: list[str], cache: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GANBENCH_DATA"}
    env.update(GANBENCH_CACHE=str(cache), PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "ganbench", *args], capture_output=True, text=True, env=env)


def one_line(proc: subprocess.CompletedProcess) -> str:
    """The one error line of a process that exited 1 with nothing else on stderr."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def one_line_result(result) -> str:
    """The same for a CliRunner result."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output, result.output
    return lines[0]


def test_an_end_of_file_no_reader_caught_is_an_error_not_an_abort(tmp_path, monkeypatch):
    def torn(self, record):
        raise EOFError("Ran out of input")

    monkeypatch.setattr(RunDir, "append_metrics", torn)
    args = ["run", "dcgan", "--dataset", "ring8", "--profile", "smoke", "--steps", "20", "--log-every", "10"]
    result = CliRunner().invoke(cli, [*args, "--device", "cpu", "--no-progress", "--out", str(tmp_path)])
    line = one_line_result(result)
    assert "aborted" not in line and "EOFError: Ran out of input" in line and "--debug" in line, line
