"""Datasets: what they hold, where they come from, and how they fail."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image
from support import requires_mnist

from ganbench.data import DATASETS, REUSE_KEEP, get_dataset_spec, load_dataset, reuse_loaded
from ganbench.data.images import split_reference
from ganbench.errors import DataUnavailable, RunError, UsageError


@pytest.mark.parametrize("name,n_modes,sigma,radius", [("ring8", 8, 0.01, 1.0), ("grid25", 25, 0.05, None)])
def test_mixtures_have_the_published_geometry(name, n_modes, sigma, radius):
    data = load_dataset(name, None, "cpu")
    centres = data.extras["centres"]
    assert centres.shape == (n_modes, 2) and data.extras["sigma"] == sigma
    if radius:
        assert torch.allclose(centres.norm(dim=1), torch.full((n_modes,), radius), atol=1e-6)
    else:
        assert sorted(centres[:, 0].unique().tolist()) == [-4, -2, 0, 2, 4]
    x = data.sample(20000, torch.Generator().manual_seed(0))
    nearest = torch.cdist(x, centres).min(1)
    counts = torch.bincount(nearest.indices, minlength=n_modes).float()
    assert (counts / counts.sum() - 1 / n_modes).abs().max() < 0.02  # uniform over modes
    # Offsets from the nearest centre have the stated standard deviation.
    offsets = x - centres[nearest.indices]
    assert offsets.std().item() == pytest.approx(sigma, rel=0.05)


def test_mixture_sampling_is_seeded():
    data = load_dataset("ring8", None, "cpu")
    a = data.sample(10, torch.Generator().manual_seed(3))
    b = data.sample(10, torch.Generator().manual_seed(3))
    c = data.sample(10, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


@requires_mnist
def test_mnist_from_gzipped_idx_files(data_dir):
    data = load_dataset("mnist", data_dir, "cpu")
    assert data.train.shape == (60000, 1, 28, 28) and data.train.dtype == torch.float32
    assert data.train.min() == -1 and data.train.max() == 1
    assert data.reference.shape == (10000, 1, 28, 28) and data.reference.dtype == torch.uint8
    assert "test" in data.reference_split


@requires_mnist
def test_mnist_from_unpacked_idx_files_and_data_limit(tmp_path, data_dir):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in (data_dir / "MNIST" / "raw").glob("*.gz"):
        with gzip.open(gz) as fin, open(raw / gz.stem, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    unpacked = load_dataset("mnist", tmp_path, "cpu", limit=100)
    packed = load_dataset("mnist", data_dir, "cpu", limit=100)
    assert unpacked.train.shape == (100, 1, 28, 28)
    assert torch.equal(unpacked.train, packed.train)


def _unpack_in_a_child(args):
    cache, root = args
    import os

    os.environ["GANBENCH_CACHE"] = cache
    from ganbench.data.mnist import torchvision_root

    return str(torchvision_root(Path(root)))


@requires_mnist
def test_mnist_unpacks_safely_when_job_processes_start_together(tmp_path, data_dir):
    # `run --jobs N` starts N processes that may all unpack the gzipped files into the same
    # cache at once; each must get complete files, none may trip over another's temp file.
    import multiprocessing as mp

    cache = tmp_path / "cache"
    with mp.get_context("spawn").Pool(3) as pool:
        roots = pool.map(_unpack_in_a_child, [(str(cache), str(data_dir))] * 3)
    assert len(set(roots)) == 1
    raw = Path(roots[0]) / "MNIST" / "raw"
    with gzip.open(data_dir / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz") as f:
        assert (raw / "t10k-labels-idx1-ubyte").read_bytes() == f.read()
    assert not [p.name for p in raw.iterdir() if ".tmp" in p.name]  # no temp file left behind
    data = load_dataset("mnist", data_dir, "cpu", limit=10)
    assert data.train.shape == (10, 1, 28, 28)


def test_mnist_missing_names_both_ways_to_get_it(tmp_path, monkeypatch):
    import torchvision

    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(torchvision.datasets.MNIST, "download", lambda self: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(DataUnavailable) as err:
        load_dataset("mnist", tmp_path, "cpu")
    msg = str(err.value)
    assert "--data-root" in msg and "GANBENCH_DATA" in msg and "internet" in msg and "\n" not in msg


def make_images(folder, n, size=(40, 30), mode="RGB"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        colour = (i * 10 % 256, 100, 200) if mode == "RGB" else i * 10 % 256
        Image.new(mode, size, colour).save(folder / f"{i:03d}.png")


def test_folder_dataset_decodes_once_to_64x64_rgb_and_holds_out_a_fixed_split(tmp_path):
    folder = tmp_path / "imgs"
    make_images(folder / "a", 12)
    make_images(folder / "b", 8, mode="L")  # grayscale becomes RGB
    data = load_dataset(f"folder:{folder}", None, "cpu")
    assert data.shape == (3, 64, 64)
    assert len(data) + len(data.reference) == 20 and len(data.reference) == 2
    assert data.train.min() >= -1 and data.train.max() <= 1
    again = load_dataset(f"folder:{folder}", None, "cpu")
    assert torch.equal(again.train, data.train)  # the same split, from the cache
    # A changed source invalidates the cache.
    make_images(folder / "c", 10)
    bigger = load_dataset(f"folder:{folder}", None, "cpu")
    assert len(bigger) + len(bigger.reference) == 30


def test_inside_reuse_loaded_an_image_dataset_is_loaded_once_per_name_root_device_and_limit(tmp_path):
    folder = tmp_path / "imgs"
    make_images(folder, 12)
    name = f"folder:{folder}"
    assert load_dataset(name, None, "cpu") is not load_dataset(name, None, "cpu")  # outside: a load each time
    with reuse_loaded():
        first = load_dataset(name, None, "cpu")
        assert load_dataset(name, None, torch.device("cpu")) is first
        limited = load_dataset(name, None, "cpu", limit=4)
        assert limited is not first and len(limited) == 4
        with reuse_loaded():  # nested: the same datasets
            assert load_dataset(name, None, "cpu", limit=4) is limited
        # 2-D mixtures are drawn on the fly: nothing to share
        assert load_dataset("ring8", None, "cpu") is not load_dataset("ring8", None, "cpu")
        # It keeps the REUSE_KEEP most recently used: a third key pushes out the oldest.
        assert REUSE_KEEP == 2
        third = load_dataset(name, None, "cpu", limit=8)
        assert load_dataset(name, None, "cpu", limit=8) is third
        assert load_dataset(name, None, "cpu", limit=4) is limited
        assert load_dataset(name, None, "cpu") is not first  # pushed out, loaded again
    assert load_dataset(name, None, "cpu") is not first


@requires_mnist
def test_a_suite_loads_each_dataset_once_and_its_runs_match_the_runs_alone(tmp_path, monkeypatch):
    import dataclasses

    from support import assert_same_run, tiny_config

    from ganbench.rundir import RunDir
    from ganbench.runs.one import guarded_run
    from ganbench.runs.schedule import run_suite

    loads = []
    spec = DATASETS["mnist"]

    def counting(root, device, limit):
        loads.append(limit)
        return spec.load(root, device, limit)

    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(spec, load=counting))
    runs = (("dcgan", 0), ("dcgan", 1), ("lsgan", 0))
    cfgs = [tiny_config(v, "mnist", steps=4, log_every=2, seed=s) for v, s in runs]
    outcomes = run_suite(cfgs, out=tmp_path / "suite", echo=lambda m: None)
    assert [o.status for o in outcomes] == ["done"] * 3
    assert loads == [256]  # one load for the three runs
    for cfg in cfgs:
        assert guarded_run(cfg, out=tmp_path / "alone", progress=False, echo=lambda m: None).status == "done"
        dirs = [RunDir(out, cfg.dataset, cfg.variant, cfg.seed) for out in (tmp_path / "suite", tmp_path / "alone")]
        assert_same_run(*dirs)
    assert loads == [256] * 4  # each run alone loads its own


def test_reference_split_does_not_depend_on_anything_but_the_images():
    images = torch.arange(50, dtype=torch.uint8).view(50, 1, 1, 1).expand(50, 3, 2, 2).contiguous()
    train_a, ref_a = split_reference(images)
    train_b, ref_b = split_reference(images)
    assert torch.equal(ref_a, ref_b) and len(ref_a) == 5
    assert not set(ref_a[:, 0, 0, 0].tolist()) & set(train_a[:, 0, 0, 0].tolist())


def test_folder_errors(tmp_path):
    with pytest.raises(UsageError, match="no such folder"):
        get_dataset_spec(f"folder:{tmp_path / 'missing'}")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RunError, match="no image files"):
        load_dataset(f"folder:{empty}", None, "cpu")
    broken = tmp_path / "broken"
    make_images(broken, 3)
    (broken / "bad.jpg").write_bytes(b"this is not a jpeg")
    # An unreadable file is skipped (tests/test_folder.py covers the warning and --strict-images).
    data = load_dataset(f"folder:{broken}", None, "cpu")
    assert len(data) + len(data.reference) == 3 and data.source["skipped"] == 1
    with pytest.raises(UsageError, match="needs a value"):
        get_dataset_spec("folder:")


def test_faces_are_found_in_a_folder_of_face_images_under_the_data_root(tmp_path):
    make_images(tmp_path / "faces" / "my-faces", 10, size=(89, 109))
    spec = get_dataset_spec("faces")
    assert spec.locate(tmp_path).endswith("my-faces")
    data = load_dataset("faces", tmp_path, "cpu")
    assert data.shape == (3, 64, 64) and len(data) == 9 and len(data.reference) == 1


def test_faces_prefer_torchvisions_celeba_layout(tmp_path):
    make_images(tmp_path / "celeba" / "img_align_celeba", 4, size=(178, 218))
    make_images(tmp_path / "faces" / "other", 4)
    assert get_dataset_spec("faces").locate(tmp_path).endswith("img_align_celeba")


def test_registry_lists_the_builtin_datasets():
    assert {"ring8", "grid25", "mnist", "faces"} <= set(DATASETS)
    assert list(DATASETS)[:3] == ["ring8", "grid25", "mnist"]  # listing order: cheapest first
