"""What a run directory says about the run in it: config.json's record, and whether a
directory holds this run, finished or not, or another one.

`existing_state` is the one place that decides "is this run done, unfinished, or
different?": the training loop asks it on a resume, and the suite's scheduler (runs/)
asks it before starting a run.
"""

from __future__ import annotations

from .. import plugins, provenance
from ..config import RunConfig, diff, stored_config
from ..data import Dataset, get_dataset_spec
from ..errors import ConfigMismatch
from ..rundir import RunDir
from ..spec import Variant

FINISHED = ("done", "diverged")
# config.json's "kind" for a record of `ganbench score`: made elsewhere, never trained here.
SCORED = "scored"


def is_scored(stored: dict | None) -> bool:
    """Whether a config.json record was written by `ganbench score` rather than by a run."""
    return isinstance(stored, dict) and stored.get("kind") == SCORED


def refuse_scored(run_dir: RunDir) -> None:
    """ConfigMismatch (exit 2), --overwrite or not: a scored record is never trained over."""
    if is_scored(run_dir.read_config()):
        raise ConfigMismatch(
            f"{run_dir.path} holds a record of `ganbench score` (made elsewhere), not a run of this variant; "
            "move it, or use another --out"
        )


def origins(variant: Variant, dataset: str, arch: str | None = None) -> dict:
    """Where the variant, its nets (`arch`, default the variant's), losses, penalty and the
    dataset were registered: "built-in", a plugin file's path, or "entry-point:NAME"."""
    out = {
        "variant": plugins.origin_of("variant", variant.name),
        "arch": plugins.origin_of("arch", arch or variant.arch),
        "d_loss": plugins.origin_of("loss", variant.d_loss.__name__),
        "g_loss": plugins.origin_of("loss", variant.g_loss.__name__),
        "dataset": plugins.origin_of("dataset", dataset.partition(":")[0]),
    }
    if variant.d_penalty is not None:
        out["penalty"] = plugins.origin_of("penalty", variant.d_penalty.__name__)
    return out


def config_record(cfg: RunConfig, variant: Variant, data: Dataset, deviations=()) -> dict:
    return {
        "config": cfg.to_dict(),
        # the published protocol the run follows (None: an ordinary run, see "profile") and
        # how the suite that trained it departed from that protocol
        "protocol": protocol_record(cfg, deviations),
        "variant": {"name": variant.name, "paper": variant.paper, **variant.hyperparameters()},
        # every plugin loaded in the process that trained (source, file, sha256), and
        # which of this run's parts came from one
        "plugins": plugins.loaded(),
        "origins": origins(variant, data.name, cfg.arch),
        "dataset": dataset_record(data, cfg.train_size),
        "environment": provenance.environment(cfg.device),
    }


def protocol_record(cfg: RunConfig, deviations=()) -> dict:
    """config.json's "protocol": a registered protocol's name and the suite's departures
    from it, or, for an ordinary run, no name and the profile its length came from."""
    if cfg.protocol is None:
        return {"name": None, "profile": cfg.profile}
    return {"name": cfg.protocol, "deviations": list(deviations)}


def dataset_record(data: Dataset, fixed_size: int | None = None) -> dict:
    """config.json's "dataset": what was trained on and scored against. `fixed_size`: the
    run's train_size, a generated dataset's fixed training set (data.fixed_training_set)."""
    source = data.source
    if fixed_size is not None:
        source = f"{fixed_size:,} points drawn once from the run's seed ({data.source})"
    return {
        "name": data.name,
        "kind": data.kind,
        "shape": list(data.shape),
        "train_size": fixed_size or len(data) or None,
        "reference_split": data.reference_split,
        "source": source,
        "citation": get_dataset_spec(data.name).citation,
    }


def resumed_record(stored: dict | None, fresh: dict, step: int) -> dict:
    """A resumed run's config.json: it keeps the environment the run started in (library
    versions, git commit, device) and lists under "resumes" each step it went on from and
    the environment it went on in."""
    if not stored or "environment" not in stored:
        return fresh
    resumes = [*stored.get("resumes", []), {"step": step, "environment": fresh["environment"]}]
    return {**fresh, "environment": stored["environment"], "resumes": resumes}


def existing_state(run_dir: RunDir, cfg: RunConfig) -> str:
    """'new', 'done' (done or diverged), 'unfinished', or 'different' (another config)."""
    stored = run_dir.read_config()
    if stored is None:
        return "new"
    if diff(stored_config(stored), cfg):
        return "different"
    status = (run_dir.read_status() or {}).get("status")
    return "done" if status in FINISHED else "unfinished"


def refuse_different(run_dir: RunDir, cfg: RunConfig) -> None:
    """ConfigMismatch (exit 2) if the directory holds a run with another config, or one
    made with a plugin file that has changed since (or is not loaded now)."""
    stored = run_dir.read_config()
    fields = diff(stored_config(stored), cfg) if stored is not None else []
    if fields:
        raise ConfigMismatch(
            f"{run_dir.path} holds a run with a different config (differs in: {', '.join(fields)}); "
            "use another --out, or --overwrite to replace it"
        )
    if stored is not None:
        refuse_changed_plugins(run_dir, stored)


def refuse_changed_plugins(run_dir: RunDir, stored: dict) -> None:
    """The plugins this run's parts came from must be loaded now, with the same sha256."""
    used = {o for o in (stored.get("origins") or {}).values() if o != plugins.BUILTIN}
    now = {p["source"]: p["sha256"] for p in plugins.loaded()}
    for then in stored.get("plugins") or []:
        source = then.get("source")
        if source not in used:
            continue
        if source not in now:
            raise ConfigMismatch(f"{run_dir.path} was trained with plugin {source}; load it again (--plugin)")
        if now[source] != then.get("sha256"):
            raise ConfigMismatch(
                f"{run_dir.path} was trained with plugin {source} (sha256 {str(then.get('sha256'))[:12]}...), "
                f"which has changed since (now {str(now[source])[:12]}...); restore it, or --overwrite to restart"
            )


def timing_fields(timing: dict, trainer) -> dict:
    """status.json's timings of a run, and how its steps ran."""
    train_s, eval_s = timing["train_s"], timing["eval_s"]
    return {
        "train_time_s": round(train_s, 3),
        "eval_time_s": round(eval_s, 3),
        "wall_time_s": round(train_s + eval_s, 3),
        "steps_per_s": round(trainer.step / train_s, 3) if train_s > 0 else None,
        # how the steps ran, and why: "cuda-graph", or "eager" with the reason (CPU,
        # --no-cuda-graph, or a failed capture's error)
        "step_mode": trainer.step_mode,
        "step_mode_reason": trainer.step_mode_reason,
    }
