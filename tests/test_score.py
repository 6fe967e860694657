"""`ganbench score`: generators and samples made elsewhere, scored like ganbench's own runs
and shown beside them; every bad input is one line and exit 2."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from support import requires_mnist

from ganbench.cli import cli
from ganbench.data import data_root
from ganbench.data.toy2d import draw, grid_centres, ring_centres
from ganbench.rundir import read_json, read_jsonl

HERE = Path(__file__).resolve().parent
FACTORIES = HERE / "scored_generator.py"
POINT_KEYS = ("modes", "hq_frac", "reverse_kl")
CLASS_KEYS = ("modes", "kl_uniform", "mnist_is", "mnist_fid")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line_error(r, code: int = 2) -> str:
    assert r.exit_code == code, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in r.output, r.output
    return lines[0]


def the_eval(run_dir: Path) -> dict:
    (record,) = [r for r in read_jsonl(run_dir / "metrics.jsonl") if r["type"] == "eval"]
    return record


def points_file(path: Path, points) -> Path:
    np.savez(path, points=np.asarray(points, dtype=np.float32))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny ring8 run trained by ganbench: its run directory."""
    out = tmp_path_factory.mktemp("runs")
    r = invoke("run", "dcgan", "--dataset", "ring8", "--profile", "smoke", "--steps", 40, "--device", "cpu",
               "--no-progress", "--out", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    return out / "ring8" / "dcgan" / "seed0"


# --- samples ----------------------------------------------------------------------------


MIXTURES = [("ring8", ring_centres(), 0.01, 8), ("grid25", grid_centres(), 0.05, 25)]


@pytest.mark.parametrize("dataset, centres, sigma, modes", MIXTURES)
def test_points_drawn_from_the_mixture_cover_every_mode(tmp_path, dataset, centres, sigma, modes):
    path = points_file(tmp_path / "real.npz", draw(centres, sigma, 2500, torch.Generator().manual_seed(1)))
    r = invoke("score", "--samples", path, "--dataset", dataset, "--name", "real", "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    run_dir = tmp_path / "out" / dataset / "real" / "seed0"
    record = the_eval(run_dir)
    assert record["modes"] == modes and record["hq_frac"] > 0.98 and record["reverse_kl"] < 0.01
    assert record["step"] is None and record["protocol"]["sampling"]["samples"] == 2500
    assert record["protocol"]["coverage"]["samples"] == 2500
    config = read_json(run_dir / "config.json")
    assert config["kind"] == "scored" and config["trained_by_ganbench"] is False
    assert config["scored"]["what"] == "samples" and config["dataset"]["name"] == dataset
    assert len(config["scored"]["source"]["sha256"]) == 64 and config["scored"]["source"]["path"] == str(path)
    assert read_json(run_dir / "status.json")["status"] == "done"
    assert (run_dir / "samples.png").stat().st_size > 0


def test_collapsed_points_cover_one_mode(tmp_path):
    path = points_file(tmp_path / "collapsed.npz", ring_centres()[:1].repeat(2500, 1))
    r = invoke("score", "--samples", path, "--dataset", "ring8", "--name", "collapsed", "--out", tmp_path)
    assert r.exit_code == 0, r.output
    assert "scored collapsed: modes=1," in r.output
    assert the_eval(tmp_path / "ring8" / "collapsed" / "seed0")["modes"] == 1


@requires_mnist
def test_real_mnist_test_images_score_the_readmes_real_data_figures(tmp_path):
    """README, "What real data scores": mnist | test split (10,000) | modes 10, kl_uniform 0.0017, mnist_is 9.84."""
    from ganbench.data.mnist import load_split

    images, _ = load_split(data_root(None), train=False)  # uint8 (10000, 1, 28, 28)
    path = tmp_path / "test.npz"
    np.savez(path, images=images.numpy())
    r = invoke("score", "--samples", path, "--dataset", "mnist", "--name", "mnist-test", "--eval-samples", 10_000,
               "--device", "cpu", "--out", tmp_path / "out")  # fmt: skip
    assert r.exit_code == 0, r.output
    record = the_eval(tmp_path / "out" / "mnist" / "mnist-test" / "seed0")
    assert record["modes"] == 10
    assert round(record["kl_uniform"], 4) == 0.0017
    assert round(record["mnist_is"], 2) == 9.84
    assert record["mnist_fid"] < 1e-3  # the reference scored against itself
    assert record["protocol"]["classifier"]["samples"] == 10_000
    assert record["protocol"]["sampling"]["eval_seed"] is None  # fixed samples: no noise


@requires_mnist
def test_a_folder_an_npz_and_float_nhwc_in_0_1_are_the_same_samples(tmp_path):
    from PIL import Image

    from ganbench.data.mnist import load_split

    images = load_split(data_root(None), train=False)[0][:300]  # uint8 (300, 1, 28, 28)
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, img in enumerate(images):
        Image.fromarray(img[0].numpy(), mode="L").save(folder / f"{i:04d}.png")
    np.savez(tmp_path / "u8.npz", images.numpy())
    torch.save(images.permute(0, 2, 3, 1).float() / 255, tmp_path / "nhwc01.pt")  # (N, H, W, C) in [0, 1]
    records = {}
    for name, source, extra in [("folder", folder, ()), ("u8", tmp_path / "u8.npz", ()),
                                ("nhwc01", tmp_path / "nhwc01.pt", ("--range", "0,1"))]:  # fmt: skip
        r = invoke("score", "--samples", source, "--dataset", "mnist", "--name", name, "--eval-samples", 300,
                   "--device", "cpu", "--out", tmp_path / "out", *extra)  # fmt: skip
        assert r.exit_code == 0, r.output
        records[name] = the_eval(tmp_path / "out" / "mnist" / name / "seed0")
    values = {name: [rec[k] for k in CLASS_KEYS] for name, rec in records.items()}
    assert values["folder"] == values["u8"] == values["nhwc01"], values
    assert records["folder"]["modes"] == 10


@requires_mnist
def test_images_in_0_1_declared_as_minus_one_one_get_a_note(tmp_path):
    from ganbench.data.mnist import load_split

    images = load_split(data_root(None), train=False)[0][:100]
    torch.save(images.float() / 255, tmp_path / "01.pt")
    r = invoke("score", "--samples", tmp_path / "01.pt", "--dataset", "mnist", "--name", "x", "--eval-samples", 100,
               "--device", "cpu", "--out", tmp_path)  # fmt: skip
    assert r.exit_code == 0 and "pass --range 0,1" in r.output, r.output


# --- a generator ------------------------------------------------------------------------


def test_a_generator_scores_as_ganbench_eval_of_the_same_weights(trained, tmp_path):
    own = the_eval(trained)  # the run's own final evaluation
    r = invoke("score", "--generator", f"{FACTORIES}:ring8_dcgan", "--weights", trained / "generator.pt",
               "--z-dim", 2, "--dataset", "ring8", "--name", "mine", "--device", "cpu", "--out", tmp_path)  # fmt: skip
    assert r.exit_code == 0, r.output
    run_dir = tmp_path / "ring8" / "mine" / "seed0"
    scored = the_eval(run_dir)
    assert {k: scored[k] for k in POINT_KEYS} == {k: own[k] for k in POINT_KEYS}
    assert scored["protocol"]["sampling"] == own["protocol"]["sampling"]  # the same noise, the same count
    assert scored["protocol"]["coverage"] == own["protocol"]["coverage"]
    config = read_json(run_dir / "config.json")
    assert config["scored"]["weights"]["path"] == str(trained / "generator.pt")
    assert config["scored"]["module"]["path"] == str(FACTORIES) and config["config"]["z_dim"] == 2

    r = invoke("eval", trained, "--device", "cpu")  # and `ganbench eval` of the same weights agrees
    assert r.exit_code == 0, r.output
    again = [e for e in read_jsonl(trained / "metrics.jsonl") if e["type"] == "eval"][-1]
    assert {k: again[k] for k in POINT_KEYS} == {k: scored[k] for k in POINT_KEYS}


def test_an_importable_module_name_works_too(trained, tmp_path, monkeypatch):
    monkeypatch.chdir(HERE)  # scored_generator is importable from the current folder
    r = invoke("score", "--generator", "scored_generator:ring8_dcgan", "--weights", trained / "generator.pt",
               "--z-dim", 2, "--dataset", "ring8", "--device", "cpu", "--out", tmp_path)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert (tmp_path / "ring8" / "generator" / "seed0" / "metrics.jsonl").exists()  # --name: the weights' stem


# --- where the record shows up, and what leaves it alone ---------------------------------


def test_the_record_is_a_row_of_the_table_beside_the_variants(trained, tmp_path):
    out = trained.parent.parent.parent
    path = points_file(tmp_path / "real.npz", draw(ring_centres(), 0.01, 2500, torch.Generator().manual_seed(1)))
    r = invoke("score", "--samples", path, "--dataset", "ring8", "--name", "real-ring", "--out", out)
    assert r.exit_code == 0, r.output
    r = invoke("table", "--out", out)
    assert r.exit_code == 0, r.output
    rows = {line.split("|")[1].strip(): line for line in r.output.splitlines() if line.startswith("| ")}
    assert "dcgan" in rows and "real-ring" in rows
    assert "**8.0**" in rows["real-ring"]  # the best mode count of the table
    assert "not trained by ganbench: real-ring." in r.output
    assert "profile smoke; steps 40; batch 100" in r.output  # the trained runs' protocol
    r = invoke("table", "--out", out, "--format", "json")
    variants = [row["variant"] for row in json.loads(r.output)[0]["rows"]]
    assert variants[0] == "dcgan" and "real-ring" in variants  # registered variants first


def test_eval_run_and_baseline_leave_a_scored_record_alone(trained, tmp_path):
    path = points_file(tmp_path / "real.npz", draw(ring_centres(), 0.01, 2500, torch.Generator().manual_seed(1)))
    out = tmp_path / "out"
    r = invoke("score", "--samples", path, "--dataset", "ring8", "--name", "real", "--out", out)
    assert r.exit_code == 0, r.output
    scored = out / "ring8" / "real" / "seed0"
    assert "ganbench score" in one_line_error(invoke("eval", scored, "--device", "cpu"))
    # A variant registered later under the same name (a plugin, say) must not train over it.
    (out / "ring8" / "vanilla").mkdir()
    scored.rename(out / "ring8" / "vanilla" / "seed0")
    before = (out / "ring8" / "vanilla" / "seed0" / "metrics.jsonl").read_text()
    for flag in ("--overwrite", "--resume"):
        r = invoke("run", "vanilla", "--dataset", "ring8", "--steps", 5, "--device", "cpu", "--no-progress",
                   "--out", out, flag)  # fmt: skip
        assert "ganbench score" in one_line_error(r)
    assert (out / "ring8" / "vanilla" / "seed0" / "metrics.jsonl").read_text() == before
    # A baseline holds runs `ganbench check` can train again: the scored record is left out.
    both = trained.parent.parent.parent
    r = invoke("score", "--samples", path, "--dataset", "ring8", "--name", "real", "--out", both, "--overwrite")
    assert r.exit_code == 0, r.output
    r = invoke("baseline", "--out", both, "-o", tmp_path / "baseline.json")
    assert r.exit_code == 0, r.output
    entries = json.loads((tmp_path / "baseline.json").read_text())["entries"]
    assert [(e["dataset"], e["variant"]) for e in entries] == [("ring8", "dcgan")]
    r = invoke("baseline", "--out", both, "-o", tmp_path / "b2.json", "--variants", "real")
    assert "not trained by ganbench" in one_line_error(r)


# --- bad input: one line, exit 2 --------------------------------------------------------


def test_bad_samples_are_one_line_errors(tmp_path):
    ring = draw(ring_centres(), 0.01, 2500, torch.Generator().manual_seed(1))
    cases = {
        "points of shape (N, 2)": points_file(tmp_path / "three.npz", torch.zeros(2500, 3)),
        "holds 100 samples; scoring ring8 takes 2,500": points_file(tmp_path / "few.npz", ring[:100]),
        "NaN or Inf": points_file(tmp_path / "nan.npz", torch.full((2500, 2), float("nan"))),
        "expected a folder of images, an .npz or a .pt file": tmp_path / "points.csv",
        "does not exist": tmp_path / "missing.npz",
    }
    (tmp_path / "points.csv").write_text("0,0\n")
    np.savez(tmp_path / "two.npz", a=ring.numpy(), b=ring.numpy())
    cases["expected one array, or one named samples"] = tmp_path / "two.npz"
    torch.save({"x": 1}, tmp_path / "dict.pt")
    cases["expected a tensor, or a dict of tensors; got dict"] = tmp_path / "dict.pt"
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pt")  # unpickling it would run code
    cases["does not load with weights_only=True"] = tmp_path / "module.pt"
    for expected, path in cases.items():
        r = invoke("score", "--samples", path, "--dataset", "ring8", "--name", "x", "--out", tmp_path / "out")
        assert expected in one_line_error(r), (expected, r.output)
    r = invoke("score", "--samples", tmp_path / "few.npz", "--dataset", "ring8", "--name", "x", "--range", "0,1")
    assert "--range applies to images" in one_line_error(r)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("config.json"))


@requires_mnist
def test_bad_images_are_one_line_errors(tmp_path):
    from PIL import Image

    cases = {
        "mnist images have 1 channel, not 3": torch.zeros(500, 3, 28, 28, dtype=torch.uint8),
        "expected images of shape (N, 1, 28, 28) or (N, 28, 28, 1) or (N, 28, 28) for mnist; got (500, 32, 32)": (
            torch.zeros(500, 32, 32, dtype=torch.uint8)
        ),
        "expected values in [-1, 1] (declare another with --range LO,HI": torch.full((2000, 1, 28, 28), 255.0),
        "expected uint8 (0..255) or float images; got int64": torch.zeros(500, 1, 28, 28, dtype=torch.int64),
        "holds 500 samples; scoring mnist takes 2,000 (--eval-samples)": torch.zeros(500, 1, 28, 28),
    }
    for i, (expected, images) in enumerate(cases.items()):
        torch.save(images, tmp_path / f"{i}.pt")
        r = invoke("score", "--samples", tmp_path / f"{i}.pt", "--dataset", "mnist", "--name", "x", "--device", "cpu",
                   "--out", tmp_path / "out")  # fmt: skip
        assert expected in one_line_error(r), (expected, r.output)
    folder = tmp_path / "rgb"
    folder.mkdir()
    Image.new("RGB", (28, 28)).save(folder / "a.png")
    r = invoke("score", "--samples", folder, "--dataset", "mnist", "--name", "x", "--out", tmp_path / "out")
    assert "expected mnist images of 1 channel, 28x28 (gray, not resized); got 3 channels, 28x28" in one_line_error(r)
    weights = _state(tmp_path, "mnist_bytes")
    r = invoke("score", "--generator", f"{FACTORIES}:mnist_bytes", "--weights", weights, "--z-dim", 8,
               "--dataset", "mnist", "--name", "x", "--device", "cpu", "--out", tmp_path / "out")  # fmt: skip
    assert "its output: expected values in [-1, 1]" in one_line_error(r)


def _state(tmp_path: Path, factory: str) -> Path:
    import importlib.util

    spec = importlib.util.spec_from_file_location("factories_for_test", FACTORIES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path / f"{factory}.pt"
    torch.save(getattr(module, factory)().state_dict(), path)
    return path


def test_bad_generators_and_options_are_one_line_errors(trained, tmp_path):
    weights = trained / "generator.pt"
    torch.save(torch.nn.Linear(2, 2), tmp_path / "pickled.pt")  # a whole module, not a state dict
    gen = ("--generator", f"{FACTORIES}:ring8_dcgan")
    base = ("--dataset", "ring8", "--device", "cpu", "--out", tmp_path / "out")
    cases = [
        ((*gen, "--weights", weights, "--z-dim", 3), "calling it on noise of shape (2, 3) failed"),
        (
            (
                "--generator",
                f"{FACTORIES}:three_d_points",
                "--weights",
                _state(tmp_path, "three_d_points"),
                "--z-dim",
                2,
            ),
            "it returned shape (2, 3); ring8 needs (2, 2)",
        ),  # fmt: skip
        ((*gen, "--weights", tmp_path / "pickled.pt", "--z-dim", 2), "does not load with weights_only=True"),
        ((*gen, "--weights", _state(tmp_path, "three_d_points"), "--z-dim", 2), "does not fit the generator"),
        (("--generator", f"{FACTORIES}:not_a_module", "--weights", weights, "--z-dim", 2), "not a torch.nn.Module"),
        (("--generator", f"{FACTORIES}:nothing_here", "--weights", weights, "--z-dim", 2), "has no function"),
        (("--generator", "no_such_module_xyz:make", "--weights", weights, "--z-dim", 2), "no module named"),
        (("--generator", "ring8_dcgan", "--weights", weights, "--z-dim", 2), "expected MODULE:FACTORY"),
        ((*gen, "--z-dim", 2), "--generator needs --weights"),
        ((*gen, "--weights", weights, "--z-dim", 2, "--range", "0,1"), "--range applies to images"),
        ((*gen, "--weights", weights, "--z-dim", 2, "--name", "dcgan"), "registered variant dcgan's name"),
        ((*gen, "--weights", weights, "--z-dim", 2, "--name", "../up"), "expected a folder name"),
        ((*gen, "--samples", tmp_path, "--name", "x"), "one of them"),
        (("--samples", tmp_path / "a.npz"), "--samples needs --name"),
        (("--samples", tmp_path / "a.npz", "--name", "x", "--z-dim", 2), "--z-dim: for --generator only"),
    ]
    for args, expected in cases:
        assert expected in one_line_error(invoke("score", *args, *base)), (args, expected)
    assert not any((tmp_path / "out").rglob("config.json"))


def test_an_existing_record_needs_overwrite(trained, tmp_path):
    args = ("score", "--generator", f"{FACTORIES}:ring8_dcgan", "--weights", trained / "generator.pt", "--z-dim", 2,
            "--dataset", "ring8", "--name", "g", "--device", "cpu", "--out", tmp_path)  # fmt: skip
    assert invoke(*args).exit_code == 0
    assert "pass --overwrite to replace it" in one_line_error(invoke(*args))
    r = invoke(*args, "--overwrite")
    assert r.exit_code == 0, r.output
    assert len(read_jsonl(tmp_path / "ring8" / "g" / "seed0" / "metrics.jsonl")) == 1  # replaced, not appended
