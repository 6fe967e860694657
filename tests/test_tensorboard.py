"""--tensorboard and `ganbench export-tb`: event files read back with TensorBoard's own reader."""

from __future__ import annotations

import pickle
import sys

import pytest
from click.testing import CliRunner
from support import tiny_config

from ganbench.cli import cli
from ganbench.config import RunOptions
from ganbench.core.loop import train, train_steps
from ganbench.metrics.evaluate import make_evaluator
from ganbench.rundir import RunDir
from ganbench.variants import get_variant

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

RUN = ["run", "vanilla", "--dataset", "ring8", "--profile", "smoke", "--device", "cpu", "--no-progress"]
INSTALL_LINE = "TensorBoard logging needs the tensorboard package: pip install 'ganbench[tensorboard]'"
SHORT = ["--steps", "40", "--log-every", "10", "--eval-every", "20", "--checkpoint-every", "20"]


def events(run: RunDir):
    acc = event_accumulator.EventAccumulator(str(run.tb_dir), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    return acc


def scalars(run: RunDir) -> dict[str, list[tuple[int, float]]]:
    acc = events(run)
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def expected_scalars(run: RunDir) -> dict[str, list[tuple[int, float]]]:
    """Every number of every record in metrics.jsonl, as (step, value) per `<type>/<key>`."""
    out: dict = {}
    for r in run.read_metrics():
        for key, value in r.items():
            if key not in ("type", "step") and isinstance(value, (int, float)) and not isinstance(value, bool):
                out.setdefault(f"{r['type']}/{key}", []).append((r["step"], pytest.approx(value, rel=1e-6)))
    return out


def run_at(out) -> RunDir:
    return RunDir(out, "ring8", "vanilla", 0)


@pytest.fixture(scope="module")
def flagged(tmp_path_factory) -> RunDir:
    out = tmp_path_factory.mktemp("tb")
    result = CliRunner().invoke(cli, [*RUN, *SHORT, "--tensorboard", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return run_at(out)


def test_a_tensorboard_run_writes_every_loss_and_metric_sample_grids_and_the_config(flagged):
    got, expected = scalars(flagged), expected_scalars(flagged)
    assert {"train/d_loss", "train/g_loss", "eval/modes", "eval/hq_frac", "eval/reverse_kl"} <= set(got)
    assert got == expected
    assert [s for s, _ in got["train/d_loss"]] == [10, 20, 30, 40] and [s for s, _ in got["eval/modes"]] == [20, 40]
    acc = events(flagged)
    assert [e.step for e in acc.Images("samples")] == [20, 40]  # the 2-D scatter at each evaluation
    [text] = acc.Tensors("config/text_summary")
    assert '"variant": "vanilla"' in text.tensor_proto.string_val[0].decode()


def test_export_tb_of_a_run_trained_without_the_flag_gives_the_same_scalars(flagged, tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, [*RUN, *SHORT, "--out", str(tmp_path)]).exit_code == 0
    plain = run_at(tmp_path)
    assert not plain.tb_dir.exists()
    result = runner.invoke(cli, ["export-tb", str(plain.path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{plain.tb_dir}: 6 records"
    assert scalars(plain) == scalars(flagged)
    assert [e.step for e in events(plain).Images("samples")] == [40]  # the final samples.png


def test_a_stopped_run_resumed_with_tensorboard_does_not_double_its_curves(tmp_path):
    cfg = tiny_config("vanilla", "ring8", steps=60, log_every=10, eval_every=20, checkpoint_every=20)
    run = run_at(tmp_path)
    # The options travel pickled to job processes: use them the way a job process gets them.
    options = pickle.loads(pickle.dumps(RunOptions(out=tmp_path, evaluator=make_evaluator(), progress=False)))
    from ganbench.report.tb import TensorBoard

    options = options.replace(observers=pickle.loads(pickle.dumps((TensorBoard(),))))
    steps = train_steps(cfg, get_variant("vanilla"), run, options)
    while not run.read_metrics() or run.read_metrics()[-1]["step"] < 50:
        next(steps)
    steps.close()  # stopped at step 50, after the checkpoint at 40: steps 41-50 are replayed
    assert run.read_status()["status"] == "failed"
    assert max(s for s, _ in scalars(run)["train/d_loss"]) == 50
    train(cfg, get_variant("vanilla"), run, options, resume=True)
    got = scalars(run)
    assert got == expected_scalars(run)  # each step once, with the resumed run's values
    assert [s for s, _ in got["train/d_loss"]] == [10, 20, 30, 40, 50, 60]
    assert [e.step for e in events(run).Images("samples")] == [20, 40, 60]


def test_without_the_package_the_flag_and_export_are_one_line_exit_2(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails, as when not installed
    runner = CliRunner()
    for args in ([*RUN, "--tensorboard", "--out", str(tmp_path)], ["export-tb", str(tmp_path)]):
        result = runner.invoke(cli, args)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1, result.output
        assert lines[0] == "Error: " + INSTALL_LINE
    assert not (tmp_path / "ring8").exists()  # refused before anything trained


def test_check_with_tensorboard_needs_a_folder_to_keep_the_runs_in(tmp_path):
    result = CliRunner().invoke(cli, ["check", "--baseline", str(tmp_path / "b.json"), "--tensorboard"])
    assert result.exit_code == 2 and "give --out DIR" in result.output, result.output
