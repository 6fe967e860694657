"""scripts/benchlib/reference.py trains the same models with the same losses as the core
and refuses a loss it lacks, and a tiny run of each bench script prints its figures. (No
timing is asserted: speed figures are printed by the script and compared there, within one
run.) pyproject.toml puts scripts/ on sys.path, as Python does for a script run directly."""

from __future__ import annotations

import importlib
import re

import pytest
import torch
from support import requires_mnist

from benchlib import reference as ref_loop
from ganbench import losses
from ganbench.errors import UsageError
from ganbench.nets import build_nets
from ganbench.spec import Variant
from ganbench.variants import VARIANTS, get_variant


@pytest.fixture(scope="module")
def step_bench():
    return importlib.import_module("bench_step")


@pytest.fixture(scope="module")
def suite_bench():
    return importlib.import_module("bench_suite")


def test_the_issue_models_are_ganbenchs_dcgan_nets_for_mnist():
    """Same layers, same parameter shapes, and the same function: with ganbench's weights
    copied in, the tutorial nets compute exactly what ganbench's compute."""
    ref_g, ref_d = ref_loop.tutorial_dcgan_nets(100)
    g, d = build_nets("dcgan", 100, (1, 28, 28), "batch", "batch")
    assert ref_loop.architecture(ref_g) == ref_loop.architecture(g)
    assert ref_loop.architecture(ref_d) == ref_loop.architecture(d)
    assert (ref_loop.n_params(ref_g), ref_loop.n_params(ref_d)) == (ref_loop.n_params(g), ref_loop.n_params(d))
    assert ref_loop.n_params(g) == 100 * 6272 + 6272 + 2 * 6272 + 128 * 64 * 16 + 64 + 2 * 64 + 64 * 16 + 1
    assert ref_loop.n_params(d) == 64 * 16 + 64 + 64 * 128 * 16 + 128 + 2 * 128 + 6272 + 1
    for ref, ours in ((ref_g, g), (ref_d, d)):
        for a, b in zip(ref.parameters(), ours.parameters(), strict=True):
            a.data.copy_(b.data)
        for a, b in zip(ref.buffers(), ours.buffers(), strict=True):
            a.copy_(b)
    z = torch.randn(8, 100, generator=torch.Generator().manual_seed(0))
    x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    for mode in ("train", "eval"):
        for net in (ref_g, ref_d, g, d):
            getattr(net, mode)()
        assert torch.equal(ref_g(z), g(z))
        assert torch.equal(ref_d(x).view(-1), d(x))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_reference_trains_each_variant_on_the_cores_models(variant):
    v = get_variant(variant)
    ref_g, ref_d = ref_loop.reference_nets(v, (1, 28, 28), 100)
    g, d = build_nets(v.arch, 100, (1, 28, 28), v.g_norm, v.d_norm)
    assert ref_loop.architecture(ref_g) == ref_loop.architecture(g)
    assert ref_loop.architecture(ref_d) == ref_loop.architecture(d)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_reference_losses_are_the_cores_losses(variant):
    v = get_variant(variant)
    gen = torch.Generator().manual_seed(2)
    real, fake = torch.randn(64, generator=gen) * 2, torch.randn(64, generator=gen) * 2
    d_loss, g_loss = ref_loop.reference_losses(v)
    torch.testing.assert_close(d_loss(real, fake), v.d_loss(real, fake))
    torch.testing.assert_close(g_loss(fake), v.g_loss(fake))


def test_the_reference_gradient_penalty_is_the_cores():
    _, critic = build_nets("dcgan", 100, (1, 28, 28), "batch", "layer")
    gen = torch.Generator().manual_seed(3)
    real, fake = torch.randn(16, 1, 28, 28, generator=gen), torch.randn(16, 1, 28, 28, generator=gen)
    torch.manual_seed(4)
    ours = losses.gradient_penalty(critic, real, fake, generator=None, weight=10.0)
    torch.manual_seed(4)  # the same interpolation weights from the global generator
    ref = ref_loop.reference_penalty(get_variant("wgan-gp"))(critic, real, fake, 10.0)
    torch.testing.assert_close(ref, ours)
    assert ours.item() > 0


def test_the_reference_tables_are_keyed_by_the_names_of_ganbenchs_losses():
    for name in (*ref_loop.REFERENCE_LOSSES, *ref_loop.REFERENCE_PENALTIES):
        assert getattr(losses, name).__name__ == name


