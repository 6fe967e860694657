"""`ganbench sweep` without Ray: spaces and sampling, budget curves, shards, the sweep folder."""

from __future__ import annotations

import itertools
import json
import math
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from support import requires_mnist, tiny_config

from ganbench.cli import cli
from ganbench.errors import UsageError
from ganbench.report import sweep as report
from ganbench.rundir import RunDir
from ganbench.runs import space as spaces
from ganbench.runs import sweep as plan
from ganbench.runs.plan import take_shard

FAST = ["--profile", "smoke", "--steps", "60", "--device", "cpu", "--no-progress"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


# --- spaces and sampling -------------------------------------------------------------
def test_the_same_sample_seed_gives_the_same_configurations_and_another_seed_others():
    wide = spaces.load_space("lucic-wide")
    a = [spaces.sample(wide, "dcgan", "ring8", k, seed=0) for k in range(1, 9)]
    b = [spaces.sample(wide, "dcgan", "ring8", k, seed=0) for k in range(1, 9)]
    c = [spaces.sample(wide, "dcgan", "ring8", k, seed=1) for k in range(1, 9)]
    assert a == b
    assert all(x["lr"] != y["lr"] for x, y in zip(a, c, strict=True))
    # trial k does not depend on how many trials there are, nor on the other variants
    trials = plan.plan_trials(wide, ["dcgan", "lsgan"], ["ring8"], 3, "/tmp/x", {"profile": "smoke"})
    assert [t.values for t in trials if t.cfg.variant == "dcgan"] == a[:3]


def test_wide_ranges_and_log_scales_hold_over_many_draws():
    wide = spaces.load_space("lucic-wide")
    draws = [spaces.sample(wide, "wgan-gp", "grid25", k) for k in range(1, 2001)]
    lr = np.log10([d["lr"] for d in draws])
    lam = np.log10([d["penalty_weight"] for d in draws])
    beta1 = np.array([d["beta1"] for d in draws])
    assert -5 <= lr.min() and lr.max() <= -2 and abs(lr.mean() + 3.5) < 0.1  # uniform in the exponent
    assert np.mean(lr < -4) == pytest.approx(1 / 3, abs=0.04)  # a third of the draws per decade
    assert -1 <= lam.min() and lam.max() <= 2 and abs(lam.mean() - 0.5) < 0.1
    assert 0 <= beta1.min() and beta1.max() <= 1 and abs(beta1.mean() - 0.5) < 0.03
    assert {d["n_critic"] for d in draws} == {1, 5}  # random.choice([1, 5]) in compare_gan v1
    assert all(d["beta2"] == 0.999 for d in draws)
    assert {d["d_norm"] for d in draws} == {"batch", "none"}
    # penalty_weight is the WGAN-GP table's only: no other variant samples it
    assert "penalty_weight" not in spaces.sample(wide, "dcgan", "grid25", 1)
    assert {spaces.sample(wide, "hinge", "grid25", k)["d_norm"] for k in range(1, 20)} == {"spectral"}


def test_narrow_space_fixes_beta1_and_critic_steps():
    narrow = spaces.load_space("lucic-narrow")
    draws = [spaces.sample(narrow, "wgan-gp", "ring8", k) for k in range(1, 501)]
    assert {d["beta1"] for d in draws} == {0.5} and {d["n_critic"] for d in draws} == {1}
    assert {d["d_norm"] for d in draws} == {"none"}  # params.py: "clearly False is better"
    assert {spaces.sample(narrow, "lsgan", "ring8", k)["d_norm"] for k in range(1, 50)} == {"batch", "none"}
    lr = np.log10([d["lr"] for d in draws])
    assert -4 <= lr.min() and lr.max() <= -3
    lam = np.log10([d["penalty_weight"] for d in draws])
    assert -1 <= lam.min() and lam.max() <= 1


def test_sampled_values_become_the_trials_config_and_every_variant_gets_the_same_number(tmp_path):
    wide = spaces.load_space("lucic-wide")
    variants = ["vanilla", "dcgan", "wgan-gp"]
    trials = plan.plan_trials(wide, variants, ["ring8", "grid25"], 4, tmp_path, {"profile": "smoke", "device": "cpu"})
    counts = {k: len(list(g)) for k, g in itertools.groupby(trials, key=lambda t: (t.cfg.dataset, t.cfg.variant))}
    assert set(counts.values()) == {4} and len(counts) == 6
    for t in trials:
        assert t.cfg.lr_d == t.cfg.lr_g == t.values["lr"]
        assert t.cfg.betas == (t.values["beta1"], 0.999) and t.cfg.n_critic == t.values["n_critic"]
        assert t.cfg.d_norm == t.values["d_norm"]
        assert t.run_dir.path == tmp_path / "trials" / f"t{t.index:03d}" / t.cfg.dataset / t.cfg.variant / "seed0"
    gp = [t for t in trials if t.cfg.variant == "wgan-gp"]
    assert all(t.cfg.penalty_weight == t.values["penalty_weight"] for t in gp)
    assert len({t.run_dir.path for t in trials}) == len(trials)


def test_a_users_space_in_toml_or_yaml(tmp_path):
    toml = tmp_path / "mine.toml"
    toml.write_text("[all]\nlr_d = { log10_uniform = [-3, -3] }\nn_critic = { choice = [2, 4] }\n")
    yaml = tmp_path / "mine.yaml"
    yaml.write_text("all:\n  lr_d: {log10_uniform: [-3, -3]}\n  n_critic: {choice: [2, 4]}\n")
    for path in (toml, yaml):
        space = spaces.load_space(path)
        draws = [spaces.sample(space, "lsgan", "ring8", k) for k in range(1, 50)]
        assert all(math.isclose(d["lr_d"], 1e-3) for d in draws) and {d["n_critic"] for d in draws} == {2, 4}
    assert spaces.sample(spaces.load_space(toml), "lsgan", "ring8", 3) == spaces.sample(
        spaces.load_space(yaml), "lsgan", "ring8", 3
    )


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[all]\nseed = 3\n", "not a parameter a sweep can set"),
        ("[all]\nlr = { log_uniform = [1, 2] }\n", "a distribution is one of"),
        ("[all]\nlr = { uniform = [2, 1] }\n", "low <= high"),
        ("[all]\nn_critic = { int_uniform = [1.5, 3] }\n", "integer ends"),
        ("[all\n", "not valid TOML"),
        ("[everything]\n", "unknown top-level key"),
    ],
)
def test_a_bad_space_file_is_one_clear_error(tmp_path, text, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=fragment):
        spaces.load_space(path)


