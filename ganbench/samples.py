"""samples.png: what a generator produces, on the run's fixed evaluation noise."""

from __future__ import annotations

from pathlib import Path

import torch

from .data import Dataset
from .rundir import atomic_write_bytes, private_tmp

GRID_IMAGES = 64  # an 8x8 grid
SCATTER_POINTS = 2500  # the 2-D protocol's sample count


def write_samples(trainer, data: Dataset, path: Path) -> None:
    """An 8x8 image grid, or a scatter of generated points over the mode centres."""
    gen = trainer.gens.eval()
    if data.kind == "images":
        from torchvision.utils import save_image  # imports all of torchvision: only when needed

        images = trainer.sample(GRID_IMAGES, gen)  # (64, C, H, W) in [-1, 1]
        tmp = private_tmp(path, ".png")
        save_image(images.add(1).div(2).clamp(0, 1), tmp, nrow=8, padding=2)
        tmp.replace(path)
    else:
        from .plots import scatter_points_png

        points = trainer.sample(SCATTER_POINTS, gen)  # (2500, 2)
        centres = data.extras.get("centres", torch.empty(0, 2))
        title = f"{trainer.variant.name} on {data.name}, step {trainer.step}"
        atomic_write_bytes(path, scatter_points_png(points.numpy(), centres.numpy(), title))
