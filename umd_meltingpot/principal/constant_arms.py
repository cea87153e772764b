"""Bandits over constant flat schedules: Large Legislative Models' baselines.

Large Legislative Models (Gasztowtt et al. 2024, github.com/hegasz/
large-legislative-models) compares its LLM principal with bandits whose arms
are tax schedules from a discretised set (11 rates for UCB on Commons
Harvest), each held for a principal step: agents adapt for a few episodes,
then one episode's principal return is the arm's reward. This module is that
family on our game, with flat schedules as the arms:

- **Arms**: `arms` flat schedules, every bracket at the same rate, evenly
  spaced from 0 to `top` (default the game's `max_rate`: 0, 0.1, ..., 1.0
  when rates stop at 1, as Large Legislative Models; 0, 0.4, ..., 4.0 in a
  game whose fines reach 4). An arm above the game's cap is played at the
  cap.
- **A pull is a game**: the arm chosen at an objective's first round of a
  game is proposed at each of that objective's rounds until the game ends;
  then the arm is credited with the mean objective value of those rounds.
  The vote may change the objective inside a game, so each objective holds
  its own arm and statistics (Large Legislative Models' indicator rows). A
  game ends at its last round (`RoundFeedback.num_rounds`), or, when that is
  unknown, when a round does not follow the last one (a new game starts).
- **δ**: the arms are constant, so they are not moved into the δ-ball: the
  wrapper projects every proposal onto {φ : D(φ_prev, φ) ≤ δ}. With a
  finite δ the rates walk towards the held arm at most δ a round, and the
  arm is credited with the game that walk produced; `--delta inf` plays
  each arm from the first round, as Large Legislative Models does.
- **Selection**: each arm is pulled once (lowest rate first), then
  "ucb": UCB1 (Auer, Cesa-Bianchi & Fischer 2002), the arm maximising
  mean_a / s + c √(2 ln N / n_a), with s a robust scale of the game values
  seen under that objective (`bandit.robust_scale`), as objectives differ in
  scale; "epsilon_greedy": with probability ε_N = ε · decay^N a uniformly
  random arm, else the best mean (N the games played under the objective).
  Ties are broken at random with the objective's own generator.
- **Forgetting** (followers that keep adapting make the arms' values
  drift): "sw_ucb", sliding-window UCB (Garivier & Moulines 2011), keeps
  only the objective's last `window` games (`SlidingWindowArmsPrincipal`);
  "d_ucb", discounted UCB (same paper), multiplies the objective's game
  counts and value sums by `discount` after each game. Both then choose as
  "ucb" does, on those statistics; an arm with no game left in the window
  is pulled again first. With a window of at least the number of games, or
  a discount of 1, they play exactly as "ucb".

Large Legislative Models starts ε-greedy's and UCB's value estimates at 0
and UCB's log at the principal step; we pull every arm once first (UCB1's
rule) and count the objective's games. Frozen (`set_learning(False)`), the
principal plays the arm with the best mean (no tax before any game).
Usage:

  principal = ConstantArmsPrincipal(ConstantArmsConfig(seed=1))
  proposal = principal.propose(observation, "utilitarian")  # Flat.
  principal.update(feedback)
  checkpoint = principal.state_dict()
"""

import collections
import dataclasses
import math
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from umd_meltingpot.plumbing import checkpoint_format
from umd_meltingpot.plumbing import validation
from umd_meltingpot.principal import base
from umd_meltingpot.principal import bandit
from umd_meltingpot.principal import learning

ALGORITHMS: tuple[str, ...] = ("epsilon_greedy", "ucb", "sw_ucb", "d_ucb")
# The game values that the UCB scale is estimated on, per objective.
_SCALE_WINDOW = 1000


