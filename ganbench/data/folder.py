"""`folder:PATH`: any folder of images, benchmarked like the faces (64x64 RGB, DCGAN nets).

Every image below PATH (recursively) is center-cropped to a square and resized to 64x64
once, then cached; a fixed, seeded 10% is held out as the metrics' reference.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import UsageError
from . import Dataset, DatasetSpec, register_dataset_factory
from .images import image_dataset, list_images, load_folder

SIZE = 64


def folder_spec(arg: str) -> DatasetSpec:
    folder = Path(arg).expanduser()
    if not folder.is_dir():
        raise UsageError(f"folder:{arg}: no such folder")

    def locate(root: Path | None) -> str | None:
        return str(folder) if next(iter(list_images(folder)), None) is not None else None

    def load(root: Path | None, device: torch.device, limit: int | None) -> Dataset:
        images = load_folder(folder, SIZE)
        return image_dataset(f"folder:{arg}", images, device, limit, source=str(folder.resolve()), what=str(folder))

    return DatasetSpec(
        name=f"folder:{arg}",
        kind="images",
        summary=f"images under {folder}, center-cropped and resized to {SIZE}x{SIZE} RGB",
        citation="user data",
        batch_size=64,
        z_dim=100,
        load=load,
        locate=locate,
        how_to_get=f"put image files ({', '.join(('png', 'jpg', '...'))}) under {folder}",
    )


register_dataset_factory("folder", folder_spec)
