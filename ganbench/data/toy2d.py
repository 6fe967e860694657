"""The 2-D Gaussian mixtures of the mode-collapse literature.

ring8:  8 Gaussians evenly spaced on a circle of radius 1, sigma 0.01.
grid25: 25 Gaussians at {-4, -2, 0, 2, 4}^2, sigma 0.05.
Both as in VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018). Samples are
drawn on the fly from the run's training generator, on the training device: there is
nothing to download and every machine has them.
"""

from __future__ import annotations

import math

import torch

from . import Dataset, DatasetSpec, register_dataset

CITATION = "Srivastava et al. 2017 (VEEGAN, arXiv:1705.07761); Lin et al. 2018 (PacGAN, arXiv:1712.04086)"
N_EVAL_SAMPLES = 2500  # the protocol's sample count for the mode metrics


def ring_centres(n: int = 8, radius: float = 1.0) -> torch.Tensor:
    angles = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()  # (n, 2)


def grid_centres(values=(-4.0, -2.0, 0.0, 2.0, 4.0)) -> torch.Tensor:
    v = torch.tensor(values)
    xx, yy = torch.meshgrid(v, v, indexing="ij")
    return torch.stack([xx.flatten(), yy.flatten()], dim=1)  # (25, 2)


def draw(centres: torch.Tensor, sigma: float, n: int, generator: torch.Generator) -> torch.Tensor:
    """n points: a uniformly chosen centre plus isotropic N(0, sigma^2) noise; (n, 2)."""
    device = centres.device
    idx = torch.randint(len(centres), (n,), generator=generator, device=device)
    noise = torch.randn((n, 2), generator=generator, device=device)
    return centres[idx] + sigma * noise


def mixture(name: str, centres: torch.Tensor, sigma: float, device: torch.device) -> Dataset:
    centres_dev = centres.to(device)
    # A fixed real sample for the reference figures, drawn on the CPU from its own seed so
    # that it is the same whatever device trains.
    reference = draw(centres, sigma, N_EVAL_SAMPLES, torch.Generator().manual_seed(20180000))
    return Dataset(
        name=name,
        kind="points",
        shape=(2,),
        device=device,
        sampler=lambda n, generator: draw(centres_dev, sigma, n, generator),
        reference=reference,
        reference_split=f"{len(centres)} modes, sigma {sigma} (analytic)",
        source="generated on the fly",
        extras={"centres": centres.clone(), "sigma": sigma},
    )


def _spec(name: str, centres: torch.Tensor, sigma: float, summary: str) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        kind="points",
        summary=summary,
        citation=CITATION,
        batch_size=100,  # PacGAN's 2-D experiments (App. D) use minibatches of 100
        z_dim=2,  # PacGAN's 2-D experiments draw 2-D Gaussian noise
        load=lambda root, device, limit: mixture(name, centres, sigma, device),
    )


RING8 = register_dataset(_spec("ring8", ring_centres(), 0.01, "8 Gaussians on a circle of radius 1, sigma 0.01"))
GRID25 = register_dataset(_spec("grid25", grid_centres(), 0.05, "25 Gaussians on a 5x5 grid, spacing 2, sigma 0.05"))
