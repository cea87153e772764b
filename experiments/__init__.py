"""Experiments built on umd_meltingpot: run from a checkout, never installed.

Each module here measures something on the library (its own learners,
training loops and summaries) and is driven by a script in `benchmarks/`.
The library never imports this package, and `setup.py` does not ship it.
See README.md beside this file.
"""
