"""Modules imported when first used, for heavy dependencies.

  c1_methods = lazy.module("pref_voting.c1_methods")
  c1_methods.copeland(profile)  # Imports pref_voting.c1_methods here.

Commands such as `umd --help` import the modules that name the choices (the
voting rules, the substrates) but never count a vote or build a world; a
lazy module keeps their heavy imports (pref_voting's numba and matplotlib,
Melting Pot's TensorFlow) out of those commands.
"""

import importlib
import types
from typing import Any, Sequence


class _LazyModule(types.ModuleType):
  """Stands for module `__name__`; imports it on the first attribute read."""

  def __init__(self, name: str, after: Sequence[str]):
    super().__init__(name)
    self._after = tuple(after)

  def __getattr__(self, attribute: str) -> Any:
    for name in self._after:
      importlib.import_module(name)
    loaded = importlib.import_module(self.__name__)
    # Later reads find the attributes here, without __getattr__.
    self.__dict__.update(loaded.__dict__)
    return getattr(loaded, attribute)

  def __reduce__(self) -> tuple[Any, tuple[str]]:
    # Pickled (a Ray task's function that names it) as the module itself,
    # imported by name where it is unpickled; module objects do not pickle.
    return importlib.import_module, (self.__name__,)


def module(name: str, *, after: Sequence[str] = ()) -> types.ModuleType:
  """Module `name`, imported on the first read of one of its attributes.

  Args:
    name: the module's full name.
    after: modules to import just before it (e.g. one that patches what it
      does on import).
  """
  return _LazyModule(name, after)
