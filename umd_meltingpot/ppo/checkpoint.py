"""Pickle-free checkpoints: one `.npz` holding arrays and a JSON config.

A checkpoint holds

*   `params/<path>`: the network parameters, by their path in the nested
    dict (`params/actor/hidden_0/w`);
*   `opt_state/<i>`: the leaves of the optax state, in tree order (the tree
    structure comes back from `optimizer.init(params)`);
*   `counters/<name>`: step counters (updates, env steps, ...);
*   `rng/<name>`: PRNG keys (uint32);
*   `config`: a JSON string with everything needed to rebuild the networks
    and resume (the PPO config, the game options, the observation sizes);
*   `format`: the format version.

The container (atomic replacement, a readable `.json` copy of the config and
counters beside it, reading with `allow_pickle=False`, a `ValueError` naming
the file for every failure) is `checkpoint_format`'s; `check_params` and
`restore_opt_state` compare shapes against freshly built templates.
"""

import os
import pathlib
from typing import Any, Mapping, NamedTuple, Optional, Union

import jax
import numpy as np

from umd_meltingpot.plumbing import checkpoint_format

FORMAT_VERSION = 1
PathLike = Union[str, os.PathLike]


class Checkpoint(NamedTuple):
  """The contents of a checkpoint file.

  Attributes:
    params: the parameters, a nested dict of NumPy arrays.
    opt_state_leaves: the optimiser state's leaves in tree order (empty if
      none was saved).
    counters: the step counters.
    rng: the PRNG keys.
    config: the JSON config.
  """
  params: dict[str, Any]
  opt_state_leaves: list[np.ndarray]
  counters: dict[str, int]
  rng: dict[str, np.ndarray]
  config: dict[str, Any]


def save(path: PathLike,
         *,
         params: Mapping[str, Any],
         config: Mapping[str, Any],
         opt_state: Any = None,
         counters: Optional[Mapping[str, int]] = None,
         rng: Optional[Mapping[str, Any]] = None) -> pathlib.Path:
  """Writes a checkpoint atomically; returns its path.

  Args:
    path: the file to write (`.npz`; the config copy goes to `.json`).
    params: nested dict of arrays.
    config: JSON-serialisable config.
    opt_state: an optax state (any pytree of arrays), or None.
    counters: integer counters.
    rng: PRNG keys (arrays of uint32).
  """
  path = pathlib.Path(path)
  arrays = checkpoint_format.flatten(params, "params")
  if opt_state is not None:
    for i, leaf in enumerate(jax.tree_util.tree_leaves(opt_state)):
      arrays[f"opt_state/{i:05d}"] = np.asarray(leaf)
  counters = {name: int(value) for name, value in (counters or {}).items()}
  for name, value in counters.items():
    arrays[f"counters/{name}"] = np.int64(value)
  for name, key in (rng or {}).items():
    arrays[f"rng/{name}"] = np.asarray(key, dtype=np.uint32)
  arrays["format"] = np.int64(FORMAT_VERSION)
  sidecar = {"config": config, "counters": counters,
             "format": FORMAT_VERSION, "checkpoint": path.name}
  return checkpoint_format.save(path, arrays, documents={"config": config},
                                sidecar=sidecar)


_GROUPS = ("params", "opt_state", "counters", "rng")
_DOCUMENTS = ("format", "config")


