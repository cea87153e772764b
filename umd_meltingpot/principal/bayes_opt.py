"""Bayesian optimisation over schedules, one candidate per game: `bo` and
`bo_dynamic`.

Each game is one evaluation of a candidate: the principal plays the
candidate's schedule for the whole game and is told the game's mean
objective value (the mean over the objective's rounds, what the grid
scores). The search is optuna's tree-structured Parzen estimator (TPE;
Bergstra et al. 2011, "Algorithms for Hyper-Parameter Optimization"),
through `Study.ask` / `Study.tell`:

- **Why TPE.** optuna's GP sampler and BoTorch pull in torch (a second deep
  learning framework next to JAX and TensorFlow, hundreds of MB) for a
  search of at most a few hundred noisy points in a few dimensions, which
  TPE handles well; TPE is pure NumPy. `sampler="random"` (optuna's
  RandomSampler) is the ablation.
- **Parametrisations.** "constant" (`bo`): k rates in [0, max_rate], held
  every round. "dynamic" (`bo_dynamic`): k base rates b, a last-round
  release r in [0, 1] and a scarcity gain g in [0, 1]; round t's rates are
  clip(b + g · max_rate · s_t, 0, max_rate), times r in the game's last
  round (when no future is left to protect), where s_t = 1 − apples_t /
  apples_0 is how far the apples have fallen since the game began (tighten
  when apples run low).
- **δ and the cap.** Every proposal is projected onto {φ : D(φ_prev, φ) ≤
  δ} ∩ [0, max_rate]^k, so the value told is that of the schedule really
  played under the bound.
- **Batches.** Candidates are asked `batch` at a time (TPE's constant liar
  keeps a batch spread out), so a batch's games can be played in parallel
  (`plan_batch` / `tell_batch`, `umd train principal --workers`); game g of
  a run plays candidate g mod batch of batch ⌊g / batch⌋. A batch is asked
  for every objective on the ballot at its first game; a candidate whose
  objective was not voted in its game is never told. The sequential path
  (`propose` / `update`) plays exactly the same candidates.
- **Seeded and resumable without pickle.** A batch's sampler is a fresh
  `TPESampler` seeded from (seed, objective, batch index) on a study rebuilt
  from the history told so far (`optuna.trial.create_trial`), so what it
  asks is a function of the history alone. The checkpoint stores that
  history (every candidate asked, its value and whether it was told), and
  loading rebuilds the same searches.
- **Frozen** (`set_learning(False)`), it plays its best estimate: the
  candidate whose kernel-smoothed value (a Gaussian kernel of width
  `smoothing` on the normalised parameters, over every game told) is
  highest, which discounts a candidate that was merely lucky in one game.
  `smoothing=0` takes the best single game.

Usage:

  principal = BayesOptPrincipal(BayesOptConfig(seed=1), delta=math.inf)
  proposal = principal.propose(observation, "utilitarian")  # Feasible.
  principal.update(feedback)
"""

import dataclasses
import math
from typing import Any, Mapping, Optional, Sequence
import warnings
import zlib

import numpy as np

from umd_meltingpot.plumbing import checkpoint_format
from umd_meltingpot.plumbing import validation
from umd_meltingpot.principal import base
from umd_meltingpot.principal import divergence as divergence_lib
from umd_meltingpot.principal import learning

PARAMETRISATIONS: tuple[str, ...] = ("constant", "dynamic")
_STATE = "the checkpoint's state"
SAMPLERS: tuple[str, ...] = ("tpe", "random")
_DYNAMIC_EXTRA = ("release", "tighten")


