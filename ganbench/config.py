"""RunConfig: what to train, the one object that goes CLI -> resolve() -> train() -> config.json;
RunOptions: how to run it (where, with which evaluator, resume or not), never part of a
run's identity.

Fields left as None are filled by `resolve()`: first from the profile (how long to train
and evaluate), then from the dataset (batch size and latent size, identical for every
variant so the comparison is fair), then from the variant (its paper's hyperparameters).
The resolved config is what a run directory stores and what a resume must match.
`resolve` takes the Variant object: the registry lookup by name is `ganbench.runs.plan`'s.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from . import plugins as _plugins
from .data import get_dataset_spec
from .errors import UsageError
from .nets import ARCHS, NORMS
from .spec import TRAINING_FIELDS, training_field_problem

if TYPE_CHECKING:
    from .spec import Variant

# How long to train and how to evaluate, per profile and kind of data.
#   smoke: seconds per run, for tests and CI.
#   quick: minutes per run on a CPU; the committed reference results use it.
#   long:  20 epochs of MNIST at batch 64 (Lucic et al. 2018's budget); the 2-D mixtures
#          25,000 steps at PacGAN's batch and sample sizes, which is no paper's length
#          (PacGAN trains 400,000). Named "paper" before issue 20; a paper's own settings
#          are a protocol now (ganbench/protocols, `ganbench run --protocol`).
# The README's "Profiles" table states these numbers and what they cost.
PROFILES: dict[str, dict[str, dict]] = {
    "smoke": {
        "points": dict(steps=300, log_every=50, eval_every=0, checkpoint_every=100, eval_samples=2500),
        "images": dict(steps=20, log_every=10, eval_every=0, checkpoint_every=10, eval_samples=500),
    },
    "quick": {
        "points": dict(steps=2000, log_every=100, eval_every=500, checkpoint_every=500, eval_samples=2500),
        "images": dict(steps=500, log_every=50, eval_every=250, checkpoint_every=250, eval_samples=2000),
    },
    "long": {
        "points": dict(steps=25000, log_every=250, eval_every=2500, checkpoint_every=2500, eval_samples=2500),
        # 20 epochs of MNIST at batch 64 (Lucic et al. 2018): 20 * 60000 / 64 = 18750 steps.
        "images": dict(steps=18750, log_every=250, eval_every=2500, checkpoint_every=1250, eval_samples=10000),
    },
}
DEFAULT_PROFILE = "quick"
# Per-dataset departures from a profile's defaults for the dataset's kind.
DATASET_PROFILE_OVERRIDES: dict[str, dict[str, dict]] = {
    # 40 epochs of CelebA (202,599 images) at batch 64, as in Lucic et al. 2018. On the
    # 10,000-image subset that is many more epochs over fewer faces: say so in reports.
    "long": {"faces": dict(steps=126_625, eval_every=10_000, checkpoint_every=5_000)},
}

# A loss this large means the run has left any sensible regime: stop it as diverged.
LOSS_BOUND = 1e6

TUPLE_FIELDS = ("betas", "d_hidden", "g_hidden")  # tuples here, lists in config.json
# What every run did before these fields existed (issue 20): N(0, I) noise, one G step on
# the last critic batch's z, alternating updates, no packing, LeakyReLU D layers, the
# family's widths, torch's BatchNorm eps and momentum, fresh 2-D points every batch.
# An older config.json lacks these keys; reading it fills them with these values, so a
# finished old run still counts as done and an unfinished one still resumes.
LEGACY_DEFAULTS: dict = {
    "noise": "normal",
    "g_steps": 1,
    "simultaneous": False,
    "fresh_g_noise": False,
    "pack": 1,
    "d_maxout": 0,
    "d_hidden": None,
    "g_hidden": None,
    "bn_eps": 1e-5,
    "bn_momentum": 0.1,
    "train_size": None,
}
# Older runs took these from the variant; config.json's "variant" block records them.
LEGACY_FROM_VARIANT = ("arch", "g_norm", "d_norm")


def legacy_filled(config: dict, variant_record: dict | None = None) -> dict:
    """A copy of a stored "config" block with each key an older ganbench did not write
    filled in: LEGACY_DEFAULTS, and arch and the norms from the record's "variant" block
    (left unset when there is none, so the config reads as unresolved)."""
    out = dict(config)
    if "arch" in out or out.get("steps") is None:  # written by this ganbench, or not a stored run's
        return out
    for key, value in LEGACY_DEFAULTS.items():
        out.setdefault(key, list(value) if isinstance(value, tuple) else value)
    for key in LEGACY_FROM_VARIANT:
        if variant_record and key in variant_record:
            out.setdefault(key, variant_record[key])
    return out


def stored_config(record: dict | None) -> dict:
    """config.json's "config" block as this ganbench writes it (`legacy_filled`)."""
    record = record or {}
    config = record.get("config")
    if not isinstance(config, dict):
        return {}
    return legacy_filled(config, record.get("variant") if isinstance(record.get("variant"), dict) else None)


