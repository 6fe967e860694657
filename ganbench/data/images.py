"""Folders of image files -> one cached uint8 tensor, and the split into train/reference.

Decoding and resizing happen once: the result is cached as a single uint8 tensor under
the cache folder, keyed by the files' names, sizes and modification times and by the
preprocessing (side, channel count), so a changed source invalidates it and nothing is
decoded per epoch.

Files are found recursively; symlinked subfolders are followed, each real folder once, so
a link back up the tree cannot loop. A file that does not decode is skipped and listed
(`FolderImages.skipped`) unless `strict`; every other conversion (alpha dropped, palette
expanded, 16-bit scaled to 8-bit, ...) is counted in `FolderImages.converted`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import RunError
from ..rundir import atomic_write_bytes
from . import Dataset, default_cache_dir, writable_cache_dir
from .mnist import to_unit_range

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
CACHE_VERSION = 2  # bump when the preprocessing changes
REFERENCE_SEED = 20160000  # the held-out split is fixed forever, whatever the run's seed
MAX_REFERENCE = 10_000
# Modes whose pixels are one gray value (plus, for LA, alpha); 16-bit and 32-bit ones included.
GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
SIXTEEN_BIT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}
EXTREME_ASPECT = 2.0  # wider (or taller) than this: the center crop drops over half the image
SHOWN_FILES = 5  # skipped files named in a warning; the rest are counted


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)


def list_images(folder: Path) -> list[Path]:
    """Every image file below `folder` (recursively), in a stable order.

    Symlinked subfolders are followed; a folder already visited (a link back up the tree,
    or two links to one folder) is not entered again, so a loop cannot hang the listing
    and no image is listed twice through two links.
    """
    seen: set[tuple[int, int]] = set()
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        for name in filenames:
            p = Path(dirpath) / name
            if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file():
                out.append(p)
    return sorted(out)


def _signature(files: list[Path], root: Path, *parts) -> str:
    h = hashlib.sha1(f"v{CACHE_VERSION}:{':'.join(map(str, parts))}:{root.resolve()}".encode())
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


# --- headers: sizes and colour, without decoding the pixels ---------------------------


@dataclass
class FolderScan:
    """What the headers of a folder's images say."""

    files: list[Path]
    sizes: dict[str, int]  # "WxH" -> count, over the files whose header reads
    gray: bool  # every readable image is gray (a gray palette counts as gray)
    unreadable: dict[str, str]  # relative path -> why its header does not read

    def common_side(self) -> int | None:
        """The side, when every readable image is the same square size; else None."""
        if len(self.sizes) != 1:
            return None
        w, h = (int(v) for v in next(iter(self.sizes)).split("x"))
        return w if w == h else None


_SCANS: dict[str, FolderScan] = {}


def _is_gray(im) -> bool:
    if im.mode in GRAY_MODES:
        return True
    if im.mode in ("P", "PA"):
        pal = im.getpalette() or []
        return all(pal[i] == pal[i + 1] == pal[i + 2] for i in range(0, len(pal) - 2, 3))
    return False


def scan_folder(folder: Path) -> FolderScan:
    """The headers of every image below `folder` (cached in memory and on disk)."""
    from PIL import Image

    files = list_images(folder)
    key = _signature(files, folder, "scan")
    if key in _SCANS:
        return _SCANS[key]
    path = default_cache_dir() / "images" / f"scan-{key}.json"
    try:
        doc = json.loads(path.read_text())
        scan = FolderScan(files, doc["sizes"], doc["gray"], doc["unreadable"])
    except (OSError, ValueError, KeyError, TypeError):
        sizes: dict[str, int] = {}
        gray, unreadable = True, {}
        for p in files:
            try:
                with Image.open(p) as im:
                    wh = f"{im.size[0]}x{im.size[1]}"
                    gray = gray and _is_gray(im)
            except Exception as exc:  # noqa: BLE001  (PIL raises many kinds for a bad file)
                unreadable[str(p.relative_to(folder))] = _why(exc, p)
                continue
            sizes[wh] = sizes.get(wh, 0) + 1
        scan = FolderScan(files, sizes, gray and bool(sizes), unreadable)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"sizes": scan.sizes, "gray": scan.gray, "unreadable": scan.unreadable}
        atomic_write_bytes(path, json.dumps(doc).encode())
    _SCANS[key] = scan
    return scan


