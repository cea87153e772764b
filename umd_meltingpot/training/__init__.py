"""Training jobs: PPO followers (`followers.py`, with their rollout
environment `follower_env.py` and actor `follower_actor.py`), a learning
principal (`principal.py`, `adaptive_followers.py`), the grid search of fixed
schedules (`grid_search.py`), the best-response tables
(`best_response_table.py`) and what the jobs share (`common.py`)."""
