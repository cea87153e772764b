"""A black-box principal: CMA-ES over the tax rates φ ∈ [0, m]^k (m the
game's `max_rate`, 1 unless it allows fines).

The covariance matrix adaptation evolution strategy (Hansen 2016, "The CMA
Evolution Strategy: A Tutorial", arXiv:1604.00772) searches for the φ that
maximises the voted objective, treating each round as one evaluation. We use
the `cma` package's ask/tell interface (`cma.CMAEvolutionStrategy`):

1. `ask` samples a generation of λ candidates from N(m, σ²C).
2. Each round proposes the next candidate of the current generation,
   projected with `divergence.project` onto {φ : D(φ_prev, φ) ≤ δ} ∩
   [0, 1]^k. A small δ thus makes the principal walk towards each candidate,
   at most δ a round.
3. When every candidate of the generation has been played, `tell` gets the
   *projected* points, the rates actually applied (`RoundFeedback.rates`),
   with minus their objective values (CMA-ES minimises).

Our choice in step 3: the projected point is the one whose value we know, so
the distribution is updated towards schedules that were really played, not
towards unprojected candidates credited with another point's value. This is
repairing infeasible solutions, one of the ways to handle constraints that
Hansen's tutorial discusses. `cma` shortens a repaired point that lies
implausibly far from the distribution (`tell(check_points=None)`), so one
point cannot make an implausibly long step. We do
not give `cma` the box as `bounds`, since its boundary handling would
disregard repaired points (see `CMAEvolutionStrategy.tell`'s docstring).

CMA-ES ranks the values within a generation, so the objective's scale does
not matter; but the candidates of one generation are played in successive
rounds (different apples, possibly different games), which adds noise to
the ranking.

State is kept per objective name: one evolution strategy each, started at
the φ_prev of the first round voted for that objective with step size
`sigma0`. A round under another objective leaves the others' generations
paused. `cma` is made quiet (`verbose=-9`, `verb_log=0`: it writes no files)
and draws its normal samples from our own `np.random.Generator`, seeded from
`CMAConfig.seed` and the objective's name (`randn` option; `seed=nan` keeps
it from reseeding the global `np.random`).

Each round moves φ at most δ, so the mean moves about δ per generation of λ
rounds: with a tight δ, a small `popsize` updates the search more often.

**Checkpoints without pickle.** A `cma.CMAEvolutionStrategy` holds far more
than its mean, σ and C (evolution paths, step-size control, counters), but
its state is a deterministic function of x0, the options and the sequence of
ask/tell calls, and its samples come from our seeded generator. So
`state_dict` keeps x0 and every generation told (points and values), and
`load_state_dict` rebuilds the strategy by replaying them: ask (to advance
the generator as before), then tell the recorded points. The open
generation is asked again and resumes where it stopped. The restored
principal proposes exactly what the saved one would have.
Usage:

  principal = CMAPrincipal(CMAConfig(sigma0=0.2, seed=1), delta=0.1)
  proposal = principal.propose(observation, "utilitarian")  # Feasible.
  principal.update(feedback)
"""

import dataclasses
import math
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from umd_meltingpot.plumbing import validation
from umd_meltingpot.principal import base
from umd_meltingpot.principal import divergence as divergence_lib
from umd_meltingpot.principal import learning

# `tell` refuses fewer than 3 solutions per generation.
_MIN_POPSIZE = 3


@dataclasses.dataclass(frozen=True)
class CMAConfig(validation.Validated):
  """Parameters of the CMA-ES principal.

  Attributes:
    sigma0: the initial step size σ, in rate units, a finite number > 0.
    popsize: λ, the candidates per generation (rounds per CMA-ES update), an
      integer >= 3; None for `cma`'s default 4 + ⌊3 ln k⌋.
    seed: seeds the principal's generators, an integer >= 0.
  """

  sigma0: float = validation.checked(0.2, validation.number(gt=0))
  popsize: Optional[int] = validation.checked(
      None, validation.optional(validation.integer(ge=_MIN_POPSIZE)))
  seed: int = validation.checked(0, learning.SEED)