def test_sweep_refuses_bad_input_in_one_line(tmp_path):
    result = invoke("sweep", "dcgan", "--dataset", "ring8", "--trials", "2", "--space", "nope", "--out", tmp_path)
    assert result.exit_code == 2 and "not a built-in space" in result.output and "Traceback" not in result.output
    result = invoke("sweep", "dcgan", "--dataset", "ring8", "--trials", "2", "--metric", "xyz", "--out", tmp_path)
    assert result.exit_code == 2 and "--metric xyz: unknown" in result.output


def test_backend_ray_without_ray_installed_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as when it is absent
    for command in ("run", "sweep"):
        args = [command, "dcgan", "--dataset", "ring8", "--out", tmp_path, "--backend", "ray"]
        result = invoke(*args, *(["--trials", "1"] if command == "sweep" else []))
        assert result.exit_code == 2 and "pip install 'ganbench[ray]'" in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # refused before anything was written


# --- budget curves ---------------------------------------------------------------------
def _best_of_n_by_enumeration(scores, n, higher):
    """Every one of the N^n equally likely draws with replacement, averaged."""
    pick = max if higher else min
    draws = list(itertools.product(scores, repeat=n))
    return sum(pick(d) for d in draws) / len(draws)


@pytest.mark.parametrize("higher", [True, False])
def test_expected_best_of_n_matches_enumerating_every_draw(higher):
    scores = [3.0, 1.0, 4.0, 1.0, 5.0]
    for n in range(1, 5):
        assert report.expected_best(scores, n, higher) == pytest.approx(_best_of_n_by_enumeration(scores, n, higher))
    assert report.expected_best(scores, 1, higher) == pytest.approx(np.mean(scores))


def test_the_budget_curve_rises_to_the_best_score_and_its_band_holds_the_expectation():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=20)
    curve = report.budget_curve(scores, higher=True, n_max=20, draws=4000)
    assert curve["n"].tolist() == list(range(1, 21))
    assert np.all(np.diff(curve["expected"]) > 0) and curve["expected"].iloc[-1] < scores.max()
    assert np.all(curve["lo"] <= curve["expected"]) and np.all(curve["expected"] <= curve["hi"])
    assert curve["hi"].iloc[-1] == scores.max()
    low = report.budget_curve(scores, higher=False, n_max=5)
    assert np.all(np.diff(low["expected"]) < 0)


# --- shards ----------------------------------------------------------------------------
def test_shards_partition_the_plan_exactly():
    items = list(range(17))
    parts = [take_shard(items, (i, 3)) for i in range(3)]
    assert sorted(itertools.chain(*parts)) == items
    assert all(set(a).isdisjoint(b) for a, b in itertools.combinations(parts, 2))
    assert take_shard(items, None) == items


