"""The evaluator the training loop calls: scores a Sampler (a generator and its noise; see
core/samples.py) with the metrics that fit the dataset, and returns one flat record.

    points (ring8, grid25)        modes, hq_frac, reverse_kl                  (coverage.py)
    mnist, stacked-mnist          modes, kl_uniform, mnist_is, mnist_fid,     (classes.py)
                                  mnist_density, mnist_coverage
    every image dataset           fid, kid_mean, kid_std, precision, recall,  (fidelity.py)
                                  is_mean, is_std, density, coverage  (when Inception is on)

Every key a dataset promises is always present: a metric that cannot be computed is None,
with its reason under "unavailable". Beside the numbers, "protocol" says how they were
made: sample counts, sampling seed, reference split, networks and their weight hashes.

Samples: one draw per evaluation, from the run's evaluation stream (`Sampler.sample`: the
same latent draws at every evaluation, for every variant and seed, independent of the
training stream), with G in eval mode. Every metric of a record scores the same samples.
An evaluator never sees the discriminator, the optimisers or a Trainer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..data import Dataset, default_cache_dir
from ..errors import UsageError
from . import coverage, fidelity
from .classes import IS_SPLITS, PRDC_KEYS, class_metrics
from .classifier import FEATURE_DIM, weights_protocol
from .fidelity import METRIC_KEYS as INCEPTION_KEYS
from .fidelity import to_uint8
from .inception import resolve_weights
from .prdc import NEAREST_K
from .reference_cache import classifier_reference_stats

CLASS_KEYS = ("modes", "kl_uniform", "mnist_is", "mnist_fid", *PRDC_KEYS)
MIN_FID_IMAGES = 2  # a covariance needs two samples on each side
WARM_IMAGES = 64  # Evaluator.warm: enough for every metric's neighbourhoods (k = 5)
# Datasets scored with the MNIST classifier; the value is how many channels hold a digit.
CLASS_METRIC_DATASETS = {"mnist": 1, "stacked-mnist": 3}
# Inception on a CPU runs at about 7 images/s: a 10,000-image reference takes ~25 minutes.
CPU_REASON = "Inception metrics are off by default on a CPU (about 7 images/s); pass --inception to compute them"


@dataclass
class EvalSettings:
    inception: bool | None = None  # None: on for CUDA runs, off on CPU runs
    inception_weights: str | None = None  # --inception-weights; else $GANBENCH_INCEPTION_WEIGHTS, offline, download
    reference_samples: int | None = None  # Inception reference: the first N images of the split (None: all)
    cache_dir: Path | None = None  # default: ganbench.data.default_cache_dir()
    inception_batch_size: int = 64
    _weights: object = field(default=None, repr=False)

    def inception_on(self, device: str) -> bool:
        return self.inception if self.inception is not None else str(device).startswith("cuda")

    def weights(self):
        """The resolved Inception weights (resolved once; raises a one-line DataUnavailable)."""
        if self._weights is None:
            self._weights = resolve_weights(self.inception_weights, self.cache)
        return self._weights

    @property
    def cache(self) -> Path:
        return self.cache_dir or default_cache_dir()


class Evaluator:
    """What `RunOptions.evaluator` holds: evaluator(sampler, data, cfg) -> record. A class
    rather than a closure so that it pickles: `--jobs` sends it to the job processes."""

    def __init__(self, settings: EvalSettings | None = None):
        self.settings = settings or EvalSettings()

    def __call__(self, sampler, data: Dataset, cfg) -> dict:
        return evaluate(sampler, data, cfg, self.settings)

    def refuse_unscorable(self, data: Dataset, cfg) -> None:
        """A UsageError, before any training, when this run's evaluation could score nothing
        (the training loop calls it once the data is loaded)."""
        refuse_unscorable(data, cfg, self.settings)

    def warm(self, data: Dataset, cfg) -> None:
        """Write the reference caches the first evaluation of `cfg` would write (classifier
        statistics, Inception features of the reference split), so that runs fanned out at
        once (--backend ray) read them instead of each computing them. The caches are not
        keyed by device, as when the first of several runs writes them; where `cfg.device`
        is not usable in this process (a CPU-only Ray head) nothing is warmed."""
        if data.kind != "images" or (cfg.device.startswith("cuda") and not torch.cuda.is_available()):
            return
        channels = CLASS_METRIC_DATASETS.get(data.name)
        if channels:
            classifier_reference_stats(data, self.settings.cache, cfg.device)
        reference = _reference(data, self.settings)  # uint8, as generated images are scored
        if self.settings.inception_on(cfg.device) and len(reference) > WARM_IMAGES:
            # A few reference images scored against the reference: torch-fidelity caches the
            # reference's features and radii under the name every run uses.
            _inception_part(reference[:WARM_IMAGES], data, cfg, self.settings)


class ByDataset:
    """Each dataset scored by its own evaluator (`ganbench check`: as its baseline was).
    Picklable, like Evaluator, so a check with several runs can use job processes."""

    def __init__(self, evaluators: dict):
        self.evaluators = dict(evaluators)

    def __call__(self, sampler, data: Dataset, cfg) -> dict:
        return self.evaluators[cfg.dataset](sampler, data, cfg)

    def refuse_unscorable(self, data: Dataset, cfg) -> None:
        self.evaluators[cfg.dataset].refuse_unscorable(data, cfg)


def refuse_unscorable(data: Dataset, cfg, settings: EvalSettings) -> None:
    """An image dataset scored by Inception alone (a folder, faces) whose reference split is
    too small for FID would train to the end and score nothing: refuse it up front."""
    if data.kind != "images" or data.name in CLASS_METRIC_DATASETS or not settings.inception_on(cfg.device):
        return
    n_ref = len(_reference(data, settings))
    if n_ref < MIN_FID_IMAGES:
        raise UsageError(
            f"{data.name}: its reference split ({data.reference_split or 'held out'}) has {n_ref} image(s); "
            f"FID/KID need at least {MIN_FID_IMAGES}: add images (or a test/ folder), or pass --no-inception"
        )


def _reference(data: Dataset, settings: EvalSettings):
    return data.reference if settings.reference_samples is None else data.reference[: settings.reference_samples]


def make_evaluator(settings: EvalSettings | None = None) -> Evaluator:
    return Evaluator(settings)


def evaluate(sampler, data: Dataset, cfg, settings: EvalSettings) -> dict:
    if data.kind == "points":
        return _points(sampler, data, cfg)
    return _images(sampler, data, cfg, settings)


def _sampling(cfg, n: int) -> dict:
    return {
        "samples": n,
        "eval_seed": cfg.eval_seed,
        "noise": "N(0, I) drawn on the CPU from the run's evaluation stream (the same draws at every evaluation)",
        "generator_mode": "eval",
    }


def _points(sampler, data: Dataset, cfg) -> dict:
    n = cfg.eval_samples
    points = sampler.sample(n)  # (n, 2)
    centres, sigma = data.extras["centres"], data.extras["sigma"]
    metrics, unavailable = coverage.coverage_metrics(points, centres, sigma)
    protocol = {"sampling": _sampling(cfg, n), "coverage": coverage.protocol(n, len(centres), sigma)}
    if n != coverage.PROTOCOL_SAMPLES:
        protocol["coverage"]["note"] = f"VEEGAN/PacGAN score {coverage.PROTOCOL_SAMPLES:,} samples; this used {n:,}"
    return {**metrics, "unavailable": unavailable, "protocol": protocol}


def samples_needed(data: Dataset, eval_samples: int) -> int:
    """How many samples one evaluation asks its sampler for: eval_samples, or more where the
    mode protocol needs more (Stacked MNIST: 26,000, as in VEEGAN and PacGAN)."""
    if data.kind == "images" and data.name in CLASS_METRIC_DATASETS:
        return max(eval_samples, data.extras.get("mode_samples", eval_samples))
    return eval_samples


def _images(sampler, data: Dataset, cfg, settings: EvalSettings) -> dict:
    n = cfg.eval_samples
    channels = CLASS_METRIC_DATASETS.get(data.name)
    n_class = data.extras.get("mode_samples", n) if channels else 0  # Stacked MNIST: 26,000 (VEEGAN/PacGAN)
    images = sampler.sample(samples_needed(data, n))  # (N, C, H, W) in [-1, 1]
    keys = (CLASS_KEYS if channels else ()) + INCEPTION_KEYS
    protocol = {"sampling": _sampling(cfg, max(n, n_class)), "quantisation": "uint8 = round((x + 1) * 127.5)"}
    if not torch.isfinite(images).all():
        reason = "the generated samples contain NaN or Inf"
        return {**dict.fromkeys(keys), "unavailable": dict.fromkeys(keys, reason), "protocol": protocol}
    images_u8 = to_uint8(images)
    metrics: dict = {}
    unavailable: dict = {}
    if channels:
        m, u, protocol["classifier"] = _class_part(images_u8[:n_class], data, cfg, settings, channels)
        metrics.update(m)
        unavailable.update(u)
    m, u, protocol["inception"] = _inception_part(images_u8[:n], data, cfg, settings)
    metrics.update(m)
    unavailable.update(u)
    return {**metrics, "unavailable": unavailable, "protocol": protocol}


def _class_part(images_u8, data: Dataset, cfg, settings: EvalSettings, channels: int):
    ref_stats = classifier_reference_stats(data, settings.cache, cfg.device)
    metrics, unavailable = class_metrics(images_u8, ref_stats, cfg.device)
    protocol = {
        **weights_protocol(),
        "samples": len(images_u8),
        "classes": 10**channels,
        "per_channel": channels > 1,
        "feature_dim": FEATURE_DIM * channels,  # Stacked MNIST: the three channels' features side by side
        "reference": {"split": data.reference_split, "count": len(data.reference)},
        "is_splits": IS_SPLITS,
        "prdc_neighborhood": NEAREST_K,  # density/coverage, Naeem et al. 2020
    }
    if channels > 1:
        protocol["note"] = "modes and kl_uniform on 26,000 samples, as in VEEGAN and PacGAN"
    return metrics, unavailable, protocol


def _inception_part(images_u8, data: Dataset, cfg, settings: EvalSettings):
    if not settings.inception_on(cfg.device):
        reason = CPU_REASON if settings.inception is None else "Inception metrics turned off (--no-inception)"
        return dict.fromkeys(INCEPTION_KEYS), dict.fromkeys(INCEPTION_KEYS, reason), {"enabled": False}
    reference = _reference(data, settings)
    if len(images_u8) < MIN_FID_IMAGES or len(reference) < MIN_FID_IMAGES:
        reason = (
            f"FID/KID/precision/recall/density/coverage need at least {MIN_FID_IMAGES} images on each side; "
            f"got {len(images_u8)} generated (--eval-samples) and {len(reference)} reference"
        )
        return dict.fromkeys(INCEPTION_KEYS), dict.fromkeys(INCEPTION_KEYS, reason), {"enabled": True}
    weights = settings.weights()
    name = fidelity.reference_cache_name(data.name, data.reference_split, reference, weights)
    metrics, unavailable = fidelity.inception_metrics(
        images_u8,
        reference,
        weights,
        reference_name=name,
        cache_dir=settings.cache / "fidelity",
        device=cfg.device,
        batch_size=settings.inception_batch_size,
    )
    protocol = {
        "enabled": True,
        "extractor": f"torch-fidelity {fidelity.FEATURE_EXTRACTOR}, {fidelity.FEATURE_LAYER}-d pool features",
        "weights": weights.protocol(),
        "samples": len(images_u8),
        "reference": {"split": data.reference_split, "count": len(reference)},
        "kid_subsets": fidelity.KID_SUBSETS,
        "kid_subset_size": fidelity.kid_subset_size(len(images_u8), len(reference)),
        "prc_neighborhood": fidelity.PRC_NEIGHBORHOOD,
        "prdc_neighborhood": NEAREST_K,  # density/coverage, Naeem et al. 2020
        "is_splits": fidelity.IS_SPLITS,
        "seed": fidelity.FIDELITY_SEED,
        "torch_fidelity": _version("torch-fidelity"),
    }
    return metrics, unavailable, protocol


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
