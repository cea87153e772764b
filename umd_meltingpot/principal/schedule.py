"""Tax schedules φ: bracket rates on apple income, with fixed bracket edges.

A schedule has k marginal rates in [0, max_rate] (the game's cap, 1 by
default; a rate above 1 is a fine) and k - 1 strictly increasing,
positive bracket edges on a player's income within the current tax period.
Bracket j covers incomes in [edges[j - 1], edges[j]), with edges[-1] = 0 and
edges[k - 1] = inf, each edge lowered by the rounding of float sums
(`EDGE_TOLERANCE`). The principal chooses the rates (the paper's
φ ∈ Φ ⊆ R^k); the edges are fixed by the game config.

The Lua `Treasury` taxes each apple *whole* at the marginal rate of the
eater's bracket, measured on the eater's gross income in the current tax
period before the apple. `TaxSchedule.tax_on` is the reference for that rule, so
tests can check the Lua against it. Note that this differs from textbook
bracket taxation, which would split an apple that straddles an edge.

Usage:

  schedule = TaxSchedule(rates=(0.0, 0.2, 0.5), edges=(5.0, 10.0))
  schedule.tax_on(income_before=7.0, value=1.0)  # 0.2
"""

import dataclasses
import math
import re
from typing import Iterable, Sequence

import numpy as np


def _as_float(value: object, name: str, valid: str) -> float:
  """Converts `value` to float, raising ValueError that names `valid`."""
  try:
    return float(value)
  except (TypeError, ValueError):
    raise ValueError(f"{name} must be {valid}, got {value!r}") from None


def _as_items(values: Iterable[float], name: str) -> list[object]:
  """Lists `values`, rejecting strings and scalars with a ValueError."""
  # A string is iterable, but its characters are not numbers; point the
  # caller at the parser instead of failing on a single character.
  if isinstance(values, str):
    raise ValueError(
        f"{name} must be a sequence of numbers, got the string {values!r}; "
        f"use parse_{name}() for comma-separated text")
  try:
    return list(values)
  except TypeError:
    raise ValueError(
        f"{name} must be a sequence of numbers, got {values!r}") from None


DEFAULT_MAX_RATE = 1.0
"""The cap on rates unless a game sets `max_rate`: taxes, no fines."""

MAX_RATE_LIMIT = 100.0
"""The largest cap a game may set: a fine of 100 apples per apple is far
beyond any deterrent a game needs (Large Legislative Models' range is 4)."""

EDGE_TOLERANCE = 1e-9
"""How far (relative) below a bracket edge an income may fall and still count
as reaching it: incomes are sums of floats, which fall short of the sums they
stand for (ten apples at skill 0.1 add up to 0.9999999999999999, six at 1/3
to 1.9999999999999998), so bracket j + 1 starts at edges[j] * (1 - 1e-9).
The Lua `Treasury`'s `EDGE_TOLERANCE` is the same number."""

# The text of one rate (after stripping ASCII whitespace): a plain decimal
# number. `float` alone would also take 'inf', 'nan' and '1_0'; the Lua
# `Treasury` parses `principal.schedule` with the same grammar.
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_WHITESPACE = " \t\n\r\v\f"


def check_max_rate(max_rate: float) -> float:
  """Validates a cap on rates, a number in [1, MAX_RATE_LIMIT]; returns it
  as a float.

  Raises:
    ValueError: if it is not a number in [1, MAX_RATE_LIMIT] (NaN included).
  """
  valid = f"a number in [1, {MAX_RATE_LIMIT:g}]"
  checked = _as_float(max_rate, "max_rate", valid)
  if isinstance(max_rate, bool) or not 1.0 <= checked <= MAX_RATE_LIMIT:
    raise ValueError(f"max_rate must be {valid}, got {max_rate!r}")
  return checked


def _rate_range(max_rate: float) -> str:
  return f"a finite number in [0, {max_rate:g}]"


def check_rates(rates: Iterable[float],
                max_rate: float = DEFAULT_MAX_RATE) -> tuple[float, ...]:
  """Validates bracket rates and returns them as a tuple of floats.

  Args:
    rates: one marginal tax rate per bracket (at least one).
    max_rate: the game's cap on rates, a finite number >= 1.

  Returns:
    The rates as a tuple of Python floats.

  Raises:
    ValueError: if there are no rates, or a rate is not a finite number in
      [0, max_rate] (NaN included).
  """
  max_rate = check_max_rate(max_rate)
  valid = _rate_range(max_rate)
  checked = tuple(
      _as_float(rate, f"rates[{i}]", valid)
      for i, rate in enumerate(_as_items(rates, "rates")))
  if not checked:
    raise ValueError("rates must hold at least one rate (one per bracket)")
  for i, rate in enumerate(checked):
    # `not 0 <= rate <= max_rate` is also true for NaN, which compares false.
    if not 0.0 <= rate <= max_rate:
      raise ValueError(f"rates[{i}] must be {valid}, got {rate!r}")
  return checked


