"""Where the Inception weights come from: the documented order and its one-line errors (no network)."""

import pytest
import torch

from ganbench.errors import DataUnavailable, RunError, UsageError
from ganbench.metrics import inception
from ganbench.metrics.inception_convert import conv_name_map, convert_state_dict, has_classifier


def fake_weights(path, classifier: bool):
    """A file with the two tensors `describe` looks at (no real network)."""
    fc = torch.ones(1008, 2048) if classifier else torch.zeros(1008, 2048)
    torch.save({"Mixed_7c.branch_pool.conv.weight": torch.zeros(1), "fc.weight": fc}, path)
    return path


@pytest.fixture
def no_offline_no_network(monkeypatch):
    monkeypatch.delenv(inception.WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(inception, "fid_helper_file", lambda: None)

    def offline(*a, **k):
        raise OSError("no route to host")

    monkeypatch.setattr(inception, "download_fidelity", offline)


def test_explicit_path_wins_and_is_identified(tmp_path, no_offline_no_network):
    w = inception.resolve_weights(fake_weights(tmp_path / "w.pth", classifier=True), tmp_path)
    assert w.source == "explicit" and w.has_classifier
    assert w.protocol()["md5"] == inception.md5_of(tmp_path / "w.pth")


def test_environment_variable_is_the_same_as_the_option(tmp_path, monkeypatch, no_offline_no_network):
    monkeypatch.setenv(inception.WEIGHTS_ENV, str(fake_weights(tmp_path / "env.pth", classifier=False)))
    w = inception.resolve_weights(None, tmp_path)
    assert w.path.name == "env.pth" and not w.has_classifier


def test_explicit_path_that_fails_is_an_error_not_a_fallback(tmp_path, no_offline_no_network):
    with pytest.raises(UsageError, match="is not a file"):
        inception.resolve_weights(tmp_path / "missing.pth", tmp_path)
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(RunError, match="could not be loaded"):
        inception.resolve_weights(tmp_path / "junk.pth", tmp_path)


def test_nothing_available_names_all_three_ways(tmp_path, no_offline_no_network):
    with pytest.raises(DataUnavailable) as err:
        inception.resolve_weights(None, tmp_path)
    msg = str(err.value)
    assert "\n" not in msg
    for part in ("--inception-weights", inception.WEIGHTS_ENV, "ganbench[offline]", "torch-fidelity download failed"):
        assert part in msg


def test_conversion_map_is_one_to_one_and_complete():
    mapping = conv_name_map()
    assert len(mapping) == 94 == len(set(mapping.values()))  # 94 convolutions in the 2015 Inception
    fake = {}
    for ts in mapping:
        fake.update({f"{ts}.weight": torch.zeros(2, 1, 1, 1), f"{ts}.beta": torch.ones(2)})
        fake.update({f"{ts}.mean": torch.zeros(2), f"{ts}.var": torch.ones(2)})
    state = convert_state_dict(fake)
    assert not has_classifier(state)  # zeros stand in for the missing classifier
    assert torch.equal(state["Mixed_7c.branch_pool.bn.weight"], torch.ones(2))  # TF BatchNorm has no scale
    fake["net.layers.extra.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match="unmapped"):
        convert_state_dict(fake)
