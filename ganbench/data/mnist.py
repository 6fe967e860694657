"""MNIST (LeCun, Cortes and Burges), through torchvision.

Where the files come from, in order:
1. `--data-root DIR` or $GANBENCH_DATA: a folder holding MNIST/raw/ with the four idx
   files, gzipped or not. Gzipped files are unpacked once into the cache, because
   torchvision reads only unpacked ones when it is not downloading. A damaged file (a
   truncated .gz, one that is not gzip, an idx file shorter than its header says) is an
   error naming it; an unwritable cache is one naming the cache, before anything is unpacked.
2. torchvision's own download (`download=True`) into the cache folder, when online.
The training split (60,000) is the training data; the test split (10,000) is the metrics'
reference, as in Lucic et al. 2018 ("Are GANs Created Equal?").
"""

from __future__ import annotations

import gzip
import math
import shutil
import struct
import zlib
from pathlib import Path

import torch

from ..errors import DataUnavailable, RunError
from ..rundir import atomic_write_bytes, private_tmp
from . import Dataset, DatasetSpec, default_cache_dir, register_dataset, writable_cache_dir

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
HOW_TO_GET = (
    "pass --data-root DIR or set GANBENCH_DATA to a folder holding MNIST/raw/ with the four idx files "
    "(gzipped or not), or run once with internet access so torchvision can download it"
)


def _raw_dir_with_files(root: Path) -> Path | None:
    raw = root / "MNIST" / "raw"
    ok = all((raw / f).exists() or (raw / f"{f}.gz").exists() for f in FILES)
    return raw if ok else None


def locate(root: Path | None) -> str | None:
    for candidate in (root, default_cache_dir() / "data"):
        if candidate is not None and _raw_dir_with_files(candidate) is not None:
            return str(candidate / "MNIST" / "raw")
    return None


def torchvision_root(root: Path | None) -> Path:
    """A root torchvision's MNIST can read without downloading; unpack .gz files if needed."""
    import torchvision

    for candidate in (root, default_cache_dir() / "data"):
        if candidate is None:
            continue
        raw = _raw_dir_with_files(candidate)
        if raw is None:
            continue
        if all((raw / f).exists() for f in FILES):
            for f in FILES:
                _check_idx(raw / f, raw / f)
            return candidate
        # Unpack into the cache, keyed by the source folder's files and sizes.
        unpacked_root = default_cache_dir() / "mnist-unpacked"
        unpacked = unpacked_root / "MNIST" / "raw"
        stale = []
        for f in FILES:
            src = raw / f if (raw / f).exists() else raw / f"{f}.gz"
            key = f"{src.resolve()}:{src.stat().st_size}:{src.stat().st_mtime_ns}"
            stamp = unpacked / f"{f}.source"
            if not ((unpacked / f).exists() and stamp.exists() and stamp.read_text() == key):
                stale.append((src, unpacked / f, stamp, key))
        if stale:  # before unpacking anything: a read-only cache must not fail halfway
            writable_cache_dir(unpacked, "the unpacked MNIST files")
        for src, target, stamp, key in stale:
            _unpack(src, target)
            atomic_write_bytes(stamp, key.encode())
        return unpacked_root
    # Nothing on disk: let torchvision download into the cache (needs internet).
    target = root if root is not None else default_cache_dir() / "data"
    try:
        torchvision.datasets.MNIST(str(target), train=True, download=True)
        torchvision.datasets.MNIST(str(target), train=False, download=True)
    except Exception as exc:  # URLError, HTTPError, timeouts, checksum failures
        where = f"no MNIST files under {target / 'MNIST' / 'raw'}"
        raise DataUnavailable(
            f"MNIST is not available ({where}; download failed: {_short(exc)}): {HOW_TO_GET}"
        ) from exc
    return target


