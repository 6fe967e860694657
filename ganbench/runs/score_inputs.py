"""What `ganbench score` reads, checked before anything is scored: sample files and folders
(points (N, 2); images (N, C, H, W), (N, H, W, C) or (N, H, W), uint8 or float), and a
generator from a factory and its weights. Every bad input is one UsageError (exit 2) that
says what was expected.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from ..config import DEFAULT_PROFILE, profile_defaults
from ..core.samples import Sampler
from ..data import Dataset
from ..errors import UsageError
from ..metrics.evaluate import samples_needed
from ..plugins import NotAPythonFile, import_file

DEFAULT_RANGE = (-1.0, 1.0)
RANGE_SLACK = 1e-3  # of the declared range's width: float rounding at its ends is not an error
MESSAGE_CHARS = 240  # how much of a library's error message a one-line error quotes


def default_eval_samples(data: Dataset) -> int:
    """What ganbench's own runs of the default profile score: 2,500 points, 2,000 images."""
    return profile_defaults(DEFAULT_PROFILE, data.name, data.kind)["eval_samples"]


def _shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def expected_shapes(data: Dataset) -> str:
    if data.kind == "points":
        return f"points of shape (N, {data.shape[0]})"
    c, h, w = data.shape
    also = f" or (N, {h}, {w})" if c == 1 else ""
    return f"images of shape (N, {c}, {h}, {w}) or (N, {h}, {w}, {c}){also}"


def _range_text(lo: float, hi: float) -> str:
    return f"[{lo:g}, {hi:g}]"


def _check_range(x: Tensor, value_range: tuple[float, float], where: str) -> None:
    lo, hi = value_range
    finite = x[torch.isfinite(x)]
    if not len(finite):
        return
    slack = RANGE_SLACK * (hi - lo)
    mn, mx = finite.min().item(), finite.max().item()
    if mn < lo - slack or mx > hi + slack:
        hint = " (declare another with --range LO,HI, e.g. --range 0,1)" if value_range == DEFAULT_RANGE else ""
        raise UsageError(
            f"{where}: expected values in {_range_text(lo, hi)}{hint}; got values from {mn:.4g} to {mx:.4g}"
        )


def looks_like_zero_one(x: Tensor) -> bool:
    """Images taken to be in [-1, 1] (no --range) with no value below 0: likely in [0, 1]."""
    finite = x[torch.isfinite(x)]
    return len(finite) > 0 and finite.min().item() >= 0


ZERO_ONE_NOTE = "every image value is >= 0: if they are in [0, 1], pass --range 0,1 (scored as [-1, 1] now)"


def to_minus_one_one(x: Tensor, value_range: tuple[float, float]) -> Tensor:
    lo, hi = value_range
    return x if (lo, hi) == DEFAULT_RANGE else (x - lo) / (hi - lo) * 2 - 1


def as_samples(x, data: Dataset, value_range: tuple[float, float] | None, where: str) -> Tensor:
    """An array of samples as the evaluator takes them: float points (N, 2), or float images
    (N, C, H, W) in [-1, 1]. uint8 images are 0..255; float images are in [-1, 1] unless
    `value_range` declares another range."""
    if not isinstance(x, Tensor):
        x = torch.as_tensor(x)
    if x.dtype == torch.bool or x.is_complex():
        raise UsageError(f"{where}: expected {expected_shapes(data)}, as numbers; got {x.dtype}")
    shape = tuple(x.shape)
    if data.kind == "points":
        if value_range is not None:
            raise UsageError("--range applies to images; points are scored as given")
        if x.dim() != 2 or shape[1] != data.shape[0]:
            raise UsageError(f"{where}: expected {expected_shapes(data)} for {data.name}; got {_shape(shape)}")
        x = x.float()
        if not torch.isfinite(x).all():
            raise UsageError(f"{where}: the points contain NaN or Inf")
        return x
    c, h, w = data.shape
    if x.dim() == 4 and shape[1:] == (c, h, w):
        pass
    elif x.dim() == 4 and shape[1:] == (h, w, c):
        x = x.permute(0, 3, 1, 2)
    elif x.dim() == 3 and c == 1 and shape[1:] == (h, w):
        x = x.unsqueeze(1)
    else:
        why = ""
        if x.dim() == 4 and (shape[2:] == (h, w) or shape[1:3] == (h, w)):
            got_c = shape[1] if shape[2:] == (h, w) else shape[3]
            why = f": {data.name} images have {c} channel{'s' if c > 1 else ''}, not {got_c}"
        raise UsageError(f"{where}: expected {expected_shapes(data)} for {data.name}; got {_shape(shape)}{why}")
    if x.dtype == torch.uint8:
        if value_range is not None:
            raise UsageError("--range applies to float images and generators; uint8 images are 0..255")
        return x.float().div(127.5).sub(1)
    if not x.is_floating_point():
        raise UsageError(f"{where}: expected uint8 (0..255) or float images; got {str(x.dtype).replace('torch.', '')}")
    x = x.float()
    if not torch.isfinite(x).all():
        raise UsageError(f"{where}: the images contain NaN or Inf")
    value_range = value_range or DEFAULT_RANGE
    _check_range(x, value_range, where)
    return to_minus_one_one(x, value_range)


