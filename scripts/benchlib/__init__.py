"""What the benchmark scripts in scripts/ share; not part of the installed package.

    reference.py  the tutorial-style PyTorch loop every speed figure is a ratio against:
                  its nets, its losses (a table keyed by loss name) and its penalty
    common.py     the clock, each side's torch settings, and the flags, environment header
                  and JSON file that every bench script has

One script per measurement: bench_step.py (one run's step, core against the reference) and
bench_suite.py (a whole `ganbench run` suite against the reference run by run).

The scripts import it as `benchlib` (Python puts a script's own folder first on sys.path);
pytest does the same for the tests (pythonpath in pyproject.toml).
"""
