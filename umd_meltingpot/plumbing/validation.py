"""Declared config checks: the one way a config says which values are valid.

A config is a dataclass whose fields carry a `Check` (`checked(default,
check)`). `Validated.__post_init__` runs every field's check, stores the
normalised value (a list becomes a tuple, a NumPy integer an int) and raises
`ValueError` naming the field, the valid values and the value given:

  @dataclasses.dataclass(frozen=True)
  class BanditConfig(validation.Validated):
    step: float = validation.checked(0.1, validation.number(gt=0))
    seed: int = validation.checked(0, validation.integer(ge=0))

  BanditConfig(step=-1)  # ValueError: step must be a finite number > 0, got -1

Checks that relate two fields, or a field and the game (a PPO batch and the
number of players), stay in the config's own methods and report through
`fail`, so every message reads the same way.
"""

import dataclasses
import math
import re
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Check:
  """What a field accepts.

  Attributes:
    description: the valid values, as they read after "must be".
    normalise: the given value -> the value to store; raises ValueError or
      TypeError when the value is not valid.
  """
  description: str
  normalise: Callable[[Any], Any]


def fail(name: str, description: str, value: Any) -> None:
  """Raises the one message of this module."""
  raise ValueError(f"{name} must be {description}, got {value!r}")


def flag(name: str) -> str:
  """The command-line flag of config field `name`: `--bracket-window`."""
  return "--" + name.replace("_", "-")


def with_flag(message: str, options: Mapping[str, str]) -> str:
  """`message` (one of `fail`'s, which starts with the field it names)
  prefixed with the flag of that field's option in `options` (field ->
  option); unchanged when `options` has no such field."""
  option = options.get(message.split(" ", 1)[0].rstrip(":"))
  return message if option is None else f"{flag(option)}: {message}"


def _bounds_text(ge, gt, le, lt) -> str:
  lower = (f">= {ge}" if ge is not None else
           f"> {gt}" if gt is not None else "")
  upper = (f"<= {le}" if le is not None else
           f"< {lt}" if lt is not None else "")
  if lower and upper:
    left = "[" if ge is not None else "("
    right = "]" if le is not None else ")"
    low = ge if ge is not None else gt
    high = le if le is not None else lt
    return f"in {left}{low}, {high}{right}"
  return lower or upper


def _in_bounds(x: float, ge, gt, le, lt) -> bool:
  return ((ge is None or x >= ge) and (gt is None or x > gt) and
          (le is None or x <= le) and (lt is None or x < lt))


def integer(*, ge: Optional[int] = None, le: Optional[int] = None) -> Check:
  """An integer (not a bool, not a float) within the bounds."""
  bounds = _bounds_text(ge, None, le, None)

  def normalise(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
      raise TypeError(value)
    if not _in_bounds(value, ge, None, le, None):
      raise ValueError(value)
    return int(value)

  return Check(f"an integer {bounds}".strip(), normalise)


def number(*, ge: Optional[float] = None, gt: Optional[float] = None,
           le: Optional[float] = None, lt: Optional[float] = None,
           allow_inf: bool = False) -> Check:
  """A real number (not a bool) within the bounds; finite unless allow_inf.

  NaN is never valid.
  """
  kind = "a number" if allow_inf else "a finite number"
  bounds = _bounds_text(ge, gt, le, lt)

  def normalise(value: Any) -> float:
    if isinstance(value, (bool, str)):
      raise TypeError(value)
    x = float(value)
    if math.isnan(x) or (math.isinf(x) and not allow_inf):
      raise ValueError(value)
    if not _in_bounds(x, ge, gt, le, lt):
      raise ValueError(value)
    return x

  return Check(f"{kind} {bounds}".strip(), normalise)


def one_of(choices: Sequence[Any]) -> Check:
  """One of `choices`."""
  choices = tuple(choices)

  def normalise(value: Any) -> Any:
    if value not in choices:
      raise ValueError(value)
    return value

  return Check(f"one of {list(choices)}", normalise)


def matching(pattern: str, description: str) -> Check:
  """A string that `pattern` (a regular expression) matches whole;
  `description` says what that is, as it reads after "must be"."""
  compiled = re.compile(pattern)

  def normalise(value: Any) -> str:
    if not isinstance(value, str):
      raise TypeError(value)
    if compiled.fullmatch(value) is None:
      raise ValueError(value)
    return value

  return Check(description, normalise)


def boolean() -> Check:
  """True or False (not 0 or 1: a number here is a slip)."""

  def normalise(value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
      raise TypeError(value)
    return bool(value)

  return Check("True or False", normalise)


def optional(check: Check) -> Check:
  """None, or what `check` accepts."""
  return Check(f"None or {check.description}",
               lambda value: None if value is None else check.normalise(value))


def tuple_of(check: Check, *, min_length: int = 1) -> Check:
  """A sequence (not a string) of at least `min_length` items that `check`
  accepts; stored as a tuple."""

  def normalise(value: Any) -> tuple:
    if isinstance(value, (str, bytes)):
      raise TypeError(value)
    items = tuple(check.normalise(item) for item in value)
    if len(items) < min_length:
      raise ValueError(value)
    return items

  item = check.description.removeprefix("an ").removeprefix("a ")
  return Check(f"a sequence of at least {min_length} item(s), each {item}",
               normalise)


def checked(default: Any, check: Check) -> Any:
  """A dataclass field with a default and its check."""
  return dataclasses.field(default=default, metadata={"check": check})


def validate(config: Any) -> None:
  """Runs every declared check of a dataclass instance, in field order, and
  stores the normalised values (also on frozen dataclasses).

  Raises:
    ValueError: the first field whose value is not valid.
  """
  for field in dataclasses.fields(config):
    check = field.metadata.get("check")
    if check is None:
      continue
    value = getattr(config, field.name)
    try:
      normalised = check.normalise(value)
    except (TypeError, ValueError, OverflowError):
      fail(field.name, check.description, value)
    object.__setattr__(config, field.name, normalised)


class Validated:
  """A dataclass base whose instances are validated when they are made.

  A subclass that needs more (a check between two fields) overrides
  `__post_init__`, calls `super().__post_init__()` first, and reports with
  `fail`.
  """

  def __post_init__(self) -> None:
    validate(self)


def check_value(name: str, check: Check, value: Any) -> Any:
  """Runs `check` on one value that is not a dataclass field (a ConfigDict
  field, an argument) and returns it normalised.

  Raises:
    ValueError: `fail`'s message naming `name`, when `check` refuses it.
  """
  try:
    return check.normalise(value)
  except (TypeError, ValueError, OverflowError):
    fail(name, check.description, value)


def accepts(check: Check, value: Any) -> bool:
  """Whether `check` accepts `value`; for a caller whose message is its own
  (one that names more than the value, such as a count it must match)."""
  try:
    check.normalise(value)
  except (TypeError, ValueError, OverflowError):
    return False
  return True
