"""Dataset registry.

A `DatasetSpec` says what a dataset is and how to load it; `load()` returns a `Dataset`
whose training split lives on the training device, so the training step draws batches
with one `randint` and one index, no host round-trip and no per-item Python.

`DATASETS` is a plain dict filled by `register_dataset`, which refuses duplicates.
Names with a colon (`folder:PATH`) are resolved by the spec registered for their prefix.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ..errors import RunError, UsageError
from ..plugins import note_origin, origin_of, refuse
from ..rundir import private_tmp

DATA_ENV = "GANBENCH_DATA"
CACHE_ENV = "GANBENCH_CACHE"


def default_cache_dir() -> Path:
    """Where downloads and decoded caches go: $GANBENCH_CACHE, else ~/.cache/ganbench."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ganbench")


def writable_cache_dir(path: Path, what: str) -> Path:
    """`path` (a folder under the cache), created and known to take new files. Called before
    the slow work whose result is kept there, so an unwritable cache fails at once, saying so,
    not after the work. `what` names that result ("the decoded images")."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = private_tmp(path / "write-test")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RunError(
            f"the cache folder {path} is not writable ({exc.strerror or exc}), so {what} cannot be kept there; "
            f"set {CACHE_ENV} to a writable folder"
        ) from exc
    return path


def data_root(explicit: str | os.PathLike | None) -> Path | None:
    """--data-root wins over $GANBENCH_DATA; None when neither is given."""
    root = explicit or os.environ.get(DATA_ENV)
    return Path(root).expanduser() if root else None


@dataclass
class Dataset:
    """A loaded dataset.

    train:     (N, *shape) float tensor on the training device, in [-1, 1] for images;
               None for datasets sampled from a distribution (the 2-D mixtures).
    reference: the real split the metrics compare against: uint8 (M, C, H, W) on the CPU
               for images, float (M, 2) for points. Never used for training.
    """

    name: str
    kind: str  # "points" | "images"
    shape: tuple[int, ...]  # one sample's shape: (2,) or (C, H, W)
    device: torch.device
    train: Tensor | None = None
    reference: Tensor | None = None
    reference_split: str = ""  # stated next to every metric, e.g. "MNIST test (10,000)"
    # where the data came from, recorded in config.json; for image folders a dict: the path,
    # the image count, the files skipped as unreadable and what was converted
    source: str | dict = ""
    sampler: Callable[[int, torch.Generator], Tensor] | None = None
    extras: dict = field(default_factory=dict)  # e.g. mode centres and sigma for mixtures

    def __len__(self) -> int:
        return len(self.train) if self.train is not None else 0

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """n training samples drawn with replacement, on the device, shape (n, *shape)."""
        if self.sampler is not None:
            return self.sampler(n, generator)
        idx = torch.randint(len(self.train), (n,), generator=generator, device=self.device)
        return self.train[idx]


def fixed_training_set(data: Dataset, n: int, generator: torch.Generator) -> Dataset:
    """A generated dataset made finite: n points drawn once from `generator` (the run's
    own stream, seeding.data_generator), which batches are then drawn from, with
    replacement, like any stored training split. PacGAN's 2-D experiments train on
    100,000 points drawn once (2DRing_GAN&PacGAN/config.py "num_sample"; datasets.py:70).
    Their loop goes over those points in shuffled epochs (fuel's ShuffledScheme,
    streams.py:31); drawing with replacement sees each point as often on average, with
    static shapes and no host sync."""
    if data.sampler is None:
        raise UsageError(f"train-size applies to generated datasets; {data.name} has its own training set")
    return dataclasses.replace(
        data,
        train=data.sampler(n, generator),  # (n, *shape) on the device
        sampler=None,
        source=f"{n:,} points drawn once from the run's seed ({data.source})",
    )


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: str  # "points" | "images"
    summary: str
    citation: str
    batch_size: int  # the protocol's batch size; same for every variant, for a fair comparison
    z_dim: int  # latent size, same for every variant
    # load(root, device, limit) -> Dataset; limit keeps the first `limit` training items
    load: Callable[[Path | None, torch.device, int | None], Dataset]
    # locate(root) -> a description of where the data is, or None if it is not on disk
    locate: Callable[[Path | None], str | None] = lambda root: "generated on the fly"
    how_to_get: str = ""
    # fetch(root): make the files available without decoding them (torchvision's download,
    # when online), or raise DataUnavailable; None: nothing can fetch them (how_to_get says)
    fetch: Callable[[Path | None], object] | None = None
    # image_size(requested or None) -> the side its images are resized to, for datasets whose
    # size is a choice (folder:PATH); None: a fixed size, and --image-size does not apply.
    image_size: Callable[[int | None], int] | None = None


DATASETS: dict[str, DatasetSpec] = {}
# prefix -> factory(argument) -> DatasetSpec, for parametrised names like folder:PATH
DATASET_FACTORIES: dict[str, Callable[[str], DatasetSpec]] = {}


KINDS = ("points", "images")


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Register `spec`; refuses a name already taken and unknown or impossible field values."""
    if not isinstance(spec, DatasetSpec):
        raise refuse(f"register_dataset takes a ganbench DatasetSpec, got {type(spec).__name__}")
    if not isinstance(spec.name, str) or not spec.name or any(c in spec.name for c in ":/\\ "):
        raise refuse(f"dataset name {spec.name!r}: no ':', '/', '\\' or spaces (it names a folder)")
    if spec.name in DATASETS or spec.name in DATASET_FACTORIES:
        raise refuse(f"dataset {spec.name!r} is already registered ({origin_of('dataset', spec.name)})")
    if spec.kind not in KINDS:
        raise refuse(f"dataset {spec.name}: unknown kind {spec.kind!r}; choose one of {', '.join(KINDS)}")
    for which in ("batch_size", "z_dim"):
        value = getattr(spec, which)
        if not isinstance(value, int) or value < 1:
            raise refuse(f"dataset {spec.name}: {which} must be a positive integer, got {value!r}")
    for which in ("load", "locate"):
        if not callable(getattr(spec, which)):
            raise refuse(f"dataset {spec.name}: {which} must be a function")
    DATASETS[spec.name] = spec
    note_origin("dataset", spec.name)
    return spec


