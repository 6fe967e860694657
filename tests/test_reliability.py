"""Runs that survive: kill and resume, divergence, corrupt files, locks, clean errors."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from support import requires_mnist, tiny_config

from ganbench.cli import cli
from ganbench.core import checkpoint as ckpt
from ganbench.core.loop import train
from ganbench.errors import RunError
from ganbench.rundir import HOLD_AT_STEP_ENV, HOLD_DIR_ENV, RunDir, read_jsonl
from ganbench.runs.schedule import run_suite
from ganbench.variants import get_variant

RUN = ["run", "dcgan", "--dataset", "ring8", "--profile", "smoke", "--device", "cpu", "--no-progress"]
KILL_ARGS = ["--steps", "300", "--log-every", "20", "--checkpoint-every", "40"]
SHORT = ["--steps", "60"]  # after KILL_ARGS: held at a known step, a run need not be long to be signalled


def ganbench(*args, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "ganbench", *map(str, args)], capture_output=True, text=True, env=env, **kwargs
    )


def one_line_error(result, code):
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output, result.output
    return lines[0]


def weights(run: Path) -> dict:
    return {
        **torch.load(run / "generator.pt"),
        **{f"d.{k}": v for k, v in torch.load(run / "discriminator.pt").items()},
    }


def start_held(out: Path, step: int, *args, holders: int = 1, **popen) -> tuple[subprocess.Popen, Path, list[int]]:
    """`ganbench run` (RUN + KILL_ARGS + args) in a child process, returned once `holders`
    of its processes hold at their first record at `step` or later (rundir._hold_for_test):
    (the process, the hold folder, the holding pids). However busy the machine, a run
    signalled now cannot have ended first; deleting a pid's file lets that process go on."""
    holds = out.parent / f"{out.name}-holds"
    holds.mkdir(parents=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", HOLD_AT_STEP_ENV: str(step), HOLD_DIR_ENV: str(holds)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ganbench", *RUN, *KILL_ARGS, *args, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A shell without job control starts background commands with SIGINT ignored, and
        # their children inherit it (pytest run by `... &` in a script): give the child
        # SIGINT's default, as a terminal would, so Ctrl-C reaches ganbench's handling.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **popen,
    )
    deadline = time.monotonic() + 240  # start-up alone (imports, spawned jobs) on a loaded machine
    while len(pids := [int(p.name) for p in holds.iterdir() if p.name.isdigit()]) < holders:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the run never reached step {step}: {proc.communicate()[1]}")
        time.sleep(0.02)
    return proc, holds, pids


def release(holds: Path) -> None:
    """Let every process still holding go on."""
    for p in holds.iterdir():
        p.unlink(missing_ok=True)


