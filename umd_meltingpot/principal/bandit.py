"""Bandit principals: UCB1 and Thompson sampling over moves in the δ-ball.

The principal treats each round as one pull of a multi-armed bandit whose
arms are *moves* from the schedule in force, φ_prev:

- "stay" (φ_prev itself);
- "up<j>" / "down<j>": raise or lower bracket j's rate by `step`;
- "all_up" / "all_down": raise or lower every rate by `step`;

so a game with k brackets has 2k + 3 arms. The move on one bracket is
min(step, δ), and every candidate is projected with `divergence.project` onto
{φ : D(φ_prev, φ) ≤ δ} ∩ [0, m]^k (m the game's `max_rate`), so the proposal is already feasible for the
wrapper's δ and D (for L1 and L2, "all_up" is shrunk onto the ball; at the
edge of the box a move may coincide with "stay").

**Reward.** Because arms are moves relative to φ_prev, an arm's worth depends
on where it starts; the objective value itself would credit a move with the
level of wherever the principal happened to be. The reward of a pull is
therefore the *improvement* of the objective over the round before,
O_t - O_{t-1}, which is about ∇O(φ_prev)·move locally and changes slowly as φ
moves. A pull is credited only when the previous round was the round just
before, in the same game (round_index one less), and was played under the
same objective: a change of objective or a new game gives no baseline, and
that round's value only becomes the baseline of the next.

**Normalisation.** Objectives differ in scale (a sum of apples against a
minimum), so each improvement is divided by a robust scale of the last
1000 improvements under that objective (1.4826 × the median absolute
deviation, a consistent estimate of a Gaussian's standard deviation), then
clipped to ±`reward_clip`. Statistics are kept separately per objective name,
since the vote may change the objective between rounds.

**Drift.** The gradient changes as φ moves and the followers adapt, so the
statistics are discounted by `discount` at every credited pull, as in
discounted UCB (Garivier & Moulines 2011, "On upper-confidence bound policies
for switching bandit problems", ALT). `discount = 1` gives the stationary
algorithms.

**Selection.**

- "ucb": UCB1 (Auer, Cesa-Bianchi & Fischer 2002, "Finite-time analysis of
  the multiarmed bandit problem", Machine Learning 47): every arm is pulled
  once, then the arm maximising mean_a + c √(2 ln N / n_a), with n_a the
  (discounted) pulls of arm a and N their sum.
- "thompson": Thompson sampling (Thompson 1933, Biometrika 25) with the
  Gaussian prior of Agrawal & Goyal (2013, "Further optimal regret bounds for
  Thompson sampling", AISTATS): each arm's mean reward has prior
  N(prior_mean, prior_variance); normalised rewards are treated as having
  unit noise variance, so the posterior after n_a pulls summing to s_a is
  N((prior_mean / prior_variance + s_a) / P_a, 1 / P_a) with
  P_a = 1 / prior_variance + n_a. The arm with the largest sample is pulled.

Ties are broken uniformly at random. All randomness comes from one
`np.random.Generator` per objective, seeded from `BanditConfig.seed` and the
objective's name, so an objective's choices do not depend on which other
objectives were voted before it.

UCB1 first tries each of the 2k + 3 arms once per objective, a game or two
of rounds with k = 3; the statistics live in the object, so reuse it across
games to keep learning. Usage:

  principal = BanditPrincipal(BanditConfig(algorithm="thompson", seed=1),
                              delta=0.1, divergence="linf")
  proposal = principal.propose(observation, "egalitarian")  # Feasible.
  principal.update(feedback)
  checkpoint = principal.state_dict()   # arrays + JSON-able values
"""

import collections
import dataclasses
import math
from typing import Any, Mapping, NamedTuple, Optional, Sequence

import numpy as np

from umd_meltingpot.plumbing import checkpoint_format
from umd_meltingpot.plumbing import validation
from umd_meltingpot.principal import base
from umd_meltingpot.principal import divergence as divergence_lib
from umd_meltingpot.principal import learning