def test_run_shards_together_train_the_plan_once(tmp_path):
    args = ["run", "dcgan", "lsgan", "--dataset", "ring8", "--seeds", "0,1", "--profile", "smoke", "--steps", "10"]
    args += ["--log-every", "5", "--checkpoint-every", "10", "--device", "cpu", "--no-progress", "--out", tmp_path]
    trained = []
    for i in range(3):
        result = invoke(*args, "--shard", f"{i}/3")
        assert result.exit_code == 0, result.output
        trained += [line for line in result.output.splitlines() if line.endswith(": done")]
    assert len(trained) == 4
    assert len(list(tmp_path.glob("ring8/*/seed*/generator.pt"))) == 4
    again = invoke(*args, "--shard", "1/3")
    assert "1 skipped" in again.output  # its part is finished: nothing retrained
    bad = invoke(*args, "--shard", "3/3")
    assert bad.exit_code == 2 and "0 <= I < N" in bad.output


# --- a whole sweep ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    args = ["sweep", "dcgan", "lsgan", "--dataset", "ring8", "--trials", "3", "--seeds", "1", "--out", out, *FAST]
    result = invoke(*args)
    return out, args, result


def test_a_sweep_trains_every_trial_as_a_run_directory_and_reruns_each_best(small_sweep):
    out, _, result = small_sweep
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["space"]["name"] == "lucic-wide" and manifest["trials"] == 3
    for variant in ("dcgan", "lsgan"):
        for k in (1, 2, 3):
            run = RunDir(out / "trials" / f"t{k:03d}", "ring8", variant, 0)
            record = json.loads((run.path.parent / "trial.json").read_text())
            config = run.read_config()["config"]
            assert run.read_status()["status"] in ("done", "diverged")
            assert config["lr_d"] == record["values"]["lr"] and config["n_critic"] == record["values"]["n_critic"]
    scores = report.trial_scores(out)
    assert len(scores) == 6 and set(scores.metric) == {"reverse_kl"}
    # an unscored trial enters the budget curves at the dataset's worst score (reverse_kl: the highest)
    assert (scores[scores.score.isna()].floored == scores.score.max()).all()
    assert (scores[scores.score.notna()].floored == scores[scores.score.notna()].score).all()
    best = report.best_trials(scores)
    for row in best.itertuples():
        picked = RunDir.at(row.run_dir).read_config()["config"]
        rerun = RunDir(out / "best", "ring8", row.variant, 1).read_config()["config"]
        assert {k: v for k, v in rerun.items() if k != "seed"} == {k: v for k, v in picked.items() if k != "seed"}
        sub = scores[(scores.variant == row.variant) & scores.score.notna()]
        assert row.score == sub.score.min()  # reverse_kl: lower is better
    for name in ("best", "scores", "shared", "trials", "budget"):
        for suffix in (".md", ".csv", ".tex", ".json"):
            assert (out / "report" / f"{name}{suffix}").is_file()
    assert (out / "report" / "budget_ring8.png").is_file() and (out / "report" / "scores_ring8.png").is_file()


def test_rerunning_a_sweep_skips_every_finished_run(small_sweep):
    out, args, _ = small_sweep
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "8 runs: 8 skipped" in result.output


def test_table_plot_and_report_read_a_sweep_folder(small_sweep, tmp_path):
    out, _, _ = small_sweep
    commands = (["table", "--out", out], ["plot", "--out", out, "--to", tmp_path], ["report", "--out", out])
    for command in commands:
        result = invoke(*command)
        assert result.exit_code == 0, (command, result.output)
        assert "Traceback" not in result.output
    table = invoke("table", "--out", out)
    assert "dcgan" in table.output and "lsgan" in table.output


def test_the_html_report_of_a_sweep_shows_the_tuned_comparison_and_budget_curves(small_sweep, tmp_path):
    out, _, _ = small_sweep
    page = tmp_path / "sweep.html"
    result = invoke("report", "--out", out, "--to", page)
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert "Sweep on ring8: each variant tuned" in text
    assert "sweep: space lucic-wide" in text and "3 trials per variant" in text
    section = text[text.index("Sweep on ring8") :]
    # the best-per-variant table has a body row per variant, and two figures: budget curves, scores
    assert section.count("<tr>") >= 2 and "dcgan" in section and "lsgan" in section
    assert section.count("data:image/png;base64,") >= 2


