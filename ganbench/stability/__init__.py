"""Stability regression checks: baselines from finished runs, and checks against them.

baseline.py   build a baseline document from results.collect() rows, write it atomically
schema.py     read a baseline back and validate it (one-line errors)
tolerance.py  slack per metric: max(k * std over seeds, floor); pyproject and CLI overrides
compare.py    verdicts per (dataset, variant, metric) and the text table
check.py      run_check(): rerun or read the runs, refuse other protocols, judge
junit.py      verdicts as JUnit XML for CI
"""
