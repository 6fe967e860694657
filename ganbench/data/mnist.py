"""MNIST (LeCun, Cortes and Burges), through torchvision.

Where the files come from, in order:
1. `--data-root DIR` or $GANBENCH_DATA: a folder holding MNIST/raw/ with the four idx
   files, gzipped or not. Gzipped files are unpacked once into the cache, because
   torchvision reads only unpacked ones when it is not downloading.
2. torchvision's own download (`download=True`) into the cache folder, when online.
The training split (60,000) is the training data; the test split (10,000) is the metrics'
reference, as in Lucic et al. 2018 ("Are GANs Created Equal?").
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import torch

from ..errors import DataUnavailable
from ..rundir import atomic_write_bytes, private_tmp
from . import Dataset, DatasetSpec, default_cache_dir, register_dataset

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
            return candidate
        # Unpack into the cache, keyed by the source folder's files and sizes.
        unpacked_root = default_cache_dir() / "mnist-unpacked"
        unpacked = unpacked_root / "MNIST" / "raw"
        unpacked.mkdir(parents=True, exist_ok=True)
        for f in FILES:
            target = unpacked / f
            src = raw / f if (raw / f).exists() else raw / f"{f}.gz"
            stamp = unpacked / f"{f}.source"
            key = f"{src.resolve()}:{src.stat().st_size}:{src.stat().st_mtime_ns}"
            if target.exists() and stamp.exists() and stamp.read_text() == key:
                continue
            tmp = private_tmp(target)
            opener = gzip.open if src.suffix == ".gz" else open
            with opener(src, "rb") as fin, open(tmp, "wb") as fout:
                shutil.copyfileobj(fin, fout)
            tmp.replace(target)
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
