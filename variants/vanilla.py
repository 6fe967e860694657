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
        # Checked against the authors' released config, goodfeli/adversarial mnist.yaml.
        departures=(
            "D: mnist.yaml:35-50 is maxout (2 layers of 240 units, 5 pieces) with dropout (mnist.yaml:73-80: input "
            "kept with p 0.8, hidden 0.5); ganbench's is the family's LeakyReLU MLP, no dropout",
            "lr: mnist.yaml:58, 90-93 decays 0.1 by 1/1.000004 per update down to 1e-6; ganbench keeps 0.1",
            "momentum: mnist.yaml:60, 100-105 rises from 0.5 to 0.7 by epoch 250; ganbench keeps 0.5",
            "z: mnist.yaml:9, 30 is 100-d uniform noise; ganbench draws N(0, I) at the dataset's z_dim",
            "batch: mnist.yaml:57 is 100; ganbench uses the dataset's batch (64 on MNIST)",
        ),
    )
)
