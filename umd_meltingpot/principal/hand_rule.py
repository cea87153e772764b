"""The hand-written baseline principal: tax the rich only if equality matters.

The rule reads the voted objective and nothing else:

- Under "utilitarian" (Σ u) it proposes no tax. Redistribution moves apples
  between players without adding any, so the rule assumes taxing can only
  cost the sum, through weaker incentives to harvest. (A learned principal
  may find otherwise, for example by taxing over-harvesting of the commons.)
- Under an objective that rewards equality it taxes the brackets that start
  at or above a threshold income at `high_rate`, and leaves the lower brackets
  untaxed; the Treasury pays the pool back out. With a single bracket (no
  edges) there is nothing to single out, so it levies a flat `flat_rate`.

Our choice: "egalitarian" (min u) is the objective the rule targets. "nash"
((Π u)^(1/n)), "power_mean" (inequality-averse for the usual p < 1) and
"eq_times_prod" (equality × productivity) also reward a more even split, so
by default they get the egalitarian treatment. The defaults are read from
`welfare.OBJECTIVE_SPECS` (each objective's `rewards_equality`). Both lists
are config fields; an objective on neither raises ValueError rather than
silently going untaxed.
"""

import dataclasses
from typing import Optional, Sequence

import numpy as np

from umd_meltingpot.plumbing import validation
from umd_meltingpot.principal import base
from umd_meltingpot.principal import schedule
from umd_meltingpot.social_choice import welfare

_RATE = validation.number(ge=0, le=1)
# The defaults, in ballot order: an objective is taxed iff it rewards
# equality, so a new objective needs no entry here.
_TAXED = tuple(name for name, spec in welfare.OBJECTIVE_SPECS.items()
               if spec.rewards_equality)
_UNTAXED = tuple(name for name in welfare.OBJECTIVES if name not in _TAXED)


def _objective_names(value: object) -> tuple[str, ...]:
  # A bare string would be split into characters; demand a sequence.
  if isinstance(value, (str, bytes)):
    raise TypeError(value)
  names = tuple(value)
  if not all(isinstance(name, str) for name in names):
    raise TypeError(value)
  return names


_OBJECTIVE_NAMES = validation.Check("a sequence of objective names",
                                    _objective_names)


@dataclasses.dataclass(frozen=True)
class HandRuleConfig(validation.Validated):
  """Parameters of the hand rule.

  Attributes:
    threshold: period income from which brackets are taxed: a bracket is
      taxed iff its lower edge (0 for the first bracket) is >= threshold.
      None (the default) means the first edge, so every bracket but the
      lowest is taxed. A number >= 0; inf taxes no bracket.
    high_rate: the rate on taxed brackets, in [0, 1]. Default 0.5.
    flat_rate: the rate of a single-bracket schedule under a taxed
      objective, in [0, 1]. Default 0.3.
    taxed_objectives: objectives under which the rule taxes. Default:
      those declared `rewards_equality` in `welfare.OBJECTIVE_SPECS`.
    untaxed_objectives: objectives under which it proposes no tax. Default:
      the other objectives of `welfare.OBJECTIVES`.
  """

  threshold: Optional[float] = validation.checked(
      None, validation.optional(validation.number(ge=0, allow_inf=True)))
  high_rate: float = validation.checked(0.5, _RATE)
  flat_rate: float = validation.checked(0.3, _RATE)
  taxed_objectives: tuple[str, ...] = validation.checked(
      _TAXED, _OBJECTIVE_NAMES)
  untaxed_objectives: tuple[str, ...] = validation.checked(
      _UNTAXED, _OBJECTIVE_NAMES)

  def __post_init__(self):
    super().__post_init__()
    both = set(self.taxed_objectives) & set(self.untaxed_objectives)
    if both:
      validation.fail(
          "untaxed_objectives",
          f"disjoint from taxed_objectives (both hold {sorted(both)})",
          self.untaxed_objectives)


def hand_rule_rates(
    objective: str, edges: Sequence[float], config: HandRuleConfig
) -> np.ndarray:
  """Returns the rates the hand rule proposes.

  Args:
    objective: the voted objective.
    edges: the schedule's k - 1 bracket edges.
    config: the rule's parameters.

  Returns:
    A float array of shape [len(edges) + 1], each rate in [0, 1].

  Raises:
    ValueError: if `objective` is in neither objective list of `config`, or
      `edges` are invalid.
  """
  edges = schedule.check_edges(edges)
  num_brackets = len(edges) + 1
  if objective in config.untaxed_objectives:
    return np.zeros(num_brackets)
  if objective not in config.taxed_objectives:
    valid = sorted(config.taxed_objectives + config.untaxed_objectives)
    raise ValueError(
        f"the hand rule has no rule for objective {objective!r}; valid "
        f"objectives: {valid}")
  if not edges:
    return np.array([config.flat_rate])
  threshold = edges[0] if config.threshold is None else config.threshold
  lower_edges = np.array((0.0,) + edges)
  taxed = lower_edges >= threshold
  return np.where(taxed, config.high_rate, 0.0)


class HandRulePrincipal(base.Principal):
  """Proposes `hand_rule_rates` for the voted objective; does not learn."""

  def __init__(self, config: Optional[HandRuleConfig] = None):
    """Initialises the principal.

    Args:
      config: the rule's parameters; None for the defaults.
    """
    self._config = HandRuleConfig() if config is None else config

  @property
  def config(self) -> HandRuleConfig:
    """The rule's parameters."""
    return self._config

  def propose(
      self, observation: base.RoundObservation, objective: str
  ) -> np.ndarray:
    """See base class.

    Raises:
      ValueError: if the rule has no entry for `objective`.
    """
    return hand_rule_rates(objective, observation.edges, self._config)

  def update(self, feedback: base.RoundFeedback) -> None:
    """See base class. The hand rule ignores feedback."""
    del feedback
