"""Keeps TensorFlow's start-up messages off stderr, unless asked for them.

Melting Pot imports TensorFlow (for its saved-model bots), and TensorFlow's
native libraries print absl, oneDNN and CUDA lines while they load:

  WARNING: All log messages before absl::InitializeLog() is called are ...
  I0000 00:00:... port.cc:153] oneDNN custom operations are on. ...
  I0000 00:00:... cudart_stub.cc:31] Could not find cuda drivers on ...

`TF_CPP_MIN_LOG_LEVEL` does not stop them: they are logged through absl by
static initialisers, before TensorFlow reads it, and absl reads no
environment variable. So `install()` (run by `import umd_meltingpot`, before
anything imports TensorFlow, in every process, workers included) wraps
TensorFlow's import: the C++ writes to file descriptor 2 go to a temporary
file, and afterwards every line but those start-up lines is written back to
stderr. `UMD_VERBOSE=1` (what `umd --verbose` sets, inherited by worker
processes) leaves stderr alone.
"""

import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
from typing import Any, Iterator, Optional, Sequence

VERBOSE = "UMD_VERBOSE"
_TF_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL"
# Whether `install` set TF_CPP_MIN_LOG_LEVEL (so `set_verbose` may unset it).
_set_log_level = False
# The modules whose import prints the start-up lines.
_NOISY = ("tensorflow",)
# absl's preamble, and INFO/WARNING lines in absl's format
# (I0000 00:00:1796103123.278457    5691 port.cc:153] ...) with the one
# continuation line TensorFlow's CPU feature guard adds.
_STARTUP_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IW]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] "
    r"|To enable the following instructions: .* rebuild TensorFlow)")


def verbose() -> bool:
  """Whether the start-up messages are wanted (`UMD_VERBOSE`)."""
  return os.environ.get(VERBOSE, "") not in ("", "0")


def set_verbose(on: bool) -> None:
  """Shows or hides the start-up messages in this process and its workers."""
  global _set_log_level
  if on:
    os.environ[VERBOSE] = "1"
    if _set_log_level:  # Ours, not the user's: TensorFlow logs as it would.
      os.environ.pop(_TF_LOG_LEVEL, None)
      _set_log_level = False
  else:
    os.environ.pop(VERBOSE, None)


def filter_startup(text: str) -> str:
  """`text` without TensorFlow's start-up lines."""
  return "".join(line for line in text.splitlines(keepends=True)
                 if not _STARTUP_LINE.match(line))


@contextlib.contextmanager
def startup_messages_filtered() -> Iterator[None]:
  """Filters what is written to file descriptor 2 inside the block."""
  if verbose():
    yield
    return
  try:
    sys.stderr.flush()
    saved = os.dup(2)
  except (OSError, ValueError):  # No fd 2 (e.g. a closed stderr).
    yield
    return
  with tempfile.TemporaryFile() as capture:
    os.dup2(capture.fileno(), 2)
    try:
      yield
    finally:
      with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      capture.seek(0)
      kept = filter_startup(capture.read().decode("utf-8", "replace"))
      if kept:
        sys.stderr.write(kept)
        sys.stderr.flush()


class _FilteredLoader(importlib.abc.Loader):
  """Runs another loader's `exec_module` with the start-up lines filtered."""

  def __init__(self, loader: Any):
    self._loader = loader

  def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
    return self._loader.create_module(spec)

  def exec_module(self, module: Any) -> None:
    # The loader the module's spec names stays the real one.
    module.__loader__ = self._loader
    if module.__spec__ is not None:
      module.__spec__.loader = self._loader
    with startup_messages_filtered():
      self._loader.exec_module(module)

  def __getattr__(self, name: str) -> Any:  # E.g. get_resource_reader.
    return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
  """Finds the noisy top-level modules and wraps their loaders."""

  def find_spec(self, fullname: str, path: Optional[Sequence[str]],
                target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
    del target
    if fullname not in _NOISY or path is not None:
      return None
    spec = importlib.machinery.PathFinder.find_spec(fullname, path)
    if spec is None or spec.loader is None:
      return None
    spec.loader = _FilteredLoader(spec.loader)
    return spec


def install() -> None:
  """Filters the start-up lines of every later TensorFlow import.

  Also sets `TF_CPP_MIN_LOG_LEVEL=2` (unless set or verbose), which hides
  the INFO and WARNING lines TensorFlow logs after it has loaded, and hides
  pygame's banner.
  """
  global _set_log_level
  if not verbose():
    # pygame's "pygame-ce 2.5.8 (SDL ...)" banner on stdout (`umd play`).
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
  if not verbose() and _TF_LOG_LEVEL not in os.environ:
    os.environ[_TF_LOG_LEVEL] = "2"
    _set_log_level = True
  if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
    sys.meta_path.insert(0, _Finder())