def status_of(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """The KILL_ARGS run, trained without a break (one for every kill below)."""
    out = tmp_path_factory.mktemp("ref")
    ref = ganbench(*RUN, *KILL_ARGS, "--out", out)
    assert ref.returncode == 0, ref.stderr
    return out / "ring8" / "dcgan" / "seed0"


@pytest.mark.parametrize("kill_after_step", [60, 140])  # log steps between checkpoints
def test_sigkill_then_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, kill_after_step, uninterrupted):

    out = tmp_path / "killed"
    proc, _, _ = start_held(out, kill_after_step)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run = out / "ring8" / "dcgan" / "seed0"
    status = status_of(run)
    assert status["status"] == "running" and status["step"] < 300  # it really was cut short
    assert read_jsonl(run / "metrics.jsonl")[-1]["step"] == kill_after_step  # where it was held
    started = json.loads((run / "config.json").read_text())

    resumed = ganbench(*RUN, *KILL_ARGS, "--out", out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    a, b = weights(uninterrupted), weights(run)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ref_lines = (uninterrupted / "metrics.jsonl").read_text()
    assert (run / "metrics.jsonl").read_text() == ref_lines  # the same records, once each
    assert json.loads((run / "status.json").read_text())["status"] == "done"
    # config.json keeps where the run started and records where it went on.
    record = json.loads((run / "config.json").read_text())
    assert record["environment"] == started["environment"] and record["config"] == started["config"]
    [resume] = record["resumes"]
    assert 0 <= resume["step"] <= status["step"] and resume["environment"]["versions"]["torch"]


def test_ctrl_c_says_how_to_continue_exits_130_and_the_resume_finishes(tmp_path):
    out = tmp_path / "runs"
    proc, _, _ = start_held(out, 1, *SHORT)  # its first record: training is under way
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert [line for line in err.splitlines() if line.strip()] == [
        "Error: interrupted; rerun with --resume to continue"
    ]
    status = status_of(out / "ring8" / "dcgan" / "seed0")
    assert status["status"] == "failed" and status["reason"] == "interrupted" and status["step"] < 60
    resumed = ganbench(*RUN, *KILL_ARGS, *SHORT, "--out", out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert status_of(out / "ring8" / "dcgan" / "seed0")["status"] == "done"


SIGTERM_LINE = "Error: interrupted (SIGTERM); rerun with --resume to continue"


def test_sigterm_is_taken_as_ctrl_c_exits_143_and_the_resume_finishes(tmp_path):
    # timeout, docker stop and Slurm stop a program with SIGTERM: the run must not stay "running".
    out = tmp_path / "runs"
    proc, _, _ = start_held(out, 1, *SHORT)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert [line for line in err.splitlines() if line.strip()] == [SIGTERM_LINE]
    status = status_of(out / "ring8" / "dcgan" / "seed0")
    assert status["status"] == "failed" and status["reason"] == "interrupted" and status["step"] < 60
    resumed = ganbench(*RUN, *KILL_ARGS, *SHORT, "--out", out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert status_of(out / "ring8" / "dcgan" / "seed0")["status"] == "done"


@pytest.mark.parametrize("to", ["the parent", "the process group"])
def test_sigterm_under_jobs_marks_every_run_interrupted(tmp_path, to):
    # docker stop signals the parent alone; timeout and Slurm signal the whole process group.
    out = tmp_path / "runs"
    jobs = [*SHORT, "--seeds", "0,1", "--jobs", "2"]
    proc, holds, _ = start_held(out, 1, *jobs, holders=2, start_new_session=True)
    if to == "the parent":
        proc.send_signal(signal.SIGTERM)
        release(holds)  # the jobs go on until they hear that the parent is gone
    else:
        os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert [line for line in err.splitlines() if line.startswith("Error")] == [SIGTERM_LINE], err
    for seed in (0, 1):
        status = status_of(out / "ring8" / "dcgan" / f"seed{seed}")
        assert status["status"] == "failed" and status["reason"] == "interrupted", (seed, status)
        assert status["step"] < 60  # (the single-run test above resumes such a run)


def test_resume_with_a_different_config_is_refused_naming_the_fields(tmp_path):
    runner = CliRunner()
    first = runner.invoke(cli, [*RUN, "--steps", "40", "--log-every", "20", "--out", str(tmp_path)])
    assert first.exit_code == 0, first.output
    again = runner.invoke(cli, [*RUN, "--steps", "60", "--lr-d", "0.001", "--out", str(tmp_path), "--resume"])
    line = one_line_error(again, 2)
    assert "steps" in line and "lr_d" in line and "log_every" in line


def test_an_unfinished_run_needs_resume_or_overwrite(tmp_path):
    cfg = tiny_config("dcgan", "ring8", steps=40, log_every=20, checkpoint_every=20)
    run = RunDir(tmp_path, "ring8", "dcgan", 0)
    train(cfg, get_variant("dcgan"), run, progress=False)
    run.write_status("running", step=20)  # as if killed
    result = CliRunner().invoke(
        cli, [*RUN, "--steps", "40", "--log-every", "20", "--checkpoint-every", "20", "--out", str(tmp_path)]
    )
    assert "--resume" in one_line_error(result, 1)


def trained_run(tmp_path, **overrides) -> tuple:
    cfg = tiny_config("dcgan", "ring8", steps=60, log_every=20, checkpoint_every=20, **overrides)
    run = RunDir(tmp_path, "ring8", "dcgan", 0)
    train(cfg, get_variant("dcgan"), run, progress=False)
    return cfg, run


def test_a_corrupt_checkpoint_falls_back_to_the_previous_one(tmp_path):
    cfg, run = trained_run(tmp_path)
    found = ckpt.list_checkpoints(run.checkpoint_dir)
    assert [s for s, _ in found] == [60, 40, 20]  # the last three are kept
    newest = found[0][1]
    newest.write_bytes(newest.read_bytes()[:1000])  # truncated, as by a crash
    warnings = []
    state = ckpt.load_latest(run.checkpoint_dir, warn=warnings.append)
    assert state["step"] == 40
    assert len(warnings) == 1 and str(newest) in warnings[0]
    # A resume from there replays the last steps and ends where the original run ended.
    before = weights(run.path)
    run.write_status("running", step=40)
    train(cfg, get_variant("dcgan"), run, resume=True, progress=False, echo=warnings.append)
    after = weights(run.path)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_no_intact_checkpoint_is_an_error_that_says_so(tmp_path):
    _, run = trained_run(tmp_path)
    for _, path in ckpt.list_checkpoints(run.checkpoint_dir):
        path.write_bytes(b"not a checkpoint")
    with pytest.raises(RunError, match="no intact checkpoint"):
        ckpt.load_latest(run.checkpoint_dir, warn=lambda m: None)


def test_checkpoints_hold_every_rng_state_and_the_config(tmp_path):
    cfg, run = trained_run(tmp_path)
    state = ckpt.load_latest(run.checkpoint_dir)
    assert set(state["rng"]) >= {"python", "numpy", "torch_cpu", "train_generator"}
    assert state["config"] == cfg.to_dict()
    assert set(state["trainer"]) >= {"g", "d", "opt_g", "opt_d"}
    assert not list(run.checkpoint_dir.glob("*.tmp*"))  # no temporary files left behind


def test_an_absurd_learning_rate_is_recorded_as_diverged(tmp_path):
    result = CliRunner().invoke(
        cli, [*RUN, "--steps", "200", "--log-every", "10", "--lr-d", "1e6", "--lr-g", "1e6", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output  # divergence is a result, not a crash
    run = tmp_path / "ring8" / "dcgan" / "seed0"
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "diverged" and status["step"] < 200
    assert any(word in status["reason"] for word in ("nan", "inf", "bound", "NaN"))
    records = read_jsonl(run / "metrics.jsonl")
    assert records and records[-1]["step"] == status["step"]
    table = CliRunner().invoke(cli, ["table", "--out", str(tmp_path), "--per-run"])
    assert f"diverged at step {status['step']}" in table.output


def nan_after(calls: int):
    """A least-squares D loss that turns NaN after `calls` calls: a divergence on cue."""
    count = {"n": 0}

    def d_loss(real, fake):
        count["n"] += 1
        loss = 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()
        return loss * float("nan") if count["n"] > calls else loss

    return d_loss


def test_divergence_keeps_what_was_written_and_the_suite_goes_on(tmp_path):
    breaking = dataclasses.replace(get_variant("lsgan"), d_loss=nan_after(45))
    cfg = tiny_config("lsgan", "ring8", steps=100, log_every=10, checkpoint_every=20)
    run = RunDir(tmp_path, "ring8", "lsgan", 0)
    result = train(cfg, breaking, run, progress=False, echo=lambda m: None)
    assert result.status == "diverged" and result.step == 50
    status = run.read_status()
    assert status["status"] == "diverged" and status["step"] == 50 and "d_loss" in status["reason"]
    assert [r["step"] for r in run.read_metrics()] == [10, 20, 30, 40, 50]
    assert run.samples_path.exists()  # written at the step-40 checkpoint, kept
    assert [s for s, _ in ckpt.list_checkpoints(run.checkpoint_dir)] == [40, 20]

    # In a suite, a run that fails does not stop the next one.
    bad = tiny_config("dcgan", "ring8", steps=30, log_every=10, lr_d=1e6, lr_g=1e6)
    good = tiny_config("lsgan", "grid25", steps=30, log_every=10)
    outcomes = run_suite([bad, good], out=tmp_path / "suite", progress=False, echo=lambda m: None)
    assert [o.status for o in outcomes] == ["diverged", "done"]


def test_a_loss_beyond_the_bound_is_a_divergence(tmp_path):
    cfg = tiny_config("wgan-gp", "ring8", steps=20, log_every=10, loss_bound=1e-6)
    result = train(
        cfg, get_variant("wgan-gp"), RunDir(tmp_path, "ring8", "wgan-gp", 0), progress=False, echo=lambda m: None
    )
    assert result.status == "diverged" and "bound" in result.reason and result.step == 10


def test_a_status_or_config_that_is_not_a_json_object_is_read_as_missing(tmp_path):
    cfg, run = trained_run(tmp_path)
    (run.path / "status.json").write_text("[1, 2]\n")
    (run.path / "config.json").write_text('"text"\n')
    assert run.read_status() is None and run.read_config() is None
    table = CliRunner().invoke(cli, ["table", "--out", str(tmp_path)])
    assert "internal error" not in table.output and "Traceback" not in table.output, table.output


def test_readers_tolerate_a_torn_last_line(tmp_path):
    cfg, run = trained_run(tmp_path)
    good = run.read_metrics()
    with open(run.metrics_path, "a") as f:
        f.write('{"type": "train", "step": 80, "d_lo')  # a crash mid-write
    assert run.read_metrics() == good
    table = CliRunner().invoke(cli, ["table", "--out", str(tmp_path)])
    assert table.exit_code == 0, table.output
    run.truncate_metrics(60)
    assert run.metrics_path.read_text().endswith("}\n") and run.read_metrics() == good


def test_a_second_process_on_the_same_run_refuses(tmp_path):
    run = RunDir(tmp_path, "ring8", "dcgan", 0)
    run.lock()
    try:
        result = ganbench(*RUN, "--steps", "20", "--out", tmp_path)
    finally:
        run.unlock()
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "another process" in lines[0], result.stderr


def test_a_process_that_only_checks_the_lock_never_makes_a_trainer_fail(tmp_path):
    # `ganbench table` checks every run's lock while a suite trains: such a check must not
    # make a trainer's lock() refuse, as it did when the check took the lock itself.
    import threading

    run = RunDir(tmp_path, "ring8", "dcgan", 0)
    run.lock()
    run.unlock()
    stop = threading.Event()
    checks = []

    def check():
        reader = RunDir(tmp_path, "ring8", "dcgan", 0)
        while not stop.is_set():
            checks.append(reader.is_locked())

    thread = threading.Thread(target=check)
    thread.start()
    try:
        for _ in range(300):
            run.lock()
            run.unlock()
    finally:
        stop.set()
        thread.join()
    assert len(checks) > 300  # the checker really ran alongside


def test_two_processes_on_different_runs_in_one_folder_both_finish(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ganbench", *RUN, "--steps", "60", "--seed", str(seed), "--out", str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for seed in (0, 1)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    for seed in (0, 1):
        status = json.loads((tmp_path / "ring8" / "dcgan" / f"seed{seed}" / "status.json").read_text())
        assert status["status"] == "done"


def test_an_unwritable_output_folder_is_one_line_exit_1(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(cli, [*RUN, "--steps", "10", "--out", str(blocker / "sub")])
    assert "cannot write" in one_line_error(result, 1)


def test_a_full_disk_is_one_line_exit_1(tmp_path, monkeypatch):
    def full(self, record):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(RunDir, "append_metrics", full)
    result = CliRunner().invoke(cli, [*RUN, "--steps", "20", "--log-every", "10", "--out", str(tmp_path)])
    assert "disk is full" in one_line_error(result, 1)
    status = json.loads((tmp_path / "ring8" / "dcgan" / "seed0" / "status.json").read_text())
    assert status["status"] == "failed"


@requires_mnist
def test_a_batch_larger_than_the_dataset_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "dcgan",
            "--dataset",
            "mnist",
            "--data-limit",
            "10",
            "--batch-size",
            "64",
            "--profile",
            "smoke",
            "--no-progress",
            "--out",
            str(tmp_path),
        ],
    )
    assert "larger than the dataset" in one_line_error(result, 2)


def test_unreadable_mnist_files_are_one_line_exit_1(tmp_path):
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        (raw / name).write_bytes(b"\x00\x00\x08\x03garbage")
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "dcgan",
            "--dataset",
            "mnist",
            "--data-root",
            str(tmp_path / "data"),
            "--profile",
            "smoke",
            "--no-progress",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    line = one_line_error(result, 1)
    assert "MNIST" in line and "could not be read" in line