def check_count(have: int, data: Dataset, eval_samples: int, where: str) -> int:
    """The number of samples the evaluator will ask for; a UsageError when there are fewer."""
    needed = samples_needed(data, eval_samples)
    if have < needed:
        why = "--eval-samples" if needed == eval_samples else f"the {data.name} mode protocol"
        raise UsageError(
            f"{where}: holds {have:,} samples; scoring {data.name} takes {needed:,} ({why}): "
            f"give at least {needed:,}" + (", or pass a smaller --eval-samples" if needed == eval_samples else "")
        )
    return needed


# --- reading samples ------------------------------------------------------------------

SAMPLE_KEYS = ("samples", "images", "points")


def read_samples(path: Path, data: Dataset) -> tuple[object, str]:
    """(array or tensor, format) from a folder of images, an .npz or a .pt file."""
    if not path.exists():
        raise UsageError(f"--samples {path} does not exist")
    if path.is_dir():
        return _read_folder(path, data), "folder"
    suffix = path.suffix.lower()
    if suffix == ".npz":
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except Exception as exc:  # noqa: BLE001  (a bad zip, pickled objects, ...)
            raise UsageError(f"--samples {path} does not read as an .npz of arrays ({_short(exc)})") from exc
        return _pick(arrays, path), "npz"
    if suffix in (".pt", ".pth"):
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"--samples {path} does not load with weights_only=True ({_short(exc)})") from exc
        if isinstance(obj, Tensor):
            return obj, "pt"
        if isinstance(obj, Mapping) and all(isinstance(v, Tensor) for v in obj.values()):
            return _pick(dict(obj), path), "pt"
        raise UsageError(f"--samples {path}: expected a tensor, or a dict of tensors; got {type(obj).__name__}")
    raise UsageError(f"--samples {path}: expected a folder of images, an .npz or a .pt file")


def _pick(arrays: dict, path: Path):
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    for key in SAMPLE_KEYS:
        if key in arrays:
            return arrays[key]
    names = ", ".join(sorted(arrays)) or "none"
    raise UsageError(f"--samples {path}: expected one array, or one named {' or '.join(SAMPLE_KEYS)}; found: {names}")


def _read_folder(folder: Path, data: Dataset) -> Tensor:
    """Every image below `folder`, sorted by path, as uint8 (N, C, H, W): no resizing and no
    channel conversion, so a wrong size or channel count is an error, not a silent change."""
    import numpy as np
    from PIL import Image

    from ..data.images import list_images

    if data.kind != "images":
        raise UsageError(f"--samples {folder}: {data.name} is scored on {expected_shapes(data)}, not on images")
    files = list_images(folder)
    if not files:
        raise UsageError(f"--samples {folder} holds no images (png, jpg, ...)")
    c, h, w = data.shape
    out = torch.empty((len(files), c, h, w), dtype=torch.uint8)
    for i, p in enumerate(files):
        try:
            with Image.open(p) as im:
                im.load()
                if im.mode == "P":
                    im = im.convert("RGB")
                mode = im.mode
                if mode in ("1", "L"):
                    arr = np.asarray(im.convert("L"))[None]  # (1, H, W)
                elif mode in ("RGB", "RGBA"):
                    arr = np.asarray(im.convert("RGB")).transpose(2, 0, 1)  # (3, H, W)
                else:
                    raise UsageError(f"{p}: expected 8-bit gray or RGB images; this one is {mode}")
        except UsageError:
            raise
        except Exception as exc:  # noqa: BLE001  (PIL raises many kinds for a bad file)
            raise UsageError(f"{p} does not decode as an image ({_short(exc)})") from exc
        if arr.shape != (c, h, w):
            got = f"{arr.shape[0]} channel{'s' if arr.shape[0] > 1 else ''}, {arr.shape[2]}x{arr.shape[1]}"
            raise UsageError(
                f"{p}: expected {data.name} images of {c} channel{'s' if c > 1 else ''}, {w}x{h} "
                f"({'gray' if c == 1 else 'RGB'}, not resized); got {got}"
            )
        out[i] = torch.from_numpy(arr.copy())
    return out


# --- loading a generator --------------------------------------------------------------


