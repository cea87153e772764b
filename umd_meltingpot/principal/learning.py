"""What the learning principals (bandit, CMA-ES) share: `LearningPrincipal`.

Each learning principal proposes candidates that are already feasible for
the wrapper's bound, so it takes δ and D at construction (`check_bound`), and
keeps its state per objective with a generator of its own
(`objective_generator`), so that what it does under one objective does not
depend on which objectives were voted before. Their checkpoints hold their
config and per-objective arrays named `<key>/<objective>`
(`check_saved_config`, `objective_arrays`).
"""

import abc
import dataclasses
import math
from typing import Any, ClassVar, Generic, Mapping, Optional, Sequence, TypeVar
import zlib

import numpy as np

from umd_meltingpot.plumbing import checkpoint_format
from umd_meltingpot.plumbing import validation
from umd_meltingpot.principal import base
from umd_meltingpot.principal import divergence as divergence_lib

SEED = validation.integer(ge=0)
"""What a principal's seed accepts; configs declare
`seed: int = validation.checked(0, learning.SEED)`."""

_Config = TypeVar("_Config")
_State = TypeVar("_State")


def check_bound(delta: float, divergence: str) -> float:
  """Validates a principal's δ and divergence name; returns δ as a float.

  Raises:
    ValueError: if `divergence` is not one of DIVERGENCES, or `delta` is not
      a number >= 0 (inf allowed: no bound).
  """
  divergence_lib.divergence(divergence)  # Raises, naming the valid ones.
  try:
    delta = float(delta)
  except (TypeError, ValueError):
    raise ValueError(f"delta must be a number >= 0, got {delta!r}") from None
  if not delta >= 0.0:  # Also rejects NaN.
    raise ValueError(f"delta must be a number >= 0, got {delta!r}")
  return delta


def check_seed(seed: object) -> int:
  """Returns `seed` as an int, for a principal that has no config.

  Raises:
    ValueError: if `seed` is not an integer >= 0.
  """
  try:
    return SEED.normalise(seed)
  except (TypeError, ValueError):
    validation.fail("seed", SEED.description, seed)


def objective_generator(seed: int, objective: str) -> np.random.Generator:
  """A generator seeded by `seed` and a stable hash of the objective's name.

  Args:
    seed: the principal's seed, an integer >= 0.
    objective: the objective's name.
  """
  return np.random.default_rng([seed, zlib.crc32(objective.encode())])


def check_saved_config(saved: Mapping[str, Any], config: Any) -> None:
  """Raises ValueError unless a checkpoint's config equals `config`.

  Args:
    saved: the checkpoint's "config" entry, the config's fields.
    config: the principal's config (a dataclass).
  """
  saved_config = type(config)(**dict(saved))
  if saved_config != config:
    raise ValueError(f"the checkpoint is for {saved_config}; this principal "
                     f"has {config}")


_STATE = "the checkpoint's state"


def objective_arrays(state: Mapping[str, Any], objective: str,
                     keys: Sequence[str]) -> list[np.ndarray]:
  """A checkpoint's float arrays `<key>/<objective>`, in the order of `keys`.

  Raises:
    ValueError: if one is missing or not numeric, or holds NaN (infinities
      are left to each principal's `_load_state`).
  """
  return [np.asarray(checkpoint_format.entry(
      state, f"{key}/{objective}", _STATE, kinds="fiu", finite=False),
                     np.float64) for key in keys]


def check_array(array: np.ndarray, name: str, *, shape: Sequence[Any],
                ge: Optional[float] = None, finite: bool = True
                ) -> np.ndarray:
  """One array of a checkpoint's state, checked (see `checkpoint_format.entry`).

  Raises:
    ValueError: another shape, a value below `ge`, or not finite.
  """
  return checkpoint_format.entry({name: array}, name, _STATE, kinds="fiu",
                                 shape=shape, ge=ge, finite=finite)


def saved_field(saved: Mapping[str, Any], key: str, check: validation.Check,
                objective: str) -> Any:
  """One JSON value an objective's state saved, checked by `check`.

  Raises:
    ValueError: it is missing or invalid (naming the objective and key).
  """
  if not isinstance(saved, Mapping):
    raise ValueError(f"{_STATE}: objective {objective!r} must be a JSON "
                     f"object, got {saved!r:.80}")
  return checkpoint_format.field(saved, key, check, _STATE,
                                 where=f"objective {objective!r}")


