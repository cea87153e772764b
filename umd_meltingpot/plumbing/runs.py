"""Run folders and the files in them: one place for naming, refusing and writing.

Every command that writes results (`umd run`, `umd evaluate`, `umd train`,
the checkpoints, plots and videos) goes through this module, so that

*   a run folder is `--out`, or by default `runs/<kind>-<timestamp>`, and a
    folder that exists and is not empty is refused *before* anything is
    written (a run never mixes its files with another's);
*   a finished file is replaced atomically: it is written to
    `<name>.partial<suffix>` beside its destination (same filesystem, so
    `os.replace` is an atomic rename), synced, then renamed. A reader, or a
    run killed half-way, sees the old file or the new one, never half of one;
    a writer that raises leaves no partial file behind;
*   a JSON-lines log is appended and flushed one whole line at a time, so a
    killed run keeps every line it wrote.

Usage:

  out = runs.new_folder(config.out, kind="eval")  # runs/eval-20260101-120000
  runs.write_json(out / "config.json", {"seed": 0})
  with runs.atomic_path(out / "summary.png", suffix=".png") as partial:
    figure.savefig(partial)  # Writers that need a path, not bytes.
  with runs.JsonLines(out / "rounds.jsonl") as log:
    log.write({"round": 0})
"""

import contextlib
import datetime
import json
import math
import os
import pathlib
import tempfile
from typing import Any, Callable, Iterator, Mapping, Optional, Union

PathLike = Union[str, os.PathLike]

ROOT = pathlib.Path("runs")
"""Where default run folders go, relative to the working directory."""


def default_folder(kind: Optional[str] = None) -> pathlib.Path:
  """A new timestamped folder name under `runs/` (not created).

  Args:
    kind: a prefix naming the command (`eval`, `train`); None for none.

  Returns:
    `runs/<kind>-<YYYYmmdd-HHMMSS>`, or `runs/<YYYYmmdd-HHMMSS>`.
  """
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  return ROOT / (f"{kind}-{stamp}" if kind else stamp)


def check_writable(path: PathLike, *, flag: str = "--out") -> None:
  """Refuses a folder that cannot be made, or written, by this process.

  The nearest existing folder at or above `path` must be a folder in which
  a file can be created: a probe file is made there and removed at once
  (a permission check alone would pass for root on a read-only mount, or
  miss ACLs). Nothing else is created.

  Args:
    path: a folder, existing or to be made.
    flag: names the option in the message.

  Raises:
    ValueError: one line naming `path` and the reason.
  """
  folder = pathlib.Path(path)
  existing = folder
  while not existing.exists() and existing != existing.parent:
    existing = existing.parent
  if not existing.is_dir():
    raise ValueError(f"{flag} {folder} cannot be made: {existing} is not a "
                     "folder; choose another " + flag)
  try:
    descriptor, probe = tempfile.mkstemp(prefix=".umd-write-test-",
                                         dir=existing)
  except OSError as error:
    reason = error.strerror or type(error).__name__
    raise ValueError(f"{flag} {folder} is not writable ({existing}: "
                     f"{reason}); choose another {flag}") from None
  os.close(descriptor)
  os.unlink(probe)


def check_new_folder(out: Optional[PathLike]) -> None:
  """Refuses a run folder that exists and is not empty, or cannot be written.

  Commands call this while validating their options, so a bad `--out` fails
  before any work (or any file) is done.

  Args:
    out: the run folder; None: a default folder to come under `ROOT`, whose
      place must be writable.

  Raises:
    ValueError: `out` exists and is a file or a folder that is not empty, or
      it (or the folder it would be made in) cannot be written.
  """
  folder = ROOT if out is None else pathlib.Path(out)
  if out is not None and folder.exists() and (
      not folder.is_dir() or any(folder.iterdir())):
    raise ValueError(f"The run folder {folder} exists and is not empty; "
                     "choose another --out")
  check_writable(folder)


def new_folder(out: Optional[PathLike], *, kind: Optional[str] = None
               ) -> pathlib.Path:
  """Creates a run folder: `out`, or `default_folder(kind)` if it is None.

  Raises:
    ValueError: the folder exists and is not empty.
  """
  folder = default_folder(kind) if out is None else pathlib.Path(out)
  check_new_folder(folder)
  folder.mkdir(parents=True, exist_ok=True)
  return folder


