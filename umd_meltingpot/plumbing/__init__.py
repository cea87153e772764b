"""Plumbing that every layer may use and that imports none of them: run
folders and atomic writes (`runs.py`), statistics (`stats.py`), the one
checkpoint format (`checkpoint_format.py`) and the game a checkpoint names
(`trained_game.py`), config validation (`validation.py`), parallel tasks
(`parallel.py`), lazy imports (`lazy.py`), quiet start-up (`quiet.py`) and
where the Lua levels are (`paths.py`)."""
