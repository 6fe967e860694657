"""THE training core: one loop for every variant, writing one run directory.

The loop never looks at a variant's name. Its shape is fixed:

    every step:              trainer.train_step()        (no host sync)
    every log_every steps:   read losses, check divergence, append a record
    every eval_every steps:  score the generator (metrics/), append a record
    every checkpoint_every:  atomic checkpoint of everything, incl. RNG states
    at the end:              final eval, weights, samples.png, status done

Ordering inside one step boundary is log -> eval -> checkpoint, so a checkpoint at step s
covers every record up to s, and a resume replays exactly the records after it.

`train_steps` is the loop as a generator: it yields each time it has queued a stretch of
steps and before it reads their losses (the stretch's first host sync). `train` runs it
to the end; `cotrain.py` interleaves several, so that on CUDA one run's queued steps run on
the GPU while the host serves the others.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from . import checkpoint as ckpt
from . import provenance
from .config import RunConfig, diff
from .data import Dataset, get_dataset_spec, load_dataset
from .errors import ConfigMismatch, UsageError
from .rundir import RunDir, atomic_write_bytes
from .samples import write_samples
from .seeding import seed_everything
from .spec import Variant
from .trainer import Trainer

# evaluator(trainer, data, cfg) -> flat dict of metrics (see ganbench.metrics.evaluate)
Evaluator = Callable[[Trainer, Dataset, RunConfig], dict]


@dataclass
class RunResult:
    status: str  # done | diverged | skipped
    run_dir: RunDir
    step: int
    reason: str = ""


def config_record(cfg: RunConfig, variant: Variant, data: Dataset) -> dict:
    return {
        "config": cfg.to_dict(),
        "variant": {"name": variant.name, "paper": variant.paper, **variant.hyperparameters()},
        "dataset": {
            "name": data.name,
            "kind": data.kind,
            "shape": list(data.shape),
            "train_size": len(data) or None,
            "reference_split": data.reference_split,
            "source": data.source,
            "citation": get_dataset_spec(data.name).citation,
        },
        "environment": provenance.environment(cfg.device),
    }


def _resumed_record(stored: dict | None, fresh: dict, step: int) -> dict:
    """A resumed run's config.json: it keeps the environment the run started in (library
    versions, git commit, device) and lists under "resumes" each step it went on from and
    the environment it went on in."""
    if not stored or "environment" not in stored:
        return fresh
    resumes = [*stored.get("resumes", []), {"step": step, "environment": fresh["environment"]}]
    return {**fresh, "environment": stored["environment"], "resumes": resumes}


def _check_same_config(run_dir: RunDir, cfg: RunConfig) -> None:
    stored = run_dir.read_config()
    if stored is None:
        return
    fields = diff(stored.get("config", {}), cfg)
    if fields:
        raise ConfigMismatch(
            f"{run_dir.path} holds a run with a different config (differs in: {', '.join(fields)}); "
            "use another --out, or --overwrite to replace it"
        )


def _divergence(losses: dict[str, float], weights_ok: bool, bound: float) -> str | None:
    for name, value in losses.items():
        if not math.isfinite(value):
            return f"{name} is {value}"
        if abs(value) > bound:
            return f"|{name}| = {abs(value):.3g} exceeds the bound {bound:g}"
    if not weights_ok:
        return "a network weight is NaN or Inf"
    return None


def train(cfg: RunConfig, variant: Variant, run_dir: RunDir, **kwargs) -> RunResult:
    """Train one (variant, dataset, seed) into `run_dir`. `cfg` must be resolved; the
    keyword arguments are `train_steps`'s."""
    return run_to_end(train_steps(cfg, variant, run_dir, **kwargs))


TrainSteps = Generator[None, None, RunResult]