@dataclasses.dataclass(frozen=True)
class BayesOptConfig(validation.Validated):
  """Parameters of the Bayesian-optimisation principals.

  Attributes:
    parametrisation: "constant" (k rates) or "dynamic" (k base rates, a
      last-round release and a scarcity gain; see module).
    sampler: "tpe" (optuna's TPESampler) or "random" (its RandomSampler).
    batch: candidates asked at a time, the games one update can play in
      parallel, an integer >= 1.
    startup: games of random candidates before TPE models the history, an
      integer >= 1.
    smoothing: the frozen estimate's kernel width on parameters scaled to
      [0, 1], a number >= 0 (0: the best single game).
    seed: seeds the samplers, an integer >= 0.
  """

  parametrisation: str = validation.checked(
      "constant", validation.one_of(PARAMETRISATIONS))
  sampler: str = validation.checked("tpe", validation.one_of(SAMPLERS))
  batch: int = validation.checked(4, validation.integer(ge=1))
  startup: int = validation.checked(8, validation.integer(ge=1))
  smoothing: float = validation.checked(0.1, validation.number(ge=0))
  seed: int = validation.checked(0, learning.SEED)


def parameter_names(parametrisation: str, num_brackets: int) -> list[str]:
  """The searched parameters, in the order of a candidate's vector."""
  rates = [f"rate{j}" for j in range(num_brackets)]
  return rates + list(_DYNAMIC_EXTRA) if parametrisation == "dynamic" \
      else rates


def parameter_scale(parametrisation: str, num_brackets: int,
                    max_rate: float) -> np.ndarray:
  """Each parameter's upper bound (every lower bound is 0)."""
  return np.array([max_rate] * num_brackets +
                  [1.0] * (len(parameter_names(parametrisation,
                                               num_brackets)) - num_brackets))


def target_rates(parametrisation: str, candidate: np.ndarray,
                 observation: base.RoundObservation,
                 apples_start: float) -> np.ndarray:
  """The rates a candidate asks for in the observed round (before δ)."""
  k, cap = observation.num_brackets, observation.max_rate
  rates = np.asarray(candidate[:k], np.float64)
  if parametrisation == "constant":
    return np.clip(rates, 0.0, cap)
  release, tighten = candidate[k], candidate[k + 1]
  scarcity = (max(0.0, 1.0 - observation.apples_alive / apples_start)
              if apples_start > 0 else 0.0)
  rates = np.clip(rates + tighten * cap * scarcity, 0.0, cap)
  last = (observation.num_rounds is not None and
          observation.round_index + 1 >= observation.num_rounds)
  return rates * release if last else rates


@dataclasses.dataclass
class GamePlan(base.Principal):
  """One game's candidates, one per objective on the ballot: a picklable
  principal that plays them (a Ray task plays one game with it) and learns
  nothing. An objective without a candidate keeps the rates in force."""
  parametrisation: str
  candidates: dict[str, tuple[float, ...]]
  delta: float
  divergence: str
  apples_start: Optional[float] = None
  """The apples alive when the game began (set at its first round)."""

  def propose(self, observation: base.RoundObservation,
              objective: str) -> np.ndarray:
    """See base class. Projected into the δ-ball."""
    prev = np.asarray(observation.previous_rates, np.float64)
    if observation.round_index == 0 or self.apples_start is None:
      self.apples_start = float(observation.apples_alive)
    candidate = self.candidates.get(objective)
    if candidate is None:
      return prev
    target = target_rates(self.parametrisation, np.asarray(candidate),
                          observation, self.apples_start)
    return divergence_lib.project(prev, target, self.delta, self.divergence,
                                  observation.max_rate)

  def update(self, feedback: base.RoundFeedback) -> None:
    """See base class: a plan learns nothing."""
    del feedback


def game_values(rounds: Sequence[tuple[str, float]]) -> dict[str, float]:
  """Each objective's mean finite value over a game's (objective, value)
  rounds: what a candidate is told."""
  sums: dict[str, list[float]] = {}
  for objective, value in rounds:
    if math.isfinite(value):
      sums.setdefault(objective, []).append(float(value))
  return {objective: float(np.mean(values))
          for objective, values in sums.items()}


@dataclasses.dataclass
class _Search:
  """One objective's history: every candidate asked, in order."""
  num_brackets: int
  max_rate: float
  candidates: list[np.ndarray] = dataclasses.field(default_factory=list)
  values: list[float] = dataclasses.field(default_factory=list)
  told: list[bool] = dataclasses.field(default_factory=list)
  """Whether the candidate's game value was told (an unplayed one never
  is)."""
  batches: int = 0


