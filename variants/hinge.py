"""Hinge loss with a spectrally normalised discriminator (SN-GAN).

Miyato, Kataoka, Koyama, Yoshida. "Spectral Normalization for Generative Adversarial
Networks". ICLR 2018. arXiv:1802.05957. The hinge loss is Eq. 16-17 there (after Lim &
Ye 2017 and Tran et al. 2017).
"""

from ganbench.losses import d_hinge, g_hinge
from ganbench.spec import Variant

from . import register_variant

HINGE = register_variant(
    Variant(
        name="hinge",
        paper="Miyato et al. 2018, Spectral Normalization for GANs (arXiv:1802.05957)",
        arch="dcgan",  # the paper's "standard CNN" is a DCGAN-style net
        d_loss=d_hinge,
        g_loss=g_hinge,
        n_critic=1,  # Table 1, setting C: n_dis = 1
        g_norm="batch",  # SN is applied to D only; G keeps BatchNorm
        d_norm="spectral",  # every D layer spectrally normalised; one power iteration per training-mode forward
        optimizer="adam",
        lr_d=2e-4,  # Table 1, setting C: alpha = 0.0002
        lr_g=2e-4,
        betas=(0.5, 0.999),  # Table 1, setting C: beta1 = 0.5, beta2 = 0.999
        summary="hinge loss, spectrally normalised D",
        # Checked against the SN-GAN authors' released code: their hinge runs
        # (pfnet-research/sngan_projection) and their setting-C runs (pfnet-research/chainer-gan-lib).
        departures=(
            "settings: the authors pair setting C (Adam 2e-4, (0.5, 0.999), 1 D step) with the non-saturating loss "
            "(chainer-gan-lib); their hinge runs use Adam 2e-4, (0, 0.9), 5 D steps "
            "(sngan_projection configs/sn_cifar10_unconditional.yml:36-47); ganbench mixes hinge with setting C",
        ),
    )
)