@dataclass(frozen=True)
class RunConfig:
    variant: str
    dataset: str
    seed: int = 0
    profile: str = DEFAULT_PROFILE
    steps: int | None = None  # generator steps
    batch_size: int | None = None
    z_dim: int | None = None
    lr_d: float | None = None
    lr_g: float | None = None
    betas: tuple[float, float] | None = None
    n_critic: int | None = None
    penalty_weight: float | None = None
    log_every: int | None = None
    eval_every: int | None = None  # 0: evaluate only at the end
    eval_samples: int | None = None
    eval_seed: int = 0  # seeds the latent draws for metrics and sample grids
    checkpoint_every: int | None = None
    data_limit: int | None = None  # train on the first N items only (tests, quick looks)
    # folder:PATH only: the side its images are resized to (resolve() fills in the folder's
    # default); None for datasets of a fixed size.
    image_size: int | None = None
    device: str = "auto"  # resolved to "cpu" or "cuda[:k]"
    deterministic: bool = True
    # CPU kernels split work by thread, and the split changes the last bits of a sum, so
    # the thread count is part of what makes a CPU run reproducible. One thread by default:
    # the same numbers on any machine, and `--jobs` can run several runs side by side
    # without changing any of them.
    cpu_threads: int | None = None
    cuda_graph: bool = True  # capture the step as a CUDA graph on CUDA (ignored on CPU)
    loss_bound: float = LOSS_BOUND
    # The nets and the step (spec.Variant has a same-named field for each; see there).
    # None: the variant's value. After resolve, d_hidden, g_hidden and train_size may stay
    # None (the family's widths; fresh points every batch).
    arch: str | None = None
    g_norm: str | None = None
    d_norm: str | None = None
    noise: str | None = None
    g_steps: int | None = None
    simultaneous: bool | None = None
    fresh_g_noise: bool | None = None
    pack: int | None = None
    d_maxout: int | None = None
    d_hidden: tuple[int, ...] | None = None
    g_hidden: tuple[int, ...] | None = None
    bn_eps: float | None = None
    bn_momentum: float | None = None
    train_size: int | None = None
    # The registered protocol (ganbench/protocols) this run belongs to, by name; None for an
    # ordinary run, whose length and evaluation come from `profile`. Part of the run's identity.
    protocol: str | None = None

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for key in TUPLE_FIELDS:
            if d[key] is not None:
                d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict, variant_record: dict | None = None) -> RunConfig:
        """The config of a config.json's "config" block; keys an older ganbench did not
        write are filled with the values that reproduce what it did (`legacy_filled`)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(sorted(unknown))}")
        d = legacy_filled(d, variant_record)
        for key in TUPLE_FIELDS:
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d)

    def replace(self, **changes) -> RunConfig:
        return dataclasses.replace(self, **changes)

    @property
    def is_resolved(self) -> bool:
        optional = ("data_limit", "image_size", "d_hidden", "g_hidden", "train_size", "protocol")
        return all(getattr(self, f.name) is not None for f in dataclasses.fields(self) if f.name not in optional)


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {device} asked for CUDA, but torch sees no CUDA device")
        return device
    if device == "cpu":
        return device
    raise UsageError(f"unknown device {device!r}; choose auto, cpu or cuda[:N]")


# The profile "paper" was renamed "long": it was no paper's protocol (issue 20).
RENAMED_PROFILES = {"paper": "long"}


def profile_defaults(profile: str, dataset: str, kind: str) -> dict:
    if profile in RENAMED_PROFILES:
        raise UsageError(
            f"the profile {profile!r} is now {RENAMED_PROFILES[profile]!r} (the same lengths; it is no paper's "
            "protocol); for a published protocol use --protocol (see `ganbench list`)"
        )
    if profile not in PROFILES:
        raise UsageError(f"unknown profile {profile!r}; choose from: {', '.join(PROFILES)}")
    defaults = dict(PROFILES[profile][kind])
    defaults.update(DATASET_PROFILE_OVERRIDES.get(profile, {}).get(dataset, {}))
    return defaults


def resolve(cfg: RunConfig, variant: Variant) -> RunConfig:
    """Fill every None from profile, dataset and `variant` (the one `cfg.variant` names);
    validate; return a new config."""
    if variant.name != cfg.variant:
        raise ValueError(f"resolve: config names {cfg.variant!r}, variant is {variant.name!r}")
    spec = get_dataset_spec(cfg.dataset)
    filled: dict = {}
    for key, value in profile_defaults(cfg.profile, cfg.dataset, spec.kind).items():
        if getattr(cfg, key) is None:
            filled[key] = value
    from_data = {"batch_size": spec.batch_size, "z_dim": spec.z_dim}
    from_variant = variant.defaults(spec.kind)
    for key, value in {**from_data, **from_variant}.items():
        if getattr(cfg, key) is None:
            filled[key] = value
    # One dataset, one name: folder:PATH becomes folder:<its resolved path>.
    filled["dataset"] = spec.name
    if spec.image_size is not None:
        filled["image_size"] = spec.image_size(cfg.image_size)
    elif cfg.image_size is not None:
        raise UsageError(f"--image-size applies to folder:PATH datasets only; {spec.name} has a fixed size")
    for key in TUPLE_FIELDS:  # a list from a sweep or a JSON file: the same config as the tuple
        value = filled.get(key, getattr(cfg, key))
        if isinstance(value, list):
            filled[key] = tuple(value)
    filled["device"] = resolve_device(cfg.device)
    if cfg.cpu_threads is None:
        filled["cpu_threads"] = 1
    out = cfg.replace(**filled)
    if variant.d_penalty is None and out.penalty_weight:
        raise UsageError(f"variant {variant.name!r} has no penalty, so --penalty-weight does not apply")
    if out.train_size is not None and spec.kind != "points":
        raise UsageError(f"train-size applies to the generated 2-D datasets; {spec.name} has its own training set")
    validate(out)
    return out


def print_line(message: str) -> None:
    """RunOptions' default echo: print. A module function, so the options pickle even after
    a library has replaced builtins.print (Ray's driver does: pickle then refuses print)."""
    print(message)


@dataclass(frozen=True)
class RunOptions:
    """How a run (or a suite of runs) is carried out: the side arguments every layer passes
    on, in one frozen object. None of it changes a run's numbers.

    evaluator: evaluator(sampler, data, cfg) -> flat metrics dict (ganbench.metrics.evaluate);
               None: no evaluations. Must pickle for job processes.
    echo:      where one-line messages go (warnings, one line per finished run).
    plugins:   the plugin sources (file paths, "entry-point:NAME") a job process loads
               before it trains: by default those loaded in the process that made this.
    observers: factories observer(run_dir, cfg, data, sampler) -> an object the run directory
               feeds (record(rec), truncated(last_step), close(); see rundir.py), such as
               report/tb.py's TensorBoard. Must pickle for job processes, like evaluator.
    protocol_deviations: how the suite departs from its protocol (recorded, never compared).
    """

    out: Path = Path("runs")
    evaluator: Callable | None = None
    data_root: str | Path | None = None
    resume: bool = False
    overwrite: bool = False
    progress: bool = True
    echo: Callable[[str], None] = print_line
    plugins: tuple[str, ...] = field(default_factory=_plugins.loaded_sources)
    observers: tuple = ()
    # How this suite departs from its runs' protocol (Protocol.deviations), one line each:
    # config.json's "protocol" record keeps them beside the protocol's name.
    protocol_deviations: tuple[str, ...] = ()

    def replace(self, **changes) -> RunOptions:
        return dataclasses.replace(self, **changes)  # __post_init__ normalises `out` again

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "plugins", tuple(self.plugins))
        object.__setattr__(self, "protocol_deviations", tuple(self.protocol_deviations))