@dataclasses.dataclass(frozen=True)
class ConstantArmsConfig(validation.Validated):
  """Parameters of the constant-arm bandits.

  Attributes:
    algorithm: "ucb" (UCB1), "epsilon_greedy", "sw_ucb" (sliding-window
      UCB; `SlidingWindowArmsPrincipal` plays it) or "d_ucb" (discounted
      UCB).
    arms: the number of flat schedules, an integer >= 2 (Large Legislative
      Models: 11).
    top: the highest flat rate, > 0; None: the game's `max_rate`.
    exploration: c in UCB1's index, a finite number >= 0.
    epsilon: ε-greedy's probability of a random arm, in [0, 1] (Large
      Legislative Models: 0.1).
    epsilon_decay: ε is multiplied by this after every game, in (0, 1]
      (1: constant ε).
    window: sw_ucb's window, in games of the objective, an integer >= 1.
    discount: d_ucb's discount γ per game of the objective, in (0, 1].
    seed: seeds the principal's generators, an integer >= 0.
  """

  algorithm: str = validation.checked("ucb", validation.one_of(ALGORITHMS))
  arms: int = validation.checked(11, validation.integer(ge=2))
  top: Optional[float] = validation.checked(
      None, validation.optional(validation.number(gt=0)))
  exploration: float = validation.checked(1.0, validation.number(ge=0))
  epsilon: float = validation.checked(0.1, validation.number(ge=0, le=1))
  epsilon_decay: float = validation.checked(
      1.0, validation.number(gt=0, le=1))
  window: int = validation.checked(50, validation.integer(ge=1))
  discount: float = validation.checked(0.95, validation.number(gt=0, le=1))
  seed: int = validation.checked(0, learning.SEED)


def arm_rates(arms: int, top: float) -> np.ndarray:
  """The flat rate of each arm: `arms` values from 0 to `top`, shape [arms]."""
  return np.linspace(0.0, top, arms)


@dataclasses.dataclass
class _ObjectiveState:
  """One objective's statistics and the arm it holds in the current game."""
  rng: np.random.Generator
  num_brackets: int
  pulls: np.ndarray
  value_sums: np.ndarray
  values: collections.deque[float] = dataclasses.field(
      default_factory=lambda: collections.deque(maxlen=_SCALE_WINDOW))
  held_arm: Optional[int] = None
  game_sum: float = 0.0
  game_rounds: int = 0
  # sw_ucb's games in the window, oldest first: (arm, game value).
  recent: collections.deque[tuple[int, float]] = dataclasses.field(
      default_factory=collections.deque)

  @property
  def means(self) -> np.ndarray:
    """Each arm's mean game value; -inf for an arm never pulled."""
    return np.divide(self.value_sums, self.pulls,
                     out=np.full_like(self.value_sums, -np.inf),
                     where=self.pulls > 0)


