"""Non-saturating GAN with MLP nets.

Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville, Bengio.
"Generative Adversarial Nets". NeurIPS 2014. arXiv:1406.2661.
"""

from ganbench.losses import d_nonsaturating, g_nonsaturating
from ganbench.spec import Variant

from . import register_variant

VANILLA = register_variant(
    Variant(
        name="vanilla",
        paper="Goodfellow et al. 2014, Generative Adversarial Nets (arXiv:1406.2661)",
        arch="mlp",  # Sec. 5: MLP generator and discriminator
        d_loss=d_nonsaturating,
        g_loss=g_nonsaturating,  # Sec. 3: maximise log D(G(z)) instead of minimising log(1-D(G(z)))
        n_critic=1,  # Algorithm 1 uses k=1 in the experiments
        g_norm="none",  # 2014 predates BatchNorm
        d_norm="none",
        optimizer="sgd",  # Algorithm 1 and the paper's code: SGD with momentum
        lr_d=0.1,  # the paper's code (pylearn2 mnist.yaml): learning_rate 0.1, momentum 0.5
        lr_g=0.1,
        betas=(0.5, 0.0),  # SGD momentum 0.5 (the second value is unused by SGD)
        summary="non-saturating loss, MLPs, SGD with momentum",
    )
)
