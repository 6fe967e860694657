"""Folders of image files -> one cached uint8 tensor, and the split into train/reference.

Decoding and resizing happen once: the result is cached as a single uint8 tensor under
the cache folder, keyed by the files' names, sizes and modification times and by the
preprocessing, so a changed source invalidates it and nothing is decoded per epoch.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import torch

from ..errors import RunError
from ..rundir import atomic_write_bytes
from . import Dataset, default_cache_dir, writable_cache_dir
from .mnist import to_unit_range

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
CACHE_VERSION = 1  # bump when the preprocessing changes
REFERENCE_SEED = 20160000  # the held-out split is fixed forever, whatever the run's seed
MAX_REFERENCE = 10_000


def list_images(folder: Path) -> list[Path]:
    """Every image file below `folder` (recursively), in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def _cache_key(files: list[Path], root: Path, size: int) -> str:
    h = hashlib.sha1(f"v{CACHE_VERSION}:{size}:{root.resolve()}".encode())
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def center_crop_resize(path: Path, size: int) -> torch.Tensor:
    """The central square (side = the shorter side), resized to size x size: (3, size, size) uint8.

    With CelebA's aligned 178x218 photos this is the PyTorch DCGAN example's preprocessing
    (Resize(64) then CenterCrop(64)); on the 89x109 half-resolution copies, an 89x89 crop.
    """
    from PIL import Image, UnidentifiedImageError
    from torchvision.transforms.v2 import functional as F

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            img = F.pil_to_tensor(im)  # (3, H, W) uint8
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise RunError(f"image {path} does not decode ({type(exc).__name__}); remove or replace the file") from exc
    side = min(img.shape[-2:])
    img = F.center_crop(img, [side, side])
    return F.resize(img, [size, size], antialias=True)


def load_folder(folder: Path, size: int, progress_label: str = "") -> torch.Tensor:
    """All images below `folder` as (N, 3, size, size) uint8, decoded once and cached."""
    if not folder.is_dir():
        raise RunError(f"{folder} is not a folder of images")
    files = list_images(folder)
    if not files:
        kinds = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise RunError(f"no image files ({kinds}) under {folder}; point at a folder of images")
    cache = default_cache_dir() / "images" / f"{_cache_key(files, folder, size)}.pt"
    if cache.exists():
        try:
            return torch.load(cache, weights_only=True)
        except Exception:  # a torn cache file: decode again
            cache.unlink(missing_ok=True)
    writable_cache_dir(cache.parent, "the decoded images")  # before decoding them, not after
    from tqdm.auto import tqdm

    images = torch.empty((len(files), 3, size, size), dtype=torch.uint8)
    bar = tqdm(files, desc=f"decoding {progress_label or folder.name}", unit="img", leave=False, disable=None)
    for i, p in enumerate(bar):
        images[i] = center_crop_resize(p, size)
    buf = io.BytesIO()
    torch.save(images, buf)
    atomic_write_bytes(cache, buf.getvalue())
    return images


def split_reference(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, reference): a fixed, seeded 10% (at most 10,000) held out for the metrics."""
    n = len(images)
    n_ref = min(MAX_REFERENCE, max(1, n // 10)) if n > 1 else 0
    order = torch.randperm(n, generator=torch.Generator().manual_seed(REFERENCE_SEED))
    return images[order[n_ref:]], images[order[:n_ref]]


def image_dataset(
    name: str, images: torch.Tensor, device: torch.device, limit: int | None, source: str, what: str
) -> Dataset:
    train, reference = split_reference(images)
    if limit is not None:
        train = train[:limit]
    return Dataset(
        name=name,
        kind="images",
        shape=tuple(images.shape[1:]),
        device=device,
        train=to_unit_range(train).to(device),  # (N, 3, S, S) in [-1, 1], resident on the device
        reference=reference,  # uint8, never trained on
        reference_split=f"{what}: seeded held-out {len(reference):,} of {len(images):,} images",
        source=source,
    )
