"""The checkpoint file format: NumPy arrays and JSON in one `.npz`, no pickle.

Every checkpoint (a PPO follower's, `umd_meltingpot/ppo/checkpoint.py`; a learning
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
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from umd_meltingpot.plumbing import runs
from umd_meltingpot.plumbing import validation

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
              path: PathLike, *, kind: Optional[type] = None) -> Any:
  """The JSON document `name` of a loaded checkpoint.

  Args:
    arrays: the loaded checkpoint.
    name: the document's name.
    path: names the file in messages.
    kind: the type the document must be (e.g. dict); None: any.

  Raises:
    ValueError: it is not a 0-d string, not valid JSON, or not a `kind`
      (the message names `path` and `name`).
  """
  text = entry(arrays, name, path, kinds="U", shape=())
  try:
    document = json.loads(str(text))
  except json.JSONDecodeError as error:
    raise ValueError(f"{path} has a corrupt {name}: {error}") from None
  if kind is not None and not isinstance(document, kind):
    raise ValueError(f"{path}: {name} must be a JSON {_JSON_NAMES[kind]}, "
                     f"got {document!r:.80}")
  return document


_JSON_NAMES = {dict: "object", list: "array", str: "string", int: "integer"}
_KIND_NAMES = {"f": "floats", "i": "signed integers",
               "u": "unsigned integers", "b": "bools", "U": "strings"}


def entry(arrays: Mapping[str, np.ndarray], name: str, path: PathLike, *,
          kinds: str, shape: Optional[Sequence[Optional[int]]] = None,
          ge: Optional[float] = None, le: Optional[float] = None,
          finite: bool = True) -> np.ndarray:
  """The array `name` of a loaded checkpoint, checked against what its
  reader expects.

  Every reader checks every entry it uses with this, so that a file whose
  container parses but whose contents are wrong (a dtype, a shape, a NaN)
  is refused when it is loaded, naming the file and the entry, not later
  with a TypeError deep inside a game.

  Args:
    arrays: the loaded checkpoint (see `load`).
    name: the entry.
    path: names the file in messages.
    kinds: the NumPy dtype kinds accepted ("f" float, "i" signed and "u"
      unsigned integer, "b" bool, "U" string), e.g. "iu".
    shape: the shape it must have; an axis given as None may have any
      length; None: any shape.
    ge, le: bounds every value must lie within.
    finite: float values must be finite; False allows infinities (a value
      that ranks last), never NaN.

  Returns:
    The array.

  Raises:
    ValueError: it is missing, or has another dtype kind, shape or range.
  """
  if name not in arrays:
    raise ValueError(f"{path} lacks the entry {name!r}")
  value = np.asarray(arrays[name])
  if value.dtype.kind not in kinds:
    wanted = " or ".join(_KIND_NAMES.get(kind, kind) for kind in kinds)
    raise ValueError(f"{path}: entry {name!r} must hold {wanted}, got "
                     f"dtype {value.dtype}")
  if shape is not None and (
      value.ndim != len(shape) or
      any(want is not None and got != want
          for got, want in zip(value.shape, shape))):
    wanted = tuple("any" if axis is None else axis for axis in shape)
    raise ValueError(f"{path}: entry {name!r} must have shape {wanted}, got "
                     f"{value.shape}")
  if value.dtype.kind == "f" and not (
      np.isfinite(value) if finite else ~np.isnan(value)).all():
    raise ValueError(f"{path}: entry {name!r} holds NaN"
                     f"{' or infinite values' if finite else ''}")
  if value.dtype.kind in "fiu" and value.size:
    low, high = value.min(), value.max()
    if (ge is not None and low < ge) or (le is not None and high > le):
      bounds = f"[{'-inf' if ge is None else ge}, {'inf' if le is None else le}]"
      raise ValueError(f"{path}: entry {name!r} must lie in {bounds}, got "
                       f"values in [{low}, {high}]")
  return value


def integer(arrays: Mapping[str, np.ndarray], name: str, path: PathLike, *,
            ge: Optional[int] = 0) -> int:
  """The 0-d integer entry `name` (a counter, a version) as an int.

  Raises:
    ValueError: see `entry`.
  """
  return int(entry(arrays, name, path, kinds="iu", shape=(), ge=ge))


def _json_object(value: Any) -> dict[str, Any]:
  if not isinstance(value, dict):
    raise TypeError(value)
  return value


JSON_OBJECT = validation.Check("a JSON object", _json_object)
"""What a `field` that holds a nested document accepts."""


def field(document: Mapping[str, Any], key: str, check: validation.Check,
          path: PathLike, *, where: str) -> Any:
  """`document[key]`, normalised by `check` (see `validation`).

  Args:
    document: a JSON document of a checkpoint (a header, a config).
    key: the field.
    check: what it accepts.
    path: names the file in messages.
    where: names the document in messages ("header").

  Raises:
    ValueError: the field is missing or `check` refuses it.
  """
  if key not in document:
    raise ValueError(f"{path}: the {where} lacks {key!r}")
  try:
    return check.normalise(document[key])
  except (TypeError, ValueError, OverflowError):
    raise ValueError(f"{path}: {where} {key!r} must be {check.description}, "
                     f"got {document[key]!r:.80}") from None


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
