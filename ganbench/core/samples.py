"""What a generator produces: the `Sampler` an evaluator scores, and samples.png.

A `Sampler` is the generator net and how to feed it, nothing else: evaluators score it
without the discriminator, the optimisers or a `Trainer`, so `ganbench eval` builds only
G, and a generator made elsewhere can be scored the same way. `FixedSamples` is the same
interface over samples made elsewhere (`ganbench score --samples`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ..data import Dataset
from ..rundir import atomic_write_bytes, private_tmp
from ..seeding import eval_generator
from ..spec import NOISES

GRID_IMAGES = 64  # an 8x8 grid
SCATTER_POINTS = 2500  # the 2-D protocol's sample count


def draw_noise(kind: str, n: int, z_dim: int, generator: torch.Generator, device=None) -> Tensor:
    """(n, z_dim) latent draws: "normal" N(0, I), or "uniform" U(-1, 1) (as Radford et al.'s and
    PacGAN's Stacked MNIST code draw them: np.random.uniform(-1, 1), VEEGAN_experiment/model.py:193)."""
    if kind == "normal":
        return torch.randn(n, z_dim, generator=generator, device=device)
    if kind == "uniform":
        return torch.rand(n, z_dim, generator=generator, device=device).mul_(2).sub_(1)
    raise ValueError(f"unknown noise {kind!r}; choose one of {', '.join(NOISES)}")


@dataclass
class Sampler:
    """A generator and its noise: `sample(n)` gives n samples on the CPU, G in eval mode.

    Noise is `noise` (N(0, I) or U(-1, 1): the kind G was trained on), drawn on the CPU
    and moved, so the samples for a given eval seed are the same whatever device runs G.
    Without an explicit generator, every call draws from a fresh evaluation stream
    (`seeding.eval_generator`): the same latent draws at every evaluation, for every
    variant and seed, independent of the training stream.
    """

    g: nn.Module
    z_dim: int
    device: torch.device
    eval_seed: int = 0
    noise: str = "normal"

    def eval_generator(self) -> torch.Generator:
        return eval_generator(self.eval_seed)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, batch: int = 500) -> Tensor:
        generator = generator if generator is not None else self.eval_generator()
        was_training = self.g.training
        self.g.eval()
        try:
            chunks = []
            for start in range(0, n, batch):
                m = min(batch, n - start)
                z = draw_noise(self.noise, m, self.z_dim, generator)
                chunks.append(self.g(z.to(self.device)).float().cpu())
            return torch.cat(chunks)
        finally:
            self.g.train(was_training)


class FixedSamples:
    """Samples made elsewhere, scored like a generator's: `sample(n)` returns the first n,
    in [-1, 1] for images (N, C, H, W), as given for points (N, 2). There is no noise, so
    every call returns the same samples; asking for more than there are is an error (the
    caller checks the count first and says so as one line)."""

    def __init__(self, samples: Tensor):
        self.samples = samples.float().cpu()

    def __len__(self) -> int:
        return len(self.samples)

    def sample(self, n: int, generator: torch.Generator | None = None, batch: int = 500) -> Tensor:
        if n > len(self.samples):
            raise ValueError(f"asked for {n} samples; only {len(self.samples)} were given")
        return self.samples[:n]


def write_samples(sampler: Sampler, data: Dataset, path: Path, title: str = "") -> None:
    """An 8x8 image grid, or a scatter of generated points over the mode centres."""
    if data.kind == "images":
        from torchvision.utils import save_image  # imports all of torchvision: only when needed

        images = sampler.sample(GRID_IMAGES)  # (64, C, H, W) in [-1, 1]
        tmp = private_tmp(path, ".png")
        save_image(images.add(1).div(2).clamp(0, 1), tmp, nrow=8, padding=2)
        tmp.replace(path)
    else:
        points = sampler.sample(SCATTER_POINTS)  # (2500, 2)
        centres = data.extras.get("centres", torch.empty(0, 2))
        atomic_write_bytes(path, scatter_points_png(points.numpy(), centres.numpy(), title))


def scatter_points_png(points: np.ndarray, centres: np.ndarray, title: str = "") -> bytes:
    """Generated 2-D points over the true mode centres, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    finite = np.isfinite(points).all(axis=1)
    ax.scatter(points[finite, 0], points[finite, 1], s=2, alpha=0.4, color="tab:blue", label="generated")
    if len(centres):
        ax.scatter(centres[:, 0], centres[:, 1], s=40, marker="x", color="tab:red", label="mode centres")
        span = np.abs(centres).max() * 1.5 + 0.5
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
