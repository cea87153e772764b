"""The RL principal's options (`rl.RLConfig`), in a module of their own.

`umd train principal --help` builds a flag per option; `rl` imports JAX,
which takes seconds that reading the options should not cost.
"""

import dataclasses
from typing import Any

from umd_meltingpot.plumbing import validation
from umd_meltingpot.principal import learning

_POSITIVE = validation.number(gt=0)
_WEIGHT = validation.number(ge=0)
_UNIT = validation.number(ge=0, le=1)
_ROUNDS = validation.integer(ge=0)


@dataclasses.dataclass(frozen=True)
class RLConfig(validation.Validated):
  """Parameters of the RL principal; every default lives here.

  Attributes:
    hidden_sizes: units of each tanh hidden layer, of the policy and of the
      value network alike (separate networks), positive integers.
    learning_rate: Adam's step size, > 0.
    max_grad_norm: gradients are clipped to this global norm, > 0.
    update_every: complete steps (rounds) per PPO update, an integer >= 1.
    num_epochs: full-batch gradient steps per update, an integer >= 1.
    clip_epsilon: ε of PPO's clipped ratio, > 0.
    discount: γ over the rounds of a game, in [0, 1].
    gae_lambda: λ of generalised advantage estimation, in [0, 1].
    value_cost: the weight of the value loss, >= 0.
    entropy_start: the entropy coefficient at round 0, >= 0.
    entropy_end: the entropy coefficient after the annealing, >= 0.
    entropy_anneal_rounds: rounds over which the coefficient moves linearly
      from `entropy_start` to `entropy_end`, an integer >= 0 (0: always
      `entropy_end`).
    tax_cap_start: the maximum rate at round 0, in [0, 1], as a fraction of
      the game's `max_rate`.
    anneal_rounds: rounds over which the maximum rate rises linearly from
      `tax_cap_start` to 1, an integer >= 0 (0: no cap).
    init_log_std: the initial log σ of the pre-squash Gaussian, finite.
    min_log_std: the smallest log σ used, finite.
    max_log_std: the largest log σ used, finite, > min_log_std.
    reward_clip: normalised rewards are clipped to ±reward_clip, > 0.
    income_scale: income (apples per player per round) that maps to feature
      1 under log(1 + x) / log(1 + scale), > 0.
    apples_scale: apples alive that map to feature 1 likewise, > 0.
    horizon: the round-progress feature is min(round_index / horizon, 1);
      τ of the game is a good value, an integer >= 1.
    seed: seeds the principal's JAX key, an integer >= 0.
  """

  hidden_sizes: tuple[int, ...] = validation.checked(
      (32, 32), validation.tuple_of(validation.integer(ge=1)))
  learning_rate: float = validation.checked(3e-3, _POSITIVE)
  max_grad_norm: float = validation.checked(1.0, _POSITIVE)
  update_every: int = validation.checked(4, validation.integer(ge=1))
  num_epochs: int = validation.checked(4, validation.integer(ge=1))
  clip_epsilon: float = validation.checked(0.2, _POSITIVE)
  discount: float = validation.checked(0.9, _UNIT)
  gae_lambda: float = validation.checked(0.95, _UNIT)
  value_cost: float = validation.checked(0.5, _WEIGHT)
  entropy_start: float = validation.checked(0.05, _WEIGHT)
  entropy_end: float = validation.checked(0.001, _WEIGHT)
  entropy_anneal_rounds: int = validation.checked(500, _ROUNDS)
  tax_cap_start: float = validation.checked(0.1, _UNIT)
  anneal_rounds: int = validation.checked(500, _ROUNDS)
  init_log_std: float = validation.checked(-0.5, validation.number())
  min_log_std: float = validation.checked(-5.0, validation.number())
  max_log_std: float = validation.checked(1.0, validation.number())
  reward_clip: float = validation.checked(5.0, _POSITIVE)
  income_scale: float = validation.checked(100.0, _POSITIVE)
  apples_scale: float = validation.checked(200.0, _POSITIVE)
  horizon: int = validation.checked(5, validation.integer(ge=1))
  seed: int = validation.checked(0, learning.SEED)

  def __post_init__(self):
    super().__post_init__()
    if not self.max_log_std > self.min_log_std:
      validation.fail("max_log_std",
                      f"a finite number > min_log_std ({self.min_log_std})",
                      self.max_log_std)

  def to_json(self) -> dict[str, Any]:
    """The fields as JSON-able values (tuples become lists)."""
    config = dataclasses.asdict(self)
    config["hidden_sizes"] = list(self.hidden_sizes)
    return config