class ConstantArmsPrincipal(
    learning.LearningPrincipal[ConstantArmsConfig, _ObjectiveState]):
  """UCB1, discounted UCB or ε-greedy over flat schedules, one pull per
  game (see module)."""

  config_class = ConstantArmsConfig
  array_keys = ("pulls", "value_sums", "values")
  # The algorithms this class plays (sw_ucb's window needs its subclass's
  # checkpoint arrays).
  algorithms: tuple[str, ...] = ("epsilon_greedy", "ucb", "d_ucb")
  # The round last proposed for: a round that does not follow it starts a
  # new game.
  _last_round: Optional[int] = None

  def __init__(self, config: Optional[ConstantArmsConfig] = None,
               **bound: Any):
    """See base class; `bound` is its delta and divergence.

    Raises:
      ValueError: if the config's algorithm is not one of `algorithms`.
    """
    super().__init__(config, **bound)
    if self._config.algorithm not in self.algorithms:
      validation.fail(f"{type(self).__name__}'s algorithm",
                      f"one of {list(self.algorithms)}",
                      self._config.algorithm)

  def rates(self, max_rate: float) -> np.ndarray:
    """The flat rate of each arm in a game whose cap is `max_rate`."""
    top = max_rate if self._config.top is None else self._config.top
    return np.minimum(arm_rates(self._config.arms, top), max_rate)

  def games(self, objective: str) -> np.ndarray:
    """The games credited to each arm under `objective` (zeros if unseen)."""
    state = self._states.get(objective)
    return (np.zeros(self._config.arms) if state is None
            else state.pulls.copy())

  def best_arm(self, objective: str) -> Optional[int]:
    """The arm with the best mean game value; None before any game."""
    state = self._states.get(objective)
    if state is None or not (state.pulls > 0).any():
      return None
    return int(np.argmax(state.means))

  def propose(self, observation: base.RoundObservation,
              objective: str) -> np.ndarray:
    """See base class. The held arm's flat schedule (not projected)."""
    num_brackets = observation.num_brackets
    rates = self.rates(observation.max_rate)
    if not self._learning:
      best = self.best_arm(objective)
      return np.full(num_brackets, rates[0 if best is None else best])
    round_index = int(observation.round_index)
    if self._last_round is None or round_index != self._last_round + 1:
      self._end_game()
    self._last_round = round_index
    state = self._state(objective, observation.previous_rates)
    if state.held_arm is None:
      state.held_arm = self._select(state)
    return np.full(num_brackets, rates[state.held_arm])

  def update(self, feedback: base.RoundFeedback) -> None:
    """See base class. Adds the round's value to the held arm's game; at
    the game's last round, credits every held arm."""
    if not self._learning:
      return
    state = self._states.get(feedback.objective)
    value = float(feedback.objective_value)
    if (state is not None and state.held_arm is not None and
        math.isfinite(value)):
      state.game_sum += value
      state.game_rounds += 1
    if (feedback.num_rounds is not None and
        feedback.round_index + 1 >= feedback.num_rounds):
      self._end_game()
      self._last_round = None

  def state_dict(self) -> dict[str, Any]:
    """See base class; also the last round proposed for."""
    return {**super().state_dict(), "last_round": self._last_round}

  def load_state_dict(self, state: Mapping[str, Any]) -> None:
    """See base class."""
    super().load_state_dict(state)
    self._last_round = checkpoint_format.field(
        state, "last_round", validation.optional(validation.integer(ge=0)),
        "the checkpoint's state", where="the principal")

  def _end_game(self) -> None:
    """Credits each objective's held arm with its game's mean value."""
    for state in self._states.values():
      if state.held_arm is not None and state.game_rounds > 0:
        self._credit(state, state.held_arm,
                     state.game_sum / state.game_rounds)
      state.held_arm, state.game_sum, state.game_rounds = None, 0.0, 0

  def _credit(self, state: _ObjectiveState, arm: int, value: float) -> None:
    """Adds one game of `arm` worth `value` to the statistics (d_ucb first
    discounts the older games)."""
    if self._config.algorithm == "d_ucb" and self._config.discount < 1.0:
      state.pulls *= self._config.discount
      state.value_sums *= self._config.discount
    state.pulls[arm] += 1.0
    state.value_sums[arm] += value
    state.values.append(value)

  def _select(self, state: _ObjectiveState) -> int:
    untried = np.flatnonzero(state.pulls == 0)
    if untried.size:
      return int(untried[0])
    if self._config.algorithm != "epsilon_greedy":  # The UCB family.
      scores = self._ucb_indices(state)
    else:
      played = state.pulls.sum()
      epsilon = (self._config.epsilon *
                 self._config.epsilon_decay ** played)
      if state.rng.random() < epsilon:
        return int(state.rng.integers(self._config.arms))
      scores = state.means
    best = np.flatnonzero(scores == scores.max())
    return int(state.rng.choice(best))

  def _ucb_indices(self, state: _ObjectiveState) -> np.ndarray:
    """UCB1's indices on scale-free means (every arm pulled); on windowed
    or discounted statistics, Garivier & Moulines' (ξ = 2, B = 1/2)."""
    scale = bandit.robust_scale(np.array(state.values))
    bonus = np.sqrt(2.0 * math.log(state.pulls.sum()) / state.pulls)
    return state.means / scale + self._config.exploration * bonus

  def _new_state(self, objective: str, rates: np.ndarray) -> _ObjectiveState:
    arms = self._config.arms
    return _ObjectiveState(rng=self._generator(objective),
                           num_brackets=len(rates), pulls=np.zeros(arms),
                           value_sums=np.zeros(arms))

  def _num_brackets(self, state: _ObjectiveState) -> int:
    return state.num_brackets

  def _save_state(
      self, state: _ObjectiveState
  ) -> tuple[Sequence[np.ndarray], dict[str, Any]]:
    arrays = (state.pulls.copy(), state.value_sums.copy(),
              np.array(state.values, np.float64))
    return arrays, {"num_brackets": state.num_brackets,
                    "held_arm": state.held_arm,
                    "game_sum": state.game_sum,
                    "game_rounds": state.game_rounds,
                    "rng": state.rng.bit_generator.state}

  def _load_state(self, objective: str, arrays: Sequence[np.ndarray],
                  saved: Mapping[str, Any]) -> _ObjectiveState:
    pulls, value_sums, values = arrays
    arms = (self._config.arms,)
    pulls = learning.check_array(pulls, f"pulls/{objective}", shape=arms,
                                 ge=0.0)
    value_sums = learning.check_array(value_sums, f"value_sums/{objective}",
                                      shape=arms)
    values = learning.check_array(values, f"values/{objective}",
                                  shape=(None,))
    arm = validation.optional(validation.integer(ge=0, le=arms[0] - 1))
    rng = self._generator(objective)
    rng.bit_generator.state = learning.saved_field(
        saved, "rng", checkpoint_format.JSON_OBJECT, objective)
    return _ObjectiveState(
        rng=rng,
        num_brackets=learning.saved_field(
            saved, "num_brackets", validation.integer(ge=1), objective),
        pulls=pulls, value_sums=value_sums,
        values=collections.deque(values.tolist(), maxlen=_SCALE_WINDOW),
        held_arm=learning.saved_field(saved, "held_arm", arm, objective),
        game_sum=learning.saved_field(saved, "game_sum",
                                      validation.number(), objective),
        game_rounds=learning.saved_field(
            saved, "game_rounds", validation.integer(ge=0), objective))


