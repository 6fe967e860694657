"""What the benchmark scripts in scripts/ share; not part of the installed package.

    reference.py  the tutorial-style PyTorch loop every speed figure is a ratio against:
                  its nets, its losses (a table keyed by loss name) and its penalty

The scripts import it as `benchlib` (Python puts a script's own folder first on sys.path);
the tests put scripts/ on sys.path to do the same.
"""
