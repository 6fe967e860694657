"""Stacked MNIST: three independently drawn digits as channels, built deterministically."""

import pytest
import torch
from metrics_helpers import mnist_root

from ganbench.data import get_dataset_spec
from ganbench.data.stacked_mnist import MODE_SAMPLES, N_REFERENCE, load, stack


def test_stack_draws_each_channel_from_the_source_with_its_label():
    images = torch.arange(20, dtype=torch.uint8).view(20, 1, 1, 1).expand(20, 1, 28, 28).contiguous()
    labels = torch.arange(20) % 10
    stacked, modes = stack(images, labels, 500, seed=3)
    assert stacked.shape == (500, 3, 28, 28) and stacked.dtype == torch.uint8
    source = stacked[:, :, 0, 0].long()  # which source image each channel copied
    assert torch.equal(stacked, images[source.flatten(), 0].view(500, 3, 28, 28))
    assert torch.equal(modes, (labels[source] * torch.tensor([100, 10, 1])).sum(1))
    assert len(set(source[:, 0].tolist())) == 20  # every source image is used in a channel
    again, _ = stack(images, labels, 500, seed=3)
    assert torch.equal(stacked, again)
    other, _ = stack(images, labels, 500, seed=4)
    assert not torch.equal(stacked, other)


def test_registered_after_mnist():
    spec = get_dataset_spec("stacked-mnist")
    assert spec.kind == "images" and spec.batch_size == 64 and spec.z_dim == 100


@pytest.mark.mnist
def test_load_is_deterministic_and_a_limit_keeps_a_prefix():
    root = mnist_root()
    small = load(root, torch.device("cpu"), limit=32)
    larger = load(root, torch.device("cpu"), limit=64)
    assert small.train.shape == (32, 3, 28, 28)
    assert small.train.min() >= -1 and small.train.max() <= 1
    assert torch.equal(small.train, larger.train[:32])
    assert small.reference.shape == (N_REFERENCE, 3, 28, 28) and small.reference.dtype == torch.uint8
    assert torch.equal(small.reference, larger.reference)
    assert small.extras["mode_samples"] == MODE_SAMPLES == 26_000
    assert len(torch.unique(small.extras["reference_modes"])) > 990


class CountingSampler:
    """Samples blank images and records how many were asked for."""

    def __init__(self):
        self.asked = []

    def sample(self, n, generator=None):
        self.asked.append(n)
        return torch.zeros(n, 3, 28, 28)


def test_modes_are_counted_on_26000_samples_and_the_table_states_both_counts(monkeypatch):
    from types import SimpleNamespace

    from ganbench.data import Dataset
    from ganbench.metrics import evaluate as evaluate_module
    from ganbench.metrics.evaluate import EvalSettings, evaluate
    from ganbench.report.results import protocol_fields

    scored = []
    # The names as the evaluator holds them (imported at the top of metrics/evaluate.py).
    monkeypatch.setattr(
        evaluate_module, "class_metrics", lambda images, stats, device: scored.append(len(images)) or ({}, {})
    )
    monkeypatch.setattr(evaluate_module, "classifier_reference_stats", lambda data, cache, device: None)
    data = Dataset(
        name="stacked-mnist",
        kind="images",
        shape=(3, 28, 28),
        device=torch.device("cpu"),
        reference=torch.zeros(4, 3, 28, 28, dtype=torch.uint8),
        reference_split="stub",
        extras={"mode_samples": MODE_SAMPLES},
    )
    cfg = SimpleNamespace(eval_samples=500, eval_seed=0, device="cpu")
    trainer = CountingSampler()
    record = evaluate(trainer, data, cfg, EvalSettings(inception=False))
    assert trainer.asked == [26_000] and scored == [26_000] == [MODE_SAMPLES]
    assert record["protocol"]["classifier"]["samples"] == 26_000
    assert protocol_fields(record["protocol"], {}, {})["eval_samples"] == 26_000
    # With Inception on, FID & co. score --eval-samples of them: the table says both.
    protocol = dict(record["protocol"], inception={"enabled": True, "samples": 500})
    assert protocol_fields(protocol, {}, {})["eval_samples"] == "500 (Inception), 26000 (classifier)"
    protocol["classifier"] = dict(protocol["classifier"], samples=500)  # MNIST: one count
    assert protocol_fields(protocol, {}, {})["eval_samples"] == 500
