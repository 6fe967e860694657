"""Digests that identify weights (md5 for Inception, sha256 for the classifier) and reference splits."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import torch


def file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def md5_of(path: Path) -> str:
    return file_digest(path, "md5")


def sha256_of(path: Path) -> str:
    return file_digest(path, "sha256")


def reference_key(dataset: str, split: str, reference: torch.Tensor) -> str:
    """A file-name-safe key for a reference split: a readable slug of the dataset and split,
    the image count, and a digest of the images, so that two folders whose names slug alike,
    or a folder whose files changed, never share cached statistics."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{dataset}-{split}").strip("-").lower()[:80]
    digest = hashlib.sha256(reference.contiguous().cpu().numpy().tobytes()).hexdigest()[:12]
    return f"{slug}-n{len(reference)}-d{digest}"
