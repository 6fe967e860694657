"""Class-based metrics from the shipped MNIST classifier, for MNIST and Stacked MNIST.

- `modes`: classes predicted for at least one generated sample (higher is better; 10 for
  MNIST, 1,000 for Stacked MNIST, where a class is the digit triple (R, G, B) and each
  channel is classified on its own, as in VEEGAN and PacGAN).
- `kl_uniform`: KL(q || uniform), q the histogram of predicted classes (lower is better;
  0 when every class is equally frequent, log 10 = 2.30 / log 1000 = 6.91 at total collapse).
- `mnist_is`: the Inception-Score formula exp(E_x KL(p(y|x) || p(y))) (Salimans et al.
  2016) with this classifier, computed by torch-fidelity over all samples in one split
  (higher is better; at most 10, or 1,000 for Stacked MNIST, where p(y|x) is the product of
  the three channels' predictions).
- `mnist_fid`: the Frechet distance (torch-fidelity's) between Gaussians fitted to the
  classifier's 128-d penultimate features of generated and reference images (lower is
  better); for Stacked MNIST the three channels' features are concatenated (384-d).
- `mnist_density`, `mnist_coverage`: density and coverage (Naeem et al. 2020, k = 5;
  prdc.py) on the same classifier features, against the reference's (both higher is
  better; coverage at most 1, density about 1 for samples like the reference).
Inputs are uint8 images: generated samples are quantised first, exactly like the reference.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .classifier import N_CLASSES, classify
from .coverage import kl_to_uniform
from .fidelity import frechet_from_statistics
from .prdc import NEAREST_K, density_coverage, reference_radii

IS_SPLITS = 1  # one split over all samples: the least biased estimate of the formula


def per_channel(images_u8: Tensor, device: str = "cpu") -> tuple[Tensor, Tensor]:
    """Classify every channel of (N, C, 28, 28) as its own digit: (probs (N, C, 10), feats (N, C*128))."""
    n, c = images_u8.shape[:2]
    probs, feats = classify(images_u8.reshape(n * c, 1, *images_u8.shape[-2:]), device)
    return probs.view(n, c, N_CLASSES), feats.view(n, -1)


def joint_classes(probs: Tensor) -> Tensor:
    """Class index of each sample from its channels' argmax digits: sum_c digit_c * 10^(C-1-c)."""
    c = probs.shape[1]
    weights = torch.tensor([10 ** (c - 1 - i) for i in range(c)])
    return (probs.argmax(dim=2) * weights).sum(dim=1)


def joint_log_probs(probs: Tensor) -> Tensor:
    """log p(y|x) over the 10^C joint classes (N, 10^C): channels are predicted independently."""
    logp = probs.clamp_min(1e-300).log()  # (N, C, 10)
    out = logp[:, 0]
    for ch in range(1, probs.shape[1]):
        out = (out[:, :, None] + logp[:, ch, None, :]).flatten(1)  # (N, 10^(ch+1)), first channel most significant
    return out


def classifier_is(probs: Tensor) -> float:
    """torch-fidelity's Inception-Score formula on the classifier's predictions."""
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, isc_features_to_metric

    # The formula takes logits; log-probabilities are logits whose softmax is the prediction.
    out = isc_features_to_metric(joint_log_probs(probs), splits=IS_SPLITS, shuffle=False)
    return float(out[KEY_METRIC_ISC_MEAN])


def feature_statistics(features: Tensor) -> dict:
    from torch_fidelity.metric_fid import fid_features_to_statistics

    return fid_features_to_statistics(features.double())


def class_metrics(generated_u8: Tensor, reference_stats: dict | None, device: str = "cpu") -> tuple[dict, dict]:
    """(metrics, unavailable reasons) for generated uint8 images (N, C, 28, 28); C = 1 (MNIST) or 3 (Stacked)."""
    probs, feats = per_channel(generated_u8, device)
    n_classes = N_CLASSES ** probs.shape[1]
    counts = torch.bincount(joint_classes(probs), minlength=n_classes)
    out = {"modes": int((counts > 0).sum()), "kl_uniform": kl_to_uniform(counts), "mnist_is": classifier_is(probs)}
    if n_classes <= 10:
        # The histogram itself, for the class-histogram plot (not a ranked metric).
        out["class_counts"] = counts.tolist()
    unavailable = {}
    if reference_stats is None or len(feats) < 2:
        out["mnist_fid"] = None
        unavailable["mnist_fid"] = "needs at least 2 generated samples and a reference"
    else:
        value = frechet_from_statistics(feature_statistics(feats), reference_stats)
        out["mnist_fid"] = value if math.isfinite(value) else None
        if out["mnist_fid"] is None:
            unavailable["mnist_fid"] = "the Frechet distance came out non-finite"
    out.update(dict.fromkeys(PRDC_KEYS))
    if reference_stats is None or "features" not in reference_stats or len(reference_stats["features"]) <= NEAREST_K:
        unavailable.update(dict.fromkeys(PRDC_KEYS, f"needs a reference of more than {NEAREST_K} images (k = 5)"))
    elif len(feats):
        ref = torch.as_tensor(reference_stats["features"]).to(device)
        dc = density_coverage(feats.to(device), ref, torch.as_tensor(reference_stats["radii"]))
        out.update({f"mnist_{k}": v for k, v in dc.items()})
    return out, unavailable


PRDC_KEYS = ("mnist_density", "mnist_coverage")


def reference_statistics(reference_u8: Tensor, device: str = "cpu") -> dict:
    """Of the classifier features of the reference images: their Gaussian statistics (mu,
    sigma) for mnist_fid, and the features with their k = 5 radii for density/coverage."""
    _, feats = per_channel(reference_u8, device)
    stats = feature_statistics(feats)
    if len(feats) > NEAREST_K:
        stats.update(features=feats.numpy(), radii=reference_radii(feats).numpy())
    return stats
