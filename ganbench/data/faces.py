"""CelebA faces at 64x64 (Liu et al. 2015), with the DCGAN 64x64 nets.

Sources, in order:
1. `--data-root` / $GANBENCH_DATA holding torchvision's CelebA layout
   (`celeba/img_align_celeba/*.jpg`);
2. a folder of face images under the data root: `faces/` or `faces/<subfolder>/`
   (the 10,000 CelebA photos in ../shared/data/faces/celeba-10k are one);
3. torchvision's CelebA download, when online.
Images are center-cropped to a square and resized to 64x64 once, then cached.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import DataUnavailable
from . import Dataset, DatasetSpec, default_cache_dir, register_dataset
from .images import image_dataset, list_images, load_images, warn_once

SIZE = 64
HOW_TO_GET = (
    "pass --data-root DIR or set GANBENCH_DATA to a folder holding celeba/img_align_celeba/ (torchvision's layout) "
    "or faces/<folder of face images>/, or run once with internet access (and gdown) so torchvision can download CelebA"
)


def _candidates(root: Path | None) -> list[Path]:
    out = []
    for base in (root, default_cache_dir() / "data"):
        if base is None:
            continue
        out.append(base / "celeba" / "img_align_celeba")
        faces = base / "faces"
        if faces.is_dir():
            subdirs = sorted(p for p in faces.iterdir() if p.is_dir())
            out.extend(subdirs if subdirs else [faces])
    return out


def locate(root: Path | None) -> str | None:
    for folder in _candidates(root):
        if folder.is_dir() and next(iter(list_images(folder)), None) is not None:
            return str(folder)
    return None


def _download(root: Path | None) -> Path:
    import torchvision

    target = root if root is not None else default_cache_dir() / "data"
    try:
        torchvision.datasets.CelebA(str(target), split="all", target_type=[], download=True)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise DataUnavailable(f"CelebA faces are not available (download failed: {first}): {HOW_TO_GET}") from exc
    return target / "celeba" / "img_align_celeba"


def load(root: Path | None, device: torch.device, limit: int | None) -> Dataset:
    where = locate(root)
    folder = Path(where) if where else _download(root)
    found = load_images(folder, SIZE, 3, progress_label="faces")  # RGB, like the DCGAN example
    warn_once(f"faces ({folder})", found)
    return image_dataset("faces", found.images, device, limit, source=found.source(folder), what="CelebA faces")


FACES = register_dataset(
    DatasetSpec(
        name="faces",
        kind="images",
        summary="CelebA aligned faces, center-cropped and resized to 64x64 RGB",
        citation="Liu et al. 2015 (CelebA); preprocessing and nets of Radford et al. 2016 (DCGAN)",
        batch_size=64,  # Lucic et al. 2018 train CelebA with batch 64
        z_dim=100,
        load=load,
        locate=locate,
        fetch=_download,
        how_to_get=HOW_TO_GET,
    )
)
