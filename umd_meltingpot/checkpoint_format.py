"""The checkpoint file format: NumPy arrays and JSON in one `.npz`, no pickle.

Every checkpoint (a PPO follower's, `agents/ppo/checkpoint.py`; a learning
principal's, `principal/checkpoint.py`) is one `.npz` archive holding

*   arrays, named by path (`params/actor/hidden_0/w`, `state/counts`): a
    `/` groups them, and `group` reads one group back;
*   JSON documents (a config, a header), each stored as a 0-d string array,
    so that the file needs nothing but NumPy to read and `np.load` never
    has to unpickle (`allow_pickle=False`: loading a file cannot run code);

and a readable JSON copy of what matters beside it (`<stem>.json`), for
people and `jq`, never read back. Both files are replaced atomically
(`runs.atomic_path`), so a crash mid-save keeps the previous checkpoint.

What the arrays and documents mean, and the version of that layout, belong
to each checkpoint module; this one knows only the container.
"""

import json
import os
import pathlib
import zipfile
from typing import Any, Mapping, Sequence, Union

import numpy as np

from umd_meltingpot import runs

PathLike = Union[str, os.PathLike]


def save(path: PathLike, arrays: Mapping[str, Any], *,
         documents: Mapping[str, Any], sidecar: Mapping[str, Any]
         ) -> pathlib.Path:
  """Writes one checkpoint and its readable copy, each atomically.

  Args:
    path: the `.npz` file (its parent folder is created if needed).
    arrays: name -> array (anything `np.asarray` takes, not objects).
    documents: name -> JSON-serialisable value, stored key-sorted.
    sidecar: the JSON written to `path.with_suffix(".json")`.

  Returns:
    `path`.

  Raises:
    ValueError: a name is both an array and a document, or an array holds
      Python objects (np.savez would pickle them, and `load` refuses pickle).
  """
  path = pathlib.Path(path)
  clash = sorted(set(arrays) & set(documents))
  if clash:
    raise ValueError(f"names used for both arrays and documents: {clash}")
  stored = {name: np.asarray(value) for name, value in arrays.items()}
  objects = sorted(name for name, value in stored.items()
                   if value.dtype.hasobject)
  if objects:
    raise ValueError(f"arrays of Python objects cannot be saved without "
                     f"pickle: {objects}")
  for name, value in documents.items():
    stored[name] = np.array(json.dumps(value, sort_keys=True))
  # A file object, not the partial's name: np.savez would append ".npz".
  with runs.atomic_path(path) as partial, open(partial, "wb") as file:
    np.savez(file, **stored)
  runs.write_json(path.with_suffix(".json"), sidecar)
  return path


def load(path: PathLike, *, what: str = "checkpoint",
         required: Sequence[str] = ()) -> dict[str, np.ndarray]:
  """Reads every array of a checkpoint, without unpickling.

  Args:
    path: the `.npz` file.
    what: names the file in messages ("principal checkpoint").
    required: names the file must hold to be a `what` at all.

  Returns:
    name -> array, documents included (read them with `read_json`).

  Raises:
    ValueError: the file is missing, not a readable `.npz`, or lacks a
      required name.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise ValueError(f"No {what} at {path}")
  try:
    data = np.load(path, allow_pickle=False)
    if not isinstance(data, np.lib.npyio.NpzFile):  # A lone `.npy` array.
      raise ValueError("not an .npz archive")
    with data:
      arrays = {name: data[name] for name in data.files}
  except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile,
          zipfile.LargeZipFile) as error:
    raise ValueError(f"{path} is not a readable {what}: {error}") from None
  missing = [name for name in required if name not in arrays]
  if missing:
    raise ValueError(f"{path} is not a {what} (no {' or '.join(missing)})")
  return arrays


def read_json(arrays: Mapping[str, np.ndarray], name: str,
              path: PathLike) -> Any:
  """The JSON document `name` of a loaded checkpoint.

  Raises:
    ValueError: it is not valid JSON (the message names `path`).
  """
  try:
    return json.loads(str(arrays[name]))
  except json.JSONDecodeError as error:
    raise ValueError(f"{path} has a corrupt {name}: {error}") from None


def check_format(found: Any, expected: int, path: PathLike) -> None:
  """Raises ValueError unless the saved format version is `expected`."""
  if found != expected:
    raise ValueError(f"{path} has checkpoint format {found}; this version "
                     f"reads format {expected}")


def group(arrays: Mapping[str, np.ndarray], prefix: str
          ) -> dict[str, np.ndarray]:
  """The arrays named `<prefix>/<rest>`, keyed by `<rest>`."""
  start = len(prefix) + 1
  return {name[start:]: value for name, value in arrays.items()
          if name.startswith(prefix + "/")}


def flatten(tree: Mapping[str, Any], prefix: str) -> dict[str, np.ndarray]:
  """A nested dict of arrays as `{"<prefix>/a/b": array}` (parameters are
  stored by their path, so a reader sees names, not tree positions).

  Raises:
    ValueError: a key contains "/", which would make the path ambiguous.
  """
  flat = {}
  for key, value in tree.items():
    if "/" in key:
      raise ValueError(f"parameter names may not contain '/': {key!r}")
    path = f"{prefix}/{key}"
    if isinstance(value, Mapping):
      flat.update(flatten(value, path))
    else:
      flat[path] = np.asarray(value)
  return flat


def unflatten(flat: Mapping[str, np.ndarray]) -> dict[str, Any]:
  """The nested dict of `{"a/b": x}` paths (the inverse of `flatten` after
  `group` has removed the prefix)."""
  tree: dict[str, Any] = {}
  for path, value in flat.items():
    parts = path.split("/")
    node = tree
    for part in parts[:-1]:
      node = node.setdefault(part, {})
    node[parts[-1]] = value
  return tree
