"""DCGAN: the all-convolutional architecture with BatchNorm and the non-saturating loss.

Radford, Metz, Chintala. "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks". ICLR 2016. arXiv:1511.06434.
"""

from ganbench.losses import d_nonsaturating, g_nonsaturating
from ganbench.spec import Variant

from . import register_variant

DCGAN = register_variant(
    Variant(
        name="dcgan",
        paper="Radford et al. 2016, DCGAN (arXiv:1511.06434)",
        arch="dcgan",  # Sec. 3: strided convolutions, BatchNorm, ReLU in G, LeakyReLU in D
        d_loss=d_nonsaturating,  # binary cross-entropy on logits
        g_loss=g_nonsaturating,
        n_critic=1,
        g_norm="batch",
        d_norm="batch",
        optimizer="adam",
        lr_d=2e-4,  # Sec. 4: "learning rate of 0.0002"
        lr_g=2e-4,
        betas=(0.5, 0.999),  # Sec. 4: beta1 0.5 "helped stabilize training"
        summary="non-saturating BCE, conv nets with BatchNorm",
        # Checked against the authors' released code, Newmu/dcgan_code (mnist/train_cond_dcgan.py);
        # ganbench follows the PyTorch example's batch 64 and N(0, I) instead, an accepted alternative.
        departures=(
            "batch: mnist/train_cond_dcgan.py:37 nbatch 128; ganbench uses the dataset's batch (64), as the "
            "PyTorch DCGAN example does",
            "z: mnist/train_cond_dcgan.py:160 U(-1, 1); ganbench draws N(0, I), as the PyTorch example does",
            "weight decay: mnist/train_cond_dcgan.py:33, 133-134 L2 2.5e-5 on both nets; ganbench has none",
        ),
    )
)
