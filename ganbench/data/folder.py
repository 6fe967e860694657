"""`folder:PATH`: any folder of images, benchmarked with the DCGAN nets.

- Name: PATH is resolved (`~`, `..`, symlinks, a trailing slash), so one folder is one
  dataset, `folder:/its/real/path`, however it was spelled.
- Channels: gray images (also 16-bit and gray-palette ones) stay one channel; a folder with
  any colour image is RGB.
- Size: every image is center-cropped to a square and resized to --image-size (default:
  the images' own side when all are one square size of at most 128 that the nets take,
  else 64), decoded once, then cached.
- Split: with `train/` and `test/` (or `val/`) subfolders it trains on `train/` and scores
  against the other; otherwise a fixed, seeded 10% is held out as the reference. The
  dataset's reference_split string, stated beside every metric, says which.
- Bad files: a file that does not decode is skipped, with a warning, and counted in
  config.json (`dataset.source.skipped`); `ganbench run --strict-images` fails instead.
- Scoring: FID/KID/precision/recall/IS (Inception), on by default on CUDA only; on a CPU
  a folder dataset gets no metrics unless `--inception` is passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import RunError, UsageError
from . import Dataset, DatasetSpec, register_dataset_factory
from .images import (
    FolderImages,
    digest,
    image_dataset,
    list_images,
    load_images,
    scan_folder,
    split_reference,
    warn_once,
)

DEFAULT_SIZE = 64
MAX_OWN_SIZE = 128  # a folder of larger images is trained at DEFAULT_SIZE unless --image-size says otherwise
MIN_SIZE, MAX_SIZE = 8, 512
TRAIN_NAME = "train"
REFERENCE_NAMES = ("test", "val", "valid", "validation")  # the first present is the reference

SUMMARY = (
    "any folder of images (png, jpg, ...), DCGAN nets. Gray stays 1 channel, colour is RGB; "
    f"center-cropped and resized to --image-size (default: the images' own side if all share one square "
    f"size up to {MAX_OWN_SIZE}, else {DEFAULT_SIZE}). With train/ and test/ (or val/) subfolders it trains on "
    "train/ and scores against test/, else a seeded 10% is held out. Scored by Inception metrics only: "
    "on by default on CUDA, on a CPU only with --inception. Unreadable files are skipped (--strict-images: an error)"
)


def check_size(size: int) -> int:
    """`size` if the DCGAN nets can take it (an even side from 8 to 512), else a UsageError."""
    from ..nets import dcgan_plan

    if not MIN_SIZE <= size <= MAX_SIZE:
        raise UsageError(f"--image-size must be from {MIN_SIZE} to {MAX_SIZE}, got {size}")
    try:
        dcgan_plan(size)
    except ValueError:
        raise UsageError(f"--image-size must be even (the DCGAN nets halve it), got {size}") from None
    return size


def _fits(size: int | None) -> bool:
    if size is None or size > MAX_OWN_SIZE:
        return False
    try:
        check_size(size)
    except UsageError:
        return False
    return True


@dataclass(frozen=True)
class Layout:
    root: Path
    train: Path  # the folder trained on (root itself when there is no split)
    reference: Path | None  # the folder scored against; None: a seeded 10% of `train`

    @property
    def folders(self) -> list[Path]:
        return [self.train] + ([self.reference] if self.reference else [])

    def describe(self) -> str:
        if self.reference is None:
            return "images below the folder"
        return f"{self.train.name}/ trained on, {self.reference.name}/ the reference"


def layout(root: Path) -> Layout:
    train = root / TRAIN_NAME
    if train.is_dir():
        for name in REFERENCE_NAMES:
            if (root / name).is_dir():
                return Layout(root, train, root / name)
    return Layout(root, root, None)


def _scan(lay: Layout):
    scans = [scan_folder(f) for f in lay.folders]
    sizes = set().union(*(s.sizes for s in scans))
    gray = all(s.gray for s in scans)
    side = scans[0].common_side() if len(sizes) == 1 else None
    return side, gray


def _unused(lay: Layout) -> int:
    """Images below the root that a split layout does not use (neither train/ nor the reference)."""
    if lay.reference is None:
        return 0
    used = {p for f in lay.folders for p in list_images(f)}
    return sum(1 for p in list_images(lay.root) if p not in used)


def folder_spec(arg: str) -> DatasetSpec:
    given = Path(arg).expanduser()
    if not given.is_dir():
        raise UsageError(f"folder:{arg}: no such folder")
    root = given.resolve()
    name = f"folder:{root}"
    lay = layout(root)

    def locate(data_root: Path | None) -> str | None:
        return str(root) if next(iter(list_images(lay.train)), None) is not None else None

    def image_size(requested: int | None) -> int:
        if requested is not None:
            return check_size(requested)
        if next(iter(list_images(lay.train)), None) is None:
            return DEFAULT_SIZE  # loading says there are no images
        side, _ = _scan(lay)
        return side if _fits(side) else DEFAULT_SIZE

    def load(data_root: Path | None, device: torch.device, limit: int | None, image_size: int | None = None) -> Dataset:
        return load_folder_dataset(name, lay, device, limit, image_size)

    return DatasetSpec(
        name=name,
        kind="images",
        summary=f"images under {root}, {lay.describe()}",
        citation="user data",
        batch_size=64,
        z_dim=100,
        load=load,
        locate=locate,
        how_to_get=f"put image files ({', '.join(('png', 'jpg', '...'))}) under {lay.train}",
        image_size=image_size,
    )


def decode(name: str, lay: Layout, image_size: int | None, warn: bool = True) -> tuple[int, int, list[FolderImages]]:
    """(side, channels, decoded images of each folder of the layout), warning once (if `warn`)
    about skipped files and conversions."""
    if not lay.train.is_dir():
        raise RunError(f"{lay.train} is not a folder of images")
    if next(iter(list_images(lay.train)), None) is None:
        return DEFAULT_SIZE, 3, [load_images(lay.train, DEFAULT_SIZE)]  # raises "no image files"
    side, gray = _scan(lay)
    size = check_size(image_size) if image_size is not None else (side if _fits(side) else DEFAULT_SIZE)
    channels = 1 if gray else 3
    found = [load_images(f, size, channels, progress_label=f.name) for f in lay.folders]
    for f, part in zip(lay.folders, found, strict=True) if warn else ():
        warn_once(f"{name} ({f.relative_to(lay.root)}/)" if f != lay.root else name, part)
    return size, channels, found


def load_folder_dataset(
    name: str, lay: Layout, device: torch.device, limit: int | None, image_size: int | None
) -> Dataset:
    size, channels, found = decode(name, lay, image_size)
    shape = f"{channels}x{size}x{size}"
    if lay.reference is None:
        (part,) = found
        train, reference = split_reference(part.images)
        split = (
            f"{name}: seeded held-out {len(reference):,} of {len(part.images):,} images "
            f"(no train/ and test/ subfolders), {shape}, digest {digest(reference)}"
        )
        source = part.source(lay.root)
    else:
        train_part, ref_part = found
        train, reference = train_part.images, ref_part.images
        split = (
            f"{name}: its {lay.reference.name}/ split, {len(reference):,} images (never trained on; training on "
            f"{lay.train.name}/, {len(train):,} images), {shape}, digest {digest(reference)}"
        )
        unused = _unused(lay)
        source = {
            "path": str(lay.root),
            "train": train_part.source(lay.train),
            "reference": ref_part.source(lay.reference),
            "skipped": len(train_part.skipped) + len(ref_part.skipped),
            "unused_images": unused,
        }
        if unused:
            warn_once_text(
                name,
                f"{name}: {unused:,} image(s) outside {lay.train.name}/ and {lay.reference.name}/ are not used",
            )
    return image_dataset(
        name, train, device, limit, source=source, what=name, reference=reference, reference_split=split
    )


_TEXT_WARNED: set[tuple[str, str]] = set()


def warn_once_text(key: str, msg: str) -> None:
    from .images import _warn

    if (key, msg) in _TEXT_WARNED:
        return
    _TEXT_WARNED.add((key, msg))
    _warn(msg)


def strict_check(name: str, image_size: int | None) -> None:
    """A one-line RunError when any image of the folder dataset `name` does not decode
    (`ganbench run --strict-images`); decodes (and caches) the folder now."""
    from . import get_dataset_spec

    spec = get_dataset_spec(name)
    lay = layout(Path(spec.name.partition(":")[2]))
    _, _, found = decode(spec.name, lay, image_size, warn=False)
    bad = [f"{f.relative_to(lay.root) / n}" for f, part in zip(lay.folders, found, strict=True) for n in part.skipped]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5:,} more" if len(bad) > 5 else "")
        raise RunError(
            f"{len(bad):,} image file(s) under {lay.root} do not decode ({shown}); "
            "remove or replace them, or drop --strict-images to skip them"
        )


register_dataset_factory("folder", folder_spec)
