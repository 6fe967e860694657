"""`--backend ray` on a real local Ray cluster (no mocks): bit-identical to --backend local on
a CPU, and a worker killed in the middle of a run is retried to a correct finish.

Needs the `ray` extra (pip install 'ganbench[ray]'); skipped without it. One cluster of two
CPUs for the module; each test prints its figures (tasks, retries, wall time).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import assert_same_run

from ganbench.cli import cli
from ganbench.rundir import HOLD_AT_STEP_ENV, HOLD_DIR_ENV, RunDir

ray = pytest.importorskip("ray")

# Two variants x two trials of ring8, 200 steps each (checkpoints at 100 and 200).
SWEEP = ["sweep", "dcgan", "lsgan", "--dataset", "ring8", "--trials", "2", "--profile", "smoke", "--steps", "200"]
SWEEP += ["--metric", "modes", "--device", "cpu", "--no-progress"]  # modes: every trial has a score


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def run_dirs(out: Path) -> list[Path]:
    return sorted(p.parent.relative_to(out) for p in out.glob("**/seed*/generator.pt"))


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    t0 = time.perf_counter()
    result = invoke(*SWEEP, "--seeds", "1", "--out", out)
    assert result.exit_code == 0, result.output
    return out, time.perf_counter() - t0


def test_a_ray_sweep_is_bit_identical_to_the_local_one(cluster, local_sweep, tmp_path):
    local, local_s = local_sweep
    t0 = time.perf_counter()
    result = invoke(*SWEEP, "--seeds", "1", "--out", tmp_path, "--backend", "ray")
    ray_s = time.perf_counter() - t0
    assert result.exit_code == 0, result.output
    finished = [line for line in result.output.splitlines() if "finished," in line]
    assert len(finished) == 6 and all(": done" in line for line in finished)  # 4 trials, 2 reruns
    assert run_dirs(tmp_path) == run_dirs(local) and len(run_dirs(local)) == 6
    for rel in run_dirs(local):
        assert_same_run(local / rel, tmp_path / rel)
    assert (tmp_path / "report" / "best.md").read_text() == (local / "report" / "best.md").read_text()
    print(f"\nray: 6 tasks, 0 retries, {ray_s:.1f} s; local: {local_s:.1f} s")


def test_a_worker_killed_mid_run_is_retried_and_the_sweep_ends_done_and_correct(
    cluster, local_sweep, tmp_path, monkeypatch
):
    local, _ = local_sweep
    holds = tmp_path / "holds"
    holds.mkdir()
    # Every task's worker gets these through the task's runtime environment: each run holds
    # at its first record at step 150 or later, after its checkpoint at step 100.
    monkeypatch.setenv(HOLD_AT_STEP_ENV, "150")
    monkeypatch.setenv(HOLD_DIR_ENV, str(holds))
    killed: list[tuple[int, str]] = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            for marker in holds.iterdir():
                if marker.name.startswith("."):
                    continue
                with_path = marker.read_text().strip()
                if not killed:
                    os.kill(int(marker.name), signal.SIGKILL)  # the first held worker dies mid-run
                    killed.append((int(marker.name), with_path))
                marker.unlink(missing_ok=True)  # the others (and the retry) go on
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    try:
        result = invoke(*SWEEP, "--seeds", "0", "--out", tmp_path / "sweep", "--backend", "ray")
    finally:
        stop.set()
        watcher.join()
    wall = time.perf_counter() - t0
    assert result.exit_code == 0, result.output
    assert len(killed) == 1
    resumed = [line for line in result.output.splitlines() if "resumed from its last checkpoint" in line]
    assert len(resumed) == 1 and ": done" in resumed[0], result.output
    out = tmp_path / "sweep"
    trials = [rel for rel in run_dirs(local) if rel.parts[0] == "trials"]
    assert [rel for rel in run_dirs(out)] == trials
    for rel in trials:  # the killed run too: resumed from step 100, bit-identical to the uninterrupted one
        assert RunDir.at(out / rel).read_status()["status"] == "done"
        assert_same_run(local / rel, out / rel)
    assert any(Path(killed[0][1]) == out / rel for rel in trials)
    print(f"\nray with a worker killed at step 150: 4 tasks, 1 retry, {wall:.1f} s")