def _odd_variant(**fields) -> Variant:
    def d_relativistic(real, fake):
        return (fake - real).mean()

    def g_relativistic(fake):
        return -fake.mean()

    spec = {"name": "odd", "paper": "-", "arch": "dcgan", "d_loss": d_relativistic, "g_loss": g_relativistic}
    return Variant(**{**spec, **fields})


def test_a_loss_the_reference_lacks_is_a_one_line_usage_error_naming_it_and_the_known_ones():
    with pytest.raises(UsageError) as err:
        ref_loop.reference_losses(_odd_variant())
    message = str(err.value)
    assert "\n" not in message and "'d_relativistic'" in message and "'odd'" in message
    assert all(name in message for name in ref_loop.REFERENCE_LOSSES) and "REFERENCE_LOSSES" in message
    with pytest.raises(UsageError, match="'g_relativistic'"):
        ref_loop.reference_losses(_odd_variant(d_loss=losses.d_hinge))

    def r1_penalty(critic, real, fake, generator, weight):
        return weight * real.sum()

    odd_penalty = _odd_variant(d_loss=losses.d_hinge, g_loss=losses.g_hinge, d_penalty=r1_penalty, penalty_weight=1.0)
    with pytest.raises(UsageError, match="no tutorial-style penalty 'r1_penalty'.*it knows gradient_penalty"):
        ref_loop.check_reference(odd_penalty)


@requires_mnist
def test_a_tiny_step_bench_prints_a_ratio_per_variant(step_bench, capsys):
    threads = torch.get_num_threads()
    try:
        report = step_bench.main(
            ["--device", "cpu", "--steps", "1", "--repeats", "2", "--warmup", "1", "--variants", "dcgan,hinge"]
            + ["--ref-workers", "0"]
        )
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "# device_name:" in out and "# torch: " in out and "# command: " in out
    line = next(line for line in out.splitlines() if line.startswith("ratio core/reference:"))
    assert re.fullmatch(r"ratio core/reference: dcgan \d+\.\d\dx, hinge \d+\.\d\dx \(geomean \d+\.\d\dx\)", line)
    for row in report["variants"]:
        assert row["same_models"] is True
        assert len(row["reference_all"]) == len(row["core_all"]) == 2
        assert row["reference_steps_per_s"] > 0 and row["core_steps_per_s"] > 0
        assert row["ratio"] == pytest.approx(row["core_steps_per_s"] / row["reference_steps_per_s"])
        assert row["core_step_mode"] == "eager"


@requires_mnist
def test_a_tiny_suite_bench_times_each_layout_against_one_reference_and_says_where_the_time_went(suite_bench, capsys):
    threads = torch.get_num_threads()
    try:
        report = suite_bench.main(
            ["--device", "cpu", "--layouts", "1x1,1x2", "--steps", "2"]
            + ["--variants", "dcgan", "--seeds", "0,1", "--ref-workers", "0"]
        )
    finally:
        torch.set_num_threads(threads)
    s = report["suite"]
    assert s["runs"] == 2 and s["steps_per_run"] == 2 and s["reference_wall_s"] > 0
    assert [(lay["jobs"], lay["streams"]) for lay in s["layouts"]] == [(1, 1), (1, 2)]
    out = capsys.readouterr().out
    for lay, slots in zip(s["layouts"], (1, 2), strict=True):
        assert f"--jobs 1 --streams {lay['streams']}" in lay["suite_command"]
        assert lay["ratio"] == pytest.approx(s["reference_wall_s"] / lay["suite_wall_s"])
        b = lay["breakdown"]
        assert b["runs"] == 2 and b["train_s"] > 0 and b["eval_s"] > 0
        assert b["slot_s"] == pytest.approx(slots * lay["suite_wall_s"])
        assert b["other_s"] == pytest.approx(b["slot_s"] - b["train_s"] - b["eval_s"])
        assert list(b["steps_per_s_in_suite"]) == ["dcgan"] and b["steps_per_s_in_suite"]["dcgan"] > 0
        assert re.search(
            rf"^suite ratio \(aggregate throughput, suite/reference\), --jobs 1 --streams {lay['streams']}: "
            r"\d+\.\d\dx$",
            out,
            re.M,
        )
    assert out.count("# job-slot time") == 2 and "# median steps/s of a run inside the suite: dcgan" in out


def test_suite_layouts_are_jobs_x_streams(suite_bench):
    assert suite_bench.parse_layouts("8x1, 1X15,3x5") == [(8, 1), (1, 15), (3, 5)]
    for bad in ("8", "0x2", "2x", "ax1", "2x-1"):
        with pytest.raises(ValueError, match="JOBSxSTREAMS"):
            suite_bench.parse_layouts(bad)
    with pytest.raises(SystemExit):
        suite_bench.parse_args(["--layouts", "8by1"])
    assert suite_bench.parse_args(["--jobs", "3", "--streams", "4"]).layouts == [(3, 4)]
    assert suite_bench.parse_args([]).layouts == [(2, 1)]
    assert suite_bench.parse_args(["--seeds", "0, 1,2"]).seeds == [0, 1, 2]