def check_edges(edges: Iterable[float]) -> tuple[float, ...]:
  """Validates bracket edges and returns them as a tuple of floats.

  Args:
    edges: the k - 1 inner bracket edges (possibly none), on a player's
      income within the current tax period.

  Returns:
    The edges as a tuple of Python floats.

  Raises:
    ValueError: if an edge is not a finite number > 0, or the edges are not
      strictly increasing.
  """
  valid = "a finite number > 0"
  checked = tuple(
      _as_float(edge, f"edges[{i}]", valid)
      for i, edge in enumerate(_as_items(edges, "edges")))
  for i, edge in enumerate(checked):
    if not (math.isfinite(edge) and edge > 0.0):
      raise ValueError(f"edges[{i}] must be {valid}, got {edge!r}")
    if i > 0 and edge <= checked[i - 1]:
      raise ValueError(
          f"edges must be strictly increasing, got edges[{i - 1}]="
          f"{checked[i - 1]!r} >= edges[{i}]={edge!r}")
  return checked


@dataclasses.dataclass(frozen=True)
class TaxSchedule:
  """A bracket tax schedule φ.

  Attributes:
    rates: k marginal rates, each a finite number in [0, max_rate]. rates[j]
      applies to bracket j.
    edges: k - 1 strictly increasing, positive bracket edges on the player's
      income within the current tax period. Bracket j covers
      [edges[j - 1], edges[j]); the first bracket starts at 0 and the last is
      unbounded. Empty for a flat (single bracket) tax.
    max_rate: the game's cap on rates, a finite number >= 1; above 1 a rate
      is a fine (the eater's net income from the apple is negative).
  """

  rates: tuple[float, ...]
  edges: tuple[float, ...] = ()
  max_rate: float = DEFAULT_MAX_RATE

  def __post_init__(self):
    # Accept any sequence (list, np.ndarray) but store plain float tuples, so
    # that schedules hash, compare and serialise predictably.
    object.__setattr__(self, "max_rate", check_max_rate(self.max_rate))
    object.__setattr__(self, "rates", check_rates(self.rates, self.max_rate))
    object.__setattr__(self, "edges", check_edges(self.edges))
    if len(self.rates) != len(self.edges) + 1:
      raise ValueError(
          f"a schedule with {len(self.edges)} edges needs "
          f"{len(self.edges) + 1} rates (one per bracket), got "
          f"{len(self.rates)}")

  @property
  def num_brackets(self) -> int:
    """The number of brackets k."""
    return len(self.rates)

  def as_array(self) -> np.ndarray:
    """Returns the rates as a new float64 array of shape [k]."""
    return np.array(self.rates, dtype=np.float64)

  def with_rates(self, rates: Sequence[float]) -> "TaxSchedule":
    """Returns a schedule with the same edges and cap and new `rates`
    (validated)."""
    return TaxSchedule(rates=tuple(rates), edges=self.edges,
                       max_rate=self.max_rate)

  def bracket_of(self, income: float) -> int:
    """Returns the index of the bracket that contains `income`.

    Args:
      income: a player's income so far in the current tax period, >= 0. An
        income equal to an edge, or short of it by less than EDGE_TOLERANCE
        of it, falls in the bracket that starts there.

    Raises:
      ValueError: if `income` is negative or NaN.
    """
    income = _check_amount(income, "income")
    # The edges the income reaches: exactly the bracket index, because each
    # bracket includes its lower edge.
    return sum(income >= edge * (1.0 - EDGE_TOLERANCE) for edge in self.edges)

  def marginal_rate(self, income: float) -> float:
    """Returns the rate of the bracket containing `income` (see bracket_of)."""
    return self.rates[self.bracket_of(income)]

  def tax_on(self, income_before: float, value: float) -> float:
    """Returns the tax on one apple, as the Lua `Treasury` levies it.

    The whole apple is taxed at the marginal rate of the bracket containing
    the eater's period income *before* this apple, even if the apple takes
    the eater past an edge.

    Args:
      income_before: the eater's gross income so far in the current tax period,
        >= 0.
      value: the apple's value, >= 0.

    Returns:
      The tax, value * marginal_rate(income_before); the eater keeps the rest.

    Raises:
      ValueError: if either argument is negative or NaN.
    """
    value = _check_amount(value, "value")
    return value * self.marginal_rate(income_before)

  def taxes_in_period(
      self, values: Iterable[float], income_start: float = 0.0
  ) -> list[float]:
    """Returns the tax on each apple one player collects in one tax period.

    Period income accumulates the apples' gross values, in order, starting
    from `income_start`, as the Lua `Treasury` does; each apple is taxed by
    `tax_on`.

    Args:
      values: the values of the player's apples, in the order eaten.
      income_start: the player's period income before the first apple.

    Raises:
      ValueError: if a value or `income_start` is negative or NaN.
    """
    income = _check_amount(income_start, "income_start")
    taxes = []
    for value in values:
      taxes.append(self.tax_on(income, value))
      income += float(value)
    return taxes


