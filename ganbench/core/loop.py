"""THE training loop: one schedule for every variant, writing one run directory.

The loop never looks at a variant's name. Its shape is fixed:
    every step:              trainer.run_steps()         (step.py; no host sync)
    every log_every steps:   read losses, check divergence, append a record
    every eval_every steps:  score the generator (options.evaluator), append a record
    every checkpoint_every:  atomic checkpoint of everything, incl. RNG states
    at the end:              checkpoint, weights, samples.png, then the final eval, done
Inside one step boundary: log -> eval -> checkpoint, so a checkpoint at step s covers
every record up to s, and a resume replays exactly the records after it.

`train_steps` is the loop as a generator, yielding after queuing each stretch of steps,
before its first host sync (runs/interleave.py interleaves several). options.observers
(TensorBoard) see every record through run_dir.append_metrics, not through the loop.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Generator
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ..config import RunConfig, RunOptions
from ..data import Dataset, load_dataset
from ..errors import UsageError
from ..rundir import RunDir
from ..seeding import seed_everything
from ..spec import Variant
from . import checkpoint as ckpt
from .record import config_record, refuse_different, resumed_record, timing_fields
from .samples import write_samples
from .step import Trainer


@dataclass
class RunResult:
    status: str  # done | diverged
    run_dir: RunDir
    step: int
    reason: str = ""


TrainSteps = Generator[None, None, RunResult]


def train(cfg: RunConfig, variant: Variant, run_dir: RunDir, options: RunOptions | None = None, **changes):
    """Train one (variant, dataset, seed) into `run_dir`; `cfg` must be resolved. `changes`
    are RunOptions fields (progress=False, resume=True, ...) applied to `options`."""
    return run_to_end(train_steps(cfg, variant, run_dir, (options or RunOptions()).replace(**changes)))


def run_to_end(steps: Generator):
    """Run a generator such as `train_steps` to its end; return what it returns."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def train_steps(cfg: RunConfig, variant: Variant, run_dir: RunDir, options: RunOptions) -> TrainSteps:
    """`train` as a generator: yields after queuing each stretch of steps, returns the
    RunResult. Closing it early marks the run "failed: interrupted" and unlocks it."""
    run_dir.lock()
    try:
        return (yield from _train_locked(_Run(cfg, variant, run_dir, options)))
    finally:
        run_dir.unlock()


@dataclass
class _Run:
    cfg: RunConfig
    variant: Variant
    run_dir: RunDir
    options: RunOptions
    trainer: Trainer | None = None
    data: Dataset | None = None

    def __post_init__(self) -> None:
        self.timing = {"train_s": 0.0, "eval_s": 0.0}

    def checkpoint(self) -> None:
        ckpt.save_run(self.run_dir.checkpoint_dir, self.trainer, self.cfg, self.timing)

    def samples(self) -> None:
        title = f"{self.variant.name} on {self.data.name}, step {self.trainer.step}"
        write_samples(self.trainer.sampler, self.data, self.run_dir.samples_path, title)

    def status(self, state: str, **fields) -> None:
        self.run_dir.write_status(state, step=self.trainer.step, steps=self.cfg.steps, **fields)


def _train_locked(run: _Run) -> TrainSteps:
    cfg, run_dir, options = run.cfg, run.run_dir, run.options
    if options.resume:
        refuse_different(run_dir, cfg)
    torch.set_num_threads(cfg.cpu_threads)
    seed_everything(cfg.seed, cfg.deterministic)
    run.data = data = load_dataset(cfg.dataset, options.data_root, cfg.device, cfg.data_limit, cfg.image_size)
    if len(data) and cfg.batch_size > len(data):
        raise UsageError(
            f"batch size {cfg.batch_size} is larger than the dataset ({len(data)} items); lower --batch-size"
        )
    getattr(options.evaluator, "refuse_unscorable", lambda data, cfg: None)(data, cfg)  # before training
    run.trainer = trainer = Trainer(cfg, run.variant, data)
    run_dir.observers = [observe(run_dir, cfg, data, trainer.sampler) for observe in options.observers]
    state = ckpt.load_latest(run_dir.checkpoint_dir, cfg.device, warn=options.echo) if options.resume else None
    record = config_record(cfg, run.variant, data, options.protocol_deviations)
    if state is not None:
        trainer.load_state_dict(state["trainer"])
        ckpt.set_rng_state(state["rng"], trainer.gens.train)
        run.timing = dict(state.get("timing", run.timing))
        run_dir.truncate_metrics(trainer.step)
        record = resumed_record(run_dir.read_config(), record, trainer.step)
    else:
        run_dir.clear()  # a fresh start leaves nothing of an earlier run behind
    run_dir.write_config(record)
    if trainer.step >= cfg.steps:  # trained before; only the final bookkeeping may be missing
        return _finish(run, resumed_at_end=True)

    run.status("running")
    try:
        return (yield from _loop(run))
    except BaseException as exc:  # Ctrl-C included: the status must not stay "running"
        # GeneratorExit: whoever interleaved this run closed it before its end.
        stopped = isinstance(exc, (KeyboardInterrupt, GeneratorExit))
        reason = "interrupted" if stopped else f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(OSError):
            run.status("failed", reason=reason.splitlines()[0])
        raise


