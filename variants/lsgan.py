"""LSGAN: least-squares losses on the DCGAN nets.

Mao, Li, Xie, Lau, Wang, Smolley. "Least Squares Generative Adversarial Networks".
ICCV 2017. arXiv:1611.04076.
"""

from ganbench.losses import d_least_squares, g_least_squares
from ganbench.spec import Variant

from . import register_variant

LSGAN = register_variant(
    Variant(
        name="lsgan",
        paper="Mao et al. 2017, Least Squares GAN (arXiv:1611.04076)",
        arch="dcgan",
        d_loss=d_least_squares,  # Eq. 9 with the 0-1 coding: a=0 (fake), b=1 (real), c=1
        g_loss=g_least_squares,
        n_critic=1,
        g_norm="batch",
        d_norm="batch",
        optimizer="adam",
        lr_d=2e-4,  # Sec. 4.1: Adam, learning rate 0.0002 (0.001 only for the LSUN scenes)
        lr_g=2e-4,
        betas=(0.5, 0.999),  # Sec. 4.1: beta1 = 0.5
        summary="least-squares loss (a=0, b=1, c=1), DCGAN nets",
    )
)
