"""`run --jobs N`: several runs at once, each giving exactly what it gives alone."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from support import assert_same_run, run_files, tiny_config

from ganbench.cli import cli
from ganbench.errors import UsageError
from ganbench.rundir import HOLD_AT_STEP_ENV, HOLD_DIR_ENV, RunDir, read_jsonl
from ganbench.runs.jobs import gpu_slots
from ganbench.runs.schedule import run_suite

TINY = ["--dataset", "ring8", "--profile", "smoke", "--device", "cpu", "--no-progress"]
STEPS = ["--steps", "40", "--log-every", "10", "--checkpoint-every", "20"]


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result


def test_runs_inside_jobs_2_are_bit_identical_to_each_run_alone(tmp_path):
    # Four runs on two job processes: the last two each run in a process that already
    # trained another run, so nothing may carry over from one run to the next.
    suite = invoke("run", "dcgan", "wgan-gp", "--seeds", "0,1", *TINY, *STEPS, "--jobs", 2, "--out", tmp_path / "jobs")
    assert suite.exit_code == 0, suite.output
    assert "4 runs: 4 done" in suite.output
    # per-run lines: each run starts and ends once, no progress bars
    for label in ("ring8/dcgan/seed0", "ring8/dcgan/seed1", "ring8/wgan-gp/seed0", "ring8/wgan-gp/seed1"):
        assert suite.output.count(f"{label}: started") == 1 and suite.output.count(f"{label}: done") == 1
    for variant, seed in (("dcgan", 0), ("wgan-gp", 1)):
        alone = invoke("run", variant, "--seed", seed, *TINY, *STEPS, "--out", tmp_path / "alone")
        assert alone.exit_code == 0, alone.output
        assert_same_run(
            tmp_path / "jobs" / "ring8" / variant / f"seed{seed}",
            tmp_path / "alone" / "ring8" / variant / f"seed{seed}",
        )
        assert len(read_jsonl(tmp_path / "alone" / "ring8" / variant / f"seed{seed}" / "metrics.jsonl"))
    # and the seeds really differ (the comparison above is not vacuous)
    a, _, _ = run_files(tmp_path / "jobs" / "ring8" / "dcgan" / "seed0")
    b, _, _ = run_files(tmp_path / "jobs" / "ring8" / "dcgan" / "seed1")
    assert not all(torch.equal(a[k], b[k]) for k in a)

    # Rerunning the suite skips every finished run and leaves its files alone.
    before = (tmp_path / "jobs" / "ring8" / "dcgan" / "seed0" / "generator.pt").stat().st_mtime_ns
    again = invoke("run", "dcgan", "wgan-gp", "--seeds", "0,1", *TINY, *STEPS, "--jobs", 2, "--out", tmp_path / "jobs")
    assert again.exit_code == 0 and "4 runs: 4 skipped" in again.output, again.output
    assert "started" not in again.output  # no process for a finished run
    assert (tmp_path / "jobs" / "ring8" / "dcgan" / "seed0" / "generator.pt").stat().st_mtime_ns == before


@pytest.mark.parametrize("fresh", [False, True])
def test_a_job_slot_reuses_its_process_unless_each_run_must_start_fresh(tmp_path, fresh):
    # CUDA runs get a fresh process each (jobs.py); here the same switch, on a CPU, with the
    # pid each run's lock file records telling which process trained it.

    cfgs = [tiny_config("dcgan", "ring8", steps=5, seed=s) for s in (0, 1, 2)]
    outcomes = run_suite(cfgs, out=tmp_path, processes=True, echo=lambda m: None, fresh_process_per_run=fresh)
    assert [o.status for o in outcomes] == ["done"] * 3
    pids = {int((o.run_dir.path / ".lock").read_text()) for o in outcomes}
    assert len(pids) == (3 if fresh else 1) and os.getpid() not in pids


def _kill_when_held(holds: Path, stop: threading.Event) -> None:
    """SIGKILL the job process that holds at its run's known step (rundir._hold_for_test)."""
    while not stop.is_set():
        held = [p for p in holds.iterdir() if p.name.isdigit()]
        if held:
            os.kill(int(held[0].name), signal.SIGKILL)
            return
        time.sleep(0.02)


