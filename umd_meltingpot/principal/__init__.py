"""The principal (economic designer): tax schedules, the δ-bound, algorithms.

This package is pure Python and NumPy; it imports neither Melting Pot nor
TensorFlow. The divergence lookup is `principal.divergence.divergence(name)`:
re-exporting it here would shadow the `divergence` module. Usage:

  schedule = TaxSchedule(rates=(0.0, 0.0), edges=(10.0,))
  principal = make_principal("hand_rule", schedule=schedule)
  proposal = principal.propose(observation, "egalitarian")
  rates = project(schedule.as_array(), proposal, delta=0.1)
"""

import dataclasses
import inspect
import types
from typing import Any, Callable, Mapping, Optional, Sequence

from umd_meltingpot.principal.base import Principal
from umd_meltingpot.principal.base import RoundFeedback
from umd_meltingpot.principal.base import RoundObservation
from umd_meltingpot.principal.divergence import DIVERGENCES
from umd_meltingpot.principal.divergence import l1
from umd_meltingpot.principal.divergence import l2
from umd_meltingpot.principal.divergence import linf
from umd_meltingpot.principal.divergence import project
from umd_meltingpot.principal.divergence import project_logged
from umd_meltingpot.principal.divergence import Projection
from umd_meltingpot.principal.fixed import FixedPrincipal
from umd_meltingpot.principal.hand_rule import hand_rule_rates
from umd_meltingpot.principal.hand_rule import HandRuleConfig
from umd_meltingpot.principal.hand_rule import HandRulePrincipal
from umd_meltingpot.principal.schedule import check_edges
from umd_meltingpot.principal.schedule import check_rates
from umd_meltingpot.principal.schedule import no_tax
from umd_meltingpot.principal.schedule import parse_edges
from umd_meltingpot.principal.schedule import parse_rates
from umd_meltingpot.principal.schedule import TaxSchedule

PrincipalFactory = Callable[..., Principal]


def _check_options(
    name: str, given: Mapping[str, Any], valid: Sequence[str]
) -> None:
  """Raises ValueError if `given` has a keyword that `valid` lacks."""
  unknown = sorted(set(given) - set(valid))
  if unknown:
    raise ValueError(
        f"principal {name!r} takes no option(s) {unknown}; valid options: "
        f"{sorted(valid)}")


def _make_fixed(
    *, schedule: TaxSchedule, rates: Optional[Sequence[float]] = None
) -> Principal:
  """Keeps `rates` every round; by default the initial schedule φ0."""
  if rates is None:
    return FixedPrincipal(schedule.rates)
  # Checks the rates and that there is one per bracket of the game.
  return FixedPrincipal(schedule.with_rates(rates).rates)


def _make_none(*, schedule: TaxSchedule) -> Principal:
  """Proposes no tax in every bracket, every round."""
  return FixedPrincipal(no_tax(schedule.num_brackets, schedule.edges).rates)


def _make_hand_rule(*, schedule: TaxSchedule, **config: Any) -> Principal:
  """The hand rule; keyword arguments are HandRuleConfig fields."""
  del schedule  # The rule reads the edges from each round's observation.
  _check_options(
      "hand_rule", config, [f.name for f in dataclasses.fields(HandRuleConfig)])
  return HandRulePrincipal(HandRuleConfig(**config))


# keep-sorted start
PRINCIPALS: Mapping[str, PrincipalFactory] = types.MappingProxyType({
    "fixed": _make_fixed,
    "hand_rule": _make_hand_rule,
    "none": _make_none,
})
# keep-sorted end


def make_principal(
    name: str, *, schedule: TaxSchedule, **kwargs: Any
) -> Principal:
  """Builds the principal algorithm registered as `name`.

  Args:
    name: one of PRINCIPALS: "fixed" (keeps φ0, or `rates=`), "none" (no
      tax), "hand_rule" (options are the HandRuleConfig fields).
    schedule: the game's initial schedule φ0, which fixes k and the edges.
    **kwargs: options of that principal.

  Returns:
    A new Principal.

  Raises:
    ValueError: if `name` is unknown, an option is unknown, or an option
      value is out of range.
  """
  if not isinstance(name, str) or name not in PRINCIPALS:
    raise ValueError(
        f"unknown principal {name!r}; valid names: {sorted(PRINCIPALS)}")
  if not isinstance(schedule, TaxSchedule):
    raise ValueError(
        f"schedule must be a TaxSchedule, got {type(schedule).__name__}")
  factory = PRINCIPALS[name]
  parameters = inspect.signature(factory).parameters.values()
  # A factory taking **options (hand_rule) validates them itself.
  if all(p.kind != p.VAR_KEYWORD for p in parameters):
    _check_options(
        name, kwargs, [p.name for p in parameters if p.name != "schedule"])
  return factory(schedule=schedule, **kwargs)


__all__ = (
    "DIVERGENCES",
    "FixedPrincipal",
    "HandRuleConfig",
    "HandRulePrincipal",
    "PRINCIPALS",
    "Principal",
    "PrincipalFactory",
    "Projection",
    "RoundFeedback",
    "RoundObservation",
    "TaxSchedule",
    "check_edges",
    "check_rates",
    "hand_rule_rates",
    "l1",
    "l2",
    "linf",
    "make_principal",
    "no_tax",
    "parse_edges",
    "parse_rates",
    "project",
    "project_logged",
)