ALGORITHMS: tuple[str, ...] = ("thompson", "ucb")

# 1 / Φ^{-1}(3/4): scales the median absolute deviation to a Gaussian's σ.
_MAD_TO_SIGMA = 1.4826
# The scale is estimated on this many recent improvements, so that it
# follows the objective's drift and costs O(1) per round in a long run.
_SCALE_WINDOW = 1000


@dataclasses.dataclass(frozen=True)
class BanditConfig(validation.Validated):
  """Parameters of the bandit principal.

  Attributes:
    algorithm: "ucb" (UCB1) or "thompson" (Gaussian Thompson sampling).
    step: the absolute change of a rate that one move makes on a bracket,
      > 0; capped at δ, so with δ = 0.25 the default moves 0.1 and with
      δ = 0.05 it moves 0.05.
    exploration: c in the index mean + c √(2 ln N / n), a finite number
      >= 0; 1 is UCB1's own index (rewards are normalised to about unit
      scale).
    discount: γ in (0, 1]: the weight of past pulls is multiplied by γ at
      every credited pull (1: no forgetting).
    prior_mean: Thompson sampling's prior mean of a normalised reward.
    prior_variance: Thompson sampling's prior variance, > 0.
    reward_clip: normalised rewards are clipped to [-reward_clip,
      reward_clip], > 0, so that one outlier round cannot dominate.
    seed: seeds the principal's generators, an integer >= 0.
  """

  algorithm: str = validation.checked("ucb", validation.one_of(ALGORITHMS))
  step: float = validation.checked(0.1, validation.number(gt=0))
  exploration: float = validation.checked(1.0, validation.number(ge=0))
  discount: float = validation.checked(0.9, validation.number(gt=0, le=1))
  prior_mean: float = validation.checked(0.0, validation.number())
  prior_variance: float = validation.checked(1.0, validation.number(gt=0))
  reward_clip: float = validation.checked(3.0, validation.number(gt=0))
  seed: int = validation.checked(0, learning.SEED)


def arm_names(num_brackets: int) -> tuple[str, ...]:
  """The names of the 2k + 3 arms, in the order of `arm_moves`."""
  per_bracket = [f"{sign}{j}" for j in range(num_brackets)
                 for sign in ("up", "down")]
  return ("stay", *per_bracket, "all_up", "all_down")


def arm_moves(num_brackets: int) -> np.ndarray:
  """The unit moves of the arms, shape [2k + 3, k] (see `arm_names`)."""
  moves = [np.zeros(num_brackets)]
  for j in range(num_brackets):
    unit = np.zeros(num_brackets)
    unit[j] = 1.0
    moves += [unit, -unit]
  moves += [np.ones(num_brackets), -np.ones(num_brackets)]
  return np.stack(moves)


def robust_scale(values: np.ndarray) -> float:
  """A robust estimate of the spread of `values`, > 0.

  1.4826 × the median absolute deviation; when that is 0 (more than half of
  the values are equal) the mean absolute deviation from the median, then
  the mean absolute value, then 1.
  """
  values = np.asarray(values, dtype=np.float64)
  if values.size == 0:
    return 1.0
  deviations = np.abs(values - np.median(values))
  for scale in (_MAD_TO_SIGMA * np.median(deviations), np.mean(deviations),
                np.mean(np.abs(values))):
    if scale > 0.0:
      return float(scale)
  return 1.0


class ArmStatistics(NamedTuple):
  """A snapshot of one objective's bandit statistics.

  Attributes:
    pulls: the discounted number of credited pulls of each arm, [arms].
    reward_sums: the discounted sum of normalised rewards of each arm.
    improvements: the raw improvements credited, oldest first (at most the
      last 1000, on which the normalisation's scale is estimated).
    last_value: the objective value of the last round under this objective.
    last_round: that round's index (None before any round).
  """

  pulls: np.ndarray
  reward_sums: np.ndarray
  improvements: tuple[float, ...]
  last_value: Optional[float]
  last_round: Optional[int]

  @property
  def means(self) -> np.ndarray:
    """The mean normalised reward of each arm (0 for an arm never pulled)."""
    return np.divide(self.reward_sums, self.pulls,
                     out=np.zeros_like(self.reward_sums),
                     where=self.pulls > 0)