def _why(exc: Exception, path: Path) -> str:
    """Why a file does not decode, in a few words (without its path, which is listed beside)."""
    first = (str(exc).strip().splitlines() or [""])[0].replace(f"'{path}'", "").replace(str(path), "").strip()[:80]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


# --- decoding -------------------------------------------------------------------------

ALPHA = "alpha dropped"
PALETTE = "palette expanded"
SIXTEEN = "16-bit scaled to 8-bit"
ASPECT = f"aspect ratio beyond {EXTREME_ASPECT:g}:1 (center crop keeps under half)"
ONE_PIXEL = "1x1 images"
GRAY_TO_RGB = "gray repeated to 3 channels (the folder also holds colour images)"
COLOUR_TO_GRAY = "colour converted to gray"


def decode_image(path: Path, size: int, channels: int = 3, notes: set[str] | None = None) -> torch.Tensor:
    """The central square (side = the shorter side), resized to size x size: (channels, size, size) uint8.

    With CelebA's aligned 178x218 photos this is the PyTorch DCGAN example's preprocessing
    (Resize(64) then CenterCrop(64)); on the 89x109 half-resolution copies, an 89x89 crop.
    16-bit images are scaled to 8 bits (v * 255 / 65535, rounded), not clipped. Anything
    else converted is added to `notes`. Raises whatever PIL raises for a file that does not
    decode.
    """
    import numpy as np
    from PIL import Image
    from torchvision.transforms.v2 import functional as F

    notes = set() if notes is None else notes
    with Image.open(path) as im:
        im.load()
        w, h = im.size
        if w == 1 and h == 1:
            notes.add(ONE_PIXEL)
        elif max(w, h) > EXTREME_ASPECT * min(w, h):
            notes.add(ASPECT)
        mode = im.mode
        if mode in ("P", "PA"):
            notes.add(PALETTE)
            if mode == "PA" or "transparency" in im.info:
                notes.add(ALPHA)
            im = im.convert("L" if channels == 1 else "RGB")  # one channel: the scan found a gray palette
            mode = im.mode
        if mode in SIXTEEN_BIT_MODES:
            notes.add(SIXTEEN)
            wide = np.asarray(im).astype(np.int64).clip(0, 65535)
            arr = ((wide * 255 + 32767) // 65535).astype(np.uint8)
        elif mode in GRAY_MODES:  # 1, L, LA, F
            if mode in ("LA", "La"):
                notes.add(ALPHA)
            arr = np.asarray(im.convert("L"))
        else:
            if mode in ("RGBA", "RGBa") or "transparency" in im.info:
                notes.add(ALPHA)
            arr = np.asarray(im.convert("RGB"))
    img = torch.from_numpy(arr.copy())
    img = img.unsqueeze(0) if img.dim() == 2 else img.permute(2, 0, 1)  # (C, H, W) uint8
    if img.shape[0] == 1 and channels == 3:
        notes.add(GRAY_TO_RGB)
        img = img.expand(3, -1, -1)
    elif img.shape[0] == 3 and channels == 1:
        notes.add(COLOUR_TO_GRAY)
        img = F.rgb_to_grayscale(img)
    side = min(img.shape[-2:])
    img = F.center_crop(img, [side, side])
    if side != size:
        img = F.resize(img, [size, size], antialias=True)
    return img.contiguous()


@dataclass
class FolderImages:
    images: torch.Tensor  # (N, C, size, size) uint8
    skipped: dict[str, str] = field(default_factory=dict)  # relative path -> why
    converted: dict[str, int] = field(default_factory=dict)  # what was converted -> how many images
    key: str = ""  # the cache key: the files and the preprocessing

    def source(self, folder: Path) -> dict:
        """What config.json records about where the images came from."""
        return {
            "path": str(folder),
            "images": len(self.images),
            "skipped": len(self.skipped),
            "skipped_files": dict(list(self.skipped.items())[:100]),
            "converted": self.converted,
        }


def load_images(folder: Path, size: int, channels: int = 3, progress_label: str = "") -> FolderImages:
    """All images below `folder` as (N, channels, size, size) uint8, decoded once and cached.

    Files that do not decode are left out and listed in `skipped`."""
    if not folder.is_dir():
        raise RunError(f"{folder} is not a folder of images")
    files = list_images(folder)
    if not files:
        kinds = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise RunError(f"no image files ({kinds}) under {folder}; point at a folder of images")
    key = _signature(files, folder, size, channels)
    cache = default_cache_dir() / "images" / f"{key}.pt"
    if cache.exists():
        try:
            doc = torch.load(cache, weights_only=True)
            return FolderImages(doc["images"], dict(doc["skipped"]), dict(doc["converted"]), key)
        except Exception:  # a torn or old cache file: decode again
            cache.unlink(missing_ok=True)
    writable_cache_dir(cache.parent, "the decoded images")  # before decoding them, not after
    from tqdm.auto import tqdm

    decoded, skipped, converted = [], {}, {}
    bar = tqdm(files, desc=f"decoding {progress_label or folder.name}", unit="img", leave=False, disable=None)
    for p in bar:
        notes: set[str] = set()
        try:
            decoded.append(decode_image(p, size, channels, notes))
        except Exception as exc:  # noqa: BLE001  (a truncated or foreign file: skip it, say so)
            skipped[str(p.relative_to(folder))] = _why(exc, p)
            continue
        for note in notes:
            converted[note] = converted.get(note, 0) + 1
    if not decoded:
        raise RunError(f"none of the {len(files):,} image files under {folder} decodes (e.g. {next(iter(skipped))})")
    out = FolderImages(torch.stack(decoded), skipped, dict(sorted(converted.items())), key)
    buf = io.BytesIO()
    torch.save({"images": out.images, "skipped": out.skipped, "converted": out.converted}, buf)
    atomic_write_bytes(cache, buf.getvalue())
    return out


_WARNED: set[str] = set()


def warn_once(label: str, found: FolderImages) -> None:
    """One warning per process and decoded folder: the files skipped and what was converted."""
    if found.key in _WARNED:
        return
    _WARNED.add(found.key)
    if found.skipped:
        shown = [f"{name} ({why})" for name, why in list(found.skipped.items())[:SHOWN_FILES]]
        more = len(found.skipped) - len(shown)
        _warn(
            f"{label}: skipped {len(found.skipped):,} image file(s) that do not decode: {', '.join(shown)}"
            + (f" and {more:,} more (all listed in config.json)" if more else "")
            + "; --strict-images makes this an error"
        )
    if found.converted:
        what = ", ".join(f"{note} ({n:,})" for note, n in found.converted.items())
        _warn(f"{label}: converted while decoding {len(found.images):,} images: {what}")


def split_reference(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, reference): a fixed, seeded 10% (at most 10,000) held out for the metrics."""
    n = len(images)
    n_ref = min(MAX_REFERENCE, max(1, n // 10)) if n > 1 else 0
    order = torch.randperm(n, generator=torch.Generator().manual_seed(REFERENCE_SEED))
    return images[order[n_ref:]], images[order[:n_ref]]


def digest(images: torch.Tensor) -> str:
    """A short digest of a uint8 image tensor's shape and pixels."""
    h = hashlib.sha1(str(tuple(images.shape)).encode())
    h.update(images.contiguous().numpy().tobytes())
    return h.hexdigest()[:8]


def image_dataset(
    name: str,
    images: torch.Tensor,
    device: torch.device,
    limit: int | None,
    source,
    what: str,
    reference: torch.Tensor | None = None,
    reference_split: str | None = None,
) -> Dataset:
    """A Dataset of images. Without `reference`, a seeded 10% of `images` is held out."""
    if reference is None:
        train, reference = split_reference(images)
        reference_split = reference_split or f"{what}: seeded held-out {len(reference):,} of {len(images):,} images"
    else:
        train = images
    if limit is not None:
        train = train[:limit]
    return Dataset(
        name=name,
        kind="images",
        shape=tuple(images.shape[1:]),
        device=device,
        train=to_unit_range(train).to(device),  # (N, C, S, S) in [-1, 1], resident on the device
        reference=reference,  # uint8, never trained on
        reference_split=reference_split,
        source=source,
    )
