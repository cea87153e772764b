"""PPO configuration: the one place for the followers' hyperparameters.

`umd train` turns every field into a flag (`--learning-rate`, ...), with the
docstring under each field as its help. The learner, actor and networks take
explicit arguments built from this dataclass and never see it. Each field
declares its valid values (`umd_meltingpot.plumbing.validation`), checked
when the config is made; `check_batch` checks the one that depends on the
game.
"""

import dataclasses

from umd_meltingpot.plumbing import validation

OBSERVATIONS = ("symbolic", "rgb")

_POSITIVE_INT = validation.integer(ge=1)
_POSITIVE = validation.number(gt=0)
_UNIT = validation.number(ge=0, le=1)
_WEIGHT = validation.number(ge=0)


def _boolean(value):
  if not isinstance(value, bool):  # 1 or "yes" in a config is a mistake.
    raise TypeError(value)
  return value


_BOOL = validation.Check("true or false", _boolean)


@dataclasses.dataclass(frozen=True)
class PPOConfig(validation.Validated):
  """Hyperparameters of parameter-shared PPO followers (IPPO).

  Attributes are documented one by one below.
  """
  observation: str = validation.checked("symbolic",
                                         validation.one_of(OBSERVATIONS))
  """What the network sees: symbolic (the 11x11 view parsed into cell
  classes, one-hot) or rgb (the 88x88 view through a small CNN)."""
  condition_on_mechanism: bool = validation.checked(False, _BOOL)
  """Also see the bracket position: the rates and the player's marginal rate
  over max_rate and its income over each bracket edge, so one network can
  respond to every phi (train it with --principal random). Off, the network
  sees the raw rates only, as the shipped ppo follower does."""
  observe_skill: bool = validation.checked(False, _BOOL)
  """Also see the player's own SKILL (the value of its apple; 1.0 in an
  equal economy), last in the vector input, so one network can respond to
  its place in an unequal economy (umd_apple_harvest__unequal). Off, SKILL
  is ignored."""
  hidden_size: int = validation.checked(128, _POSITIVE_INT)
  """Units in each hidden layer of the actor and of the critic MLP."""
  num_hidden_layers: int = validation.checked(2, _POSITIVE_INT)
  """Hidden layers of the actor and of the critic MLP."""
  max_agents: int = validation.checked(16, _POSITIVE_INT)
  """Size of the agent-id one-hot input; players beyond it wrap around."""
  num_workers: int = validation.checked(2, validation.integer(ge=0))
  """Worker processes stepping the substrates (0: in this process)."""
  envs_per_worker: int = validation.checked(4, _POSITIVE_INT)
  """Substrate instances per worker (or in-process when num_workers is 0)."""
  unroll_length: int = validation.checked(128, _POSITIVE_INT)
  """HARVEST steps of every substrate instance per update."""
  num_epochs: int = validation.checked(4, _POSITIVE_INT)
  """Passes over each rollout batch per update."""
  num_minibatches: int = validation.checked(4, _POSITIVE_INT)
  """Minibatches per epoch; must divide unroll_length * envs * players."""
  learning_rate: float = validation.checked(5e-4, _POSITIVE)
  """Adam step size."""
  adam_epsilon: float = validation.checked(1e-5, _POSITIVE)
  """Adam's epsilon."""
  max_grad_norm: float = validation.checked(0.5, _POSITIVE)
  """Gradients are clipped to this global norm."""
  discount: float = validation.checked(0.99, _UNIT)
  """gamma, the per-step discount."""
  gae_lambda: float = validation.checked(0.95, _UNIT)
  """lambda of generalised advantage estimation."""
  clip_epsilon: float = validation.checked(0.2, _POSITIVE)
  """PPO's ratio clip: ratios outside 1 +- epsilon earn no gradient."""
  entropy_cost: float = validation.checked(0.01, _WEIGHT)
  """Weight of the policy entropy bonus."""
  value_cost: float = validation.checked(0.5, _WEIGHT)
  """Weight of the value loss."""

  @property
  def num_envs(self) -> int:
    """Substrate instances in all."""
    return max(self.num_workers, 1) * self.envs_per_worker

  def check_batch(self, num_players: int) -> None:
    """Checks that the minibatches split the batch of `num_players`-player
    games evenly.

    Raises:
      ValueError: num_minibatches does not divide unroll_length * envs *
        players.
    """
    batch = self.unroll_length * self.num_envs * num_players
    if batch % self.num_minibatches:
      validation.fail(
          "num_minibatches",
          f"a divisor of the batch of unroll_length * envs * players = "
          f"{batch} samples", self.num_minibatches)
