"""Helpers shared by the learning principals (bandit, CMA-ES).

Each learning principal proposes candidates that are already feasible for
the wrapper's bound, so it takes δ and D at construction (`check_bound`), and
keeps its state per objective with a generator of its own
(`objective_generator`), so that what it does under one objective does not
depend on which objectives were voted before. Their checkpoints hold their
config and per-objective arrays named `<key>/<objective>`
(`check_saved_config`, `objective_arrays`).
"""

from typing import Any, Mapping, Sequence
import zlib

import numpy as np

from umd_meltingpot.principal import divergence as divergence_lib


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
  """Returns `seed` as an int.

  Raises:
    ValueError: if `seed` is not an integer >= 0.
  """
  if (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or
      seed < 0):
    raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
  return int(seed)


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


def objective_arrays(state: Mapping[str, Any], objective: str,
                     keys: Sequence[str]) -> list[np.ndarray]:
  """A checkpoint's float arrays `<key>/<objective>`, in the order of `keys`.

  Raises:
    ValueError: if one is missing.
  """
  try:
    return [np.asarray(state[f"{key}/{objective}"], np.float64)
            for key in keys]
  except KeyError as error:
    raise ValueError(f"the checkpoint lacks {error}") from None