@dataclasses.dataclass
class _Search:
  """One objective's evolution strategy and its generation in progress."""
  strategy: Any  # cma.CMAEvolutionStrategy
  x0: np.ndarray
  told: list[tuple[np.ndarray, np.ndarray]] = dataclasses.field(
      default_factory=list)
  """Every generation told, (points [λ, k], values [λ]), for checkpoints."""
  generation_size: int = 0
  queue: list[np.ndarray] = dataclasses.field(default_factory=list)
  awaiting: Optional[np.ndarray] = None
  points: list[np.ndarray] = dataclasses.field(default_factory=list)
  values: list[float] = dataclasses.field(default_factory=list)
  evaluations: int = 0


def _strategy(
    x0: np.ndarray, config: CMAConfig, rng: np.random.Generator
) -> Any:
  """A quiet `cma.CMAEvolutionStrategy` that samples from `rng`."""
  # Imported here: `cma` imports SciPy, a second of start-up that every
  # `umd` command would otherwise pay through the principal registry.
  import cma  # pylint: disable=g-import-not-at-top
  options = {
      "randn": lambda *shape: rng.standard_normal(shape),
      "seed": math.nan,  # Leave the global np.random alone.
      "verbose": -9,
      "verb_log": 0,
      "verb_disp": 0,
      # Mirrored samples are matched by identity in `tell`, which the
      # projected points we tell would break.
      "CMA_mirrors": 0,
  }
  if config.popsize is not None:
    options["popsize"] = int(config.popsize)
  return cma.CMAEvolutionStrategy(list(x0), config.sigma0, options)


