"""File hashes that identify weights in every record (md5 for Inception, sha256 for the classifier)."""

from __future__ import annotations

import hashlib
from pathlib import Path


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
