"""`--backend ray`: every run of a suite as one Ray core task, on a local or an existing cluster.

- One task per run, each in a fresh worker process (`max_calls=1`): no torch, CUDA or
  autograd state carries from one run to the next (see jobs.py for why CUDA needs that).
  `--cpus-per-run` and `--gpus-per-run` (fractions pack several small runs on one GPU) are
  the task's resources; Ray sets CUDA_VISIBLE_DEVICES for it, so `cuda` means its GPU.
- The driver decides skip / new / resume for every run first (one.decide, as every suite),
  so a finished run costs no task and a refused one fails with its own line. A task then
  always resumes what it finds: if its worker dies (killed, out of memory, node lost), Ray
  retries it (`max_retries`) and the retry goes on from the last checkpoint. The run
  directory's lock is an flock, which the kernel releases when the holding process dies;
  a retry that still finds the run locked (a network filesystem lags in releasing a dead
  node's locks) waits for it, up to LOCK_WAIT_S, before it fails.
- Every node must see GANBENCH_DATA and the output folder at the same paths (a shared
  filesystem). The driver loads each dataset once before fan-out (warm), so decoded-data
  caches are written once, not raced for by the tasks; GANBENCH_* and MPLBACKEND are passed
  to the workers through the task's runtime environment.
- Progress: one line per finished run, with the live count of finished and running runs.
Without Ray installed, `--backend ray` stops with one line saying how to install it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..config import RunConfig, RunOptions, print_line
from ..errors import GanbenchError, RunLocked, UsageError
from .one import Outcome, decide, failed_outcome, outcome_line, run_dir_of, run_label
from .schedule import folder_label

INSTALL = "--backend ray needs Ray: pip install 'ganbench[ray]'"
LOCK_WAIT_S = 120.0
ENV_PREFIXES = ("GANBENCH_", "MPLBACKEND")


def require_ray():
    try:
        import ray
    except ImportError:
        raise UsageError(INSTALL) from None
    return ray


def _train_task(cfg: RunConfig, options: RunOptions) -> tuple[str, str, bool]:
    """A Ray task: train one run in this (fresh) worker; (status, message, resumed)."""
    from .. import plugins as plugin_loader
    from ..core.record import existing_state
    from .one import run_one

    try:
        plugin_loader.load_all(options.plugins)  # as a job process does (jobs.py)
    except plugin_loader.PluginError as exc:
        return "failed", str(exc), False
    resumed = False
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            resumed = existing_state(run_dir_of(cfg, options), cfg) == "unfinished"
            outcome = run_one(cfg, options)
            return outcome.status, outcome.message, resumed
        except RunLocked as exc:
            if time.monotonic() >= deadline:
                return "failed", str(exc), resumed
            time.sleep(1.0)
        except Exception as exc:  # the run's own error: its "failed" outcome (one.failed_outcome), no retry
            return "failed", str(exc) if isinstance(exc, GanbenchError) else f"{type(exc).__name__}: {exc}", resumed


def connect(address: str | None, num_cpus: int | None = None):
    """ray.init once: `address` auto or HOST:PORT joins a running cluster; None starts a local
    one on this machine (or reuses the one this process already joined)."""
    ray = require_ray()
    if not ray.is_initialized():
        kwargs = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=num_cpus, **kwargs)
    return ray


def run_suite_ray(
    configs: list[RunConfig],
    options: RunOptions,
    *,
    outs: list[Path] | None = None,
    address: str | None = None,
    cpus_per_run: float = 1,
    gpus_per_run: float = 0,
    max_retries: int = 3,
) -> list[Outcome]:
    """Train every config as a Ray task; outcomes in config order (as schedule.run_suite)."""
    ray = require_ray()
    outs = [Path(o) for o in outs] if outs is not None else [options.out] * len(configs)
    n = len(configs)
    outcomes: dict[int, Outcome] = {}
    echo = options.echo

    def finish(i: int, outcome: Outcome, note: str = "") -> None:
        outcomes[i] = outcome
        running = len(refs)
        label = run_label(i, n, outcome.cfg, folder_label(outs[i - 1], options))
        echo(outcome_line(label, outcome) + note + f"  [{len(outcomes)}/{n} finished, {running} to go]")

    task_options = options.replace(progress=False, echo=print_line)
    todo = []
    refs: dict = {}
    for i, (cfg, out) in enumerate(zip(configs, outs, strict=True), 1):
        opts = options.replace(out=out)
        try:
            action = decide(run_dir_of(cfg, opts), cfg, opts)
        except GanbenchError as exc:
            finish(i, failed_outcome(cfg, opts, exc))
            continue
        if action == "skip":
            finish(i, Outcome(cfg, run_dir_of(cfg, opts), "skipped", "already finished with this config"))
            continue
        todo.append((i, cfg, opts))
    if not todo:
        return [outcomes[i] for i in range(1, n + 1)]
    warm([cfg for _, cfg, _ in todo], options)
    connect(address)
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}
    remote = ray.remote(max_calls=1)(_train_task).options(
        max_retries=max_retries,
        retry_exceptions=False,
        num_cpus=cpus_per_run,
        num_gpus=gpus_per_run,
        runtime_env={"env_vars": env},
    )
    for i, cfg, opts in todo:
        # resume=True: the driver has decided this run may be trained; what a task finds
        # unfinished is its own earlier attempt (or, with --resume, an earlier command's).
        ref = remote.remote(cfg, task_options.replace(out=opts.out, resume=True))
        refs[ref] = (i, cfg, opts)
    try:
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                i, cfg, opts = refs.pop(ref)
                try:
                    status, message, resumed = ray.get(ref)
                    outcome = Outcome(cfg, run_dir_of(cfg, opts), status, message)
                    finish(i, outcome, " (resumed from its last checkpoint)" if resumed else "")
                except Exception as exc:  # the worker died more than max_retries times, or Ray failed
                    why = f"its Ray task failed ({type(exc).__name__}; a dead worker is retried {max_retries} times)"
                    finish(i, Outcome(cfg, run_dir_of(cfg, opts), "failed", why))
    except BaseException:
        for ref in refs:
            ray.cancel(ref, force=True)  # the killed workers' runs stay resumable
        raise
    return [outcomes[i] for i in range(1, n + 1)]


def warm(configs: list[RunConfig], options: RunOptions) -> None:
    """Load each dataset once here, so its decoded cache is written before any task reads it,
    and let the evaluator warm what it caches (reference statistics), where it can."""
    from ..data import load_dataset

    warm_eval = getattr(options.evaluator, "warm", None)
    seen = set()
    for cfg in configs:
        key = (cfg.dataset, cfg.data_limit, cfg.image_size)
        if key in seen:
            continue
        seen.add(key)
        data = load_dataset(cfg.dataset, options.data_root, "cpu", cfg.data_limit, cfg.image_size)
        if warm_eval is not None:
            warm_eval(data, cfg)