def partial_path(path: PathLike, *, suffix: str = "") -> pathlib.Path:
  """The temporary file an atomic write of `path` goes through.

  Args:
    path: the destination.
    suffix: appended after `.partial`, for writers that pick the format by
      extension (ffmpeg needs `.mp4`).

  Returns:
    `<path>.partial<suffix>`, beside `path`: a fixed name, so a leftover of a
    killed run is overwritten by the next write, not accumulated.
  """
  path = pathlib.Path(path)
  return path.with_name(f"{path.name}.partial{suffix}")


def commit(partial: PathLike, path: PathLike) -> None:
  """Syncs the finished `partial` to disk and renames it onto `path`.

  The sync comes first: otherwise a crash soon after the rename can leave
  `path` pointing at a file whose data never reached the disk.
  """
  descriptor = os.open(partial, os.O_RDONLY)
  try:
    os.fsync(descriptor)
  finally:
    os.close(descriptor)
  os.replace(partial, path)


@contextlib.contextmanager
def atomic_path(path: PathLike, *, suffix: str = "") -> Iterator[pathlib.Path]:
  """A temporary path to write; it replaces `path` when the block succeeds.

  For writers that take a path rather than bytes (matplotlib's `savefig`,
  `np.savez`). The parent folder is created if needed. If the block raises,
  the temporary file is removed and `path` is left as it was.

  Args:
    path: the destination.
    suffix: see `partial_path`.

  Yields:
    The temporary path (`partial_path(path, suffix=suffix)`).
  """
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  partial = partial_path(path, suffix=suffix)
  try:
    yield partial
    commit(partial, path)
  finally:
    partial.unlink(missing_ok=True)


def write_bytes(path: PathLike, data: bytes) -> pathlib.Path:
  """Replaces `path` with `data` atomically; returns `path`."""
  path = pathlib.Path(path)
  with atomic_path(path) as partial:
    partial.write_bytes(data)
  return path


def write_text(path: PathLike, text: str) -> pathlib.Path:
  """Replaces `path` with `text` (UTF-8) atomically; returns `path`."""
  return write_bytes(path, text.encode("utf-8"))


def write_json(path: PathLike, data: Any) -> pathlib.Path:
  """Replaces `path` with `data` as indented, key-sorted JSON, atomically."""
  return write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _null(unused_value: float) -> None:
  return None


def json_ready(value: Any, *,
               non_finite: Callable[[float], Any] = _null) -> Any:
  """`value` with tuples as lists and each NaN or infinity replaced by
  `non_finite(x)` (default None, JSON's null), recursively through dicts,
  lists and tuples. Standard JSON has no NaN or Infinity; `str` keeps them
  apart where they must stay distinct (a cache key)."""
  if isinstance(value, float):
    return value if math.isfinite(value) else non_finite(value)
  if isinstance(value, dict):
    return {key: json_ready(v, non_finite=non_finite)
            for key, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [json_ready(v, non_finite=non_finite) for v in value]
  return value


def json_line(record: Mapping[str, Any]) -> str:
  """`record` as one key-sorted JSON line, newline included."""
  return json.dumps(record, sort_keys=True) + "\n"


class JsonLines:
  """A JSON-lines log; each record is written as one line and flushed.

  Flushing per record means a run killed at any point leaves only whole lines
  (but for the last, which readers such as `train.trim_metrics` skip), and a
  run still going can be followed with `tail -f`.
  """

  def __init__(self, path: PathLike, *, append: bool = True):
    """Opens `path`.

    Args:
      path: the `.jsonl` file.
      append: keep what `path` holds (a resumed run); False starts it empty.
    """
    self._file = open(path, "a" if append else "w", encoding="utf-8")  # pylint: disable=consider-using-with

  def write(self, record: Mapping[str, Any]) -> None:
    """Appends `record` as one line and flushes it."""
    self._file.write(json_line(record))
    self._file.flush()

  def close(self) -> None:
    """Closes the file; closing twice is harmless."""
    self._file.close()

  def __enter__(self) -> "JsonLines":
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()
