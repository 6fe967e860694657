"""Stacked MNIST: three MNIST digits drawn independently as the R, G and B channels.

1,000 modes (a digit per channel), the mode-collapse benchmark of Metz et al. 2017
(Unrolled GANs), VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018). Following
VEEGAN's setup (as released with PacGAN): 128,000 training images built from MNIST's
training split, and the mode metrics scored on 26,000 generated samples.

Both splits are built deterministically: a fixed seed per split draws the three digit
indices of every image, so every machine trains on the same 128,000 images and is scored
against the same reference. The reference (for mnist_fid and Inception FID) is 10,000
stacked images built from MNIST's test split, as the MNIST reference is its 10,000 test
images (Lucic et al. 2018).
"""

from __future__ import annotations

from pathlib import Path

import torch

from . import Dataset, DatasetSpec, register_dataset
from .mnist import HOW_TO_GET, load_split, locate, to_unit_range, torchvision_root

N_TRAIN = 128_000  # VEEGAN / PacGAN: num_training_sample = 128000
N_REFERENCE = 10_000
MODE_SAMPLES = 26_000  # VEEGAN / PacGAN count modes on 26,000 generated samples
TRAIN_SEED = 20170001  # fixed forever: changing one changes every published number
REFERENCE_SEED = 20170002


def stack(images: torch.Tensor, labels: torch.Tensor, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n stacked images (n, 3, 28, 28) uint8 from single-channel `images` (M, 1, 28, 28), and
    their mode labels 100 * r + 10 * g + b (n,). Channel digits are drawn independently and
    uniformly from `images`, with replacement, from a generator seeded with `seed`."""
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(images), (n, 3), generator=gen)  # (n, 3): one source image per channel
    stacked = images[idx.flatten(), 0].view(n, 3, *images.shape[-2:])
    modes = (labels[idx] * torch.tensor([100, 10, 1])).sum(dim=1)
    return stacked.contiguous(), modes


def load(root: Path | None, device: torch.device, limit: int | None) -> Dataset:
    train_x, train_y = load_split(root, train=True)
    test_x, test_y = load_split(root, train=False)
    n_train = N_TRAIN if limit is None else min(limit, N_TRAIN)
    train, _ = stack(train_x, train_y, N_TRAIN, TRAIN_SEED)  # built whole, then cut, so a limit keeps a prefix
    reference, ref_modes = stack(test_x, test_y, N_REFERENCE, REFERENCE_SEED)
    return Dataset(
        name="stacked-mnist",
        kind="images",
        shape=(3, 28, 28),
        device=device,
        train=to_unit_range(train[:n_train]).to(device),  # (N, 3, 28, 28) in [-1, 1]
        reference=reference,  # (10000, 3, 28, 28) uint8
        reference_split=f"Stacked MNIST from the MNIST test split ({N_REFERENCE:,} images, seed {REFERENCE_SEED})",
        source=locate(root) or "torchvision download",
        extras={"reference_modes": ref_modes, "mode_samples": MODE_SAMPLES},
    )


STACKED_MNIST = register_dataset(
    DatasetSpec(
        name="stacked-mnist",
        kind="images",
        summary="three MNIST digits as RGB channels, 28x28x3, 1,000 modes, 128,000 training images",
        citation="Metz et al. 2017 (arXiv:1611.02163); VEEGAN (arXiv:1705.07761); PacGAN (arXiv:1712.04086)",
        batch_size=64,  # VEEGAN / PacGAN's Stacked MNIST DCGAN trains with batch 64
        z_dim=100,
        load=load,
        locate=locate,
        fetch=torchvision_root,
        how_to_get=HOW_TO_GET,
    )
)
