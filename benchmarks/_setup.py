"""The benchmarks' preamble: each benchmark imports it first.

*   Keeps TensorFlow's and absl's start-up lines off stderr, as `umd` does:
    importing `umd_meltingpot` installs `plumbing/quiet.py`'s filter, which
    has to come before anything imports Melting Pot (and with it
    TensorFlow). `UMD_VERBOSE=1` shows them.
*   One XLA thread, as `umd train` runs JAX (set before JAX starts; an
    explicit XLA_FLAGS wins), so that a benchmark that trains or acts with
    JAX measures what the command does.
*   The repository root on `sys.path`, for `experiments/` (not installed).

This folder itself is on `sys.path` already: as `sys.path[0]` when a
benchmark runs as a script, and through `benchmarks/__init__.py` when the
tests import one as `benchmarks.<name>`.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""The repository root."""

os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
if ROOT not in sys.path:
  sys.path.append(ROOT)

# pylint: disable-next=g-import-not-at-top,unused-import,wrong-import-position
import umd_meltingpot
