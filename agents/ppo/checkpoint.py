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

from umd_meltingpot import checkpoint_format

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


def load(path: PathLike) -> Checkpoint:
  """Reads a checkpoint.

  Raises:
    ValueError: the file is missing, is not a checkpoint, or is corrupt.
  """
  arrays = checkpoint_format.load(path, required=("format", "config"))
  checkpoint_format.check_format(int(arrays["format"]), FORMAT_VERSION, path)
  config = checkpoint_format.read_json(arrays, "config", path)
  params = checkpoint_format.unflatten(
      checkpoint_format.group(arrays, "params"))
  if not params:
    raise ValueError(f"{path} holds no parameters")
  opt_state = checkpoint_format.group(arrays, "opt_state")
  return Checkpoint(
      params=params,
      opt_state_leaves=[value for _, value in sorted(opt_state.items())],
      counters={name: int(value) for name, value
                in checkpoint_format.group(arrays, "counters").items()},
      rng=checkpoint_format.group(arrays, "rng"),
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
  got = {k: np.shape(v)
         for k, v in checkpoint_format.flatten(params, "params").items()}
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
      raise ValueError(f"{source}: optimiser array {i} has shape "
                       f"{np.shape(leaf)}, expected {np.shape(expected)}")
  return jax.tree_util.tree_unflatten(
      treedef, [np.asarray(leaf, dtype=np.asarray(expected).dtype)
                for leaf, expected in zip(leaves, template_leaves)])
