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
  finite δ the schedule does a bounded random walk.
  """

  def __init__(self, seed: int = 0):
    """Initialises the principal.

    Args:
      seed: seeds the draws (an integer >= 0).

    Raises:
      ValueError: a bad seed.
    """
    self._rng = np.random.default_rng(learning.check_seed(seed))

  def propose(self, observation: base.RoundObservation,
              objective: str) -> np.ndarray:
    """See base class."""
    del objective  # Random whatever the vote.
    return self._rng.uniform(0.0, observation.max_rate,
                             size=observation.num_brackets)

  def update(self, feedback: base.RoundFeedback) -> None:
    """See base class: nothing to learn."""
