"""WGAN-GP: Wasserstein loss with a gradient penalty on the critic.

Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville. "Improved Training of Wasserstein GANs".
NeurIPS 2017. arXiv:1704.00028.
"""

from ganbench.losses import d_wasserstein, g_wasserstein, gradient_penalty
from ganbench.spec import Variant

from . import register_variant

WGAN_GP = register_variant(
    Variant(
        name="wgan-gp",
        paper="Gulrajani et al. 2017, Improved Training of Wasserstein GANs (arXiv:1704.00028)",
        arch="dcgan",
        d_loss=d_wasserstein,
        g_loss=g_wasserstein,
        n_critic=5,  # Algorithm 1: n_critic = 5
        d_penalty=gradient_penalty,
        penalty_weight=10.0,  # Algorithm 1: lambda = 10
        g_norm="batch",
        # Sec. 4: no BatchNorm in the critic (the penalty is per sample); layer
        # normalisation is the paper's recommended drop-in replacement.
        d_norm="layer",
        optimizer="adam",
        lr_d=1e-4,  # Algorithm 1: alpha = 0.0001
        lr_g=1e-4,
        betas=(0.0, 0.9),  # Algorithm 1: beta1 = 0, beta2 = 0.9
        summary="Wasserstein loss + gradient penalty 10, 5 critic steps, layer-norm critic",
        # Checked against the authors' released code, igul222/improved_wgan_training.
        departures=(
            "betas: (0, 0.9) is the paper's and gan_64x64.py:542-544's; its MNIST code gan_mnist.py:150-159 uses "
            "(0.5, 0.9)",
            "norms: gan_mnist.py:60-61, 89-95 (MODE wgan-gp) has no normalisation in either net; ganbench's G has "
            "BatchNorm and its critic layer norm",
            "G step noise: gan_mnist.py:57, 104 draws fresh z for every G update; ganbench reuses the last critic "
            "batch's z (fresh_g_noise=False)",
        ),
        # The authors' released toy code (gan_toy.py) uses LAMBDA = 0.1 for the 2-D
        # mixtures ("smaller lambda seems to help for toy tasks specifically"); with 10
        # the generator spreads over the whole ring instead of onto its modes.
        points_overrides={"penalty_weight": 0.1},
    )
)