class LearningPrincipal(base.Principal, Generic[_Config, _State]):
  """A principal that learns one state per objective inside the δ-ball.

  A subclass sets `config_class` (a dataclass with a `seed` field) and
  `array_keys`, and implements `propose`, `update` and the four hooks:
  `_new_state` (an objective seen for the first time), `_num_brackets` (the
  k a state was made for), `_save_state` and `_load_state` (one objective's
  checkpoint). Its checkpoint is "config" (the config's fields), the arrays
  `<key>/<objective>` for each key of `array_keys`, and "objectives", each
  objective's JSON-able values.
  """

  config_class: ClassVar[type]
  array_keys: ClassVar[tuple[str, ...]]

  def __init__(
      self,
      config: Optional[_Config] = None,
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
    self._config = self.config_class() if config is None else config
    self._delta = check_bound(delta, divergence)
    self._divergence = divergence
    self._states: dict[str, _State] = {}
    self._learning = True

  @property
  def config(self) -> _Config:
    """The algorithm's parameters."""
    return self._config

  @property
  def objectives(self) -> tuple[str, ...]:
    """The objectives this principal has learnt about, in first-seen order."""
    return tuple(self._states)

  def set_learning(self, learning: bool) -> None:
    """See base class. What a frozen principal proposes is in its class
    docstring."""
    self._learning = bool(learning)

  def state_dict(self) -> dict[str, Any]:
    """A checkpoint: per-objective arrays, "config" and "objectives" (JSON).

    What is awaiting its round's feedback is not saved.
    """
    state: dict[str, Any] = {"config": dataclasses.asdict(self._config)}
    objectives = {}
    for name, objective_state in self._states.items():
      arrays, objectives[name] = self._save_state(objective_state)
      for key, array in zip(self.array_keys, arrays, strict=True):
        state[f"{key}/{name}"] = array
    state["objectives"] = objectives
    return state

  def load_state_dict(self, state: Mapping[str, Any]) -> None:
    """Restores a `state_dict()`.

    A "num_brackets" entry (the checkpoint header's k) must be every
    objective's k.

    Raises:
      ValueError: if the checkpoint's config differs from this one's, or its
        arrays are missing, of the wrong shape or range, or inconsistent.
    """
    check_saved_config(state["config"], self._config)
    objectives = state["objectives"]
    if not isinstance(objectives, Mapping):
      raise ValueError(f"{_STATE}: 'objectives' must be a JSON object, got "
                       f"{objectives!r:.80}")
    num_brackets = state.get("num_brackets")
    states = {}
    for name, saved in objectives.items():
      arrays = objective_arrays(state, name, self.array_keys)
      states[name] = self._load_state(name, arrays, saved)
      learnt = self._num_brackets(states[name])
      if num_brackets is not None and learnt != num_brackets:
        raise ValueError(f"{_STATE}: {name!r} was learnt with {learnt} "
                         f"brackets; the checkpoint is for {num_brackets}")
    self._states = states

  def _generator(self, objective: str) -> np.random.Generator:
    """A new generator for `objective` (see `objective_generator`)."""
    return objective_generator(self._config.seed, objective)

  def _state(self, objective: str, rates: np.ndarray) -> _State:
    """`objective`'s state, made at `rates` (φ_prev, or the rates applied)
    on first sight.

    Raises:
      ValueError: if the state was made for another number of brackets.
    """
    state = self._states.get(objective)
    if state is None:
      state = self._new_state(objective, np.asarray(rates, np.float64))
      self._states[objective] = state
    elif self._num_brackets(state) != len(rates):
      raise ValueError(
          f"the game has {len(rates)} brackets, but this principal learnt "
          f"{objective!r} with {self._num_brackets(state)}")
    return state

  @abc.abstractmethod
  def _new_state(self, objective: str, rates: np.ndarray) -> _State:
    """A fresh state for `objective`, first seen at `rates` ([k])."""

  @abc.abstractmethod
  def _num_brackets(self, state: _State) -> int:
    """The number of brackets k that `state` was made for."""

  @abc.abstractmethod
  def _save_state(
      self, state: _State
  ) -> tuple[Sequence[np.ndarray], dict[str, Any]]:
    """One objective's arrays (in the order of `array_keys`) and its
    JSON-able values."""

  @abc.abstractmethod
  def _load_state(self, objective: str, arrays: Sequence[np.ndarray],
                  saved: Mapping[str, Any]) -> _State:
    """Rebuilds one objective's state from `_save_state`'s output.

    Raises:
      ValueError: if the arrays are inconsistent.
    """
