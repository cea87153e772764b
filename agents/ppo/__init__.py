"""PPO followers: parameter-shared actor-critic in JAX on Acme's interfaces.

  config.py       PPOConfig, every hyperparameter and its default
  features.py     the observation: parsed view, mechanism, agent id
  algorithm.py    the PPO core: GAE, the loss, the update (also the RL
                  principal's)
  layers.py       dense layers and MLPs
  networks.py     PPONetworks and make_networks
  learning.py     PPOLearner (acme Learner + VariableSource)
  actor.py        PPOActor (acme Actor), batched; the rollout iterator
  environment.py  HarvestEnv / VectorEnv: the games, in worker processes
  policy.py       PPOPolicy: a trained follower as a Melting Pot Policy
  checkpoint.py   pickle-free .npz checkpoints

`umd train` (umd_meltingpot/train.py) wires them together. The public names
below load on first use, so importing the package (as the rollout workers
and the `umd` parser do) does not import JAX.
"""

import importlib
from typing import Any

_EXPORTS = {
    "Batch": "learning",
    "PPOActor": "actor",
    "PPOConfig": "config",
    "PPOLearner": "learning",
    "PPONetworks": "networks",
    "PPOPolicy": "policy",
    "TrainingState": "algorithm",
    "make_networks": "networks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
  if name not in _EXPORTS:
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
  module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
  return getattr(module, name)
