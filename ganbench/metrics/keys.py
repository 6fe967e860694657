"""The ranked metric keys every evaluator writes, and which way each is better.

A leaf (no imports): the tables rank by it, the stability check tolerates by it, and the
protocol registry (ganbench/protocols) checks each published number's metric against it.
"""

HIGHER, LOWER = "higher", "lower"
# Metrics not listed here (stds, losses) are shown but never ranked.
DIRECTIONS: dict[str, str] = {
    "fid": LOWER,
    "kid_mean": LOWER,
    "precision": HIGHER,
    "recall": HIGHER,
    "density": HIGHER,  # Naeem et al. 2020: about 1 for samples like the reference, may exceed 1
    "coverage": HIGHER,
    "is_mean": HIGHER,
    "modes": HIGHER,  # metrics/coverage.py (2-D), metrics/classes.py (Stacked MNIST)
    "hq_frac": HIGHER,  # a fraction in [0, 1], not a percentage
    "reverse_kl": LOWER,
    "kl_uniform": LOWER,
    "mnist_is": HIGHER,
    "mnist_fid": LOWER,
    "mnist_density": HIGHER,
    "mnist_coverage": HIGHER,
}