class SlidingWindowArmsPrincipal(ConstantArmsPrincipal):
  """Sliding-window UCB over flat schedules (Garivier & Moulines 2011): UCB
  on each objective's last `window` games only (see module)."""

  array_keys = ConstantArmsPrincipal.array_keys + ("recent",)
  algorithms = ("sw_ucb",)

  def _credit(self, state: _ObjectiveState, arm: int, value: float) -> None:
    """Adds the game, then drops the games that left the window."""
    super()._credit(state, arm, value)
    state.recent.append((arm, value))
    while len(state.recent) > self._config.window:
      old, _ = state.recent.popleft()
      state.pulls[old] -= 1.0
      # Summed again, not subtracted: no rounding left behind.
      state.value_sums[old] = sum(v for a, v in state.recent if a == old)

  def _save_state(
      self, state: _ObjectiveState
  ) -> tuple[Sequence[np.ndarray], dict[str, Any]]:
    arrays, saved = super()._save_state(state)
    recent = np.array(state.recent, np.float64).reshape(-1, 2)
    return (*arrays, recent), saved

  def _load_state(self, objective: str, arrays: Sequence[np.ndarray],
                  saved: Mapping[str, Any]) -> _ObjectiveState:
    *base_arrays, recent = arrays
    state = super()._load_state(objective, base_arrays, saved)
    name = f"recent/{objective}"
    recent = learning.check_array(recent, name, shape=(None, 2))
    arms = recent[:, 0]
    if (len(recent) > self._config.window or (arms != np.round(arms)).any()
        or not ((arms >= 0) & (arms < self._config.arms)).all()):
      validation.fail(name, f"at most {self._config.window} (arm, value) "
                      f"rows, each arm in 0..{self._config.arms - 1}",
                      recent.tolist())
    # The window's games are the statistics: a mismatch is a corrupt file.
    counts = np.bincount(arms.astype(int), minlength=self._config.arms)
    if not np.array_equal(counts, state.pulls):
      validation.fail(f"pulls/{objective}", f"the arms' counts in {name}, "
                      f"{counts.tolist()}", state.pulls.tolist())
    state.recent.extend((int(a), float(v)) for a, v in recent)
    return state