class CMAPrincipal(learning.LearningPrincipal[CMAConfig, _Search]):
  """CMA-ES over φ, one candidate per round, projected into the δ-ball.

  Frozen (`set_learning(False)`), it proposes the mean m (projected); a
  generation in progress resumes when learning is turned back on. Its
  checkpoint keeps, per objective, x0 and the generations told; loading
  replays them (see module).
  """

  config_class = CMAConfig
  array_keys = ("x0", "told_points", "told_values", "open_points",
                "open_values")

  def mean(self, objective: str) -> Optional[np.ndarray]:
    """The search distribution's mean m for `objective`; None if unseen."""
    search = self._states.get(objective)
    return None if search is None else np.array(search.strategy.mean)

  def sigma(self, objective: str) -> Optional[float]:
    """The step size σ for `objective`; None if unseen."""
    search = self._states.get(objective)
    return None if search is None else float(search.strategy.sigma)

  def evaluations(self, objective: str) -> int:
    """The rounds whose value was recorded under `objective`."""
    search = self._states.get(objective)
    return 0 if search is None else search.evaluations

  def propose(
      self, observation: base.RoundObservation, objective: str
  ) -> np.ndarray:
    """See base class. The proposal is already feasible."""
    prev = np.asarray(observation.previous_rates, dtype=np.float64)
    if not self._learning:
      # The search distribution's mean is its estimate of the best phi.
      best = self.mean(objective)
      return divergence_lib.project(prev, prev if best is None else best,
                                    self._delta, self._divergence,
                                    observation.max_rate)
    search = self._state(objective, prev)
    if search.awaiting is not None:
      # The last candidate got no feedback (an interrupted game): offer it
      # again so that the generation stays complete.
      search.queue.insert(0, search.awaiting)
    if not search.queue:
      search.queue = [np.asarray(x, dtype=np.float64)
                      for x in search.strategy.ask()]
      search.generation_size = len(search.queue)
    search.awaiting = search.queue.pop(0)
    return divergence_lib.project(prev, search.awaiting, self._delta,
                                  self._divergence, observation.max_rate)

  def update(self, feedback: base.RoundFeedback) -> None:
    """See base class. Tells CMA-ES once a generation has been played.

    Feedback under an objective with no candidate awaiting its value (a
    round this principal did not propose) is ignored.
    """
    search = self._states.get(feedback.objective)
    if not self._learning or search is None or search.awaiting is None:
      return
    search.awaiting = None
    value = float(feedback.objective_value)
    # CMA-ES minimises; a broken round ranks last.
    search.values.append(-value if math.isfinite(value) else math.inf)
    search.points.append(np.array(feedback.rates, dtype=np.float64))
    search.evaluations += 1
    if len(search.points) == search.generation_size:
      search.told.append((np.array(search.points), np.array(search.values)))
      search.strategy.tell(search.points, search.values)
      search.points, search.values = [], []

  def _new_state(self, objective: str, rates: np.ndarray) -> _Search:
    return _Search(
        strategy=_strategy(rates, self._config, self._generator(objective)),
        x0=rates.copy())

  def _num_brackets(self, state: _Search) -> int:
    return state.strategy.N

  def _save_state(
      self, state: _Search
  ) -> tuple[Sequence[np.ndarray], dict[str, Any]]:
    # A candidate awaiting its round's feedback is offered again after
    # loading, so only the points told or played are kept.
    k = len(state.x0)
    arrays = (
        state.x0.copy(),
        np.array([p for p, _ in state.told], np.float64).reshape(-1, k),
        np.array([v for _, v in state.told], np.float64).reshape(-1),
        np.array(state.points, np.float64).reshape(-1, k),
        np.array(state.values, np.float64))
    return arrays, {
        "open": bool(state.queue or state.points or
                     state.awaiting is not None),
        "evaluations": state.evaluations}

  def _load_state(self, objective: str, arrays: Sequence[np.ndarray],
                  saved: Mapping[str, Any]) -> _Search:
    x0, told_points, told_values, open_points, open_values = arrays
    x0 = learning.check_array(x0, f"x0/{objective}", shape=(None,))
    if not len(x0):
      raise ValueError(f"the checkpoint's state: entry 'x0/{objective}' "
                       "is empty")
    k = len(x0)
    told_points = learning.check_array(
        told_points, f"told_points/{objective}", shape=(None, k))
    open_points = learning.check_array(
        open_points, f"open_points/{objective}", shape=(None, k))
    # A broken round's value is +inf: it ranks last.
    told_values = learning.check_array(
        told_values, f"told_values/{objective}",
        shape=(len(told_points),), finite=False)
    open_values = learning.check_array(
        open_values, f"open_values/{objective}",
        shape=(len(open_points),), finite=False)
    checked = {
        "open": learning.saved_field(
            saved, "open", validation.Check("true or false", _boolean),
            objective),
        "evaluations": learning.saved_field(
            saved, "evaluations", validation.integer(ge=0), objective)}
    return _replay(objective, x0, told_points, told_values, open_points,
                   open_values, checked, self._config)


def _boolean(value: Any) -> bool:
  if not isinstance(value, bool):
    raise TypeError(value)
  return value


def _replay(objective: str, x0: np.ndarray, told_points: np.ndarray,
            told_values: np.ndarray, open_points: np.ndarray,
            open_values: np.ndarray, saved: Mapping[str, Any],
            config: CMAConfig) -> _Search:
  """Rebuilds an objective's search from its x0 and generations told."""
  rng = learning.objective_generator(config.seed, objective)
  search = _Search(strategy=_strategy(x0, config, rng), x0=x0)
  size = int(search.strategy.popsize)
  k = len(x0)
  if (told_points.shape != (len(told_values), k) or len(told_values) % size
      or open_points.shape != (len(open_values), k)
      or len(open_values) >= size):
    raise ValueError(f"the generations saved for {objective!r} do not fit "
                     f"a population of {size} in {k} dimensions")
  for start in range(0, len(told_values), size):
    points = list(told_points[start:start + size])
    values = list(told_values[start:start + size])
    search.strategy.ask()  # Advances the generator as the original did.
    search.told.append((np.array(points), np.array(values)))
    search.strategy.tell(points, values)
  if saved["open"]:
    asked = [np.asarray(x, np.float64) for x in search.strategy.ask()]
    search.generation_size = len(asked)
    search.queue = asked[len(open_points):]
    search.points, search.values = list(open_points), list(open_values)
  search.evaluations = int(saved["evaluations"])
  return search