# --- warming before a fan-out ----------------------------------------------------------
@requires_mnist
def test_warm_writes_the_classifier_reference_cache_the_runs_read(tmp_path, monkeypatch):
    from ganbench.data import load_dataset
    from ganbench.metrics import reference_cache
    from ganbench.metrics.classes import reference_statistics
    from ganbench.metrics.evaluate import EvalSettings, Evaluator

    monkeypatch.setattr(reference_cache, "_MEMORY", {})  # nothing computed earlier in this process
    cfg = tiny_config("dcgan", "mnist")
    data = load_dataset("mnist", None, "cpu", cfg.data_limit, cfg.image_size)
    Evaluator(EvalSettings(cache_dir=tmp_path)).warm(data, cfg)
    written = list((tmp_path / "classifier").glob("*.npz"))
    assert len(written) == 1
    monkeypatch.setattr(reference_cache, "_MEMORY", {})
    again = reference_cache.classifier_reference_stats(data, tmp_path)  # read from the file
    fresh = reference_statistics(data.reference, "cpu")
    assert np.array_equal(again["mu"], fresh["mu"]) and np.array_equal(again["sigma"], fresh["sigma"])
    points = load_dataset("ring8", None, "cpu")
    Evaluator(EvalSettings(cache_dir=tmp_path / "p")).warm(points, tiny_config("dcgan", "ring8"))
    assert not (tmp_path / "p").exists()  # 2-D data: nothing to warm


def test_sweep_tensorboard_writes_each_trials_event_files(tmp_path):
    pytest.importorskip("tensorboard")
    args = ["sweep", "lsgan", "--dataset", "ring8", "--trials", "2", "--seeds", "0", "--out", tmp_path]
    result = invoke(*args, "--profile", "smoke", "--steps", "20", "--device", "cpu", "--no-progress", "--tensorboard")
    assert result.exit_code == 0, result.output
    for k in (1, 2):
        assert list((tmp_path / "trials" / f"t{k:03d}" / "ring8" / "lsgan" / "seed0" / "tb").glob("events.*"))
    # 20 steps: a trial has no reverse_kl when no sample is near a mode; the report counts those
    # as unscored, and names no best trial when none is scored
    scored = 0
    for k in (1, 2):
        records = (tmp_path / "trials" / f"t{k:03d}" / "ring8" / "lsgan" / "seed0" / "metrics.jsonl").read_text()
        final = [r for r in map(json.loads, records.splitlines()) if r.get("type") == "eval"][-1]
        scored += isinstance(final.get("reverse_kl"), float) and math.isfinite(final["reverse_kl"])
    (best,) = json.loads((tmp_path / "report" / "best.json").read_text())
    assert best["variant"] == "lsgan" and best["trials"] == 2 and best["unscored"] == 2 - scored
    assert ("best trial" in best) == (scored > 0)


def test_sweep_shards_train_their_trials_then_their_part_of_the_reruns(tmp_path):
    args = ["sweep", "dcgan", "lsgan", "--dataset", "ring8", "--trials", "1", "--seeds", "1", "--metric", "modes"]
    args += ["--out", tmp_path, *FAST]
    first = invoke(*args, "--shard", "0/2")
    assert first.exit_code == 0, first.output
    assert "1 trial(s) not finished" in first.output and not (tmp_path / "best").exists()
    second = invoke(*args, "--shard", "1/2")  # every trial done now: its half of the reruns
    assert second.exit_code == 0, second.output
    again = invoke(*args, "--shard", "0/2")  # the other half
    assert again.exit_code == 0, again.output
    trials = sorted(p.parent.parent.name for p in tmp_path.glob("trials/t001/ring8/*/seed0/generator.pt"))
    reruns = sorted(p.parent.parent.name for p in tmp_path.glob("best/ring8/*/seed1/generator.pt"))
    assert trials == reruns == ["dcgan", "lsgan"]
    whole = invoke(*args)
    assert whole.exit_code == 0 and "4 runs: 4 skipped" in whole.output


def test_a_trials_score_final_or_best_checkpoint_from_its_eval_records():
    records = [
        {"type": "train", "step": 500, "d_loss": 1.0},
        {"type": "eval", "step": 500, "reverse_kl": 0.4, "modes": 6},
        {"type": "eval", "step": 1000, "reverse_kl": None, "modes": 8},
        {"type": "eval", "step": 2000, "reverse_kl": 0.9, "modes": 7},
    ]
    assert report._score(records, "reverse_kl", "final", "done", 2000) == 0.9
    assert report._score(records, "reverse_kl", "best-checkpoint", "done", 2000) == 0.4  # lower is better
    assert report._score(records, "modes", "best-checkpoint", "done", 2000) == 8  # higher is better
    # diverged: no final score, but its evaluations before diverging are checkpoints it reached
    assert report._score(records[:3], "modes", "final", "diverged", 2000) is None
    assert report._score(records[:3], "modes", "best-checkpoint", "diverged", 2000) == 8
    assert report._score(records[:1], "modes", "best-checkpoint", "failed", 2000) is None
