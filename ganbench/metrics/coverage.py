"""Mode coverage on the 2-D Gaussian mixtures (ring8, grid25).

The protocol of VEEGAN (Srivastava et al. 2017, Sec. 5.1) and PacGAN (Lin et al. 2018,
Sec. 5.1, Table 1), on 2,500 generated samples:

- a sample is *high quality* when it lies within 3 standard deviations of its nearest
  mode centre (||x - mu|| / sigma < 3, the components being isotropic);
- `modes`: the number of mixture components that are the nearest centre of at least one
  high-quality sample (higher is better; the maximum is the number of components);
- `hq_frac`: the share of all samples that are high quality (higher is better; real data
  scores 1 - exp(-9/2) = 0.989 in 2-D, the mass of a 2-D Gaussian within 3 sigma);
- `reverse_kl`: KL(q || p), q the generated frequencies over modes and p the true ones
  (uniform) (lower is better; 0 is perfect, log K when all samples sit on one mode).

Which samples enter q: the high-quality ones, each counted at its nearest mode, and q is
normalised over them. This is PacGAN's released evaluation code (its MetricLogger builds
one histogram of high-quality samples per mode and derives mode counts and divergences
from it), so `modes` and `reverse_kl` read the same histogram. Samples off every mode
lower `hq_frac`, not `reverse_kl`. With no high-quality sample q is undefined, and
`reverse_kl` is reported unavailable rather than given a value.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

HQ_SIGMAS = 3.0  # VEEGAN and PacGAN: "within three standard deviations"
PROTOCOL_SAMPLES = 2500  # VEEGAN and PacGAN score 2,500 samples


def nearest_modes(points: Tensor, centres: Tensor) -> tuple[Tensor, Tensor]:
    """(index of the nearest centre (N,), distance to it (N,)) in float64."""
    d = torch.cdist(points.double(), centres.double())  # (N, K)
    dist, idx = d.min(dim=1)
    return idx, dist


def mode_histogram(points: Tensor, centres: Tensor, sigma: float) -> tuple[Tensor, int]:
    """(high-quality samples per mode (K,), number of samples scored)."""
    finite = torch.isfinite(points).all(dim=1)  # a NaN sample is simply not high quality
    idx, dist = nearest_modes(points[finite], centres)
    hq = dist < HQ_SIGMAS * sigma
    counts = torch.bincount(idx[hq], minlength=len(centres))
    return counts, len(points)


def kl_to_uniform(counts: Tensor) -> float:
    """KL(q || uniform over len(counts) bins) for the histogram `counts`; nan when it is empty."""
    total = counts.sum().item()
    if total == 0:
        return math.nan
    q = counts.double() / total
    k = len(counts)
    nz = q > 0  # 0 log 0 = 0: missed modes add nothing to the reverse KL
    return float((q[nz] * (q[nz] * k).log()).sum().clamp_min(0.0))


def coverage_metrics(points: Tensor, centres: Tensor, sigma: float) -> tuple[dict, dict]:
    """(metrics, unavailable reasons) for generated 2-D `points` (N, 2) against the mixture."""
    if points.dim() != 2 or points.shape[1] != 2:
        raise ValueError(f"expected points of shape (N, 2), got {tuple(points.shape)}")
    counts, n = mode_histogram(points, centres, sigma)
    n_hq = int(counts.sum())
    out = {"modes": int((counts > 0).sum()), "hq_frac": n_hq / n if n else math.nan}
    unavailable = {}
    if n_hq == 0:
        out["reverse_kl"] = None
        unavailable["reverse_kl"] = "no high-quality sample, so the generated mode frequencies are undefined"
    else:
        out["reverse_kl"] = kl_to_uniform(counts)
    return out, unavailable


def protocol(n_samples: int, n_modes: int, sigma: float) -> dict:
    return {
        "samples": n_samples,
        "modes_total": n_modes,
        "sigma": sigma,
        "high_quality": f"||x - nearest centre|| < {HQ_SIGMAS:g} sigma",
        "reverse_kl": "KL(generated || uniform) over modes, high-quality samples only (PacGAN's evaluation code)",
        "citation": "Srivastava et al. 2017 (VEEGAN, arXiv:1705.07761); Lin et al. 2018 (PacGAN, arXiv:1712.04086)",
    }
