"""FID, KID, precision/recall and IS through torch-fidelity; density/coverage beside them.

The features come from torch-fidelity (its feature extractor and feature cache), and the
numbers from its metric functions on those features (`metrics_from_features`, the one
path: tests feed it crafted features), density/coverage from prdc.py on the same
features. This module only prepares inputs and names the outputs:
- images go in as uint8 RGB (N, 3, H, W): generated samples in [-1, 1] are mapped with
  round((x + 1) * 127.5), clipped to [0, 255], exactly like real images stored as PNG, and
  grayscale is repeated to three channels (the usual MNIST practice, Lucic et al. 2018);
- every metric uses torch-fidelity's TF-compatible Inception v3 ("inception-v3-compat")
  on its 2048-d pool features; precision/recall too (torch-fidelity's default for it is
  VGG16, which needs another download; Kynkaenniemi et al. 2019's k = 3 is kept);
- the reference split's features are cached by torch-fidelity under a name that carries
  the dataset, split, count, a digest of the images and the weights' md5, so they are
  computed once, and the reference radii of density/coverage (k = 5) beside them;
- precision/recall need more than k = 3 images on each side, density/coverage more than
  k = 5 reference images, and IS at least one image per split: with fewer, those metrics
  are unavailable, with the reason, not an error.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import torch
from torch import Tensor

from ..rundir import atomic_write_bytes
from . import prdc
from .digest import reference_key
from .inception import InceptionWeights

FEATURE_EXTRACTOR = "inception-v3-compat"
FEATURE_LAYER = "2048"
ISC_LAYER = "logits_unbiased"  # torch-fidelity's layer for the Inception Score
KID_SUBSET_SIZE = 1000  # Binkowski et al. 2018 and torch-fidelity: subsets of 1,000
KID_SUBSETS = 100  # torch-fidelity's default
PRC_NEIGHBORHOOD = 3  # Kynkaenniemi et al. 2019: k = 3 nearest neighbours
FIDELITY_SEED = 2020  # torch-fidelity's default seed for KID subsets and the IS shuffle
IS_SPLITS = 10  # Salimans et al. 2016
BATCH_SIZE = 64

# torch-fidelity's keys -> ganbench's stable keys
KEYS = {
    "frechet_inception_distance": "fid",
    "kernel_inception_distance_mean": "kid_mean",
    "kernel_inception_distance_std": "kid_std",
    "precision": "precision",
    "recall": "recall",
    "inception_score_mean": "is_mean",
    "inception_score_std": "is_std",
}
# ... and density/coverage (Naeem et al. 2020, prdc.py) on the same features.
METRIC_KEYS = (*KEYS.values(), "density", "coverage")


def to_uint8_rgb(images: Tensor) -> Tensor:
    """Images in [-1, 1] (N, C, H, W), C = 1 or 3 -> uint8 (N, 3, H, W)."""
    u8 = to_uint8(images)
    return u8.repeat(1, 3, 1, 1) if u8.shape[1] == 1 else u8


def to_uint8(images: Tensor) -> Tensor:
    """[-1, 1] float -> uint8 [0, 255], rounding to nearest (what saving a PNG does)."""
    return images.float().add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)


def rgb(images_u8: Tensor) -> Tensor:
    """uint8 (N, 1 or 3, H, W) -> uint8 (N, 3, H, W)."""
    if images_u8.dtype != torch.uint8 or images_u8.dim() != 4 or images_u8.shape[1] not in (1, 3):
        raise ValueError(f"expected uint8 images (N, 1|3, H, W), got {images_u8.dtype} {tuple(images_u8.shape)}")
    return images_u8.repeat(1, 3, 1, 1) if images_u8.shape[1] == 1 else images_u8


class ImageTensorDataset(torch.utils.data.Dataset):
    """A uint8 (N, 3, H, W) tensor as the Dataset torch-fidelity takes (one image per item)."""

    def __init__(self, images_u8: Tensor):
        self.images = rgb(images_u8)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> Tensor:
        return self.images[i]


def reference_cache_name(dataset: str, split: str, reference_u8: Tensor, weights: InceptionWeights) -> str:
    """torch-fidelity's cache name for a reference split (no path separators allowed): the
    dataset, split, image count and a digest of the images (digest.reference_key), and the
    weights' md5."""
    return f"ganbench-{reference_key(dataset, split, reference_u8)}-w{weights.md5[:12]}"


