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
by default they get the egalitarian treatment. Both lists are config fields;
an objective on neither raises ValueError rather than silently going
untaxed.
"""

import dataclasses
from typing import Optional, Sequence

import numpy as np

from umd_meltingpot.principal import base
from umd_meltingpot.principal import schedule


@dataclasses.dataclass(frozen=True)
class HandRuleConfig:
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
      egalitarian, nash, power_mean, eq_times_prod.
    untaxed_objectives: objectives under which it proposes no tax. Default:
      utilitarian.
  """

  threshold: Optional[float] = None
  high_rate: float = 0.5
  flat_rate: float = 0.3
  taxed_objectives: tuple[str, ...] = (
      "egalitarian", "nash", "power_mean", "eq_times_prod")
  untaxed_objectives: tuple[str, ...] = ("utilitarian",)

  def __post_init__(self):
    if self.threshold is not None:
      threshold = _number(self.threshold, "threshold", "a number >= 0")
      if not threshold >= 0.0:  # Also rejects NaN.
        raise ValueError(f"threshold must be a number >= 0, got {threshold}")
      object.__setattr__(self, "threshold", threshold)
    for name in ("high_rate", "flat_rate"):
      rate = _number(getattr(self, name), name, "a number in [0, 1]")
      if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {rate}")
      object.__setattr__(self, name, rate)
    # A bare string would be split into characters; demand a sequence.
    for name in ("taxed_objectives", "untaxed_objectives"):
      names = getattr(self, name)
      if isinstance(names, str):
        raise ValueError(
            f"{name} must be a sequence of objective names, got {names!r}")
      object.__setattr__(self, name, tuple(names))
    both = set(self.taxed_objectives) & set(self.untaxed_objectives)
    if both:
      raise ValueError(
          "taxed_objectives and untaxed_objectives must not overlap, both "
          f"hold {sorted(both)}")


def _number(value: object, name: str, valid: str) -> float:
  """Converts `value` to float, raising ValueError that names `valid`."""
  try:
    return float(value)
  except (TypeError, ValueError):
    raise ValueError(f"{name} must be {valid}, got {value!r}") from None


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
