"""Density and coverage (prdc.py), and precision/recall through the features path that the
Inception metrics take (fidelity.metrics_from_features): crafted features, no Inception."""

import numpy as np
import pytest
import torch

from ganbench.metrics import fidelity, prdc


def gaussian(n, d, seed, scale=1.0, shift=0.0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale + shift


def naeem_density_coverage(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    """compute_prdc of clovaai/generative-evaluation-prdc (density and coverage), in numpy."""

    def pairwise(a, b):
        return np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0))

    real_real = pairwise(real, real)
    radii = np.partition(real_real, k, axis=-1)[:, k]  # get_kth_value(..., k + 1).max(): the k-th other point
    real_fake = pairwise(real, fake)
    density = (1.0 / k) * (real_fake < radii[:, None]).sum(axis=0).mean()
    coverage = (real_fake.min(axis=1) < radii).mean()
    return float(density), float(coverage)


@pytest.mark.parametrize("shift, scale", [(0.0, 1.0), (0.7, 1.0), (0.0, 0.3), (0.0, 2.5)])
def test_density_and_coverage_match_the_authors_formula(shift, scale):
    real, fake = gaussian(300, 8, 0), gaussian(250, 8, 1, scale=scale, shift=shift)
    expected = naeem_density_coverage(real.numpy(), fake.numpy(), k=5)
    got = prdc.density_coverage(fake, real, k=5)
    assert (got["density"], got["coverage"]) == pytest.approx(expected, abs=1e-12)
    # Cached radii give the same numbers, and small chunks change nothing.
    radii = prdc.reference_radii(real)
    assert prdc.density_coverage(fake, real, radii=radii) == got


def test_real_and_fake_from_one_gaussian_score_density_1_and_coverage_1_minus_half_to_the_k():
    # Naeem et al. 2020, section 4: for identical distributions E[density] = 1 and, for
    # N = M large, E[coverage] = 1 - (1/2)^k (0.969 for k = 5).
    real, fake = gaussian(2000, 16, 2), gaussian(2000, 16, 3)
    got = prdc.density_coverage(fake, real)
    assert got["density"] == pytest.approx(1.0, abs=0.06)
    assert got["coverage"] == pytest.approx(1 - 0.5**5, abs=0.015)


def test_a_collapsed_generator_has_low_coverage_and_an_outlier_free_one_no_inflated_density():
    real = gaussian(500, 8, 4)
    collapsed = real[:3].repeat(100, 1)  # 300 copies of three real points
    m = prdc.density_coverage(collapsed, real)
    assert m["coverage"] < 0.05 and m["density"] > 0.5
    far = gaussian(300, 8, 5, shift=10.0)  # off the real support
    assert prdc.density_coverage(far, real) == {"density": 0.0, "coverage": 0.0}


def test_radii_skip_the_point_itself_and_too_few_references_are_refused():
    line = torch.arange(10, dtype=torch.float64)[:, None]  # 0, 1, ..., 9 on a line
    assert prdc.reference_radii(line, k=2)[[0, 5, 9]].tolist() == [2.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="more than k = 5"):
        prdc.reference_radii(line[:5])


def feature_dicts(generated, reference):
    return {fidelity.FEATURE_LAYER: generated.float()}, {fidelity.FEATURE_LAYER: reference.float()}


def test_precision_recall_from_features_are_present_and_the_right_way_round():
    """torch-fidelity 0.3.0 dropped precision/recall without a word, and swapping the inputs
    swaps the two numbers: both would fail here."""
    reference = gaussian(400, 16, 6)
    # Collapsed onto a few reference points: every sample is real-looking, little is covered.
    collapsed = reference[:5].repeat(40, 1) + 1e-3 * gaussian(200, 16, 7)
    metrics, unavailable = fidelity.metrics_from_features(*feature_dicts(collapsed, reference))
    assert set(fidelity.METRIC_KEYS) <= set(metrics)
    assert {k for k, v in metrics.items() if v is None} == {"is_mean", "is_std"} == set(unavailable)
    assert metrics["precision"] > 0.9 and metrics["recall"] < 0.1
    assert metrics["density"] > 0.5 and metrics["coverage"] < 0.1
    # Broad but off the manifold: it covers every reference point, few samples look real.
    broad = gaussian(400, 16, 8, scale=4.0)
    metrics, _ = fidelity.metrics_from_features(*feature_dicts(broad, reference))
    assert metrics["precision"] < 0.1 and metrics["recall"] > 0.9
    assert metrics["density"] < 0.1
    assert metrics["fid"] > 0 and metrics["kid_mean"] > 0


def test_too_few_features_make_the_k_nn_metrics_unavailable_with_a_reason():
    metrics, unavailable = fidelity.metrics_from_features(*feature_dicts(gaussian(3, 4, 9), gaussian(5, 4, 10)))
    assert metrics["precision"] is None and "more than 3 images" in unavailable["precision"]
    assert metrics["density"] is None and "more than 5 reference images" in unavailable["coverage"]
    assert metrics["fid"] is not None


def test_reference_radii_are_cached_beside_the_reference_features(tmp_path, monkeypatch):
    reference = gaussian(50, 4, 11)
    path = tmp_path / "ref-prdc-k5.pt"
    first = fidelity.cached_radii(reference, path)
    assert path.is_file() and torch.equal(first, prdc.reference_radii(reference))
    monkeypatch.setattr(prdc, "reference_radii", lambda *a, **k: pytest.fail("recomputed"))
    assert torch.equal(fidelity.cached_radii(reference, path), first)