@dataclasses.dataclass
class _ObjectiveState:
  """The mutable statistics of one objective."""
  rng: np.random.Generator
  pulls: np.ndarray
  reward_sums: np.ndarray
  improvements: collections.deque[float] = dataclasses.field(
      default_factory=lambda: collections.deque(maxlen=_SCALE_WINDOW))
  last_value: Optional[float] = None
  last_round: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class _Pull:
  """The arm chosen at the last proposal, awaiting its round's feedback."""
  objective: str
  arm: int


class BanditPrincipal(learning.LearningPrincipal[BanditConfig,
                                                 _ObjectiveState]):
  """UCB1 or Thompson sampling over moves inside the δ-ball (see module).

  Frozen (`set_learning(False)`), it takes the move with the best mean
  reward if that mean is positive, else stays.
  """

  config_class = BanditConfig
  array_keys = ("pulls", "reward_sums", "improvements")
  # The arm pulled by `propose`, awaiting `update`; not checkpointed.
  _pending: Optional[_Pull] = None

  def statistics(self, objective: str) -> Optional[ArmStatistics]:
    """A copy of `objective`'s statistics; None if it was never seen."""
    state = self._states.get(objective)
    if state is None:
      return None
    return ArmStatistics(
        pulls=state.pulls.copy(), reward_sums=state.reward_sums.copy(),
        improvements=tuple(state.improvements),
        last_value=state.last_value, last_round=state.last_round)

  def candidates(self, previous_rates: np.ndarray,
                 max_rate: float = 1.0) -> np.ndarray:
    """The feasible schedule each arm would propose, shape [arms, k].

    Args:
      previous_rates: φ_prev, shape [k], inside [0, max_rate]^k.
      max_rate: the game's cap on rates (`RoundObservation.max_rate`).
    """
    prev = np.asarray(previous_rates, dtype=np.float64)
    move = min(self._config.step, self._delta)
    return np.stack([
        divergence_lib.project(prev, prev + move * unit, self._delta,
                               self._divergence, max_rate)
        for unit in arm_moves(len(prev))])

  def propose(
      self, observation: base.RoundObservation, objective: str
  ) -> np.ndarray:
    """See base class. Pulls an arm; the proposal is already feasible."""
    state = self._state(objective, observation.previous_rates)
    arm = self._select(state) if self._learning else self._best_arm(state)
    self._pending = _Pull(objective=objective, arm=arm)
    return self.candidates(observation.previous_rates,
                           observation.max_rate)[arm]

  def update(self, feedback: base.RoundFeedback) -> None:
    """See base class. Credits the pulled arm with the improvement."""
    pending, self._pending = self._pending, None
    if not self._learning:
      return
    value = float(feedback.objective_value)
    if not math.isfinite(value):
      return  # No reward and no baseline from a broken round.
    state = self._state(feedback.objective, feedback.rates)
    consecutive = (state.last_round is not None and
                   feedback.round_index == state.last_round + 1)
    if (pending is not None and pending.objective == feedback.objective and
        consecutive):
      self._credit(state, pending.arm, value - state.last_value)
    state.last_value = value
    state.last_round = int(feedback.round_index)

  def load_state_dict(self, state: Mapping[str, Any]) -> None:
    """See base class. A pending arm is dropped."""
    super().load_state_dict(state)
    self._pending = None

  def _best_arm(self, state: _ObjectiveState) -> int:
    pulled = state.pulls > 0
    means = np.where(pulled, state.reward_sums / np.where(pulled, state.pulls,
                                                          1.0), -np.inf)
    best = int(np.argmax(means))
    return best if means[best] > 0 else 0  # Arm 0 is "stay".

  def _new_state(self, objective: str, rates: np.ndarray) -> _ObjectiveState:
    num_arms = 2 * len(rates) + 3
    return _ObjectiveState(rng=self._generator(objective),
                           pulls=np.zeros(num_arms),
                           reward_sums=np.zeros(num_arms))

  def _num_brackets(self, state: _ObjectiveState) -> int:
    return (len(state.pulls) - 3) // 2

  def _save_state(
      self, state: _ObjectiveState
  ) -> tuple[Sequence[np.ndarray], dict[str, Any]]:
    # The generator's state is JSON-able (`bit_generator.state`).
    arrays = (state.pulls.copy(), state.reward_sums.copy(),
              np.array(state.improvements, np.float64))
    return arrays, {"last_value": state.last_value,
                    "last_round": state.last_round,
                    "rng": state.rng.bit_generator.state}

  def _load_state(self, objective: str, arrays: Sequence[np.ndarray],
                  saved: Mapping[str, Any]) -> _ObjectiveState:
    pulls, reward_sums, improvements = arrays
    num_arms = len(pulls) if pulls.ndim == 1 else -1
    if num_arms < 5 or num_arms % 2 == 0:  # 2k + 3 arms, k >= 1.
      raise ValueError(f"the checkpoint's state: entry 'pulls/{objective}' "
                       f"must have 2k + 3 entries (k >= 1), got shape "
                       f"{pulls.shape}")
    pulls = learning.check_array(pulls, f"pulls/{objective}",
                                 shape=(num_arms,), ge=0.0)
    reward_sums = learning.check_array(
        reward_sums, f"reward_sums/{objective}", shape=(num_arms,))
    improvements = learning.check_array(
        improvements, f"improvements/{objective}", shape=(None,))
    optional_number = validation.optional(validation.number())
    optional_round = validation.optional(validation.integer(ge=0))
    rng = self._generator(objective)
    rng.bit_generator.state = learning.saved_field(
        saved, "rng", checkpoint_format.JSON_OBJECT, objective)
    return _ObjectiveState(
        rng=rng, pulls=pulls, reward_sums=reward_sums,
        improvements=collections.deque(improvements.tolist(),
                                       maxlen=_SCALE_WINDOW),
        last_value=learning.saved_field(saved, "last_value", optional_number,
                                        objective),
        last_round=learning.saved_field(saved, "last_round", optional_round,
                                        objective))

  def _credit(
      self, state: _ObjectiveState, arm: int, improvement: float
  ) -> None:
    state.improvements.append(improvement)
    clip = self._config.reward_clip
    reward = np.clip(improvement / robust_scale(state.improvements),
                     -clip, clip)
    state.pulls *= self._config.discount
    state.reward_sums *= self._config.discount
    state.pulls[arm] += 1.0
    state.reward_sums[arm] += reward

  def _select(self, state: _ObjectiveState) -> int:
    if self._config.algorithm == "ucb":
      scores = self._ucb_indices(state)
    else:
      scores = self._thompson_samples(state)
    best = np.flatnonzero(scores == scores.max())
    return int(state.rng.choice(best))

  def _ucb_indices(self, state: _ObjectiveState) -> np.ndarray:
    """UCB1's indices; +inf for arms never pulled (Auer et al. 2002)."""
    pulls = state.pulls
    if not (pulls > 0).all():
      return np.where(pulls > 0, 0.0, np.inf)
    means = state.reward_sums / pulls
    log_total = max(math.log(pulls.sum()), 0.0)
    return means + self._config.exploration * np.sqrt(2 * log_total / pulls)

  def _thompson_samples(self, state: _ObjectiveState) -> np.ndarray:
    """One draw per arm from its Gaussian posterior (Agrawal & Goyal 2013)."""
    prior_precision = 1.0 / self._config.prior_variance
    precision = prior_precision + state.pulls
    mean = (self._config.prior_mean * prior_precision +
            state.reward_sums) / precision
    return mean + state.rng.standard_normal(len(mean)) / np.sqrt(precision)
