"""Damaged dataset files and an unwritable cache: one line that names the file or the cache
and what to do, exit 1, and the traceback with --debug.

The gzip cases run `python -m ganbench` in a subprocess: click turns an EOFError into an
abort, and the real console is what a user sees."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from support import requires_mnist

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


@requires_mnist
@pytest.mark.parametrize("dataset", ["mnist", "stacked-mnist"])
def test_a_truncated_mnist_gz_is_named_with_what_to_do(tmp_path, dataset):
    root = mnist_copy(tmp_path, train_images_idx3_ubyte=truncated_images())
    line = one_line(ganbench(run_args(dataset, root, tmp_path / "out"), tmp_path / "cache"))
    assert str(root / "MNIST" / "raw" / f"{IMAGES}.gz") in line, line
    assert "truncated" in line and "replace it" in line, line


@requires_mnist
def test_a_mnist_file_that_is_not_gzip_is_named_with_what_to_do(tmp_path):
    root = mnist_copy(tmp_path, train_images_idx3_ubyte=b"\x14\xbe" + b"\x00" * 500)
    line = one_line(ganbench(run_args("mnist", root, tmp_path / "out"), tmp_path / "cache"))
    assert str(root / "MNIST" / "raw" / f"{IMAGES}.gz") in line and "not a gzip file" in line, line
    assert "replace it" in line and "b'\\x14" not in line, line


@requires_mnist
def test_a_failed_unpack_leaves_no_temporary_file_in_the_cache(tmp_path):
    root = mnist_copy(tmp_path, train_images_idx3_ubyte=truncated_images())
    one_line(ganbench(run_args("mnist", root, tmp_path / "out"), tmp_path / "cache"))
    left = [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert not [name for name in left if ".tmp" in name], left


@requires_mnist
def test_debug_shows_the_traceback_of_a_truncated_gz(tmp_path):
    root = mnist_copy(tmp_path, train_images_idx3_ubyte=truncated_images())
    proc = ganbench([*run_args("mnist", root, tmp_path / "out"), "--debug"], tmp_path / "cache")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" in proc.stderr and "EOFError" in proc.stderr and "truncated" in proc.stderr, proc.stderr


@requires_mnist
def test_a_truncated_unpacked_idx_file_is_named(tmp_path):
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    with gzip.open(data_root(None) / "MNIST" / "raw" / f"{IMAGES}.gz") as f:
        (raw / IMAGES).write_bytes(f.read(100_000))
    for name in FILES[1:]:
        (raw / name).write_bytes(b"")
    result = CliRunner().invoke(cli, run_args("mnist", tmp_path / "data", tmp_path / "out"))
    line = one_line_result(result)
    assert str(raw / IMAGES) in line and "truncated" in line and "replace it" in line, line


@requires_mnist
def test_an_unwritable_cache_is_named_before_anything_is_unpacked(tmp_path, monkeypatch):
    root = mnist_copy(tmp_path)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("GANBENCH_CACHE", str(blocker / "cache"))
    line = one_line_result(CliRunner().invoke(cli, run_args("mnist", root, tmp_path / "out")))
    assert "cache folder" in line and str(blocker / "cache") in line and "set GANBENCH_CACHE" in line, line


@requires_mnist
@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_cache_is_named_with_what_to_do(tmp_path, monkeypatch):
    root = mnist_copy(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o555)
    monkeypatch.setenv("GANBENCH_CACHE", str(cache))
    try:
        line = one_line_result(CliRunner().invoke(cli, run_args("mnist", root, tmp_path / "out")))
    finally:
        cache.chmod(0o755)
    assert "cache folder" in line and str(cache) in line and "set GANBENCH_CACHE" in line, line


def test_faces_with_an_unwritable_cache_fail_before_decoding(tmp_path, monkeypatch):
    import ganbench.data.images as images

    faces = tmp_path / "data" / "faces" / "few"
    faces.mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (40, 48), (60 * i, 20, 90)).save(faces / f"{i}.png")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("GANBENCH_CACHE", str(blocker / "cache"))
    decoded = []
    real = images.decode_image
    monkeypatch.setattr(images, "decode_image", lambda path, *a, **k: decoded.append(path) or real(path, *a, **k))
    line = one_line_result(CliRunner().invoke(cli, run_args("faces", tmp_path / "data", tmp_path / "out")))
    assert "cache folder" in line and str(blocker / "cache") in line and "set GANBENCH_CACHE" in line, line
    assert decoded == []


def test_an_end_of_file_no_reader_caught_is_an_error_not_an_abort(tmp_path, monkeypatch):
    def torn(self, record):
        raise EOFError("Ran out of input")

    monkeypatch.setattr(RunDir, "append_metrics", torn)
    args = ["run", "dcgan", "--dataset", "ring8", "--profile", "smoke", "--steps", "20", "--log-every", "10"]
    result = CliRunner().invoke(cli, [*args, "--device", "cpu", "--no-progress", "--out", str(tmp_path)])
    line = one_line_result(result)
    assert "aborted" not in line and "EOFError: Ran out of input" in line and "--debug" in line, line
