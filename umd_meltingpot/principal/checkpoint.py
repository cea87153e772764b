"""Principal checkpoints: a learning principal's state, without pickle.

A checkpoint is one `.npz` file (read with `allow_pickle=False`) holding the
principal's arrays and a JSON header: the format, the principal's name, its
config, the game's number of brackets k and bracket edges, the game it learnt
on (`game`: players, map, edges, max_rate, bracket window; see
`trained_game`), counters (such as the games played) and the JSON-able part
of its state (generator states, counters), in the container of
`checkpoint_format`: pickle-free, replaced atomically, with a readable copy
of the header next to it as `.json`. A header without `game` (written before
it was recorded) still loads; its game is None then and cannot be checked.

  checkpoint.save("runs/x/principal.npz", "bandit", principal, schedule,
                  counters={"games": 10},
                  game=trained_game.of_config(substrate_config, 5))
  loaded = checkpoint.load("runs/x/principal.npz", delta=0.1)
  loaded.principal.propose(observation, "utilitarian")

Supported principals: those the registry marks `checkpointable`
(`SUPPORTED`, read from `registry.CHECKPOINTABLE`), each through its own
`state_dict` and `load_state_dict`, so a new one needs no entry here. For
example `bandit`, `thompson` (their per-objective statistics and generator
states), `cma` (x0 and the generations told, replayed on loading: see
`cma_es`), `rl` (its parameters, optimiser state, key and reward
statistics; steps not yet learnt from are not saved), `ucb_constant` and
`epsilon_greedy` (per-objective games per arm, their values, the arm held
in a game in progress and generator states).
"""

import math
import os
import pathlib
from typing import Any, Mapping, NamedTuple, Optional, Union

import numpy as np

from umd_meltingpot.plumbing import checkpoint_format
from umd_meltingpot.plumbing import trained_game
from umd_meltingpot.plumbing import validation
from umd_meltingpot.principal import base
from umd_meltingpot.principal import registry
from umd_meltingpot.principal import schedule as schedule_lib

FORMAT_VERSION = 1
SUPPORTED: tuple[str, ...] = registry.CHECKPOINTABLE
_HEADER = "header"
_STATE = "state"

PathLike = Union[str, os.PathLike]


class LoadedPrincipal(NamedTuple):
  """A principal read back from a checkpoint.

  Attributes:
    name: its registered name, one of SUPPORTED.
    principal: the principal, with its learnt state restored.
    num_brackets: k, the number of rates of the game it learnt on.
    edges: that game's bracket edges.
    counters: the counters saved with it (e.g. {"games": 10}).
    game: the game it learnt on (`trained_game.of_summary`); None for a
      checkpoint that predates recording it.
  """
  name: str
  principal: base.Principal
  num_brackets: int
  edges: tuple[float, ...]
  counters: dict[str, int]
  game: Optional[trained_game.Game] = None


def check_supported(name: str) -> None:
  """Raises ValueError unless principal `name` can be checkpointed."""
  if name not in SUPPORTED:
    raise ValueError(
        f"principal {name!r} cannot be checkpointed; supported: "
        f"{list(SUPPORTED)}")


def is_checkpoint_path(spec: str) -> bool:
  """Whether a `--principal` value names a file rather than a principal."""
  return spec.endswith(".npz") or os.sep in spec or "/" in spec


def save(path: PathLike, name: str, principal: base.Principal,
         schedule: schedule_lib.TaxSchedule, *,
         counters: Optional[Mapping[str, int]] = None,
         game: Optional[Mapping[str, Any]] = None) -> pathlib.Path:
  """Writes `principal`'s state atomically to `path` (and `.json`).

  Args:
    path: the `.npz` file to write.
    name: the principal's registered name, one of SUPPORTED.
    principal: the principal; it must have `state_dict()`.
    schedule: the game's schedule, which fixes k and the edges.
    counters: integer counters to keep with it.
    game: the game it learns on (`trained_game.of_config`), which `umd run
      --principal PATH` checks the game it plays against.

  Returns:
    The path written.

  Raises:
    ValueError: if `name` is not one of SUPPORTED.
  """
  check_supported(name)
  path = pathlib.Path(path)
  arrays, values = {}, {}
  for key, value in principal.state_dict().items():
    if isinstance(value, (np.ndarray, np.generic)):
      arrays[f"{_STATE}/{key}"] = value
    else:
      values[key] = value
  header = {
      "format": FORMAT_VERSION, "principal": name,
      "num_brackets": schedule.num_brackets,
      "edges": [float(edge) for edge in schedule.edges],
      "counters": {k: int(v) for k, v in (counters or {}).items()},
      "state": values,
  }
  if game is not None:
    header["game"] = {key: list(value) if isinstance(value, tuple) else value
                      for key, value in game.items()}
  checkpoint_format.save(path, arrays, documents={_HEADER: header},
                         sidecar=header)
  return path