def _quiet_optuna() -> Any:
  # Imported here: optuna (and SQLAlchemy) cost every `umd` command start-up
  # time otherwise.
  import optuna  # pylint: disable=g-import-not-at-top
  optuna.logging.set_verbosity(optuna.logging.WARNING)
  return optuna


class BayesOptPrincipal(learning.LearningPrincipal[BayesOptConfig, _Search]):
  """TPE over schedules, one candidate per game (see module)."""

  config_class = BayesOptConfig
  array_keys = ("candidates", "values", "told")

  def __init__(self, config: Optional[BayesOptConfig] = None, **bound: Any):
    """See base class; `bound` is its delta and divergence."""
    super().__init__(config, **bound)
    self._games = 0  # Games started (or planned) so far.
    self._plan: Optional[GamePlan] = None  # The game in progress.
    self._rounds: list[tuple[str, float]] = []
    self._last_round: Optional[int] = None
    self._frozen: Optional[GamePlan] = None  # Frozen, its game's plan.
    self._frozen_round: Optional[int] = None

  @property
  def games(self) -> int:
    """The games this principal has played or planned."""
    return self._games

  def history(self, objective: str) -> tuple[np.ndarray, np.ndarray]:
    """The candidates told under `objective` [n, d] and their values [n]."""
    search = self._states.get(objective)
    if search is None:
      return np.zeros((0, 0)), np.zeros(0)
    told = [i for i, flag in enumerate(search.told) if flag]
    d = len(parameter_names(self._config.parametrisation,
                            search.num_brackets))
    return (np.array([search.candidates[i] for i in told],
                     np.float64).reshape(len(told), d),
            np.array([search.values[i] for i in told], np.float64))

  def best(self, objective: str) -> Optional[np.ndarray]:
    """The frozen estimate: the told candidate with the highest
    kernel-smoothed value; None before any game is told."""
    points, values = self.history(objective)
    if not len(values):
      return None
    search = self._states[objective]
    scale = parameter_scale(self._config.parametrisation,
                            search.num_brackets, search.max_rate)
    return points[int(np.argmax(smoothed_values(
        points / scale, values, self._config.smoothing)))]

  # The batch interface (parallel games).

  def plan_batch(self, objectives: Sequence[str], previous_rates: np.ndarray,
                 max_rate: float, games: int) -> list[GamePlan]:
    """The plans of the next `games` games (at most the rest of the open
    batch, asking a new batch for every objective if none is open); the
    principal counts them as played. Tell their rounds with `tell_batch`.
    """
    position = self._games % self._config.batch
    if position == 0:
      self._ask_batch(objectives, previous_rates, max_rate)
    count = min(games, self._config.batch - position)
    plans = [self._game_plan(self._games + i) for i in range(count)]
    self._games += count
    return plans

  def tell_batch(self, plans: Sequence[GamePlan],
                 rounds: Sequence[Sequence[tuple[str, float]]]) -> None:
    """Tells each planned game's rounds (objective, value), in plan
    order."""
    start = self._games - len(plans)
    for index, game_rounds in enumerate(rounds):
      self._tell(start + index, game_values(game_rounds))

  # The sequential interface.

  def propose(self, observation: base.RoundObservation,
              objective: str) -> np.ndarray:
    """See base class. The proposal is already feasible."""
    prev = np.asarray(observation.previous_rates, np.float64)
    round_index = int(observation.round_index)
    if not self._learning:
      return self._propose_frozen(observation, objective)
    if (self._plan is None or self._last_round is None or
        round_index != self._last_round + 1):  # A new game.
      self._end_game()
      objectives = list(observation.ballots) or [objective]
      if objective not in objectives:
        objectives.append(objective)
      self._plan = self.plan_batch(objectives, prev, observation.max_rate,
                                   1)[0]
    self._last_round = round_index
    return self._plan.propose(observation, objective)

  def _propose_frozen(self, observation: base.RoundObservation,
                      objective: str) -> np.ndarray:
    """The best estimate, in a plan of its own (one a game, which
    remembers the game's first apples); a learning game in progress waits."""
    round_index = int(observation.round_index)
    if (self._frozen is None or self._frozen_round is None or
        round_index != self._frozen_round + 1):
      self._frozen = GamePlan(self._config.parametrisation, {}, self._delta,
                              self._divergence)
    self._frozen_round = round_index
    best = self.best(objective)
    if best is not None:
      self._frozen.candidates[objective] = tuple(best)
    return self._frozen.propose(observation, objective)

  def update(self, feedback: base.RoundFeedback) -> None:
    """See base class. At the game's last round, tells its candidates."""
    if not self._learning or self._plan is None:
      return
    self._rounds.append((feedback.objective,
                         float(feedback.objective_value)))
    if (feedback.num_rounds is not None and
        feedback.round_index + 1 >= feedback.num_rounds):
      self._end_game()

  def _end_game(self) -> None:
    if self._plan is not None and self._rounds:
      self._tell(self._games - 1, game_values(self._rounds))
    self._plan, self._rounds, self._last_round = None, [], None

  # The search.

  def _ask_batch(self, objectives: Sequence[str], previous_rates: np.ndarray,
                 max_rate: float) -> None:
    for objective in sorted(set(objectives)):
      search = self._state(objective, previous_rates)
      search.max_rate = float(max_rate)
      study, distributions = self._study(objective, search)
      for _ in range(self._config.batch):
        trial = study.ask(distributions)
        search.candidates.append(np.array(
            [trial.params[name] for name in distributions], np.float64))
        search.values.append(0.0)
        search.told.append(False)
      search.batches += 1

  def _study(self, objective: str, search: _Search) -> tuple[Any, dict]:
    """A study holding the told history, whose sampler is seeded by the
    seed, the objective and the batch index."""
    optuna = _quiet_optuna()
    names = parameter_names(self._config.parametrisation,
                            search.num_brackets)
    scale = parameter_scale(self._config.parametrisation,
                            search.num_brackets, search.max_rate)
    distributions = {
        name: optuna.distributions.FloatDistribution(0.0, float(high))
        for name, high in zip(names, scale)}
    seed = int(np.random.SeedSequence(
        [self._config.seed, zlib.crc32(objective.encode()),
         search.batches]).generate_state(1)[0])
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")  # multivariate is "experimental".
      sampler = (optuna.samplers.RandomSampler(seed=seed)
                 if self._config.sampler == "random" else
                 optuna.samplers.TPESampler(
                     seed=seed, n_startup_trials=self._config.startup,
                     multivariate=True, constant_liar=True))
      study = optuna.create_study(direction="maximize", sampler=sampler)
    for candidate, value, told in zip(search.candidates, search.values,
                                      search.told):
      if told:
        study.add_trial(optuna.trial.create_trial(
            params={name: float(min(max(x, 0.0), high)) for name, x, high
                    in zip(names, candidate, scale)},
            distributions=distributions, value=value))
    return study, distributions

  def _game_plan(self, game: int) -> GamePlan:
    """The plan of game `game` (of the batch asked last)."""
    candidates = {}
    batch, position = divmod(game, self._config.batch)
    for objective, search in self._states.items():
      if search.batches == batch + 1:  # Asked for this batch.
        start = len(search.candidates) - self._config.batch
        candidates[objective] = tuple(search.candidates[start + position])
    return GamePlan(self._config.parametrisation, candidates, self._delta,
                    self._divergence)

  def _tell(self, game: int, values: Mapping[str, float]) -> None:
    """Tells game `game`'s candidates their values."""
    batch, position = divmod(game, self._config.batch)
    for objective, value in values.items():
      search = self._states.get(objective)
      if search is None or search.batches != batch + 1:
        continue  # Asked in another batch (not this game's): ignore.
      index = len(search.candidates) - self._config.batch + position
      search.values[index], search.told[index] = value, True

  # Checkpoints.

  def state_dict(self) -> dict[str, Any]:
    """See base class; also the games counted and the game in progress
    (its rounds so far, the apples it began with)."""
    in_game = self._plan is not None
    return {**super().state_dict(), "games": self._games,
            "game": {"rounds": [list(r) for r in self._rounds],
                     "last_round": self._last_round,
                     "apples": self._plan.apples_start}
                    if in_game else None}

  def load_state_dict(self, state: Mapping[str, Any]) -> None:
    """See base class."""
    super().load_state_dict(state)
    self._games = checkpoint_format.field(
        state, "games", validation.integer(ge=0), _STATE,
        where="the principal")
    batches = -(-self._games // self._config.batch)
    for objective, search in self._states.items():
      if search.batches > batches:
        raise ValueError(f"the checkpoint's state: {objective!r} asked "
                         f"{search.batches} batches in {self._games} games")
    self._plan, self._rounds, self._last_round = None, [], None
    game = checkpoint_format.field(
        state, "game", validation.optional(checkpoint_format.JSON_OBJECT),
        _STATE, where="the principal")
    if game is not None:  # Saved mid-game: carry on with its candidates.
      where = "the game in progress"
      self._last_round = checkpoint_format.field(
          game, "last_round", validation.integer(ge=0), _STATE, where=where)
      self._rounds = checkpoint_format.field(game, "rounds", _ROUNDS, _STATE,
                                             where=where)
      self._plan = self._game_plan(max(self._games - 1, 0))
      self._plan.apples_start = checkpoint_format.field(
          game, "apples", validation.optional(validation.number(ge=0)),
          _STATE, where=where)

  def _new_state(self, objective: str, rates: np.ndarray) -> _Search:
    # An objective first seen mid-run starts its batches aligned with the
    # run's: its batch index is the run's.
    return _Search(num_brackets=len(rates), max_rate=1.0,
                   batches=self._games // self._config.batch)

  def _num_brackets(self, state: _Search) -> int:
    return state.num_brackets

  def _save_state(self, state: _Search
                  ) -> tuple[Sequence[np.ndarray], dict[str, Any]]:
    d = len(parameter_names(self._config.parametrisation, state.num_brackets))
    return ((np.array(state.candidates, np.float64).reshape(-1, d),
             np.array(state.values, np.float64),
             np.array(state.told, np.float64)),
            {"num_brackets": state.num_brackets, "max_rate": state.max_rate,
             "batches": state.batches})

  def _load_state(self, objective: str, arrays: Sequence[np.ndarray],
                  saved: Mapping[str, Any]) -> _Search:
    num_brackets = learning.saved_field(saved, "num_brackets",
                                        validation.integer(ge=1), objective)
    d = len(parameter_names(self._config.parametrisation, num_brackets))
    candidates = learning.check_array(arrays[0], f"candidates/{objective}",
                                      shape=(None, d), ge=0.0)
    n = len(candidates)
    values = learning.check_array(arrays[1], f"values/{objective}",
                                  shape=(n,))
    told = learning.check_array(arrays[2], f"told/{objective}", shape=(n,),
                                ge=0.0)
    batches = learning.saved_field(saved, "batches",
                                   validation.integer(ge=0), objective)
    if (n % self._config.batch or n > batches * self._config.batch
        or not set(told) <= {0.0, 1.0}):
      raise ValueError(f"the checkpoint's state: {objective!r} holds {n} "
                       f"candidates for {batches} batches of "
                       f"{self._config.batch}, told flags 0 or 1")
    return _Search(
        num_brackets=num_brackets,
        max_rate=learning.saved_field(saved, "max_rate",
                                      validation.number(ge=1), objective),
        candidates=list(candidates), values=[float(v) for v in values],
        told=[bool(t) for t in told], batches=batches)


def _round_pairs(value: Any) -> list[tuple[str, float]]:
  return [(str(objective), float(round_value))
          for objective, round_value in value]


_ROUNDS = validation.Check("a list of [objective, value] pairs", _round_pairs)


def smoothed_values(points: np.ndarray, values: np.ndarray,
                    width: float) -> np.ndarray:
  """Each point's Gaussian-kernel (Nadaraya–Watson) mean of `values`, with
  kernel `width` on the points' coordinates; `values` itself at width 0."""
  if width <= 0 or len(values) < 2:
    return np.asarray(values, np.float64)
  squared = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)
  weights = np.exp(-squared / (2.0 * width ** 2))
  return weights @ values / weights.sum(axis=1)
