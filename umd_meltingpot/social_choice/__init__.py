"""Social choice and welfare: the types Θ (`preferences.py`), the social
choice rules f (`voting.py`) and the welfare objectives O (`welfare.py`).

Pure Python and NumPy over `pref_voting`: this layer knows no game.
"""
