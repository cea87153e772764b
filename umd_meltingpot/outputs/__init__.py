"""What a run shows a person: the summary plots (`plots.py`), the episode
video (`video.py`) and its heads-up display (`hud.py`). Outputs read records
and observations; they drive nothing."""
