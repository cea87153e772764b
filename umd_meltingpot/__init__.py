"""umd-meltingpot: the Universal Mechanism Design game as a Melting Pot plugin.

Importing this package is cheap: Melting Pot (and with it TensorFlow) is only
imported by the modules that need it.
"""

__version__ = "0.1.0"