def inception_metrics(
    generated_u8: Tensor,
    reference_u8: Tensor,
    weights: InceptionWeights,
    *,
    reference_name: str | None,
    cache_dir: Path,
    device: str = "cpu",
    batch_size: int = BATCH_SIZE,
) -> tuple[dict, dict]:
    """(metrics under METRIC_KEYS, unavailable reasons) for generated vs reference images.

    The features are torch-fidelity's (its feature extractor and its feature cache); the
    numbers come from them through `metrics_from_features`, the one path every metric takes.
    `reference_name` names the reference in torch-fidelity's cache (None: no caching); the
    reference radii of density/coverage are cached beside it under the same name.
    """
    from torch_fidelity.utils import create_feature_extractor, extract_featuresdict_from_input_id_cached

    n_gen, n_ref = len(generated_u8), len(reference_u8)
    if n_gen < 2 or n_ref < 2:
        raise ValueError(f"FID needs at least 2 images on each side, got {n_gen} generated and {n_ref} reference")
    isc = weights.has_classifier and n_gen >= IS_SPLITS
    kwargs = dict(
        input1=ImageTensorDataset(generated_u8),
        input2=ImageTensorDataset(reference_u8),
        input2_cache_name=reference_name,
        cache=reference_name is not None,
        cache_root=str(cache_dir),
        feature_extractor_weights_path=str(weights.path),
        batch_size=batch_size,
        cuda=str(device).startswith("cuda"),
        save_cpu_ram=True,  # no DataLoader workers: the images are already in memory
        verbose=False,
    )
    layers = [FEATURE_LAYER] + ([ISC_LAYER] if isc else [])
    extractor = create_feature_extractor(FEATURE_EXTRACTOR, layers, **kwargs)
    generated = extract_featuresdict_from_input_id_cached(1, extractor, **kwargs)
    reference = extract_featuresdict_from_input_id_cached(2, extractor, **kwargs)
    radii = None
    if reference_name is not None and n_ref > prdc.NEAREST_K:
        radii = cached_radii(reference[FEATURE_LAYER], cache_dir / f"{reference_name}-prdc-k{prdc.NEAREST_K}.pt")
    metrics, unavailable = metrics_from_features(generated, reference, radii=radii, device=device)
    if not weights.has_classifier:
        reason = f"no classifier layer in the Inception weights ({weights.source}: {weights.path.name})"
        unavailable.update(dict.fromkeys(("is_mean", "is_std"), reason))
    return metrics, unavailable


def metrics_from_features(generated: dict, reference: dict, radii: Tensor | None = None, device="cpu"):
    """(metrics under METRIC_KEYS, unavailable reasons) from torch-fidelity feature dicts
    {FEATURE_LAYER: (N, D)[, ISC_LAYER: (N, 1008)]} of generated and reference images, with
    torch-fidelity's metric functions (and prdc.py for density/coverage). IS is computed
    when the generated dict holds ISC_LAYER. `radii`: the reference's, when cached."""
    from torch_fidelity.metric_fid import fid_features_to_statistics
    from torch_fidelity.metric_isc import isc_features_to_metric
    from torch_fidelity.metric_kid import kid_features_to_metric

    gen, ref = generated[FEATURE_LAYER], reference[FEATURE_LAYER]
    n_gen, n_ref = len(gen), len(ref)
    out = {
        "fid": frechet_from_statistics(fid_features_to_statistics(gen), fid_features_to_statistics(ref)),
        **kid_features_to_metric(
            gen,
            ref,
            kid_subsets=KID_SUBSETS,
            kid_subset_size=kid_subset_size(n_gen, n_ref),
            rng_seed=FIDELITY_SEED,
            verbose=False,
        ),
    }
    skipped = {}
    # Each image's k-th nearest neighbour among the others: k + 1 images per side at least.
    if min(n_gen, n_ref) > PRC_NEIGHBORHOOD:
        out.update(precision_recall(gen, ref))
    else:
        reason = f"precision/recall need more than {PRC_NEIGHBORHOOD} images on each side (k = {PRC_NEIGHBORHOOD})"
        skipped.update(dict.fromkeys(("precision", "recall"), f"{reason}; got {n_gen} generated, {n_ref} reference"))
    if n_ref > prdc.NEAREST_K:
        out.update(prdc.density_coverage(gen.to(device), ref.to(device), radii=radii, k=prdc.NEAREST_K))
    else:
        reason = f"density/coverage need more than {prdc.NEAREST_K} reference images (k = {prdc.NEAREST_K})"
        skipped.update(dict.fromkeys(("density", "coverage"), f"{reason}; got {n_ref}"))
    if ISC_LAYER in generated and n_gen >= IS_SPLITS:
        out.update(isc_features_to_metric(generated[ISC_LAYER], IS_SPLITS, True, FIDELITY_SEED))
    elif n_gen < IS_SPLITS:
        reason = f"the Inception Score needs at least {IS_SPLITS} generated images ({IS_SPLITS} splits); got {n_gen}"
        skipped.update(dict.fromkeys(("is_mean", "is_std"), reason))
    else:
        skipped.update(dict.fromkeys(("is_mean", "is_std"), "no classifier features to score"))
    metrics = {KEYS.get(k, k): _finite_or_none(v) for k, v in out.items() if KEYS.get(k, k) in METRIC_KEYS}
    unavailable = {k: "the value came out non-finite (NaN or Inf)" for k, v in metrics.items() if v is None}
    for key, reason in skipped.items():
        metrics[key], unavailable[key] = None, reason
    return metrics, unavailable


