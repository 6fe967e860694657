"""A metrics.jsonl that a crash left with a torn last line: the next append starts a fresh line."""

from __future__ import annotations

import json
import os

from click.testing import CliRunner

from ganbench.cli import cli
from ganbench.rundir import RunDir

RUN = ["run", "dcgan", "--dataset", "ring8", "--profile", "smoke", "--device", "cpu", "--no-progress"]


def test_eval_after_a_torn_last_line_is_read_back_and_tabled(tmp_path):
    out = tmp_path / "D"
    result = CliRunner().invoke(cli, [*RUN, "--steps", "40", "--out", str(out)])
    assert result.exit_code == 0, result.output
    run = RunDir.at(out / "ring8" / "dcgan" / "seed0")
    size = run.metrics_path.stat().st_size
    fragment = run.metrics_path.read_bytes()[: size - 40].rsplit(b"\n", 1)[-1]
    os.truncate(run.metrics_path, size - 40)  # a crash mid-append: the final eval record is torn
    kept = run.read_metrics()
    assert not [r for r in kept if r["type"] == "eval"]

    result = CliRunner().invoke(cli, ["eval", str(run.path), "--device", "cpu"])
    assert result.exit_code == 0, result.output

    lines = run.metrics_path.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is a whole record again
    assert records[: len(kept)] == kept
    evals = [r for r in records if r["type"] == "eval"]
    assert len(evals) == 1 and evals[0]["step"] == 40 and "modes" in evals[0]
    assert (run.path / "metrics.jsonl.torn").read_bytes() == fragment + b"\n"  # set aside, not lost

    table = CliRunner().invoke(cli, ["table", "--out", str(out)])
    assert table.exit_code == 0, table.output
    assert "no evaluation" not in table.output and "modes" in table.output, table.output


def test_a_torn_line_is_set_aside_wherever_its_start_is(tmp_path):
    # No newline anywhere (the first record was torn), and a torn line longer than the
    # blocks the start of the last line is searched back in.
    run = RunDir(tmp_path, "ring8", "dcgan", 0)
    run.create()
    for before in (b"", b'{"step": 1, "type": "train"}\n'):
        fragment = b'{"type": "eval", "step": 2, "x": "' + b"y" * 100_000
        run.metrics_path.write_bytes(before + fragment)
        (run.path / "metrics.jsonl.torn").unlink(missing_ok=True)
        run.append_metrics({"type": "eval", "step": 3})
        assert run.metrics_path.read_bytes() == before + b'{"step": 3, "type": "eval"}\n'
        assert (run.path / "metrics.jsonl.torn").read_bytes() == fragment + b"\n"
