"""A black-box principal: CMA-ES over the tax rates φ ∈ [0, 1]^k.

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
from typing import Any, Mapping, Optional

import numpy as np

from umd_meltingpot.principal import base
from umd_meltingpot.principal import divergence as divergence_lib
from umd_meltingpot.principal import learning

# `tell` refuses fewer than 3 solutions per generation.
_MIN_POPSIZE = 3


@dataclasses.dataclass(frozen=True)
class CMAConfig:
  """Parameters of the CMA-ES principal.

  Attributes:
    sigma0: the initial step size σ, in rate units, a finite number > 0.
    popsize: λ, the candidates per generation (rounds per CMA-ES update), an
      integer >= 3; None for `cma`'s default 4 + ⌊3 ln k⌋.
    seed: seeds the principal's generators, an integer >= 0.
  """

  sigma0: float = 0.2
  popsize: Optional[int] = None
  seed: int = 0

  def __post_init__(self):
    try:
      sigma0 = float(self.sigma0)
    except (TypeError, ValueError):
      sigma0 = math.nan
    if not (math.isfinite(sigma0) and sigma0 > 0.0):
      raise ValueError(
          f"sigma0 must be a finite number > 0, got {self.sigma0!r}")
    object.__setattr__(self, "sigma0", sigma0)
    if self.popsize is not None and (
        isinstance(self.popsize, bool) or
        not isinstance(self.popsize, (int, np.integer)) or
        self.popsize < _MIN_POPSIZE):
      raise ValueError(f"popsize must be None or an integer >= "
                       f"{_MIN_POPSIZE}, got {self.popsize!r}")
    object.__setattr__(self, "seed", learning.check_seed(self.seed))


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


class CMAPrincipal(base.Principal):
  """CMA-ES over φ, one candidate per round, projected into the δ-ball."""

  def __init__(
      self,
      config: Optional[CMAConfig] = None,
      *,
      delta: float = math.inf,
      divergence: str = "linf",  # pylint: disable=redefined-outer-name
  ):
    """Initialises the principal.

    Args:
      config: the algorithm's parameters; None for the defaults.
      delta: the wrapper's bound δ on D(φ_prev, φ), >= 0 (inf: none).
      divergence: the wrapper's D, one of `divergence.DIVERGENCES`.

    Raises:
      ValueError: if `delta` or `divergence` is invalid.
    """
    self._config = CMAConfig() if config is None else config
    self._delta = learning.check_bound(delta, divergence)
    self._divergence = divergence
    self._searches: dict[str, _Search] = {}
    self._learning = True

  @property
  def config(self) -> CMAConfig:
    """The algorithm's parameters."""
    return self._config

  @property
  def objectives(self) -> tuple[str, ...]:
    """The objectives this principal has a search for, in first-seen order."""
    return tuple(self._searches)

  def mean(self, objective: str) -> Optional[np.ndarray]:
    """The search distribution's mean m for `objective`; None if unseen."""
    search = self._searches.get(objective)
    return None if search is None else np.array(search.strategy.mean)

  def sigma(self, objective: str) -> Optional[float]:
    """The step size σ for `objective`; None if unseen."""
    search = self._searches.get(objective)
    return None if search is None else float(search.strategy.sigma)

  def evaluations(self, objective: str) -> int:
    """The rounds whose value was recorded under `objective`."""
    search = self._searches.get(objective)
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
                                    self._delta, self._divergence)
    search = self._search(objective, prev)
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
                                  self._divergence)

  def update(self, feedback: base.RoundFeedback) -> None:
    """See base class. Tells CMA-ES once a generation has been played.

    Feedback under an objective with no candidate awaiting its value (a
    round this principal did not propose) is ignored.
    """
    search = self._searches.get(feedback.objective)
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

  def set_learning(self, learning: bool) -> None:
    """See base class. Off, it proposes the mean m (projected); a
    generation in progress resumes when learning is turned back on."""
    self._learning = bool(learning)

  def state_dict(self) -> dict[str, Any]:
    """A checkpoint: per objective, x0 and the generations told (arrays),
    plus "config" and "objectives" (JSON). A candidate awaiting its round's
    feedback is not saved; it is offered again after loading."""
    state: dict[str, Any] = {"config": dataclasses.asdict(self._config)}
    objectives = {}
    for name, search in self._searches.items():
      k = len(search.x0)
      state[f"x0/{name}"] = search.x0.copy()
      state[f"told_points/{name}"] = np.array(
          [p for p, _ in search.told], np.float64).reshape(-1, k)
      state[f"told_values/{name}"] = np.array(
          [v for _, v in search.told], np.float64).reshape(-1)
      state[f"open_points/{name}"] = np.array(
          search.points, np.float64).reshape(-1, k)
      state[f"open_values/{name}"] = np.array(search.values, np.float64)
      objectives[name] = {
          "open": bool(search.queue or search.points or
                       search.awaiting is not None),
          "evaluations": search.evaluations}
    state["objectives"] = objectives
    return state

  def load_state_dict(self, state: Mapping[str, Any]) -> None:
    """Restores a `state_dict()` by replaying its generations.

    Raises:
      ValueError: if the checkpoint's config differs from this one's, or its
        arrays are missing or inconsistent.
    """
    learning.check_saved_config(state["config"], self._config)
    searches = {}
    for name, saved in dict(state["objectives"]).items():
      x0, told_points, told_values, open_points, open_values = (
          learning.objective_arrays(state, name, (
              "x0", "told_points", "told_values", "open_points",
              "open_values")))
      searches[name] = _replay(name, x0, told_points, told_values,
                               open_points, open_values, saved, self._config)
    self._searches = searches

  def _search(self, objective: str, prev: np.ndarray) -> _Search:
    search = self._searches.get(objective)
    if search is None:
      rng = learning.objective_generator(self._config.seed, objective)
      search = _Search(strategy=_strategy(prev, self._config, rng),
                       x0=prev.copy())
      self._searches[objective] = search
    elif search.strategy.N != len(prev):
      raise ValueError(
          f"the game has {len(prev)} brackets, but this principal learnt "
          f"{objective!r} with {search.strategy.N}")
    return search


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
