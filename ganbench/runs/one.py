"""One run of a suite: the one place that decides whether to skip, resume, refuse or train
it, and the Outcome every scheduler layout reports.

A suite never lets one run's failure stop the others: `failed_outcome` turns a run's error
into its "failed" outcome. Finished runs with the same config are skipped and unfinished
ones resumed (when asked), so rerunning a suite only does what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import RunConfig, RunOptions
from ..core.loop import run_to_end, train_steps
from ..core.record import existing_state, refuse_different, refuse_scored
from ..errors import GanbenchError, RunError, RunLocked
from ..rundir import RunDir
from .plan import variant_of


@dataclass
class Outcome:
    cfg: RunConfig
    run_dir: RunDir
    status: str  # done | diverged | skipped | failed
    message: str = ""


SKIPPED = "already finished with this config"


def run_dir_of(cfg: RunConfig, options: RunOptions) -> RunDir:
    return RunDir(options.out, cfg.dataset, cfg.variant, cfg.seed)


def decide(run_dir: RunDir, cfg: RunConfig, options: RunOptions) -> str:
    """'skip', 'new' or 'resume'; raises when the directory must not be touched (another
    process trains it, it holds another config, or an unfinished run with no --resume)."""
    if run_dir.is_locked():
        raise RunLocked(f"{run_dir.path} is being trained by another process; wait for it or use another --out")
    refuse_scored(run_dir)
    state = "new" if options.overwrite else existing_state(run_dir, cfg)
    if state == "done":
        return "skip"
    if state == "different":
        refuse_different(run_dir, cfg)
    if state == "unfinished":
        if not options.resume:
            raise RunError(
                f"{run_dir.path} holds an unfinished run; pass --resume to continue it or --overwrite to restart"
            )
        return "resume"
    return "new"


def run_one(cfg: RunConfig, options: RunOptions | None = None, **changes) -> Outcome:
    """Train one run of a suite as `decide` says. Errors are raised (see `failed_outcome`).
    `changes` are RunOptions fields applied to `options`."""
    return run_to_end(run_one_steps(cfg, (options or RunOptions()).replace(**changes)))


def run_one_steps(cfg: RunConfig, options: RunOptions):
    """`run_one` as a generator (see core.loop.train_steps); returns the Outcome."""
    run_dir = run_dir_of(cfg, options)
    action = decide(run_dir, cfg, options)
    if action == "skip":
        return Outcome(cfg, run_dir, "skipped", SKIPPED)
    result = yield from train_steps(cfg, variant_of(cfg), run_dir, options.replace(resume=action == "resume"))
    return Outcome(cfg, run_dir, result.status, result.reason)


def failed_outcome(cfg: RunConfig, options: RunOptions, exc: Exception) -> Outcome:
    """A run's error as its "failed" outcome: a bug in one run must not lose the others."""
    message = str(exc) if isinstance(exc, GanbenchError) else f"{type(exc).__name__}: {exc}"
    return Outcome(cfg, run_dir_of(cfg, options), "failed", message)


def guarded_run(cfg: RunConfig, options: RunOptions | None = None, **changes) -> Outcome:
    """`run_one`, with any error turned into a "failed" outcome."""
    options = (options or RunOptions()).replace(**changes)
    try:
        return run_one(cfg, options)
    except Exception as exc:
        return failed_outcome(cfg, options, exc)


def run_label(i: int, n: int, cfg: RunConfig, folder: str = "") -> str:
    """ "[i/n] dataset/variant/seed<k>", after `folder` (a sweep's trial, t007) when given."""
    return f"[{i}/{n}] {folder + ': ' if folder else ''}{cfg.dataset}/{cfg.variant}/seed{cfg.seed}"


def outcome_line(label: str, outcome: Outcome) -> str:
    return f"{label}: {outcome.status}{': ' + outcome.message if outcome.message else ''}"


def on_cuda(configs: list[RunConfig]) -> bool:
    """Whether any of these runs trains on CUDA: such runs each get a fresh process (jobs.py)."""
    return any(c.device.startswith("cuda") for c in configs)