def _check_amount(amount: float, name: str) -> float:
  """Checks that an income or apple value is a number >= 0 (inf allowed)."""
  checked = _as_float(amount, name, "a number >= 0")
  if not checked >= 0.0:  # Also rejects NaN.
    raise ValueError(f"{name} must be a number >= 0, got {checked!r}")
  return checked


def _parse_list(text: str, name: str) -> list[str]:
  """Splits comma-separated `text` into stripped, non-empty items."""
  if not isinstance(text, str):
    raise ValueError(f"{name} must be a comma-separated string, got {text!r}")
  items = [item.strip(_WHITESPACE) for item in text.split(",")]
  if any(not item for item in items):
    raise ValueError(
        f"{name} must be comma-separated numbers such as '0.1,0.2', with no "
        f"empty item, got {text!r}")
  return items


def parse_rates(text: str,
                max_rate: float = DEFAULT_MAX_RATE) -> tuple[float, ...]:
  """Parses CLI rates such as "0.1,0.2,0.3".

  The Lua `Treasury` parses a `principal.schedule` write by the same rules,
  with the same messages (tests check both on the same strings).

  Args:
    text: comma-separated rates, each a decimal number (such as 0.5, .5, 5.,
      1e-1, +0.5) in [0, max_rate]; no hexadecimal, 'inf', 'nan' or
      underscores. ASCII whitespace around items is ignored.
    max_rate: the game's cap on rates, a finite number >= 1.

  Returns:
    The rates as a tuple of floats.

  Raises:
    ValueError: if `text` is empty, has an empty item, or a rate is not a
      decimal number in [0, max_rate].
  """
  max_rate = check_max_rate(max_rate)
  if isinstance(text, str) and not text.strip(_WHITESPACE):
    raise ValueError(
        f"rates must be at least one comma-separated rate in [0, "
        f"{max_rate:g}], such as '0.1,0.2', got an empty string")
  rates = []
  for i, item in enumerate(_parse_list(text, "rates")):
    rate = float(item) if _DECIMAL.fullmatch(item) else math.nan
    if not 0.0 <= rate <= max_rate:  # NaN too: not a decimal number.
      raise ValueError(
          f"rates[{i}] must be {_rate_range(max_rate)}, got '{item}'")
    rates.append(rate)
  return tuple(rates)


def parse_edges(text: str) -> tuple[float, ...]:
  """Parses CLI bracket edges such as "5,10".

  Args:
    text: comma-separated edges, each a finite number > 0, strictly
      increasing. An empty (or all-space) string means no edges: one flat
      bracket.

  Returns:
    The edges as a tuple of floats.

  Raises:
    ValueError: if an item is empty or not a finite number > 0, or the edges
      are not strictly increasing.
  """
  if isinstance(text, str) and not text.strip():
    return ()
  return check_edges(_parse_list(text, "edges"))


def no_tax(k: int, edges: Sequence[float] = ()) -> TaxSchedule:
  """Returns the schedule with k brackets, all at rate 0.

  Args:
    k: the number of brackets, >= 1; must equal len(edges) + 1.
    edges: the k - 1 bracket edges.

  Raises:
    ValueError: if k is not an integer >= 1 or does not match `edges`.
  """
  if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
    raise ValueError(f"k must be an integer >= 1, got {k!r}")
  edges = check_edges(edges)
  if k != len(edges) + 1:
    raise ValueError(
        f"k must equal len(edges) + 1 = {len(edges) + 1}, got k={k}")
  return TaxSchedule(rates=(0.0,) * int(k), edges=edges)


def marginal_value(rate: float, skill: float, effort_cost: float,
                   num_players: int) -> float:
  """What one more apple taxed at `rate` is worth to an eater of `skill`
  under equal redistribution: s (1 - t) - c + s t / n (the eater keeps
  its net, pays the effort and gets its 1/n share of the tax back)."""
  return (skill * (1.0 - rate) - effort_cost
          + skill * rate / num_players)