def load(path: PathLike) -> Checkpoint:
  """Reads a checkpoint, checking every entry's dtype, shape and range.

  Parameters must be finite floats, optimiser arrays finite numbers named by
  their index, counters integers >= 0 and PRNG keys uint32[2]; shapes are
  checked against the network by `check_params` and `restore_opt_state`.

  Raises:
    ValueError: the file is missing, is not a checkpoint, or is corrupt;
      the message names the file and the entry.
  """
  arrays = checkpoint_format.load(path, required=_DOCUMENTS)
  checkpoint_format.check_format(
      checkpoint_format.integer(arrays, "format", path, ge=None),
      FORMAT_VERSION, path)
  config = checkpoint_format.read_json(arrays, "config", path, kind=dict)
  unknown = sorted(name for name in arrays if name not in _DOCUMENTS
                   and name.split("/")[0] not in _GROUPS)
  if unknown:
    raise ValueError(f"{path} has unexpected entries {unknown}")
  flat_params = {name: checkpoint_format.entry(arrays, f"params/{name}",
                                               path, kinds="f")
                 for name in checkpoint_format.group(arrays, "params")}
  if not flat_params:
    raise ValueError(f"{path} holds no parameters")
  opt_state = checkpoint_format.group(arrays, "opt_state")
  not_indices = sorted(name for name in opt_state if not name.isdigit())
  if not_indices:
    raise ValueError(f"{path} has optimiser entries that are not indices: "
                     f"{['opt_state/' + name for name in not_indices]}")
  return Checkpoint(
      params=checkpoint_format.unflatten(flat_params),
      opt_state_leaves=[
          checkpoint_format.entry(arrays, f"opt_state/{name}", path,
                                  kinds="fiu")
          for name in sorted(opt_state, key=int)],
      counters={name: checkpoint_format.integer(arrays, f"counters/{name}",
                                                path)
                for name in checkpoint_format.group(arrays, "counters")},
      rng={name: checkpoint_format.entry(arrays, f"rng/{name}", path,
                                         kinds="u", shape=(2,),
                                         le=np.iinfo(np.uint32).max)
           for name in checkpoint_format.group(arrays, "rng")},
      config=config)


def check_params(params: Mapping[str, Any], template: Mapping[str, Any],
                 source: str) -> None:
  """Checks that `params` has the names and shapes of `template`.

  Args:
    params: loaded parameters.
    template: parameters built from the config (e.g. `networks.init`).
    source: names the checkpoint in the error.

  Raises:
    ValueError: a missing, extra or differently shaped parameter.
  """
  flat = checkpoint_format.flatten(params, "params")
  got = {k: np.shape(v) for k, v in flat.items()}
  want = {k: np.shape(v)
          for k, v in checkpoint_format.flatten(template, "params").items()}
  missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
  if missing or extra:
    raise ValueError(f"{source} does not match the network: missing "
                     f"{missing}, unexpected {extra}")
  for name in sorted(want):
    if got[name] != want[name]:
      raise ValueError(f"{source} does not match the network: {name} has "
                       f"shape {got[name]}, expected {want[name]}")
    dtype = flat[name].dtype
    if dtype.kind != "f" or not np.isfinite(flat[name]).all():
      raise ValueError(f"{source}: {name} must hold finite floats, got "
                       f"dtype {dtype}")


def restore_opt_state(leaves: list[np.ndarray], template: Any,
                      source: str) -> Any:
  """The optimiser state with `template`'s structure and the saved leaves.

  Raises:
    ValueError: the number or shapes of the leaves do not match.
  """
  template_leaves, treedef = jax.tree_util.tree_flatten(template)
  if len(leaves) != len(template_leaves):
    raise ValueError(f"{source} has {len(leaves)} optimiser arrays; the "
                     f"optimiser expects {len(template_leaves)}")
  for i, (leaf, expected) in enumerate(zip(leaves, template_leaves)):
    if np.shape(leaf) != np.shape(expected):
      raise ValueError(f"{source}: optimiser array {i} (opt_state/{i:05d}) "
                       f"has shape "
                       f"{np.shape(leaf)}, expected {np.shape(expected)}")
    # A float where the optimiser counts steps (or the reverse) is corrupt.
    got, want = np.asarray(leaf).dtype, np.asarray(expected).dtype
    if (got.kind == "f") != (want.kind == "f") or got.kind not in "fiu":
      raise ValueError(f"{source}: optimiser array {i} (opt_state/{i:05d}) "
                       f"has dtype {got}, "
                       f"expected {want}")
  return jax.tree_util.tree_unflatten(
      treedef, [np.asarray(leaf, dtype=np.asarray(expected).dtype)
                for leaf, expected in zip(leaves, template_leaves)])