# Generated samples per evaluation: they are drawn and held at once, and 100,000 is twice
# the usual 50,000 for FID; more would exhaust memory before it said anything new.
MAX_EVAL_SAMPLES = 100_000
# Seeds (and evaluation seeds) seed numpy too, which takes 32 bits.
MAX_SEED = 2**32 - 1


def validate(cfg: RunConfig) -> None:
    positive = [
        "steps",
        "batch_size",
        "z_dim",
        "n_critic",
        "log_every",
        "eval_samples",
        "checkpoint_every",
        "cpu_threads",
    ]
    for key in positive:
        value = getattr(cfg, key)
        if value is not None and value <= 0:
            raise UsageError(f"{key.replace('_', '-')} must be a positive number, got {value}")
    for key in ("lr_d", "lr_g"):
        value = getattr(cfg, key)
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise UsageError(f"{key.replace('_', '-')} must be a positive finite number, got {value}")
    if cfg.eval_samples is not None and cfg.eval_samples > MAX_EVAL_SAMPLES:
        raise UsageError(f"eval-samples must be at most {MAX_EVAL_SAMPLES:,}, got {cfg.eval_samples:,}")
    for key in ("seed", "eval_seed"):
        value = getattr(cfg, key)
        if not 0 <= value <= MAX_SEED:
            raise UsageError(f"{key.replace('_', '-')} must be from 0 to {MAX_SEED}, got {value}")
    if cfg.eval_every is not None and cfg.eval_every < 0:
        raise UsageError(f"eval-every must be 0 (only at the end) or positive, got {cfg.eval_every}")
    if cfg.data_limit is not None and cfg.data_limit <= 0:
        raise UsageError(f"data-limit must be a positive number, got {cfg.data_limit}")
    if cfg.penalty_weight is not None and cfg.penalty_weight < 0:
        raise UsageError(f"penalty-weight must be >= 0, got {cfg.penalty_weight}")
    validate_nets_and_step(cfg)