def register_dataset_factory(prefix: str, factory: Callable[[str], DatasetSpec]) -> None:
    if prefix in DATASET_FACTORIES or prefix in DATASETS:
        raise refuse(f"dataset prefix {prefix!r} is already registered ({origin_of('dataset', prefix)})")
    DATASET_FACTORIES[prefix] = factory
    note_origin("dataset", prefix)


def get_dataset_spec(name: str) -> DatasetSpec:
    if name in DATASETS:
        return DATASETS[name]
    prefix, sep, arg = name.partition(":")
    if sep and prefix in DATASET_FACTORIES:
        if not arg:
            raise UsageError(f"dataset {name!r} needs a value after '{prefix}:'")
        return DATASET_FACTORIES[prefix](arg)
    names = list(DATASETS) + [f"{p}:PATH" for p in DATASET_FACTORIES]
    raise UsageError(f"unknown dataset {name!r}; choose from: {', '.join(names)}")


# Datasets loaded inside `reuse_loaded()`, most recently used last (see load_dataset).
_REUSE: list[dict] = []
# How many it keeps: a suite goes dataset by dataset, and runs interleaved across the
# boundary between two datasets need both.
REUSE_KEEP = 2


@contextlib.contextmanager
def reuse_loaded() -> Iterator[None]:
    """Within this block, runs in this process share each loaded image dataset instead of
    loading it once per run (MNIST: about 0.5 s a run on a CPU; Stacked MNIST: about 5 s).
    Training only reads a dataset and every loader is deterministic, so no run's results
    change. Nested blocks share the outermost one's datasets."""
    if _REUSE:
        yield
        return
    _REUSE.append({})
    try:
        yield
    finally:
        _REUSE.pop().clear()


def load_dataset(
    name: str,
    root: str | os.PathLike | None,
    device: torch.device,
    limit: int | None = None,
    image_size: int | None = None,
) -> Dataset:
    """The dataset `name`, loaded onto `device`. Inside `reuse_loaded()`, an image dataset
    already loaded with the same name, root, device, limit and image size is returned again.

    image_size: the side a folder:PATH dataset's images are resized to (None: its default);
    the other datasets have a fixed size and refuse one."""
    spec = get_dataset_spec(name)
    root, device = data_root(root), torch.device(device)
    if image_size is not None and spec.image_size is None:
        raise UsageError(f"--image-size applies to folder:PATH datasets only; {spec.name} has a fixed size")

    def load() -> Dataset:
        if image_size is None:
            return spec.load(root, device, limit)
        return spec.load(root, device, limit, image_size=image_size)

    if not _REUSE:
        return load()
    cache = _REUSE[-1]
    key = (spec.name, str(root), str(device), limit, image_size)
    data = cache.pop(key, None)
    if data is None:
        data = load()
        if data.train is None:  # sampled from a distribution: nothing worth keeping
            return data
    elif device.type == "cuda":
        # Another run loaded it, maybe under another stream: the allocator must not reuse
        # its memory while work queued on this stream may still read it.
        data.train.record_stream(torch.cuda.current_stream(device))
    cache[key] = data  # most recently used last
    while len(cache) > REUSE_KEEP:
        cache.pop(next(iter(cache)))
    return data


from . import toy2d, mnist, stacked_mnist, faces, folder  # noqa: E402,F401,I001  (registration order = listing order)