def precision_recall(generated: Tensor, reference: Tensor) -> dict:
    """{"precision", "recall"} of Kynkaanniemi et al. 2019 (k = PRC_NEIGHBORHOOD) from features,
    torch-fidelity's computation: precision is the share of generated features inside the
    reference manifold, recall the share of reference features inside the generated one."""
    from torch_fidelity.metric_prc import KEY_METRIC_PRECISION, KEY_METRIC_RECALL, prc_features_to_metric

    # torch-fidelity's convention: features_1 is the generated input, features_2 the real one.
    out = prc_features_to_metric(
        generated, reference, prc_neighborhood=PRC_NEIGHBORHOOD, prc_batch_size=10000, save_cpu_ram=True, verbose=False
    )
    return {"precision": float(out[KEY_METRIC_PRECISION]), "recall": float(out[KEY_METRIC_RECALL])}


def cached_radii(reference: Tensor, path: Path) -> Tensor:
    """prdc.reference_radii of the reference features, kept in `path` (recomputed when missing
    or damaged; the name holds the reference's cache name, so a changed reference misses)."""
    try:
        radii = torch.load(path, weights_only=True)
        if isinstance(radii, Tensor) and radii.shape == (len(reference),):
            return radii
    except (OSError, RuntimeError, EOFError, ValueError):
        pass
    radii = prdc.reference_radii(reference)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(radii.cpu(), buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return radii


def kid_subset_size(n_gen: int, n_ref: int) -> int:
    """KID's subset size: 1,000, or all samples of the smaller side when there are fewer."""
    return min(KID_SUBSET_SIZE, n_gen, n_ref)


def extract_features(
    images_u8: Tensor, weights: InceptionWeights, batch_size: int = BATCH_SIZE, device="cpu"
) -> Tensor:
    """torch-fidelity's 2048-d Inception features (N, 2048) of uint8 images (for tests and parity checks)."""
    from torch_fidelity.utils import create_feature_extractor, get_featuresdict_from_dataset

    cuda = str(device).startswith("cuda")
    extractor = create_feature_extractor(
        FEATURE_EXTRACTOR, [FEATURE_LAYER], cuda=cuda, feature_extractor_weights_path=str(weights.path), verbose=False
    )
    feats = get_featuresdict_from_dataset(
        ImageTensorDataset(images_u8), extractor, batch_size, cuda, save_cpu_ram=True, verbose=False
    )
    return feats[FEATURE_LAYER]


def frechet_distance(features_a: Tensor, features_b: Tensor) -> float:
    """torch-fidelity's Frechet distance between the Gaussians fitted to two feature sets."""
    from torch_fidelity.metric_fid import fid_features_to_statistics

    stats_a = fid_features_to_statistics(features_a.double().cpu())
    stats_b = fid_features_to_statistics(features_b.double().cpu())
    return frechet_from_statistics(stats_a, stats_b)


def frechet_from_statistics(stats_a: dict, stats_b: dict) -> float:
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric

    return float(fid_statistics_to_metric(stats_a, stats_b, verbose=False)[KEY_METRIC_FID])


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
