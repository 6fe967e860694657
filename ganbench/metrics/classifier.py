"""The MNIST digit classifier that ships with the package, for the class-based metrics.

A small CNN (three 3x3 conv blocks, 16/32/64 channels, then 576 -> 128 -> 10), trained by
scripts/train_classifier.py on MNIST's 60,000 training images. Its weights live beside this
file (`mnist_classifier.pt`, about 0.4 MB) with their sha256 in `mnist_classifier.sha256`;
loading checks the hash and never touches the network.

Inputs are uint8 images (N, 1, 28, 28), the form real MNIST comes in and the form generated
samples take once quantised for scoring, so real and generated images go through exactly
the same preprocessing. `penultimate` (the 128-d ReLU layer) is the feature space of
`mnist_fid`.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import RunError
from .digest import sha256_of

WEIGHTS_PATH = Path(__file__).with_name("mnist_classifier.pt")
SHA256_PATH = Path(__file__).with_name("mnist_classifier.sha256")
N_CLASSES = 10
FEATURE_DIM = 128


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]


class MnistNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            *_block(1, 16),  # (N, 16, 14, 14)
            *_block(16, 32),  # (N, 32, 7, 7)
            *_block(32, 64),  # (N, 64, 3, 3)
            nn.Flatten(),  # (N, 576)
            nn.Linear(576, FEATURE_DIM),
            nn.ReLU(),  # (N, 128): the penultimate features
        )
        self.dropout = nn.Dropout(0.3)  # training only; a no-op in eval mode
        self.head = nn.Linear(FEATURE_DIM, N_CLASSES)  # (N, 10) logits

    @staticmethod
    def preprocess(images_u8: Tensor) -> Tensor:
        """uint8 [0, 255] -> float [-1, 1]: the range the generators' tanh produces."""
        return images_u8.float().div(127.5).sub(1.0)

    def penultimate(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.dropout(self.body(x)))


def expected_sha256() -> str:
    try:
        return SHA256_PATH.read_text().split()[0].strip()
    except (OSError, IndexError) as exc:
        raise RunError(f"the MNIST classifier's checksum file {SHA256_PATH} is missing or empty; reinstall") from exc


@functools.lru_cache(maxsize=4)
def load_classifier(device: str = "cpu") -> MnistNet:
    """The shipped classifier in eval mode, its weights checked against the committed sha256."""
    if not WEIGHTS_PATH.is_file():
        raise RunError(f"the MNIST classifier's weights {WEIGHTS_PATH} are missing; run scripts/train_classifier.py")
    actual, expected = sha256_of(WEIGHTS_PATH), expected_sha256()
    if actual != expected:
        raise RunError(f"{WEIGHTS_PATH} has sha256 {actual[:12]}..., expected {expected[:12]}...; the file is corrupt")
    net = MnistNet()
    net.load_state_dict(torch.load(WEIGHTS_PATH, map_location="cpu", weights_only=True))
    return net.eval().requires_grad_(False).to(device)


@torch.no_grad()
def classify(images_u8: Tensor, device: str = "cpu", batch: int = 2000) -> tuple[Tensor, Tensor]:
    """(class probabilities (N, 10), penultimate features (N, 128)), both float64 on the CPU."""
    if images_u8.dtype != torch.uint8 or images_u8.dim() != 4 or tuple(images_u8.shape[1:]) != (1, 28, 28):
        raise ValueError(
            f"expected uint8 images of shape (N, 1, 28, 28), got {images_u8.dtype} {tuple(images_u8.shape)}"
        )
    net = load_classifier(str(device))
    probs, feats = [], []
    for chunk in images_u8.split(batch):
        h = net.penultimate(net.preprocess(chunk.to(device)))
        probs.append(net.head(h).double().softmax(dim=1).cpu())
        feats.append(h.double().cpu())
    return torch.cat(probs), torch.cat(feats)


def weights_protocol() -> dict:
    """How the classifier is identified in every record that uses it."""
    return {"file": WEIGHTS_PATH.name, "sha256": expected_sha256(), "features": f"penultimate ReLU ({FEATURE_DIM}-d)"}
