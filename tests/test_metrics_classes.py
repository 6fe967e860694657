"""The shipped MNIST classifier and the class-based metrics, on real MNIST and Stacked MNIST."""

import math
import shutil

import pytest
import torch
from metrics_helpers import mnist_root, mnist_split

from ganbench.errors import RunError
from ganbench.metrics import classifier
from ganbench.metrics.classes import class_metrics, joint_classes, joint_log_probs, per_channel, reference_statistics
from ganbench.metrics.classifier import SHA256_PATH, WEIGHTS_PATH, classify
from ganbench.metrics.digest import sha256_of


def test_weights_ship_in_the_package_small_and_hashed():
    assert WEIGHTS_PATH.is_file() and WEIGHTS_PATH.stat().st_size < 2_000_000
    assert SHA256_PATH.read_text().split()[0] == sha256_of(WEIGHTS_PATH)


def test_corrupt_weights_are_refused(tmp_path, monkeypatch):
    bad = tmp_path / WEIGHTS_PATH.name
    shutil.copy(WEIGHTS_PATH, bad)
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    monkeypatch.setattr(classifier, "WEIGHTS_PATH", bad)
    classifier.load_classifier.cache_clear()
    try:
        with pytest.raises(RunError, match="corrupt"):
            classifier.load_classifier("cpu")
    finally:
        classifier.load_classifier.cache_clear()


def test_joint_classes_and_log_probs_of_three_channels():
    probs = torch.full((2, 3, 10), 0.01)
    digits = torch.tensor([[7, 0, 3], [0, 9, 9]])
    probs.scatter_(2, digits[:, :, None], 0.91)
    assert joint_classes(probs).tolist() == [703, 99]
    logp = joint_log_probs(probs)  # (2, 1000)
    assert logp.shape == (2, 1000)
    assert logp.exp().sum(dim=1).tolist() == pytest.approx([1.0, 1.0])
    assert logp.argmax(dim=1).tolist() == [703, 99]  # first channel is the most significant digit


def test_collapsed_generator_scores_badly_without_data():
    images = torch.zeros(200, 1, 28, 28, dtype=torch.uint8)  # all blank: one predicted class
    m, _ = class_metrics(images, None)
    assert m["modes"] == 1
    assert sum(m["class_counts"]) == 200 and sorted(m["class_counts"])[-1] == 200  # every sample in one class
    assert m["kl_uniform"] == pytest.approx(math.log(10))
    assert m["mnist_is"] == pytest.approx(1.0, abs=1e-6)  # identical predictions: KL 0, exp(0) = 1
    assert m["mnist_fid"] is None
    assert m["mnist_density"] is None and m["mnist_coverage"] is None  # no reference: no k-NN balls


@pytest.fixture(scope="module")
def mnist_reference_stats():
    """Classifier statistics of the 10,000 real test images (the MNIST reference)."""
    return reference_statistics(mnist_split(train=False)[0])


@pytest.mark.mnist
def test_classifier_accuracy_on_the_real_test_set():
    x, y = mnist_split(train=False)
    probs, feats = classify(x)
    accuracy = (probs.argmax(1) == y).double().mean().item()
    assert accuracy >= 0.993, accuracy
    assert feats.shape == (10_000, 128)


@pytest.mark.mnist
def test_real_mnist_test_images_cover_all_digits(mnist_reference_stats):
    x, _ = mnist_split(train=False)
    m, unavailable = class_metrics(x, mnist_reference_stats)
    assert m["modes"] == 10
    # The predicted histogram is within a few dozen images of the true one.
    true_counts = torch.bincount(mnist_split(train=False)[1], minlength=10)
    assert (torch.tensor(m["class_counts"]) - true_counts).abs().max() < 40
    assert m["kl_uniform"] < 0.01  # the test set's class frequencies are close to uniform (8.9% to 11.4%)
    assert m["mnist_is"] > 9
    assert m["mnist_fid"] == pytest.approx(0.0, abs=1e-6)  # identical sets
    # Identical sets: each image in its own k = 5 ball and in 4 neighbours' (duplicates aside).
    assert m["mnist_density"] == pytest.approx(1.0, abs=0.01) and m["mnist_coverage"] == 1.0
    assert unavailable == {}


@pytest.mark.mnist
def test_mnist_fid_separates_real_from_collapsed(mnist_reference_stats):
    x_train, y_train = mnist_split(train=True)
    ref = mnist_reference_stats
    real, _ = class_metrics(x_train[:5000], ref)
    ones, _ = class_metrics(x_train[:5000][y_train[:5000] == 1], ref)
    # The estimate is biased upwards at small n (like FID): 5,000 real training images score ~2.
    assert 0 < real["mnist_fid"] < 5.0
    assert ones["mnist_fid"] > 100 * real["mnist_fid"]
    assert ones["modes"] <= 3 and ones["kl_uniform"] > 2.0 and ones["mnist_is"] < 1.5
    # Density and coverage on the classifier features: real digits look real and cover the
    # reference (5,000 against 10,000: 1 - (2/3)^5 = 0.87 for one distribution); the ones look
    # real (density) but cover about a tenth of it.
    assert real["mnist_density"] == pytest.approx(1.0, abs=0.15) and real["mnist_coverage"] > 0.75
    assert ones["mnist_density"] > 0.5 and ones["mnist_coverage"] < 0.2


@pytest.mark.mnist
def test_real_stacked_mnist_covers_nearly_all_modes():
    from ganbench.data.stacked_mnist import load

    data = load(mnist_root(), torch.device("cpu"), limit=64)
    probs, _ = per_channel(data.reference[:2000])
    agree = (joint_classes(probs) == data.extras["reference_modes"][:2000]).double().mean().item()
    assert agree > 0.97  # all three digits right: about accuracy ** 3
    m, _ = class_metrics(data.reference, None)  # 10,000 stacked test images
    assert m["modes"] >= 990  # 10,000 uniform draws from 1,000 modes miss 0.05 of them on average
    assert m["kl_uniform"] < 0.1  # multinomial noise alone is about 999 / (2 * 10,000) = 0.05
    assert m["mnist_is"] > 800
