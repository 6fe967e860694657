"""What real data scores under each metric: the ceiling a run's numbers are read against.

    GANBENCH_DATA=/path/with/MNIST python scripts/reference_figures.py [--inception-samples 1000]

Prints a Markdown table (the one in docs/metrics.md). Every number comes from the same
functions a run's evaluation uses, on real samples in place of generated ones:
- 2-D: 2,500 points drawn from each mixture (seed 1), scored by the coverage metrics;
- MNIST: the classifier metrics of the test split against itself and of the training
  split against the test split; Inception FID/KID/PR of the first N training images
  against the first N test images, with the offline weights (N = --inception-samples;
  Inception runs at a few images per second on a CPU; 0 skips it);
- Stacked MNIST: 26,000 stacked test images (the mode protocol's count) and 10,000
  stacked training images against the 10,000-image reference.
"""

from __future__ import annotations

import argparse
import time

import torch

from ganbench.data import data_root, default_cache_dir
from ganbench.data.mnist import load_split
from ganbench.data.stacked_mnist import MODE_SAMPLES, N_REFERENCE, REFERENCE_SEED, TRAIN_SEED, stack
from ganbench.data.toy2d import GRID25, RING8, draw
from ganbench.metrics.classes import class_metrics, reference_statistics
from ganbench.metrics.classifier import classify
from ganbench.metrics.coverage import coverage_metrics


def row(data: str, what: str, metrics: dict, keys: tuple[str, ...]) -> str:
    shown = ", ".join(f"{k} {_fmt(metrics[k])}" for k in keys)
    return f"| {data} | {what} | {shown} |"


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:.4f}" if abs(v) < 100 else f"{v:.1f}"


def points_rows() -> list[str]:
    rows = []
    for spec in (RING8, GRID25):
        data = spec.load(None, torch.device("cpu"), None)
        centres, sigma = data.extras["centres"], data.extras["sigma"]
        points = draw(centres, sigma, 2500, torch.Generator().manual_seed(1))
        m, _ = coverage_metrics(points, centres, sigma)
        rows.append(row(spec.name, "2,500 real samples (seed 1)", m, ("modes", "hq_frac", "reverse_kl")))
    return rows


def mnist_rows(root, inception_samples: int) -> list[str]:
    x_test, y_test = load_split(root, train=False)
    x_train, _ = load_split(root, train=True)
    probs, _ = classify(x_test)
    acc = (probs.argmax(1) == y_test).double().mean().item()
    ref = reference_statistics(x_test)
    keys = ("modes", "kl_uniform", "mnist_is", "mnist_fid")
    test_self, _ = class_metrics(x_test, ref)
    rows = [
        f"| mnist | classifier accuracy on the test split | {acc:.2%} |",
        row("mnist", "test split (10,000) vs itself", test_self, keys),
    ]
    for n in (10_000, 60_000):
        m, _ = class_metrics(x_train[:n], ref)
        rows.append(row("mnist", f"first {n:,} training images vs test (10,000)", m, keys))
    if inception_samples:
        rows.append(inception_row(x_train[:inception_samples], x_test[:inception_samples]))
    return rows


def inception_row(train_u8, test_u8) -> str:
    from ganbench.metrics.fidelity import inception_metrics
    from ganbench.metrics.inception import resolve_weights

    weights = resolve_weights()
    t0 = time.perf_counter()
    m, _ = inception_metrics(train_u8, test_u8, weights, reference_name=None, cache_dir=default_cache_dir())
    what = f"Inception, first {len(train_u8):,} training vs first {len(test_u8):,} test images ({weights.source})"
    print(f"(Inception took {time.perf_counter() - t0:.0f}s; weights md5 {weights.md5})")
    return row("mnist", what, m, ("fid", "kid_mean", "kid_std", "precision", "recall"))


def stacked_rows(root) -> list[str]:
    x_test, y_test = load_split(root, train=False)
    x_train, y_train = load_split(root, train=True)
    reference, _ = stack(x_test, y_test, N_REFERENCE, REFERENCE_SEED)
    real_test, _ = stack(x_test, y_test, MODE_SAMPLES, seed=1)
    real_train, _ = stack(x_train, y_train, N_REFERENCE, TRAIN_SEED)
    ref = reference_statistics(reference)
    m_test, _ = class_metrics(real_test, None)
    m_train, _ = class_metrics(real_train, ref)
    return [
        row(
            "stacked-mnist",
            f"{MODE_SAMPLES:,} stacked test images (seed 1)",
            m_test,
            ("modes", "kl_uniform", "mnist_is"),
        ),
        row("stacked-mnist", f"{N_REFERENCE:,} stacked training images vs reference", m_train, ("modes", "mnist_fid")),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", default=None, help="folder holding MNIST/raw (default: $GANBENCH_DATA)")
    ap.add_argument("--inception-samples", type=int, default=1000, help="images per side for Inception FID; 0 skips")
    args = ap.parse_args()
    root = data_root(args.data_root)
    t0 = time.perf_counter()
    rows = points_rows() + mnist_rows(root, args.inception_samples) + stacked_rows(root)
    print("| data | real samples | scores |")
    print("| --- | --- | --- |")
    print("\n".join(rows))
    print(f"({time.perf_counter() - t0:.0f}s, torch {torch.__version__}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