def _unpack(src: Path, target: Path) -> None:
    """`src` (gzipped or not) copied to `target` through a private temporary file, checked as
    an idx file before it is renamed into place; a failure leaves no temporary file behind."""
    tmp = private_tmp(target)
    try:
        with open(tmp, "wb") as fout:
            with gzip.open(src, "rb") if src.suffix == ".gz" else open(src, "rb") as fin:
                shutil.copyfileobj(fin, fout)
        _check_idx(tmp, src)
        tmp.replace(target)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # BadGzipFile is an OSError: caught first
        raise RunError(f"MNIST file {src} {_gzip_problem(src, exc)}") from exc
    finally:
        tmp.unlink(missing_ok=True)


REPLACE = "replace it with a complete copy (or delete it and run once with internet access to download MNIST again)"


def _gzip_problem(src: Path, exc: Exception) -> str:
    with open(src, "rb") as f:
        magic = f.read(2)
    if magic != b"\x1f\x8b":
        return f"is not a gzip file; replace it with the gzipped original, or put the unpacked {src.stem} beside it"
    if isinstance(exc, EOFError):
        return f"is truncated (its gzip stream ends early, as an interrupted download or copy leaves it); {REPLACE}"
    return f"is damaged (gzip: {_short(exc)}); {REPLACE}"


def _check_idx(path: Path, shown: Path) -> None:
    """Refuse an unpacked file that is not a whole idx file of uint8: torchvision's own errors
    ("AssertionError", a shape that does not fit) name no file. `shown` is the file the user
    has: `path` itself, or the .gz it was unpacked from."""
    ndim = 3 if "idx3" in shown.name else 1
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4 + 4 * ndim)
    if len(head) < 4 + 4 * ndim or head[:4] != bytes([0, 0, 8, ndim]):
        problem = "does not hold an MNIST idx file (its header is wrong)"
    else:
        expected = len(head) + math.prod(struct.unpack(f">{ndim}I", head[4:]))
        if size == expected:
            return
        what = "is truncated" if size < expected else "is too long"
        unpacked = " unpacked" if shown != path else ""
        problem = f"{what} ({size:,} bytes{unpacked} where its header says {expected:,})"
    raise RunError(f"MNIST file {shown} could not be read: it {problem}; {REPLACE}")


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:120]


def load_split(root: Path | None, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 (N, 1, 28, 28), labels int64 (N,)) of one split, on the CPU."""
    import torchvision

    tv_root = torchvision_root(root)
    try:
        ds = torchvision.datasets.MNIST(str(tv_root), train=train, download=False)
    except Exception as exc:
        raise DataUnavailable(f"MNIST files under {tv_root} could not be read ({_short(exc)}): {HOW_TO_GET}") from exc
    return ds.data.unsqueeze(1).contiguous(), ds.targets.clone()


def to_unit_range(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range the generators' tanh produces."""
    return images_u8.float().div(127.5).sub(1.0)


def load(root: Path | None, device: torch.device, limit: int | None) -> Dataset:
    train_x, _ = load_split(root, train=True)
    test_x, _ = load_split(root, train=False)
    if limit is not None:
        train_x = train_x[:limit]
    return Dataset(
        name="mnist",
        kind="images",
        shape=(1, 28, 28),
        device=device,
        train=to_unit_range(train_x).to(device),  # (N, 1, 28, 28) in [-1, 1], resident on the device
        reference=test_x,  # (10000, 1, 28, 28) uint8
        reference_split="MNIST test split (10,000 images)",
        source=locate(root) or "torchvision download",
    )


MNIST = register_dataset(
    DatasetSpec(
        name="mnist",
        kind="images",
        summary="MNIST digits, 28x28 grayscale, 60,000 training images",
        citation="LeCun et al. 1998; protocol of Lucic et al. 2018 (arXiv:1711.10337)",
        batch_size=64,  # Lucic et al. 2018 train every model with batch 64
        z_dim=100,
        load=load,
        locate=locate,
        fetch=torchvision_root,
        how_to_get=HOW_TO_GET,
    )
)