def validate_nets_and_step(cfg: RunConfig) -> None:
    """The fields of issue 20 (spec.TRAINING_FIELDS, arch and the norms): one-line UsageErrors."""
    problem = training_field_problem({k: getattr(cfg, k) for k in TRAINING_FIELDS})
    if problem:
        raise UsageError(problem)
    if cfg.arch is not None and cfg.arch not in ARCHS:
        raise UsageError(f"unknown arch {cfg.arch!r}; registered: {', '.join(ARCHS)}")
    for key in ("g_norm", "d_norm"):
        if getattr(cfg, key) is not None and getattr(cfg, key) not in NORMS:
            raise UsageError(f"unknown {key.replace('_', '-')} {getattr(cfg, key)!r}; choose one of {', '.join(NORMS)}")
    if cfg.d_maxout and cfg.d_norm in ("batch", "layer"):
        # PacGAN's maxout D (2DRing_GAN&PacGAN/pacgan_task.py:61-90) has no normalisation.
        raise UsageError(
            f"a maxout D (d-maxout {cfg.d_maxout}) takes no {cfg.d_norm} norm; use d-norm none or spectral"
        )
    if cfg.simultaneous:
        # One batch, one gradient each, one step each: nothing to repeat or redraw.
        for key, plain in (("n_critic", 1), ("g_steps", 1), ("fresh_g_noise", False)):
            if getattr(cfg, key) not in (None, plain):
                raise UsageError(
                    f"simultaneous updates take one batch for both nets; {key.replace('_', '-')} "
                    f"must be {str(plain).lower()}, got {getattr(cfg, key)}"
                )
    if cfg.train_size is not None and cfg.batch_size is not None and cfg.train_size < cfg.batch_size:
        raise UsageError(f"train-size ({cfg.train_size}) must hold at least one batch ({cfg.batch_size})")


def diff(a: RunConfig | dict, b: RunConfig | dict) -> list[str]:
    """Names of the fields whose values differ between two configs."""
    da = a.to_dict() if isinstance(a, RunConfig) else a
    db = b.to_dict() if isinstance(b, RunConfig) else b
    return sorted(k for k in set(da) | set(db) if da.get(k) != db.get(k))
