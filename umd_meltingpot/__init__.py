"""umd-meltingpot: the Universal Mechanism Design game as a Melting Pot plugin.

Importing this package is cheap: Melting Pot (and with it TensorFlow) is only
imported by the modules that need it. It also keeps TensorFlow's start-up
messages off stderr (`quiet.py`; `UMD_VERBOSE=1` shows them).
"""

from umd_meltingpot.plumbing import quiet as _quiet

__version__ = "0.1.0"

_quiet.install()
