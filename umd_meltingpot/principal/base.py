"""The principal (Stackelberg leader) interface, in the style of acme.core.

A principal algorithm sees one `RoundObservation` and the voted objective at
each round boundary and proposes raw tax rates. The principal wrapper, not
the algorithm, projects the proposal onto {φ : D(φ_prev, φ) ≤ δ} ∩ [0, m]^k
(m the game's `max_rate`),
writes it into the substrate, plays the round, and hands back a
`RoundFeedback`. The loop it serves:

  for round_index in range(num_rounds):
    observation = ...                 # the last round's outcome
    objective = ...                   # f(ballots) from the VOTE phase
    proposal = principal.propose(observation, objective)
    rates = project(observation.previous_rates, proposal, delta, divergence)
    returns = play_harvest(rates)
    principal.update(RoundFeedback(round_index=round_index, ...))
"""

import abc
import dataclasses
from typing import Any, Mapping, Optional

import numpy as np


def _empty() -> np.ndarray:
  """Per-player data before any round has been played."""
  return np.zeros(0, dtype=np.float64)


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class RoundObservation:
  """What the principal sees before choosing the schedule of a round.

  Per-player arrays describe the *previous* round and are empty on round 0,
  when no round has been played.

  Attributes:
    round_index: the round about to be played, from 0.
    previous_rates: φ_prev, the rates in force, shape [k]; φ0 on round 0.
    edges: the k - 1 bracket edges of the schedule (fixed by config).
    max_rate: the game's cap on every rate (`TaxSchedule.max_rate`, >= 1;
      above 1 a rate is a fine); proposals should lie in [0, max_rate]^k.
    objective: the objective that the vote chose for this round, such as
      "utilitarian" or "egalitarian".
    gross: per-player income before tax, shape [n] (or [0]).
    net: per-player income after tax, before transfers, shape [n] (or [0]).
    tax: per-player tax paid, shape [n] (or [0]).
    transfer: per-player redistribution received, shape [n] (or [0]).
    apples_alive: apples on the map at the round boundary.
    ballots: the vote tally, objective name -> votes (or vote weight).
    num_rounds: τ, the rounds of the game, so that a principal knows which
      round is the last; None when unknown.
    extra: anything else a wrapper wants to pass on (observations, metrics);
      algorithms must not depend on a key being present.
  """

  round_index: int
  previous_rates: np.ndarray
  edges: tuple[float, ...] = ()
  max_rate: float = 1.0
  objective: str
  gross: np.ndarray = dataclasses.field(default_factory=_empty)
  net: np.ndarray = dataclasses.field(default_factory=_empty)
  tax: np.ndarray = dataclasses.field(default_factory=_empty)
  transfer: np.ndarray = dataclasses.field(default_factory=_empty)
  apples_alive: int = 0
  ballots: Mapping[str, float] = dataclasses.field(default_factory=dict)
  num_rounds: Optional[int] = None
  extra: dict[str, Any] = dataclasses.field(default_factory=dict)

  @property
  def num_brackets(self) -> int:
    """The number of brackets k."""
    return len(self.edges) + 1


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class RoundFeedback:
  """What the principal learns after a round has been played.

  Attributes:
    round_index: the round that was played, from 0.
    objective: the objective the vote chose for that round.
    objective_value: that objective evaluated on the round's returns.
    rates: the rates applied during the round (after projection), shape [k].
    returns: per-player returns of the round, shape [n].
    num_rounds: τ, the rounds of the game, so that a principal knows the
      game ends after round τ - 1; None when unknown.
  """

  round_index: int
  objective: str
  objective_value: float
  rates: np.ndarray
  returns: np.ndarray
  num_rounds: Optional[int] = None


class Principal(abc.ABC):
  """A principal algorithm: proposes a tax schedule each round.

  Implementations keep their own state and randomness (an explicit
  `np.random.Generator` passed at construction, never global `np.random`).
  """

  @abc.abstractmethod
  def propose(
      self, observation: RoundObservation, objective: str
  ) -> np.ndarray:
    """Proposes raw tax rates for the coming round.

    The proposal need not respect the divergence bound or the box [0, 1]^k:
    the wrapper projects it. It must be finite and have shape [k].

    Args:
      observation: the state of the game at the round boundary.
      objective: the objective that the vote chose, which the principal
        should maximise this round.

    Returns:
      A float array of shape [observation.num_brackets].
    """

  @abc.abstractmethod
  def update(self, feedback: RoundFeedback) -> None:
    """Learns from the outcome of the round just played.

    Args:
      feedback: the applied rates and the round's objective value.
    """

  def set_learning(self, learning: bool) -> None:
    """Turns exploring and learning on (the default) or off.

    Off, a learning principal proposes its current best estimate and
    ignores feedback: how a trained principal is deployed, or evaluated on
    held-out games without its exploration noise. Principals that do not
    learn have nothing to turn off.
    """
    del learning
