"""What fidelity.py adds around torch-fidelity, checked without Inception (runs everywhere, fast)."""

import numpy as np
import pytest
import torch

from ganbench.metrics.fidelity import (
    ImageTensorDataset,
    frechet_distance,
    kid_subset_size,
    reference_cache_name,
    to_uint8,
    to_uint8_rgb,
)
from ganbench.metrics.inception import InceptionWeights


def test_generated_range_maps_to_uint8_like_a_png():
    x = torch.tensor([-1.0, -0.999, 0.0, 0.5, 1.0, 1.7, -3.0]).view(1, 1, 1, 7)
    assert to_uint8(x).flatten().tolist() == [0, 0, 128, 191, 255, 255, 0]  # round((x + 1) * 127.5), clipped


def test_real_images_survive_the_round_trip_exactly():
    u8 = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    assert torch.equal(to_uint8(u8.float() / 127.5 - 1), u8)


def test_grayscale_is_repeated_to_three_channels():
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    rgb = to_uint8_rgb(x)
    assert rgb.shape == (4, 3, 28, 28) and rgb.dtype == torch.uint8
    assert torch.equal(rgb[:, 0], rgb[:, 2])
    assert len(ImageTensorDataset(to_uint8(x))) == 4 and ImageTensorDataset(to_uint8(x))[1].shape == (3, 28, 28)
    with pytest.raises(ValueError, match="uint8"):
        ImageTensorDataset(x)


def gaussian_features(seed, n=400, d=32, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g) / d**0.5
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ mix.double() + shift


def test_frechet_identical_zero_symmetric_and_equal_to_scipy():
    import scipy.linalg

    a, b = gaussian_features(0), gaussian_features(1, shift=0.3)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    ab = frechet_distance(a, b)
    assert ab == pytest.approx(frechet_distance(b, a), rel=1e-9)
    # The TTUR formula with scipy's matrix square root, independent of torch-fidelity's eigenvalues.
    an, bn = a.numpy(), b.numpy()
    s1, s2 = np.cov(an, rowvar=False), np.cov(bn, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = ((an.mean(0) - bn.mean(0)) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)
    assert ab == pytest.approx(expected, rel=1e-6)
    assert ab > 32 * 0.3**2 * 0.5  # the mean shift alone contributes about d * 0.09


def test_kid_subset_size_shrinks_to_the_smaller_side():
    assert kid_subset_size(10_000, 10_000) == 1000
    assert kid_subset_size(500, 10_000) == 500


def test_reference_cache_name_carries_split_count_images_and_weights():
    w = InceptionWeights(path=None, md5="0123456789abcdef" * 2, source="explicit", has_classifier=False)
    ref = torch.zeros(10, 3, 8, 8, dtype=torch.uint8)
    name = reference_cache_name("stacked-mnist", "Stacked MNIST from the test split (10 images)", ref, w)
    assert "/" not in name and "-n10-d" in name and name.endswith("-w0123456789ab")
    assert name != reference_cache_name("mnist", "MNIST test split (10 images)", ref, w)
    # Two folders whose paths slug alike, or one folder whose images changed, must not share
    # cached features: the images' digest is part of the name.
    other = ref.clone()
    other[0, 0, 0, 0] = 1
    name_ab = reference_cache_name("folder:a/b", "split", ref, w)
    assert name_ab != reference_cache_name("folder:a-b", "split", other, w)
    assert name_ab == reference_cache_name("folder:a/b", "split", ref.clone(), w)
    assert len(reference_cache_name("folder:" + "x/" * 200, "split", ref, w)) < 150  # a long path: still a file name
