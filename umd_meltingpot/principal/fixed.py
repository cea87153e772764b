"""A principal that proposes the same schedule every round.

The baseline against which learned principals are compared ("the best fixed
tax on the voted objective"), and, with all rates 0, the no-tax control.
"""

from typing import Sequence

import numpy as np

from umd_meltingpot.principal import base
from umd_meltingpot.principal import schedule


class FixedPrincipal(base.Principal):
  """Always proposes the same rates, whatever the objective."""

  def __init__(self, rates: Sequence[float],
               max_rate: float = schedule.DEFAULT_MAX_RATE):
    """Initialises the principal.

    Args:
      rates: the k rates to propose, each a finite number in [0, max_rate].
      max_rate: the game's cap on rates, a finite number >= 1.

    Raises:
      ValueError: if a rate is outside [0, max_rate], NaN, or there are none.
    """
    self._rates = schedule.check_rates(rates, max_rate)

  @property
  def rates(self) -> tuple[float, ...]:
    """The rates this principal proposes."""
    return self._rates

  def propose(
      self, observation: base.RoundObservation, objective: str
  ) -> np.ndarray:
    """See base class.

    Raises:
      ValueError: if the game has a different number of brackets.
    """
    del objective  # The same schedule serves every objective.
    if len(self._rates) != observation.num_brackets:
      raise ValueError(
          f"FixedPrincipal has {len(self._rates)} rates but the game has "
          f"{observation.num_brackets} brackets (edges {observation.edges})")
    return np.array(self._rates, dtype=np.float64)

  def update(self, feedback: base.RoundFeedback) -> None:
    """See base class. A fixed principal does not learn."""
    del feedback
