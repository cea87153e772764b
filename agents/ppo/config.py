"""PPO configuration: the one place for the followers' hyperparameters.

`umd train` turns every field into a flag (`--learning-rate`, ...), with the
docstring under each field as its help. The learner, actor and networks take
explicit arguments built from this dataclass and never see it.
"""

import dataclasses

OBSERVATIONS = ("symbolic", "rgb")


@dataclasses.dataclass(frozen=True)
class PPOConfig:
  """Hyperparameters of parameter-shared PPO followers (IPPO).

  Attributes are documented one by one below; `validate` checks them.
  """
  observation: str = "symbolic"
  """What the network sees: symbolic (the 11x11 view parsed into cell
  classes, one-hot) or rgb (the 88x88 view through a small CNN)."""
  hidden_size: int = 128
  """Units in each hidden layer of the actor and of the critic MLP."""
  num_hidden_layers: int = 2
  """Hidden layers of the actor and of the critic MLP."""
  max_agents: int = 16
  """Size of the agent-id one-hot input; players beyond it wrap around."""
  num_workers: int = 2
  """Worker processes stepping the substrates (0: in this process)."""
  envs_per_worker: int = 4
  """Substrate instances per worker (or in-process when num_workers is 0)."""
  unroll_length: int = 128
  """HARVEST steps of every substrate instance per update."""
  num_epochs: int = 4
  """Passes over each rollout batch per update."""
  num_minibatches: int = 4
  """Minibatches per epoch; must divide unroll_length * envs * players."""
  learning_rate: float = 5e-4
  """Adam step size."""
  adam_epsilon: float = 1e-5
  """Adam's epsilon."""
  max_grad_norm: float = 0.5
  """Gradients are clipped to this global norm."""
  discount: float = 0.99
  """gamma, the per-step discount."""
  gae_lambda: float = 0.95
  """lambda of generalised advantage estimation."""
  clip_epsilon: float = 0.2
  """PPO's ratio clip: ratios outside 1 +- epsilon earn no gradient."""
  entropy_cost: float = 0.01
  """Weight of the policy entropy bonus."""
  value_cost: float = 0.5
  """Weight of the value loss."""

  @property
  def num_envs(self) -> int:
    """Substrate instances in all."""
    return max(self.num_workers, 1) * self.envs_per_worker

  def validate(self, num_players: int) -> None:
    """Checks every field, for `num_players` players per substrate.

    Raises:
      ValueError: a field out of range, naming the valid values.
    """
    if self.observation not in OBSERVATIONS:
      raise ValueError(f"observation must be one of {OBSERVATIONS}, got "
                       f"{self.observation!r}")
    positive = ("hidden_size", "num_hidden_layers", "max_agents",
                "envs_per_worker", "unroll_length", "num_epochs",
                "num_minibatches")
    for name in positive:
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
    if self.num_workers < 0:
      raise ValueError(f"num_workers must be >= 0, got {self.num_workers}")
    for name in ("learning_rate", "adam_epsilon", "max_grad_norm",
                 "clip_epsilon"):
      if not getattr(self, name) > 0:
        raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
    for name in ("discount", "gae_lambda"):
      if not 0.0 <= getattr(self, name) <= 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1], got {getattr(self, name)}")
    for name in ("entropy_cost", "value_cost"):
      if not getattr(self, name) >= 0:
        raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
    batch = self.unroll_length * self.num_envs * num_players
    if batch % self.num_minibatches:
      raise ValueError(
          f"num_minibatches ({self.num_minibatches}) must divide the batch "
          f"of unroll_length * envs * players = {batch} samples")
