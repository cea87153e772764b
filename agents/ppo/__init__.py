"""PPO followers: parameter-shared actor-critic in JAX on Acme's interfaces.

  config.py       PPOConfig, every hyperparameter and its default
  features.py     the observation: parsed view, mechanism, agent id
  networks.py     PPONetworks and make_networks
  learning.py     PPOLearner (acme Learner + VariableSource)
  policy.py       PPOPolicy: a trained follower as a Melting Pot Policy

The PPO core they share with the RL principal (GAE, the loss, the update,
dense layers and pickle-free .npz checkpoints) is `umd_meltingpot/ppo/`.
Training wires them to games: `umd train followers`
(umd_meltingpot/training/followers.py), with the batched rollout actor
(`training/follower_actor.py`) and the games in worker processes
(`training/follower_env.py`). The public names
below load on first use, so importing the package (as the rollout workers
and the `umd` parser do) does not import JAX.
"""

import importlib
from typing import Any

_EXPORTS = {
    "Batch": "learning",
    "PPOConfig": "config",
    "PPOLearner": "learning",
    "PPONetworks": "networks",
    "PPOPolicy": "policy",
    "TrainingState": "learning",
    "make_networks": "networks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
  if name not in _EXPORTS:
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
  module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
  return getattr(module, name)
