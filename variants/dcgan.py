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
    )
)
