"""Many runs: plan (variants x datasets x seeds), then train each, never letting one
failure stop the others. Finished runs with the same config are skipped and unfinished
ones resumed, so rerunning a suite only does what is missing.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .config import RunConfig, diff, resolve
from .data import get_dataset_spec, reuse_loaded
from .errors import ConfigMismatch, GanbenchError, RunError, RunLocked, UsageError
from .rundir import RunDir
from .train import run_to_end, train_steps


@dataclass
class Outcome:
    cfg: RunConfig
    run_dir: RunDir
    status: str  # done | diverged | skipped | failed
    message: str = ""


@dataclass
class SuitePlan:
    configs: list[RunConfig]
    unavailable: dict[str, str] = field(default_factory=dict)  # dataset -> how to get it


def plan(
    variants: list[str],
    datasets: list[str],
    seeds: list[int],
    overrides: dict,
    data_root=None,
    explicit_datasets: bool = True,
) -> SuitePlan:
    """Resolved configs for every (dataset, variant, seed).

    A dataset whose files are not on disk is an error when named explicitly and is
    listed in `unavailable` (and left out) when it came from a default list.
    """
    from .data import data_root as resolve_root

    root = resolve_root(data_root)
    configs, unavailable = [], {}
    for ds in datasets:
        spec = get_dataset_spec(ds)
        if spec.locate(root) is None:
            if not explicit_datasets:
                unavailable[ds] = spec.how_to_get
                continue
            # Named explicitly: fetch it now (torchvision downloads it when online), so a
            # dataset that cannot be had is an error before any run starts.
            spec.load(root, torch.device("cpu"), 1)
        for variant in variants:
            for seed in seeds:
                configs.append(resolve(RunConfig(variant=variant, dataset=ds, seed=seed, **overrides)))
    return SuitePlan(configs, unavailable)


def existing_state(run_dir: RunDir, cfg: RunConfig) -> str:
    """'new', 'done', 'unfinished', or 'different' (holds another config)."""
    stored = run_dir.read_config()
    if stored is None:
        return "new"
    if diff(stored.get("config", {}), cfg):
        return "different"
    status = (run_dir.read_status() or {}).get("status")
    return "done" if status in ("done", "diverged") else "unfinished"


def run_one(cfg: RunConfig, out, **kwargs) -> Outcome:
    """Train one run of a suite: skip it if finished, resume it if asked, refuse a
    directory that holds another config. Errors are raised (see `guarded_run`)."""
    return run_to_end(run_one_steps(cfg, out, **kwargs))


def run_one_steps(
    cfg: RunConfig,
    out,
    *,
    evaluator=None,
    data_root=None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    debug: bool = False,
):
    """`run_one` as a generator (see train.train_steps); returns the Outcome."""
    from ganbench.variants import get_variant

    run_dir = RunDir(out, cfg.dataset, cfg.variant, cfg.seed)
    if run_dir.is_locked():
        raise RunLocked(f"{run_dir.path} is being trained by another process; wait for it or use another --out")
    state = "new" if overwrite else existing_state(run_dir, cfg)
    if state == "done":
        return Outcome(cfg, run_dir, "skipped", "already finished with this config")
    if state == "different":
        fields = diff((run_dir.read_config() or {}).get("config", {}), cfg)
        raise ConfigMismatch(
            f"{run_dir.path} holds a run with a different config (differs in: {', '.join(fields)}); "
            "use another --out, or --overwrite to replace it"
        )
    if state == "unfinished" and not resume:
        raise RunError(
            f"{run_dir.path} holds an unfinished run; pass --resume to continue it or --overwrite to restart"
        )
    result = yield from train_steps(
        cfg,
        get_variant(cfg.variant),
        run_dir,
        evaluator=evaluator,
        data_root=data_root,
        resume=state == "unfinished",
        progress=progress,
        warn=echo,
    )
    return Outcome(cfg, run_dir, result.status, result.reason)


def guarded_run(cfg: RunConfig, out, *, debug: bool = False, **kwargs) -> Outcome:
    """`run_one`, with any error turned into a "failed" outcome: one run never stops a suite."""
    try:
        return run_one(cfg, out, debug=debug, **kwargs)
    except Exception as exc:
        return failed_outcome(cfg, out, exc, debug)


def failed_outcome(cfg: RunConfig, out, exc: Exception, debug: bool = False) -> Outcome:
    """A run's error as its "failed" outcome: a bug in one run must not lose the others."""
    if isinstance(exc, GanbenchError):
        message = str(exc)
    else:
        if debug:
            traceback.print_exception(exc)
        message = f"{type(exc).__name__}: {exc}"
    return Outcome(cfg, RunDir(out, cfg.dataset, cfg.variant, cfg.seed), "failed", message)


def run_label(i: int, n: int, cfg: RunConfig) -> str:
    return f"[{i}/{n}] {cfg.dataset}/{cfg.variant}/seed{cfg.seed}"


def outcome_line(label: str, outcome: Outcome) -> str:
    return f"{label}: {outcome.status}{': ' + outcome.message if outcome.message else ''}"


def on_cuda(configs: list[RunConfig]) -> bool:
    """Whether any of these runs trains on CUDA: such runs each get a fresh process (jobs.py)."""
    return any(c.device.startswith("cuda") for c in configs)


def run_suite(
    configs: list[RunConfig],
    out,
    *,
    evaluator=None,
    data_root=None,
    resume: bool = True,
    overwrite: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    debug: bool = False,
    jobs: int = 1,
    streams: int = 1,
) -> list[Outcome]:
    """Train every config; a failure is recorded and the suite goes on.

    jobs > 1 trains that many runs at once, in job processes (see jobs.py); streams > 1
    has each job (or this process, with jobs=1) train that many runs at once, interleaved,
    each on its own CUDA stream (see cotrain.py). Without streams, several CUDA runs always
    go through job processes, one fresh process per run, even with jobs=1: on CUDA a run's
    bits depended on what ran before it in the same process (fixed by autograd_order.py,
    not yet confirmed on a GPU; see jobs.py).
    """
    if jobs < 1:
        raise UsageError(f"jobs must be >= 1, got {jobs}")
    if streams < 1:
        raise UsageError(f"streams must be >= 1, got {streams}")
    common = dict(evaluator=evaluator, data_root=data_root, resume=resume, overwrite=overwrite, debug=debug)
    if len(configs) > 1 and jobs == 1 and streams > 1:
        from .cotrain import run_interleaved

        with reuse_loaded():  # the runs of one dataset load it once
            return run_interleaved(configs, out, streams, echo=echo, **common)
    if (jobs > 1 or on_cuda(configs)) and len(configs) > 1:
        from .jobs import run_parallel

        return run_parallel(configs, out, jobs, streams=streams, echo=echo, **common)
    outcomes = []
    with reuse_loaded():  # the runs of one dataset load it once
        for i, cfg in enumerate(configs, 1):
            outcome = guarded_run(cfg, out, progress=progress, echo=echo, **common)
            echo(outcome_line(run_label(i, len(configs), cfg), outcome))
            outcomes.append(outcome)
    return outcomes
