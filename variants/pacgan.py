"""PacGAN: the discriminator judges m samples at once, concatenated (packing).

Lin, Khetan, Fanti, Oh. "PacGAN: The power of two samples in generative adversarial
networks". NeurIPS 2018. arXiv:1712.04086.

Packing is the paper's one change to a GAN, so each PacGAN here is ganbench's DCGAN
(non-saturating loss, its nets and optimiser) with `pack` = m: D's input is m real or m
generated samples concatenated along their first dimension, and one step feeds D
batch_size packed examples (ganbench/core/step.py). The paper's own 2-D and Stacked MNIST
settings (maxout D, Adam 1e-4 / 0.8, simultaneous updates, 2 G steps, ...) are the
protocols `pacgan-2d` and `pacgan-stacked-mnist` (ganbench/protocols/), not defaults here,
so that `run --all` compares packing against dcgan on the same nets.
"""

from ganbench.losses import d_nonsaturating, g_nonsaturating
from ganbench.spec import Variant

from . import register_variant


def _pacgan(m: int) -> Variant:
    return Variant(
        name=f"pacgan{m}",
        paper="Lin et al. 2018, PacGAN (arXiv:1712.04086)",
        arch="dcgan",  # the paper's Stacked MNIST and CelebA runs pack a DCGAN (Sec. 4.2-4.3)
        # fjxmlzn/PacGAN stacked_MNIST_experiments/VEEGAN_experiment/model.py:128-133 (sigmoid
        # cross-entropy, G maximises log D(G(z))); synthetic_data_experiments/PacGAN/pacgan/bricks.py:69-72
        d_loss=d_nonsaturating,
        g_loss=g_nonsaturating,
        n_critic=1,
        g_norm="batch",
        d_norm="batch",
        optimizer="adam",
        lr_d=2e-4,  # VEEGAN_experiment/config.py:10-11: 2e-4, beta1 0.5 (as dcgan)
        lr_g=2e-4,
        betas=(0.5, 0.999),
        pack=m,  # VEEGAN_experiment/config.py:32 packing_num [1, 2, 3, 4]
        summary=f"dcgan with packing: D judges {m} samples concatenated",
        departures=(
            "packs ganbench's dcgan nets and settings; the paper's per-experiment settings are the protocols "
            "pacgan-2d and pacgan-stacked-mnist",
        ),
    )


PACGAN2 = register_variant(_pacgan(2))
PACGAN4 = register_variant(_pacgan(4))