def _counters(value: Any) -> dict[str, int]:
  counter = validation.integer(ge=0)
  if not isinstance(value, dict):
    raise TypeError(value)
  return {str(key): counter.normalise(count) for key, count in value.items()}


_HEADER_FIELDS = {
    "format": validation.integer(),
    "principal": validation.one_of(SUPPORTED),
    "num_brackets": validation.integer(ge=1),
    "edges": validation.Check("finite, positive, strictly increasing "
                              "bracket edges", schedule_lib.check_edges),
    "counters": validation.Check("a JSON object of integers >= 0", _counters),
    "state": checkpoint_format.JSON_OBJECT,
}


def _read(path: pathlib.Path) -> tuple[dict[str, Any], dict[str, Any]]:
  """The checked header and the state arrays of the checkpoint at `path`.

  Raises:
    ValueError: a header field is missing or invalid, or a state entry is
      not a numeric array (the message names the file and the entry).
  """
  arrays = checkpoint_format.load(path, what="principal checkpoint",
                                  required=(_HEADER,))
  saved = checkpoint_format.read_json(arrays, _HEADER, path, kind=dict)
  header = {key: checkpoint_format.field(saved, key, check, path,
                                         where="header")
            for key, check in _HEADER_FIELDS.items()}
  checkpoint_format.check_format(header["format"], FORMAT_VERSION, path)
  header["game"] = None
  if "game" in saved:
    game = checkpoint_format.field(saved, "game",
                                   checkpoint_format.JSON_OBJECT, path,
                                   where="header")
    try:
      header["game"] = trained_game.of_summary(game)
    except (KeyError, TypeError, ValueError) as error:
      raise ValueError(f"{path}: header 'game' must give players, map_name, "
                       f"bracket_edges, max_rate and bracket_window: "
                       f"{error!r}") from None
  if len(header["edges"]) != header["num_brackets"] - 1:
    raise ValueError(f"{path}: the header has {header['num_brackets']} "
                     f"brackets but {len(header['edges'])} edges")
  checkpoint_format.field(header["state"], "config",
                          checkpoint_format.JSON_OBJECT, path,
                          where="header state")
  unknown = sorted(name for name in arrays
                   if name != _HEADER and not name.startswith(_STATE + "/"))
  if unknown:
    raise ValueError(f"{path} has unexpected entries {unknown}")
  # Each principal's load_state_dict checks the shapes and ranges it needs.
  state = {name: checkpoint_format.entry(arrays, f"{_STATE}/{name}", path,
                                         kinds="fiu", finite=False)
           for name in checkpoint_format.group(arrays, _STATE)}
  return header, state


def _new_principal(name: str, config: Mapping[str, Any],
                   schedule: schedule_lib.TaxSchedule, delta: float,
                   divergence: str) -> base.Principal:
  """A fresh principal `name` with `config`, before its state is loaded."""
  spec = registry.PRINCIPALS[name]
  return spec.from_config(
      spec.config_class(**config),
      registry.Game(schedule=schedule, delta=delta, divergence=divergence))


def load(path: PathLike, *, num_brackets: Optional[int] = None,
         delta: float = math.inf, divergence: str = "linf"
         ) -> LoadedPrincipal:
  """Reads a principal checkpoint written by `save`.

  Args:
    path: the `.npz` file.
    num_brackets: if given, the game's k, which the checkpoint must match.
    delta: the game's bound δ, which a bandit's moves respect.
    divergence: the game's D.

  Raises:
    ValueError: the file is missing, corrupt, of an unsupported principal,
      or learnt on a game with another number of brackets.
  """
  path = pathlib.Path(path)
  header, arrays = _read(path)
  name, k = header["principal"], header["num_brackets"]
  if num_brackets is not None and k != num_brackets:
    raise ValueError(f"{path} was learnt with {k} brackets, but the game has "
                     f"{num_brackets}")
  # The header's k, for principals whose state does not record its own.
  state = {"num_brackets": k, **arrays, **header["state"]}
  try:
    principal = _new_principal(name, dict(header["state"]["config"]),
                               schedule_lib.no_tax(k, header["edges"]),
                               delta, divergence)
    principal.load_state_dict(state)
  except (KeyError, TypeError, ValueError) as error:
    reason = (f"lacks {error}" if isinstance(error, KeyError) else
              str(error))
    raise ValueError(f"{path} does not restore a {name!r} principal: "
                     f"{reason}") from None
  return LoadedPrincipal(
      name=name, principal=principal, num_brackets=k, edges=header["edges"],
      counters=header["counters"], game=header["game"])
