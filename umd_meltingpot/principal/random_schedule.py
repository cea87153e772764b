"""A principal that draws a new schedule at random every round.

Not a mechanism anyone would choose: it exists to train followers on many
schedules, so that they respond to φ (the "followers conditioned on φ" of
Gerstgrasser & Parkes 2023, "Oracles & Followers"), and as a baseline.
"""

import numpy as np

from umd_meltingpot.principal import base
from umd_meltingpot.principal import learning


class RandomPrincipal(base.Principal):
  """Proposes rates drawn uniformly from [0, max_rate]^k every round (the
  game's cap, so fines are drawn too when the game allows them).

  The wrapper projects each draw into the δ-ball around φ_prev, so with a
  finite δ the schedule does a bounded random walk. `set_cap` lowers the
  upper end of the draws below max_rate (the AI Economist's annealed tax
  cap; `umd train followers --pretrain-steps/--anneal-steps` sets it).
  """

  def __init__(self, seed: int = 0):
    """Initialises the principal.

    Args:
      seed: seeds the draws (an integer >= 0).

    Raises:
      ValueError: a bad seed.
    """
    self._rng = np.random.default_rng(learning.check_seed(seed))
    self._cap = float("inf")

  def set_cap(self, cap: float) -> None:
    """Draws rates in [0, min(cap, max_rate)] from the next proposal on.

    Raises:
      ValueError: a cap that is not a number >= 0.
    """
    cap = float(cap)
    if not cap >= 0.0:  # Rejects NaN too.
      raise ValueError(f"the tax cap must be a number >= 0, got {cap}")
    self._cap = cap

  def propose(self, observation: base.RoundObservation,
              objective: str) -> np.ndarray:
    """See base class."""
    del objective  # Random whatever the vote.
    return self._rng.uniform(0.0, min(self._cap, observation.max_rate),
                             size=observation.num_brackets)

  def update(self, feedback: base.RoundFeedback) -> None:
    """See base class: nothing to learn."""