def load_factory(spec: str):
    """The callable `module:factory` names; the module is importable (from the current folder
    too) or a path to a .py file. Returns (factory, the module's file or None)."""
    module_part, sep, attr = spec.rpartition(":")
    if not sep or not module_part or not attr.isidentifier():
        raise UsageError(
            f"--generator {spec!r}: expected MODULE:FACTORY (a module name or a .py file, then a function in it)"
        )
    if module_part.endswith(".py") or "/" in module_part or os.sep in module_part:
        path = Path(module_part)
        if not path.is_file():
            raise UsageError(f"--generator {spec}: {path} is not a file")
        name = "ganbench_scored_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
        try:
            module = import_file(path, name)
        except NotAPythonFile:
            raise UsageError(f"--generator {spec}: {path} does not load as a Python module") from None
        except Exception as exc:  # noqa: BLE001  (the module's own code)
            raise UsageError(f"--generator {spec}: importing {path} failed ({_short(exc)})") from exc
    else:
        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_part)
        except ModuleNotFoundError as exc:
            if exc.name and (module_part == exc.name or module_part.startswith(exc.name + ".")):
                raise UsageError(
                    f"--generator {spec}: no module named {module_part} (on sys.path or in the current folder); "
                    "give an importable module or a path to a .py file"
                ) from exc
            raise UsageError(f"--generator {spec}: importing {module_part} failed ({_short(exc)})") from exc
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"--generator {spec}: importing {module_part} failed ({_short(exc)})") from exc
        finally:
            sys.path.remove(os.getcwd())
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise UsageError(f"--generator {spec}: {module_part} has no function {attr}")
    return factory, getattr(module, "__file__", None)


def build_scored_generator(spec: str, weights: Path, device: str) -> tuple[nn.Module, str | None]:
    """factory() with the state dict in `weights` (loaded with weights_only=True), on `device`."""
    factory, module_file = load_factory(spec)
    try:
        g = factory()
    except Exception as exc:  # noqa: BLE001  (the factory's own code)
        raise UsageError(f"--generator {spec}: calling {spec.rpartition(':')[2]}() failed ({_short(exc)})") from exc
    if not isinstance(g, nn.Module):
        raise UsageError(f"--generator {spec}: the factory returned a {type(g).__name__}, not a torch.nn.Module")
    if not weights.is_file():
        raise UsageError(f"--weights {weights} is not a file")
    try:
        state = torch.load(weights, map_location=device, weights_only=True)
    except Exception as exc:  # noqa: BLE001  (pickled code, a truncated file, ...)
        raise UsageError(f"--weights {weights} does not load with weights_only=True ({_short(exc)})") from exc
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        got = type(state).__name__
        raise UsageError(f"--weights {weights}: expected a state dict (parameter name -> tensor); got {got}")
    g = g.to(device)
    try:
        g.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001  (missing or unexpected keys, wrong shapes)
        raise UsageError(f"--weights {weights} does not fit the generator {spec} returns ({_short(exc)})") from exc
    return g, module_file


def probe_generator(g: nn.Module, z_dim: int, data: Dataset, device: str, spec: str) -> None:
    """Call G once on two noise vectors: it must take (B, z_dim) and return (B, *sample shape)."""
    z = torch.randn(2, z_dim, generator=torch.Generator().manual_seed(0))
    was_training = g.training
    g.eval()
    try:
        with torch.no_grad():
            out = g(z.to(device))
    except Exception as exc:  # noqa: BLE001  (the generator's own code: a wrong --z-dim, say)
        raise UsageError(
            f"--generator {spec}: calling it on noise of shape (2, {z_dim}) failed ({_short(exc)}); check --z-dim"
        ) from exc
    finally:
        g.train(was_training)
    if not isinstance(out, Tensor):
        raise UsageError(f"--generator {spec}: it returned a {type(out).__name__}, not a tensor")
    if tuple(out.shape) != (2, *data.shape):
        raise UsageError(
            f"--generator {spec}: on noise (2, {z_dim}) it returned shape {_shape(out.shape)}; "
            f"{data.name} needs (2, {', '.join(map(str, data.shape))})"
        )


class CheckedSampler:
    """A generator's Sampler whose samples are checked (shape, the declared range) and mapped
    from that range to [-1, 1]. The same noise as ganbench's own runs: only G differs."""

    def __init__(self, sampler: Sampler, data: Dataset, value_range: tuple[float, float], spec: str, warn=None):
        self.sampler, self.data, self.value_range, self.spec, self.warn = sampler, data, value_range, spec, warn

    def sample(self, n: int, generator: torch.Generator | None = None, batch: int = 500) -> Tensor:
        x = self.sampler.sample(n, generator, batch)
        if tuple(x.shape) != (n, *self.data.shape):
            expected = _shape((n, *self.data.shape))
            raise UsageError(f"--generator {self.spec}: returned shape {_shape(x.shape)}; expected {expected}")
        if self.data.kind == "points":
            return x
        _check_range(x, self.value_range, f"--generator {self.spec}: its output")
        if self.warn and looks_like_zero_one(x):
            self.warn(f"note: --generator {self.spec}: {ZERO_ONE_NOTE}")
            self.warn = None  # once
        return to_minus_one_one(x, self.value_range)


# --- scoring and the record -----------------------------------------------------------


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_source(path: Path) -> str:
    """A file's sha256; a folder's: the sha256 of its image files' "relative path<TAB>sha256" lines, sorted."""
    if path.is_file():
        return sha256_file(path)
    from ..data.images import list_images

    lines = "".join(f"{p.relative_to(path).as_posix()}\t{sha256_file(p)}\n" for p in list_images(path))
    return hashlib.sha256(lines.encode()).hexdigest()


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    text = text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
