"""Plugins (issue 16): loaded from --plugin, $GANBENCH_PLUGINS and entry points; refused in
one line; trained beside the built-ins, recorded in config.json, and the same run through
--jobs and a resume. The README's "Benchmark your own GAN" example runs verbatim."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from support import assert_same_run, requires_mnist

from ganbench import nets
from ganbench.cli import cli
from ganbench.core import checkpoint as ckpt
from ganbench.plugins import PluginError
from ganbench.rundir import RunDir
from ganbench.testing import registries_restored, train_smoke

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "r1_gan.py"
SHA = hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
SMOKE = ["--dataset", "ring8", "--profile", "smoke", "--steps", "20", "--log-every", "10", "--device", "cpu"]
SMOKE += ["--no-progress"]


@pytest.fixture(autouse=True)
def _registries():
    """What one test's plugins register is gone before the next test."""
    with registries_restored():
        yield


def invoke(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def ganbench(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    """The command in a fresh interpreter, as a user runs it."""
    env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ganbench", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env
    )


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output, result.output
    return lines[0]


def plugin(tmp_path: Path, body: str, name: str = "my_plugin.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


VARIANT = """
from ganbench.api import Variant, register_variant, d_hinge, g_hinge
register_variant(Variant(name={name!r}, paper="-", arch={arch!r}, d_loss=d_hinge, g_loss=g_hinge, d_norm={norm!r}))
"""


# --- registered and listed ---------------------------------------------------------------
def test_the_example_is_listed_with_where_each_item_comes_from():
    result = invoke("--plugin", EXAMPLE, "list")
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{EXAMPLE} (sha256 {SHA})" in out  # the plugins loaded
    assert re.search(
        rf"r1-gan .*\n.*arch=resmlp .*r1_penalty x10.*\n.*Mescheder et al. 2018.*\n\s+from: {EXAMPLE}", out
    )
    assert re.search(rf"resmlp .*from: {EXAMPLE}", out) and re.search(rf"r1_penalty +from: {EXAMPLE}", out)
    assert re.search(r"dcgan .*\n.*\n.*\n\s+from: built-in", out)  # the built-ins say so too
    assert re.search(r"gradient_penalty +from: built-in", out)


def test_the_example_trains_on_ring8_beside_the_builtins_and_its_config_records_the_plugin(tmp_path):
    result = invoke("--plugin", EXAMPLE, "run", "r1-gan", "dcgan", *SMOKE, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert re.search(r"\| dcgan +\|", result.output) and re.search(r"\| r1-gan +\|", result.output)
    record = json.loads((tmp_path / "ring8" / "r1-gan" / "seed0" / "config.json").read_text())
    assert record["plugins"] == [{"source": str(EXAMPLE), "file": str(EXAMPLE), "sha256": SHA}]
    assert record["origins"] == {
        "variant": str(EXAMPLE),
        "arch": str(EXAMPLE),
        "penalty": str(EXAMPLE),
        "d_loss": "built-in",
        "g_loss": "built-in",
        "dataset": "built-in",
    }
    assert record["variant"]["penalty"] == "r1_penalty" and record["variant"]["arch"] == "resmlp"
    builtin = json.loads((tmp_path / "ring8" / "dcgan" / "seed0" / "config.json").read_text())
    assert set(builtin["origins"].values()) == {"built-in"}  # made while the plugin was loaded, and says so
    assert builtin["plugins"] == record["plugins"]
    table = invoke("table", "--out", tmp_path)  # reading run directories needs no plugin
    assert table.exit_code == 0, table.output
    assert re.search(r"\| dcgan +\| \S", table.output) and re.search(r"\| r1-gan +\| \S", table.output)
    # `ganbench eval` rebuilds the plugin's generator from the run directory alone.
    again = invoke("--plugin", EXAMPLE, "eval", tmp_path / "ring8" / "r1-gan" / "seed0", "--device", "cpu")
    assert again.exit_code == 0, again.output


@requires_mnist
def test_the_example_trains_on_a_small_mnist_subset(tmp_path):
    args = ["--data-limit", "256", "--steps", "4", "--batch-size", "16", "--profile", "smoke", "--device", "cpu"]
    result = invoke(
        "--plugin", EXAMPLE, "run", "r1-gan", "--dataset", "mnist", *args, "--no-progress", "--out", tmp_path
    )
    assert result.exit_code == 0, result.output
    run = tmp_path / "mnist" / "r1-gan" / "seed0"
    assert json.loads((run / "status.json").read_text())["status"] == "done"
    g = torch.load(run / "generator.pt")
    assert any(t.shape[0] == 28 * 28 for t in g.values())  # the residual MLP sized itself to MNIST
    evals = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"eval"' in line]
    assert evals and "modes" in json.dumps(evals[-1])


def test_train_smoke_trains_a_plugin_variant_and_returns_its_run_directory(tmp_path):
    run = train_smoke("r1-gan", tmp_path, plugins=[EXAMPLE], steps=20)
    assert run == tmp_path / "ring8" / "r1-gan" / "seed0"
    assert json.loads((run / "status.json").read_text())["status"] == "done"


def test_a_family_without_a_generator_builder_is_rescored_from_g_of_its_pair():
    from ganbench.api import register_arch

    built = []

    def build(z_dim, shape, g_norm, d_norm):
        built.append((z_dim, shape, g_norm, d_norm))
        return torch.nn.Linear(z_dim, shape[0]), torch.nn.Sequential(torch.nn.Linear(shape[0], 1), torch.nn.Flatten(0))

    register_arch("tiny", build)
    g = nets.build_generator("tiny", 3, (2,), "none", "spectral")
    assert isinstance(g, torch.nn.Linear) and built == [(3, (2,), "none", "spectral")]
    _, d = nets.build_nets("tiny", 3, (2,), "none", "spectral")
    assert hasattr(d[0], "parametrizations")  # spectral norm is ganbench's, for every family


# --- refused in one line ------------------------------------------------------------------
BAD = {
    "duplicate variant": (
        VARIANT.format(name="dcgan", arch="dcgan", norm="none"),
        "variant 'dcgan' is already registered (built-in)",
    ),
    "duplicate net family": (
        "from ganbench.api import register_arch\nregister_arch('dcgan', lambda *a: None)\n",
        "net family 'dcgan' is already registered (built-in)",
    ),
    "duplicate penalty name": (
        """
        from ganbench.api import Variant, register_variant, d_hinge, g_hinge
        def gradient_penalty(critic, real, fake, generator=None, weight=1.0):
            return weight * critic(real).mean()
        register_variant(Variant(name="gp2", paper="-", arch="dcgan", d_loss=d_hinge, g_loss=g_hinge,
                                 d_penalty=gradient_penalty, penalty_weight=1.0))
        """,
        "penalty 'gradient_penalty' is already registered (built-in)",
    ),
    "duplicate dataset": (
        """
        from ganbench.api import DatasetSpec, register_dataset
        register_dataset(DatasetSpec(name="ring8", kind="points", summary="", citation="", batch_size=8, z_dim=2,
                                     load=lambda root, device, limit: None))
        """,
        "dataset 'ring8' is already registered (built-in)",
    ),
    "unknown arch": (
        VARIANT.format(name="mine", arch="resnet", norm="none"),
        "mine: unknown arch 'resnet'; registered: mlp, dcgan",
    ),
    "unknown norm": (VARIANT.format(name="mine", arch="dcgan", norm="instance"), "mine: unknown d_norm 'instance'"),
    "a name that is a path": (VARIANT.format(name="a/b", arch="dcgan", norm="none"), "variant name 'a/b'"),
    "unknown dataset kind": (
        """
        from ganbench.api import DatasetSpec, register_dataset
        register_dataset(DatasetSpec(name="sounds", kind="audio", summary="", citation="", batch_size=8, z_dim=2,
                                     load=lambda root, device, limit: None))
        """,
        "dataset sounds: unknown kind 'audio'",
    ),
    "syntax error": ("def broken(:\n    pass\n", "failed to import: SyntaxError: "),
    "an exception": (
        "import torch\nraise RuntimeError('needs a GPU')\n",
        "failed to import: RuntimeError: needs a GPU",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_plugin_is_one_line_naming_it_with_exit_code_2(tmp_path, case):
    body, fragment = BAD[case]
    path = plugin(tmp_path, body)
    line = one_line_error(invoke("--plugin", path, "list"))
    assert line.startswith(f"Error: plugin {path}") and fragment in line, line


def test_a_missing_plugin_file_and_a_clash_between_two_plugins_are_one_line(tmp_path):
    line = one_line_error(invoke("--plugin", tmp_path / "nope.py", "list"))
    assert line == f"Error: plugin {tmp_path / 'nope.py'}: no such file"
    first = plugin(tmp_path, VARIANT.format(name="mine", arch="dcgan", norm="none"), "first.py")
    second = plugin(tmp_path, VARIANT.format(name="mine", arch="mlp", norm="none"), "second.py")
    line = one_line_error(invoke("--plugin", first, "--plugin", second, "run", "mine", "--out", tmp_path))
    assert line == f"Error: plugin {second}: variant 'mine' is already registered ({first})"


def test_debug_shows_the_plugins_traceback(tmp_path):
    path = plugin(tmp_path, "raise RuntimeError('needs a GPU')\n")
    result = invoke("--plugin", path, "list", "--debug")
    assert result.exit_code != 0 and isinstance(result.exception, PluginError)
    assert isinstance(result.exception.__cause__, RuntimeError)


# --- other ways in ------------------------------------------------------------------------
def test_ganbench_plugins_is_a_path_list(tmp_path):
    a = plugin(tmp_path, VARIANT.format(name="env-a", arch="dcgan", norm="none"), "a.py")
    b = plugin(tmp_path, VARIANT.format(name="env-b", arch="mlp", norm="none"), "b.py")
    result = invoke("list", env={"GANBENCH_PLUGINS": f"{a}{os.pathsep}{b}"})
    assert result.exit_code == 0, result.output
    assert re.search(rf"env-a .*\n(.*\n){{2}}\s+from: {a}", result.output)
    assert re.search(rf"env-b .*\n(.*\n){{2}}\s+from: {b}", result.output)


def test_an_installed_packages_entry_point_is_loaded(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "demo_gan_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "demo_gan_plugin-1.0.dist-info" / "METADATA").write_text("Name: demo-gan-plugin\nVersion: 1.0\n")
    (site / "demo_gan_plugin-1.0.dist-info" / "entry_points.txt").write_text(
        "[ganbench.plugins]\ndemo = demo_gan_plugin\n"
    )
    plugin(site, VARIANT.format(name="ep-gan", arch="dcgan", norm="none"), "demo_gan_plugin.py")
    monkeypatch.syspath_prepend(str(site))
    result = invoke("list")
    assert result.exit_code == 0, result.output
    assert "entry-point:demo" in result.output
    assert re.search(r"ep-gan .*\n(.*\n){2}\s+from: entry-point:demo", result.output)
    monkeypatch.delitem(sys.modules, "demo_gan_plugin", raising=False)


# --- the same run through --jobs and a resume -----------------------------------------------
RUN_40 = ["run", "r1-gan", *SMOKE, "--steps", "40", "--checkpoint-every", "20"]


def test_a_plugin_variant_gives_the_same_run_through_jobs_and_through_a_resume(tmp_path):
    seq = invoke("--plugin", EXAMPLE, *RUN_40, "--seeds", "0,1", "--out", tmp_path / "seq")
    assert seq.exit_code == 0, seq.output
    # --jobs 2: each run in a freshly spawned job process, which loads the plugin itself.
    par = invoke("--plugin", EXAMPLE, *RUN_40, "--seeds", "0,1", "--jobs", "2", "--out", tmp_path / "par")
    assert par.exit_code == 0, par.output
    for seed in (0, 1):
        assert_same_run(
            tmp_path / "seq" / "ring8" / "r1-gan" / f"seed{seed}", tmp_path / "par" / "ring8" / "r1-gan" / f"seed{seed}"
        )
    # A resume from step 20, in a new process that finds the plugin through $GANBENCH_PLUGINS.
    assert invoke("--plugin", EXAMPLE, *RUN_40, "--out", tmp_path / "res").exit_code == 0
    run = RunDir(tmp_path / "res", "ring8", "r1-gan", 0)
    for step, path in ckpt.list_checkpoints(run.checkpoint_dir):
        if step > 20:
            path.unlink()
    run.write_status("running", step=20)  # as if killed after step 20
    resumed = ganbench(*RUN_40, "--out", tmp_path / "res", "--resume", env={"GANBENCH_PLUGINS": str(EXAMPLE)})
    assert resumed.returncode == 0, resumed.stderr
    assert [r["step"] for r in json.loads(run.config_path.read_text())["resumes"]] == [20]
    assert_same_run(tmp_path / "seq" / "ring8" / "r1-gan" / "seed0", run.path)


def test_a_resume_is_refused_when_its_plugin_file_has_changed(tmp_path):
    copy = plugin(tmp_path, EXAMPLE.read_text(), "r1_copy.py")
    assert invoke("--plugin", copy, *RUN_40, "--out", tmp_path / "runs").exit_code == 0
    run = RunDir(tmp_path / "runs", "ring8", "r1-gan", 0)
    run.write_status("running", step=20)
    copy.write_text(copy.read_text().replace("WIDTH, BLOCKS = 256, 3", "WIDTH, BLOCKS = 128, 3"))  # not in the config
    result = ganbench("--plugin", copy, *RUN_40, "--out", tmp_path / "runs", "--resume")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"was trained with plugin {copy} (sha256 " in lines[0] and "has changed since" in lines[0]


# --- the README's example, verbatim ----------------------------------------------------------
def readme_example() -> tuple[str, list[str]]:
    """The plugin and the commands of the README's "Benchmark your own GAN" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Benchmark your own GAN", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    commands = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    return code, [line for line in commands.splitlines() if line.strip()]


def test_the_readmes_plugin_example_runs_verbatim(tmp_path):
    code, commands = readme_example()
    assert len(code.splitlines()) <= 25 and len(commands) == 2
    name = re.search(r"--plugin (\S+)", commands[0]).group(1)
    (tmp_path / name).write_text(code)
    outputs = []
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "ganbench" and "--profile" in argv and "smoke" in argv or argv[1] == "table", command
        result = ganbench(*argv[1:], cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        outputs.append(result.stdout)
    variant = re.search(r'name="([^"]+)"', code).group(1)
    assert re.search(rf"\| {variant} +\| \S", outputs[-1]) and re.search(r"\| dcgan +\| \S", outputs[-1])


def test_check_trains_a_plugins_runs_in_job_processes_and_passes_against_their_baseline(tmp_path):
    seeds = ["--seeds", "0,1"]
    assert invoke("--plugin", EXAMPLE, "run", "r1-gan", *SMOKE, *seeds, "--out", tmp_path / "runs").exit_code == 0
    made = invoke("baseline", "--out", tmp_path / "runs", "-o", tmp_path / "baseline.json")
    assert made.exit_code == 0, made.output
    args = ["check", "--baseline", tmp_path / "baseline.json", "--no-progress", "--jobs", "2", "--out", tmp_path / "c"]
    result = invoke("--plugin", EXAMPLE, *args)
    assert result.exit_code == 0, result.output
    for seed in (0, 1):  # retrained in spawned job processes, which loaded the plugin: the same runs
        where = Path("ring8", "r1-gan", f"seed{seed}")
        assert_same_run(tmp_path / "runs" / where, tmp_path / "c" / where)
    bare = ganbench(*args)  # a fresh process without the plugin: one line saying what is missing
    lines = [line for line in bare.stderr.splitlines() if line.strip()]
    assert bare.returncode == 2 and len(lines) == 1 and "Traceback" not in bare.stderr, bare.stderr
    assert lines[0].startswith("Error: unknown variant 'r1-gan'") and "--plugin" in lines[0], lines[0]
