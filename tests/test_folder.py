"""`folder:PATH` through the command line: channels, sizes, splits, odd files, names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from ganbench.cli import cli
from ganbench.data import load_dataset

TINY = ["--profile", "smoke", "--steps", "2", "--log-every", "1", "--batch-size", "4"]
TINY += ["--device", "cpu", "--no-progress"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def run(dataset, out, *extra):
    return invoke("run", "dcgan", "--dataset", dataset, "--out", out, *TINY, *extra)


def noise(folder: Path, n: int, size=(16, 16), mode="L", seed=0, start=0) -> None:
    """n random images of `size` (W, H) in `mode` ("L" or "RGB") as PNGs."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
    for i in range(start, start + n):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(folder / f"{i:03d}.png")


def configs(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*/*/seed*/config.json"))]


def one_config(out: Path) -> dict:
    (record,) = configs(out)
    return record


def assert_one_line_error(result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# --- item 4: channels, size, split -------------------------------------------------------


def test_gray_images_stay_one_channel_at_their_own_size(tmp_path):
    noise(tmp_path / "fm", 20, size=(28, 28), mode="L")
    result = run(f"folder:{tmp_path / 'fm'}", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    record = one_config(tmp_path / "runs")
    assert record["dataset"]["shape"] == [1, 28, 28]
    assert record["config"]["image_size"] == 28


def test_image_size_resizes_and_is_recorded(tmp_path):
    noise(tmp_path / "fm", 20, size=(28, 28), mode="L")
    result = run(f"folder:{tmp_path / 'fm'}", tmp_path / "runs", "--image-size", 16)
    assert result.exit_code == 0, result.output
    record = one_config(tmp_path / "runs")
    assert record["dataset"]["shape"] == [1, 16, 16] and record["config"]["image_size"] == 16


def test_mixed_sizes_default_to_64_and_any_colour_image_makes_the_folder_rgb(tmp_path):
    noise(tmp_path / "mix", 10, size=(20, 20), mode="L")
    noise(tmp_path / "mix", 10, size=(30, 24), mode="RGB", start=10)
    result = run(f"folder:{tmp_path / 'mix'}", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    record = one_config(tmp_path / "runs")
    assert record["dataset"]["shape"] == [3, 64, 64] and record["config"]["image_size"] == 64


def test_image_size_on_a_dataset_of_fixed_size_is_a_one_line_error(tmp_path):
    result = invoke("run", "dcgan", "--dataset", "ring8", "--out", tmp_path, *TINY, "--image-size", "32")
    assert_one_line_error(result, 2, "--image-size applies to folder:PATH datasets only")


def test_an_odd_image_size_is_a_one_line_error(tmp_path):
    noise(tmp_path / "fm", 8)
    result = run(f"folder:{tmp_path / 'fm'}", tmp_path / "runs", "--image-size", 27)
    assert_one_line_error(result, 2, "--image-size must be even")


def test_train_and_test_subfolders_are_the_split(tmp_path):
    noise(tmp_path / "fm" / "train", 24, seed=1)
    noise(tmp_path / "fm" / "test", 6, seed=2)
    result = run(f"folder:{tmp_path / 'fm'}", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    dataset = one_config(tmp_path / "runs")["dataset"]
    assert dataset["train_size"] == 24
    assert "its test/ split, 6 images (never trained on; training on train/, 24 images)" in dataset["reference_split"]
    # The reference is test/ itself, every image of it, and none of train/.
    data = load_dataset(f"folder:{tmp_path / 'fm'}", None, "cpu")
    files = sorted((tmp_path / "fm" / "test").iterdir())
    test_images = torch.stack([torch.from_numpy(np.array(Image.open(p))) for p in files])
    assert torch.equal(data.reference[:, 0], test_images)


def test_val_subfolder_is_the_reference_when_there_is_no_test(tmp_path):
    noise(tmp_path / "d" / "train", 12, seed=1)
    noise(tmp_path / "d" / "val", 3, seed=2)
    data = load_dataset(f"folder:{tmp_path / 'd'}", None, "cpu")
    assert len(data) == 12 and len(data.reference) == 3 and "its val/ split" in data.reference_split


def test_the_decode_cache_is_keyed_by_the_size(tmp_path):
    noise(tmp_path / "fm", 12, size=(32, 32))
    big = load_dataset(f"folder:{tmp_path / 'fm'}", None, "cpu")
    small = load_dataset(f"folder:{tmp_path / 'fm'}", None, "cpu", image_size=8)
    assert big.shape == (1, 32, 32) and small.shape == (1, 8, 8)


# --- item 5: 16-bit, alpha, palettes, odd shapes ------------------------------------------


def test_16_bit_pngs_are_scaled_not_clipped(tmp_path):
    folder = tmp_path / "deep"
    folder.mkdir()
    values = [0, 103, 257 * 100, 30000, 65529]
    for i, v in enumerate(values):
        Image.fromarray(np.full((8, 8), v, dtype=np.uint16)).save(folder / f"{i}.png")
    data = load_dataset(f"folder:{folder}", None, "cpu")
    pixels = torch.cat([data.reference, ((data.train + 1) * 127.5).round().to(torch.uint8)])
    assert data.shape == (1, 8, 8)
    assert sorted(pixels[:, 0, 0, 0].tolist()) == [0, 0, 100, 117, 255]  # v * 255 / 65535, rounded


def test_a_gray_palette_image_keeps_a_gray_folder_one_channel(tmp_path):
    folder = tmp_path / "pal"
    noise(folder, 4, size=(8, 8))
    gray = Image.new("P", (8, 8), 7)
    gray.putpalette([v for g in range(256) for v in (g, g, g)])
    gray.save(folder / "palette.png")
    data = load_dataset(f"folder:{folder}", None, "cpu")
    assert data.shape == (1, 8, 8)
    assert 7 in torch.cat([data.reference, ((data.train + 1) * 127.5).round().to(torch.uint8)])[:, 0, 0, 0].tolist()


def test_conversions_are_warned_about_once(tmp_path):
    folder = tmp_path / "odd"
    noise(folder, 8, mode="RGB")
    Image.new("RGBA", (16, 16), (10, 20, 30, 0)).save(folder / "alpha.png")
    Image.new("P", (16, 16), 3).save(folder / "palette.png")
    Image.new("RGB", (1, 1), (5, 5, 5)).save(folder / "dot.png")
    Image.new("RGB", (64, 8), (5, 5, 5)).save(folder / "strip.png")
    result = run(f"folder:{folder}", tmp_path / "runs", "--seeds", "0,1")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:") and "converted" in line]
    assert len(warnings) == 1, result.output
    for fragment in ("alpha dropped (1)", "palette expanded (1)", "1x1 images (1)", "aspect ratio beyond 2:1"):
        assert fragment in warnings[0], warnings[0]
    assert configs(tmp_path / "runs")[0]["dataset"]["source"]["converted"]["alpha dropped"] == 1


# --- item 7: unreadable files -------------------------------------------------------------


def test_an_unreadable_image_is_skipped_listed_and_counted(tmp_path):
    folder = tmp_path / "imgs"
    noise(folder, 12)
    (folder / "bad.png").write_bytes(b"not a png")
    result = run(f"folder:{folder}", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    assert any(line.startswith("warning:") and "bad.png" in line for line in result.output.splitlines())
    source = one_config(tmp_path / "runs")["dataset"]["source"]
    assert source["skipped"] == 1 and list(source["skipped_files"]) == ["bad.png"] and source["images"] == 12


def test_strict_images_fails_before_any_run(tmp_path):
    folder = tmp_path / "imgs"
    noise(folder, 12)
    (folder / "bad.png").write_bytes(b"not a png")
    result = run(f"folder:{folder}", tmp_path / "runs", "--strict-images")
    assert_one_line_error(result, 1, "1 image file(s)", "bad.png", "do not decode")
    assert not configs(tmp_path / "runs")


# --- item 6: one folder, one name ---------------------------------------------------------


def test_one_folder_spelled_two_ways_is_one_dataset(tmp_path, monkeypatch):
    noise(tmp_path / "fm", 12)
    monkeypatch.chdir(tmp_path)
    assert run("folder:fm/", tmp_path / "runs").exit_code == 0
    again = run(f"folder:{tmp_path / 'fm'}", tmp_path / "runs")
    assert again.exit_code == 0, again.output
    assert "skipped: already finished" in again.output
    (record,) = configs(tmp_path / "runs")
    assert record["config"]["dataset"] == f"folder:{(tmp_path / 'fm').resolve()}"


def test_two_folders_with_one_name_do_not_share_a_run_directory(tmp_path):
    noise(tmp_path / "a" / "imgs", 12, seed=1)
    noise(tmp_path / "b" / "imgs", 12, seed=2)
    for side in ("a", "b"):
        result = run(f"folder:{tmp_path / side / 'imgs'}", tmp_path / "runs")
        assert result.exit_code == 0, result.output
    dirs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(dirs) == 2 and all(d.startswith("folder-imgs-") for d in dirs)


def test_eval_refuses_a_folder_that_changed_since_training(tmp_path):
    folder = tmp_path / "imgs"
    noise(folder, 20)
    assert run(f"folder:{folder}", tmp_path / "runs").exit_code == 0
    (run_dir,) = (tmp_path / "runs").glob("*/dcgan/seed0")
    assert invoke("eval", run_dir, "--device", "cpu").exit_code == 0
    noise(folder, 10, seed=5, start=20)  # images added: another seeded reference
    result = invoke("eval", run_dir, "--device", "cpu")
    assert_one_line_error(result, 1, "no longer the one this run was scored against")


# --- item 10: symlinked subfolders ----------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinked_subfolders_are_followed_once_and_loops_do_not_hang(tmp_path):
    folder = tmp_path / "imgs"
    noise(folder / "real", 10, seed=1)
    noise(tmp_path / "elsewhere", 10, seed=2)
    (folder / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (folder / "real" / "loop").symlink_to(folder, target_is_directory=True)  # back up the tree
    (folder / "again").symlink_to(folder / "real", target_is_directory=True)  # the same folder twice
    data = load_dataset(f"folder:{folder}", None, "cpu")
    assert len(data) + len(data.reference) == 20


# --- docs ---------------------------------------------------------------------------------------


def test_list_and_help_say_what_folder_does():
    listing = invoke("list").output
    line = " ".join(listing[listing.index("folder:PATH") :].split("Profiles")[0].split())
    for fragment in ("Gray stays 1 channel", "--image-size", "train/ and test/", "on a CPU only with --inception"):
        assert fragment in line, line
    help_text = " ".join(invoke("run", "--help").output.split())
    for fragment in ("--image-size", "--strict-images", "gray stays 1 channel", "unless --inception"):
        assert fragment in help_text