@pytest.mark.parametrize(
    "script, argv, words",
    [
        ("suite_bench", ["--layouts", "8x1", "--jobs", "2"], "not both"),
        ("suite_bench", ["--jobs", "0"], "--jobs must be >= 1"),
        ("suite_bench", ["--seeds", "0,x"], "--seeds"),
        ("suite_bench", ["--steps", "0"], "--steps must be >= 1"),
        ("step_bench", ["--repeats", "0"], "--repeats must be >= 1"),
        ("step_bench", ["--warmup", "-1"], "--warmup must be >= 0"),
        # each script has only its own flags
        ("step_bench", ["--layouts", "8x1"], "unrecognized arguments: --layouts"),
        ("step_bench", ["--suite"], "unrecognized arguments: --suite"),
        ("suite_bench", ["--repeats", "3"], "unrecognized arguments: --repeats"),
        ("suite_bench", ["--warmup", "3"], "unrecognized arguments: --warmup"),
    ],
)
def test_each_bench_script_checks_its_own_flags_and_refuses_the_others(script, argv, words, request, capsys):
    module = request.getfixturevalue(script)
    with pytest.raises(SystemExit) as err:
        module.parse_args(argv)
    assert err.value.code == 2 and words in capsys.readouterr().err


@pytest.mark.parametrize("script", ["step_bench", "suite_bench"])
def test_a_variant_whose_loss_the_reference_lacks_is_refused_before_anything_is_timed(
    script, request, monkeypatch, capsys
):
    module = request.getfixturevalue(script)
    monkeypatch.setitem(VARIANTS, "odd", _odd_variant())
    with pytest.raises(SystemExit) as err:
        module.parse_args(["--variants", "dcgan,odd", "--device", "cpu"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert err.value.code == 2
    assert "no tutorial-style loss 'd_relativistic' (variant 'odd')" in lines[-1]
    assert "it knows d_nonsaturating, g_nonsaturating" in lines[-1]


@pytest.fixture(scope="module")
def profiler():
    return importlib.import_module("profile_step")


@requires_mnist
def test_the_step_profile_counts_each_variants_operators_and_names_the_costliest(profiler, tmp_path, capsys):
    threads = torch.get_num_threads()
    try:
        report = profiler.main(
            ["--device", "cpu", "--variants", "dcgan,wgan-gp", "--steps", "2", "--repeats", "1", "--warmup", "3"]
            + ["--top", "5", "--json", str(tmp_path / "p.json")]
        )
    finally:
        torch.set_num_threads(threads)
    dcgan, wgan = report["variants"]
    for row in (dcgan, wgan):
        assert row["eager_ms"] > 0 and row["op_ms_per_step"] > 0
        assert len(row["top_ops"]) == 5
        shares = [op["share"] for op in row["top_ops"]]
        assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1 + 1e-9
        assert any("conv" in op["name"] for op in row["top_ops"])  # convolutions dominate on a CPU
    # five critic updates with a double backward each, against one plain update
    assert wgan["n_critic"] == 5 and wgan["ops_per_step"] > 3 * dcgan["ops_per_step"] > 0
    out = capsys.readouterr().out
    assert re.search(r"^dcgan: eager \d+\.\d+ ms/step; \d+ operator calls/step", out, re.M)
    assert (tmp_path / "p.json").exists()


def test_the_step_profile_refuses_a_warm_up_too_short_to_capture(profiler):
    with pytest.raises(SystemExit) as err:
        profiler.parse_args(["--warmup", "2"])
    assert err.value.code == 2


@pytest.mark.parametrize("script", ["step_bench", "suite_bench", "profiler"])
def test_an_unknown_variant_or_device_is_a_one_line_usage_error(script, request, capsys):
    module = request.getfixturevalue(script)
    for argv, words in ((["--variants", "dcgan,nope"], "unknown variant 'nope'"), (["--device", "tpu"], "tpu")):
        with pytest.raises(SystemExit) as err:
            module.parse_args(argv)
        assert err.value.code == 2 and words in capsys.readouterr().err
    args = module.parse_args(["--variants", " dcgan, hinge ", "--device", "cpu"])
    assert args.variants == ["dcgan", "hinge"] and args.device == "cpu"
