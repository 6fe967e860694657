"""2-D mode coverage (PacGAN/VEEGAN protocol) on crafted samples with known answers."""

import math

import pytest
import torch

from ganbench.data.toy2d import GRID25, RING8, draw, grid_centres, ring_centres
from ganbench.metrics.coverage import HQ_SIGMAS, coverage_metrics, kl_to_uniform

CASES = {"ring8": (ring_centres(), 0.01), "grid25": (grid_centres(), 0.05)}


def on_every_mode(centres: torch.Tensor, n: int = 2500) -> torch.Tensor:
    """n points exactly on the centres, equally many per mode (n divisible by the mode count)."""
    return centres.repeat(n // len(centres), 1)


@pytest.mark.parametrize("name", CASES)
def test_points_on_every_mode(name):
    centres, sigma = CASES[name]
    m, unavailable = coverage_metrics(on_every_mode(centres), centres, sigma)
    assert m["modes"] == len(centres)
    assert m["hq_frac"] == 1.0
    assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    assert unavailable == {}


@pytest.mark.parametrize("name", CASES)
def test_everything_on_one_mode(name):
    centres, sigma = CASES[name]
    points = centres[3].repeat(2500, 1)
    m, _ = coverage_metrics(points, centres, sigma)
    assert m["modes"] == 1
    assert m["hq_frac"] == 1.0
    assert m["reverse_kl"] == pytest.approx(math.log(len(centres)))  # KL(delta || uniform) = log K


@pytest.mark.parametrize("name", CASES)
def test_points_far_from_every_mode(name):
    centres, sigma = CASES[name]
    points = torch.full((2500, 2), 100.0)
    m, unavailable = coverage_metrics(points, centres, sigma)
    assert m["modes"] == 0
    assert m["hq_frac"] == 0.0
    assert m["reverse_kl"] is None
    assert "no high-quality sample" in unavailable["reverse_kl"]


def test_three_sigma_boundary_and_mixed_quality():
    centres, sigma = CASES["ring8"]
    inside = centres[0] + torch.tensor([HQ_SIGMAS * sigma * 0.99, 0.0])
    outside = centres[0] + torch.tensor([HQ_SIGMAS * sigma * 1.01, 0.0])
    far = torch.tensor([0.0, 0.0])  # the ring's centre: radius 1 = 100 sigma from every mode
    points = torch.stack([inside, outside, far, centres[1]])
    m, _ = coverage_metrics(points, centres, sigma)
    assert m["hq_frac"] == 0.5  # inside and centres[1]
    assert m["modes"] == 2
    assert m["reverse_kl"] == pytest.approx(math.log(4))  # two equally used modes out of 8: log(8/2)


def test_unbalanced_histogram_matches_hand_computation():
    centres, sigma = CASES["grid25"]
    counts = [3, 1] + [0] * 23
    points = torch.cat([centres[i].repeat(c, 1) for i, c in enumerate(counts) if c])
    m, _ = coverage_metrics(points, centres, sigma)
    q = [0.75, 0.25]
    assert m["reverse_kl"] == pytest.approx(sum(p * math.log(p * 25) for p in q))


def test_non_finite_points_are_not_high_quality():
    centres, sigma = CASES["ring8"]
    points = torch.cat([on_every_mode(centres, 8), torch.full((8, 2), float("nan"))])
    m, _ = coverage_metrics(points, centres, sigma)
    assert m["modes"] == 8 and m["hq_frac"] == 0.5


@pytest.mark.parametrize("spec", [RING8, GRID25], ids=lambda s: s.name)
def test_real_samples_score_the_ceiling(spec):
    data = spec.load(None, torch.device("cpu"), None)
    points = draw(data.extras["centres"], data.extras["sigma"], 2500, torch.Generator().manual_seed(0))
    m, _ = coverage_metrics(points, data.extras["centres"], data.extras["sigma"])
    assert m["modes"] == len(data.extras["centres"])
    # A 2-D Gaussian holds 1 - exp(-4.5) = 98.9% of its mass within 3 sigma.
    assert m["hq_frac"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert 0 <= m["reverse_kl"] < 0.02


def test_kl_to_uniform_empty_is_nan():
    assert math.isnan(kl_to_uniform(torch.zeros(5, dtype=torch.long)))
