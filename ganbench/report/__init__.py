"""Reporting: run directories in, tables, figures and one HTML page out; never trains.

results.py  run directories -> one DataFrame row per run (config, status, metrics)
tables.py   aggregates over seeds and renders them (markdown, csv, latex, html)
plots.py    matplotlib figures from DataFrames
figures.py  every comparison figure of an output folder
page.py     the self-contained HTML report
tb.py       TensorBoard event files: a RunOptions observer while training, or export afterwards
"""