def run_to_end(steps: Generator):
    """Run a generator such as `train_steps` to its end; return what it returns."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def train_steps(
    cfg: RunConfig,
    variant: Variant,
    run_dir: RunDir,
    *,
    evaluator: Evaluator | None = None,
    data_root=None,
    data: Dataset | None = None,
    resume: bool = False,
    progress: bool = True,
    warn: Callable[[str], None] = print,
) -> TrainSteps:
    """`train` as a generator: yields after queuing each stretch of steps, returns the
    RunResult. Closing it early marks the run "failed: interrupted" and unlocks it."""
    run_dir.lock()
    try:
        return (yield from _train_locked(cfg, variant, run_dir, evaluator, data_root, data, resume, progress, warn))
    finally:
        run_dir.unlock()


def _train_locked(cfg, variant, run_dir, evaluator, data_root, data, resume, progress, warn) -> TrainSteps:
    if resume:
        _check_same_config(run_dir, cfg)
    torch.set_num_threads(cfg.cpu_threads)
    seed_everything(cfg.seed, cfg.deterministic)
    if data is None:
        data = load_dataset(cfg.dataset, data_root, cfg.device, cfg.data_limit, image_size=cfg.image_size)
    if len(data) and cfg.batch_size > len(data):
        raise UsageError(
            f"batch size {cfg.batch_size} is larger than the dataset ({len(data)} items); lower --batch-size"
        )
    trainer = Trainer(cfg, variant, data)

    timing = {"train_s": 0.0, "eval_s": 0.0}
    state = ckpt.load_latest(run_dir.checkpoint_dir, map_location=cfg.device, warn=warn) if resume else None
    record = config_record(cfg, variant, data)
    if state is not None:
        trainer.load_state_dict(state["trainer"])
        ckpt.set_rng_state(state["rng"], trainer.gens.train)
        timing = dict(state.get("timing", timing))
        run_dir.truncate_metrics(trainer.step)
        record = _resumed_record(run_dir.read_config(), record, trainer.step)
    else:
        run_dir.clear()  # a fresh start leaves nothing of an earlier run behind
    run_dir.write_config(record)
    if trainer.step >= cfg.steps:  # finished before; only the final bookkeeping was lost
        return _finish(cfg, trainer, data, run_dir, evaluator, timing, final_eval_done=True)

    run_dir.write_status("running", step=trainer.step, steps=cfg.steps)
    try:
        return (yield from _loop(cfg, variant, trainer, data, run_dir, evaluator, timing, progress, warn))
    except BaseException as exc:  # Ctrl-C included: the status must not stay "running"
        # GeneratorExit: whoever interleaved this run closed it before its end.
        stopped = isinstance(exc, (KeyboardInterrupt, GeneratorExit))
        reason = "interrupted" if stopped else f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(OSError):
            run_dir.write_status("failed", step=trainer.step, steps=cfg.steps, reason=reason.splitlines()[0])
        raise


def _loop(cfg, variant, trainer, data, run_dir, evaluator, timing, progress, warn) -> TrainSteps:
    def save_checkpoint() -> None:
        payload = {
            "trainer": trainer.state_dict(),
            "rng": ckpt.rng_state(trainer.gens.train),
            "config": cfg.to_dict(),
            "timing": timing,
        }
        ckpt.save(run_dir.checkpoint_dir, trainer.step, payload)

    bar = tqdm(
        total=cfg.steps,
        initial=trainer.step,
        disable=None if progress else True,  # None: only on a terminal
        desc=f"{cfg.dataset}/{variant.name}/seed{cfg.seed}",
        unit="step",
        dynamic_ncols=True,
        leave=False,
    )
    fallback_told = False
    try:
        while trainer.step < cfg.steps:
            # Run to the next boundary (log, eval, checkpoint or end) in one go.
            boundaries = [cfg.steps, _next_multiple(trainer.step, cfg.log_every)]
            if cfg.eval_every:
                boundaries.append(_next_multiple(trainer.step, cfg.eval_every))
            boundaries.append(_next_multiple(trainer.step, cfg.checkpoint_every))
            n = min(boundaries) - trainer.step
            t0 = time.perf_counter()
            trainer.run_steps(n)  # on CUDA: queued, not yet run
            yield  # let an interleaving driver queue other runs' steps before this sync
            if trainer.graph_failure and not fallback_told:
                warn(f"{run_dir.path}: {trainer.graph_failure}")  # a fallback is never silent
                fallback_told = True
            at_log = trainer.step % cfg.log_every == 0 or trainer.step == cfg.steps
            if at_log:
                losses = trainer.read_losses()  # host sync: the timing below is honest
                reason = _divergence(losses, trainer.weights_finite(), cfg.loss_bound)
            timing["train_s"] += time.perf_counter() - t0
            bar.update(n)
            if at_log:
                run_dir.append_metrics({"type": "train", "step": trainer.step, **losses})
                bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()}, refresh=False)
                if reason is not None:
                    run_dir.write_status(
                        "diverged",
                        step=trainer.step,
                        steps=cfg.steps,
                        reason=reason,
                        **_timing_fields(timing, trainer),
                    )
                    warn(f"{run_dir.path}: diverged at step {trainer.step}: {reason}")
                    return RunResult("diverged", run_dir, trainer.step, reason)
            if cfg.eval_every and trainer.step % cfg.eval_every == 0 and trainer.step < cfg.steps:
                _evaluate(cfg, trainer, data, run_dir, evaluator, timing)
            if trainer.step % cfg.checkpoint_every == 0 and trainer.step < cfg.steps:
                save_checkpoint()
                write_samples(trainer, data, run_dir.samples_path)
                run_dir.write_status("running", step=trainer.step, steps=cfg.steps, **_timing_fields(timing, trainer))
    finally:
        bar.close()
    return _finish(cfg, trainer, data, run_dir, evaluator, timing, save=save_checkpoint)


def _next_multiple(step: int, every: int) -> int:
    return (step // every + 1) * every


def _timing_fields(timing: dict, trainer: Trainer) -> dict:
    train_s = timing["train_s"]
    return {
        "train_time_s": round(train_s, 3),
        "eval_time_s": round(timing["eval_s"], 3),
        "wall_time_s": round(train_s + timing["eval_s"], 3),
        "steps_per_s": round(trainer.step / train_s, 3) if train_s > 0 else None,
        # how the steps ran, and why: "cuda-graph", or "eager" with the reason (CPU,
        # --no-cuda-graph, or a failed capture's error)
        "step_mode": trainer.step_mode,
        "step_mode_reason": trainer.step_mode_reason,
    }


def _evaluate(cfg, trainer, data, run_dir, evaluator, timing) -> None:
    if evaluator is None:
        return
    t0 = time.perf_counter()
    metrics = evaluator(trainer, data, cfg)
    timing["eval_s"] += time.perf_counter() - t0
    if metrics:
        run_dir.append_metrics({"type": "eval", "step": trainer.step, **metrics})


def _finish(cfg, trainer, data, run_dir, evaluator, timing, save=None, final_eval_done=False) -> RunResult:
    if not final_eval_done:
        _evaluate(cfg, trainer, data, run_dir, evaluator, timing)
        if save is not None:
            save()  # the final checkpoint covers the final eval record
    for name, net in (("generator.pt", trainer.g), ("discriminator.pt", trainer.d)):
        buf = io.BytesIO()
        torch.save(net.state_dict(), buf)
        atomic_write_bytes(run_dir.path / name, buf.getvalue())
    write_samples(trainer, data, run_dir.samples_path)
    run_dir.write_status("done", step=trainer.step, steps=cfg.steps, **_timing_fields(timing, trainer))
    return RunResult("done", run_dir, trainer.step)