def _loop(run: _Run) -> TrainSteps:
    cfg, trainer, run_dir, echo = run.cfg, run.trainer, run.run_dir, run.options.echo
    style = dict(desc=f"{cfg.dataset}/{run.variant.name}/seed{cfg.seed}", unit="step", dynamic_ncols=True, leave=False)
    disable = None if run.options.progress else True  # None: a bar only on a terminal
    bar = tqdm(total=cfg.steps, initial=trainer.step, disable=disable, **style)
    fallback_told = False
    try:
        while trainer.step < cfg.steps:
            # Run to the next boundary (log, eval, checkpoint or end) in one go.
            every = [cfg.log_every, cfg.checkpoint_every] + ([cfg.eval_every] if cfg.eval_every else [])
            n = min([cfg.steps] + [(trainer.step // k + 1) * k for k in every]) - trainer.step
            t0 = time.perf_counter()
            trainer.run_steps(n)  # on CUDA: queued, not yet run
            yield  # let an interleaving driver queue other runs' steps before this sync
            if trainer.graph_failure and not fallback_told:
                echo(f"{run_dir.path}: {trainer.graph_failure}")  # a fallback is never silent
                fallback_told = True
            at_log = trainer.step % cfg.log_every == 0 or trainer.step == cfg.steps
            if at_log:
                losses = trainer.read_losses()  # host sync: the timing below is honest
                reason = trainer.divergence(losses, cfg.loss_bound)
            run.timing["train_s"] += time.perf_counter() - t0
            bar.update(n)
            if at_log:
                run_dir.append_metrics({"type": "train", "step": trainer.step, **losses})
                bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()}, refresh=False)
                if reason is not None:
                    run.status("diverged", reason=reason, **timing_fields(run.timing, run.trainer))
                    echo(f"{run_dir.path}: diverged at step {trainer.step}: {reason}")
                    return RunResult("diverged", run_dir, trainer.step, reason)
            if cfg.eval_every and trainer.step % cfg.eval_every == 0 and trainer.step < cfg.steps:
                _evaluate(run)
            if trainer.step % cfg.checkpoint_every == 0 and trainer.step < cfg.steps:
                run.checkpoint()
                run.samples()
                run.status("running", **timing_fields(run.timing, run.trainer))
    finally:
        bar.close()
    return _finish(run)


def _evaluate(run: _Run) -> None:
    if run.options.evaluator is None:
        return
    t0 = time.perf_counter()
    metrics = run.options.evaluator(run.trainer.sampler, run.data, run.cfg)
    run.timing["eval_s"] += time.perf_counter() - t0
    if metrics:
        run.run_dir.append_metrics({"type": "eval", "step": run.trainer.step, **metrics})


def _finish(run: _Run, resumed_at_end: bool = False) -> RunResult:
    # Training is saved before the final evaluation, so an evaluation that fails never costs
    # it: a resume from the final checkpoint redoes only the evaluation, if it is missing.
    if not resumed_at_end:
        run.checkpoint()
    ckpt.write_weights(run.run_dir.path, run.trainer)
    run.samples()
    step = run.trainer.step
    if not any(r.get("type") == "eval" and r.get("step") == step for r in run.run_dir.read_metrics()):
        _evaluate(run)
    run.status("done", **timing_fields(run.timing, run.trainer))
    return RunResult("done", run.run_dir, step)
