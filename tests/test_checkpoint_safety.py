"""Checkpoints are untrusted input: loading one never runs code it carries."""

from __future__ import annotations

import io
import random

import numpy as np
import torch
from click.testing import CliRunner
from support import tiny_config

from ganbench.cli import cli
from ganbench.core import checkpoint as ckpt
from ganbench.core.loop import train
from ganbench.rundir import RunDir
from ganbench.variants import get_variant

RUN = ["run", "dcgan", "--dataset", "ring8", "--profile", "smoke", "--device", "cpu", "--no-progress"]
ARGS = ["--steps", "60", "--log-every", "20", "--checkpoint-every", "20"]


class Payload:
    """A pickle that, when unpickled without restriction, creates `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plant(path, marker, step: int) -> None:
    buffer = io.BytesIO()
    # Shaped like a checkpoint, so only the restricted unpickler stands between it and the shell.
    torch.save({"step": step, "trainer": {}, "rng": {}, "config": {}, "evil": Payload(marker)}, buffer)
    path.write_bytes(buffer.getvalue())


def test_a_planted_pickle_does_not_run_on_resume_and_the_previous_checkpoint_is_used(tmp_path):
    out, marker = tmp_path / "out", tmp_path / "pwned"
    assert CliRunner().invoke(cli, [*RUN, *ARGS, "--out", str(out)]).exit_code == 0
    run = RunDir(out, "ring8", "dcgan", 0)
    reference = torch.load(run.path / "generator.pt")
    newest = ckpt.list_checkpoints(run.checkpoint_dir)[0][1]
    plant(newest, marker, step=60)
    run.write_status("running", step=40)

    result = CliRunner().invoke(cli, [*RUN, *ARGS, "--out", str(out), "--resume"])

    assert not marker.exists(), "the checkpoint's pickle ran"
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert str(newest) in result.output and "not a ganbench checkpoint" in result.output
    # Resumed from step 40 and replayed to the same end.
    resumed = torch.load(run.path / "generator.pt")
    assert all(torch.equal(reference[k], resumed[k]) for k in reference)


def test_a_foreign_checkpoint_is_skipped_like_a_corrupt_one(tmp_path):
    cfg = tiny_config("dcgan", "ring8", steps=40, log_every=20, checkpoint_every=20)
    run = RunDir(tmp_path, "ring8", "dcgan", 0)
    train(cfg, get_variant("dcgan"), run, progress=False)
    newest = ckpt.list_checkpoints(run.checkpoint_dir)[0][1]
    torch.save({"step": 40, "weights": torch.zeros(3)}, newest)  # loads, but is not ours
    warnings = []
    state = ckpt.load_latest(run.checkpoint_dir, warn=warnings.append)
    assert state["step"] == 20
    assert len(warnings) == 1 and str(newest) in warnings[0] and "'trainer'" in warnings[0]


def test_a_checkpoint_holds_only_types_the_restricted_loader_accepts(tmp_path):
    cfg = tiny_config("dcgan", "ring8", steps=20, log_every=20, checkpoint_every=20)
    run = RunDir(tmp_path, "ring8", "dcgan", 0)
    train(cfg, get_variant("dcgan"), run, progress=False)
    path = ckpt.list_checkpoints(run.checkpoint_dir)[0][1]
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    torch.load(path, weights_only=True)  # no allow-list needed


def test_numpy_rng_state_round_trips_through_a_checkpoint(tmp_path):
    gen = torch.Generator().manual_seed(3)
    np.random.seed(7)
    np.random.standard_normal()  # leaves a cached gaussian in the state
    random.seed(11)
    ckpt.save(tmp_path, 1, {"trainer": {}, "rng": ckpt.rng_state(gen), "config": {}})
    expected = (np.random.standard_normal(5), random.random(), torch.rand(3, generator=gen))
    np.random.seed(0)
    random.seed(0)
    gen.manual_seed(0)
    ckpt.set_rng_state(ckpt.load_latest(tmp_path)["rng"], gen)
    again = (np.random.standard_normal(5), random.random(), torch.rand(3, generator=gen))
    assert np.array_equal(expected[0], again[0]) and expected[1] == again[1] and torch.equal(expected[2], again[2])


def test_a_checkpoint_from_before_the_safe_format_still_resumes(tmp_path):
    gen = torch.Generator().manual_seed(3)
    np.random.seed(5)
    legacy = {**ckpt.rng_state(gen), "numpy": np.random.get_state()}  # an ndarray, as before
    buffer = io.BytesIO()
    torch.save({"step": 1, "trainer": {}, "rng": legacy, "config": {}}, buffer)
    ckpt.checkpoint_path(tmp_path, 1).write_bytes(buffer.getvalue())
    expected = np.random.random(4)
    np.random.seed(0)
    ckpt.set_rng_state(ckpt.load_latest(tmp_path)["rng"], gen)
    assert np.array_equal(np.random.random(4), expected)