def test_a_failing_diverging_or_killed_run_does_not_stop_the_other_jobs(tmp_path, monkeypatch):
    out = tmp_path / "suite"
    # The victim alone reaches step 100, where its job holds until killed: however busy the
    # machine, it is killed mid-run (the others end at step 30 and never hold).
    holds = tmp_path / "holds"
    holds.mkdir()
    monkeypatch.setenv(HOLD_AT_STEP_ENV, "100")
    monkeypatch.setenv(HOLD_DIR_ENV, str(holds))  # the job processes inherit both
    victim = tiny_config("lsgan", "ring8", steps=300, log_every=10, checkpoint_every=20)
    diverging = tiny_config("dcgan", "ring8", steps=30, log_every=10, lr_d=1e6, lr_g=1e6)
    locked = tiny_config("hinge", "ring8", steps=30, log_every=10)
    good = [tiny_config(v, "grid25", steps=30, log_every=10) for v in ("dcgan", "wgan-gp")]
    held = RunDir(out, "ring8", "hinge", 0)
    held.lock()  # another process trains this run: its job must fail, alone
    stop = threading.Event()
    killer = threading.Thread(target=_kill_when_held, args=(holds, stop))
    killer.start()
    lines: list[str] = []
    try:
        outcomes = run_suite([victim, diverging, locked, *good], out=out, jobs=2, echo=lines.append)
    finally:
        stop.set()
        killer.join()
        held.unlock()
    assert [o.status for o in outcomes] == ["failed", "diverged", "failed", "done", "done"], lines
    assert "process died" in outcomes[0].message and "exit code -9" in outcomes[0].message
    assert "another process" in outcomes[2].message
    for o in outcomes[3:]:
        assert o.run_dir.read_status()["status"] == "done" and (o.run_dir.path / "generator.pt").exists()
    # The killed run is left as a kill leaves it: resumable from its checkpoints.
    killed = RunDir(out, "ring8", "lsgan", 0)
    assert killed.read_status()["status"] == "running" and killed.read_metrics()[-1]["step"] == 100
    assert sum(line.endswith(": started (job 1)") or line.endswith(": started (job 2)") for line in lines) == 5


def test_an_error_in_the_parent_stops_the_jobs_and_leaves_their_runs_resumable(tmp_path, monkeypatch):
    from ganbench.runs import jobs

    cfg = tiny_config("lsgan", "ring8", steps=20000, log_every=10, checkpoint_every=50)
    run = RunDir(tmp_path, "ring8", "lsgan", 0)
    real_wait = jobs.wait

    def wait_then_fail(conns, timeout=None):
        # Once the job is training, the parent itself fails (a bug, a full disk...).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (run.read_status() or {}).get("step", 0) < 50:
            time.sleep(0.05)
        raise RuntimeError("the parent failed")

    monkeypatch.setattr(jobs, "wait", wait_then_fail)
    with pytest.raises(RuntimeError, match="the parent failed"):
        run_suite([cfg, tiny_config("dcgan", "ring8", steps=30)], out=tmp_path, jobs=2, echo=lambda m: None)
    monkeypatch.setattr(jobs, "wait", real_wait)
    status = run.read_status()
    # The job was told to stop: it marked its run interrupted, not left "running" to be killed.
    assert status["status"] == "failed" and status["reason"] == "interrupted", status
    assert 50 <= status["step"] < 20000 and not run.is_locked()


def test_jobs_must_be_at_least_one(tmp_path):
    result = invoke("run", "--all", *TINY, "--jobs", 0, "--out", tmp_path)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "--jobs" in lines[0], result.output
    with pytest.raises(UsageError):
        run_suite([tiny_config("dcgan", "ring8")], out=tmp_path, jobs=0)


def test_each_gpu_gets_its_share_of_the_jobs(monkeypatch):
    cuda = [tiny_config("dcgan", "ring8").replace(device="cuda")] * 3
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert gpu_slots(cuda, 3) == ["3", "5", "3"]  # round robin over the visible GPUs
    assert gpu_slots([c.replace(device="cuda:1") for c in cuda], 2) == [None, None]  # an explicit GPU stays
    assert gpu_slots([tiny_config("dcgan", "ring8")] * 2, 2) == [None, None]  # CPU runs
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")
    assert gpu_slots(cuda, 4) == [None] * 4  # one GPU: every job shares it


def test_no_cuda_graph_reaches_the_config_and_a_resume_must_match_it(tmp_path):
    plain = invoke("run", "dcgan", *TINY, "--steps", 10, "--out", tmp_path / "a")
    off = invoke("run", "dcgan", *TINY, "--steps", 10, "--no-cuda-graph", "--out", tmp_path / "b")
    assert plain.exit_code == 0 and off.exit_code == 0, (plain.output, off.output)
    cfg_a = json.loads((tmp_path / "a" / "ring8" / "dcgan" / "seed0" / "config.json").read_text())["config"]
    cfg_b = json.loads((tmp_path / "b" / "ring8" / "dcgan" / "seed0" / "config.json").read_text())["config"]
    assert cfg_a["cuda_graph"] is True and cfg_b["cuda_graph"] is False
    status = json.loads((tmp_path / "b" / "ring8" / "dcgan" / "seed0" / "status.json").read_text())
    assert status["step_mode"] == "eager" and status["step_mode_reason"] == "CPU"
    # the flag is part of the run's identity: a rerun without it is a different config
    again = invoke("run", "dcgan", *TINY, "--steps", 10, "--out", tmp_path / "b", "--resume")
    assert again.exit_code == 2 and "cuda_graph" in again.output, again.output
