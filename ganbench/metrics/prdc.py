"""Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for
Generative Models"), on any features, in torch.

Each reference (real) feature r_i gets a ball of radius NND_k(r_i): the distance to its k-th
nearest neighbour among the other reference features (k = 5, the paper's choice). Then,
for M generated features f_j and N reference ones,

    density  = 1 / (k M) * sum_j #{i : |f_j - r_i| < NND_k(r_i)}     (fidelity; about 1 when
               generated and reference come from one distribution, may exceed 1)
    coverage = 1 / N * #{i : some j has |f_j - r_i| < NND_k(r_i)}     (diversity; at most 1)

exactly as in the authors' released code (clovaai/generative-evaluation-prdc): strict
inequalities, the k-th neighbour not counting the point itself. The radii depend only on
the reference, so callers compute them once (`reference_radii`) and cache them with the
reference statistics. Distances are float64 and taken in chunks, so 26,000 x 10,000 pairs
never sit in memory at once.
"""

from __future__ import annotations

import torch
from torch import Tensor

NEAREST_K = 5  # Naeem et al. 2020
CHUNK = 1024  # rows of a distance block: 1,024 x 10,000 float64 is 80 MB


def _as64(features) -> Tensor:
    x = torch.as_tensor(features)
    if x.dim() != 2:
        raise ValueError(f"expected features (N, D), got shape {tuple(x.shape)}")
    return x.to(torch.float64)


def reference_radii(reference, k: int = NEAREST_K) -> Tensor:
    """NND_k of each reference feature (N,): its distance to the k-th nearest other one."""
    ref = _as64(reference)
    if len(ref) <= k:
        raise ValueError(f"density/coverage need more than k = {k} reference features, got {len(ref)}")
    # kthvalue(k + 1): the smallest distance is the point to itself (0).
    return torch.cat([torch.cdist(chunk, ref).kthvalue(k + 1, dim=1).values for chunk in ref.split(CHUNK)])


def density_coverage(generated, reference, radii: Tensor | None = None, k: int = NEAREST_K) -> dict[str, float]:
    """{"density", "coverage"} of generated vs reference features (N, D) and (M, D); `radii`
    are `reference_radii(reference, k)`, computed here when not given."""
    gen, ref = _as64(generated), _as64(reference)
    if gen.shape[1] != ref.shape[1]:
        raise ValueError(f"feature sizes differ: {gen.shape[1]} generated, {ref.shape[1]} reference")
    if len(gen) == 0:
        raise ValueError("density/coverage need at least one generated feature")
    radii = reference_radii(ref, k) if radii is None else torch.as_tensor(radii, dtype=torch.float64)
    if radii.shape != (len(ref),):
        raise ValueError(f"expected {len(ref)} reference radii, got shape {tuple(radii.shape)}")
    inside = 0
    covered = torch.zeros(len(ref), dtype=torch.bool, device=ref.device)
    radii = radii.to(ref.device)
    for chunk in gen.split(CHUNK):
        within = torch.cdist(chunk.to(ref.device), ref) < radii  # (m, N): f_j inside r_i's ball
        inside += int(within.sum())
        covered |= within.any(dim=0)
    return {"density": inside / (k * len(gen)), "coverage": covered.double().mean().item()}
