"""The one PPO core, in pure JAX: GAE, the clipped loss and the update
(`algorithm.py`), dense layers (`layers.py`) and pickle-free parameter and
optimiser checkpoints (`checkpoint.py`).

Both learners import it: the PPO followers (`agents/ppo/`) and the RL
principal (`principal/rl.py`). It knows neither.
"""
