"""Fakes for the tests (after Acme's `testing/fakes.py`).

A fake stands in for a collaborator of the code under test; tests assert on
what our code does with it, never on the fake itself.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np

from umd_meltingpot.principal import base


class ScriptedPrincipal(base.Principal):
  """Proposes scripted rates, in and far outside the box; keeps feedback.

  Round `i` gets `proposals[i]` whatever the observation, so a test fixes
  what the wrapper must project; `feedback` holds every `update` argument.
  """

  def __init__(self, proposals: Sequence[Sequence[float]]):
    self.proposals = list(proposals)
    self.feedback: list[base.RoundFeedback] = []

  def propose(self, observation: base.RoundObservation,
              objective: str) -> np.ndarray:
    del objective
    return np.asarray(self.proposals[observation.round_index])

  def update(self, feedback: base.RoundFeedback) -> None:
    self.feedback.append(feedback)


class VariableSource:
  """An Acme `VariableSource` that serves one fixed set of parameters."""

  def __init__(self, params: Any):
    self.params = params

  def get_variables(self, names: Sequence[str]) -> list[Any]:
    return [self.params for _ in names]
