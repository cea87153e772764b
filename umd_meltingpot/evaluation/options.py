"""`umd evaluate`'s options (`evaluate.EvaluateConfig`), in a module of
their own: the CLI builds its flags from them, and `evaluate` imports Melting
Pot's harness (and TensorFlow), which `--help` should not wait for.
"""

import dataclasses
from typing import Optional

from umd_meltingpot.plumbing import validation

# The messages `umd evaluate` has always printed ("episodes must be >= 1,
# got 0"): the bounds without "an integer".
_EPISODES = validation.Check(">= 1", validation.integer(ge=1).normalise)
_SEED = validation.Check(">= 0", validation.integer(ge=0).normalise)


@dataclasses.dataclass(frozen=True)
class EvaluateConfig:
  """The options of `umd evaluate`; each is a flag.

  The declared checks (`validation.checked`) run in `prepare`, after the
  population and scenario are read, so a bad population is reported first.
  """
  population: str
  """The focal population: a bot name, or several comma-separated to
  compare them (paired differences); the random and greedy baselines are
  always run too."""
  scenario: str = "all"
  """A scenario, a substrate (all of its scenarios) or all."""
  episodes: int = validation.checked(10, _EPISODES)
  """Episodes per scenario and population."""
  seed: int = validation.checked(0, _SEED)
  """The base seed; episode seeds derive from it, the scenario and the
  episode index."""
  video: bool = False
  """Also write a video of every episode (videos/)."""
  out: Optional[str] = None
  """The run folder; default: a new runs/eval-<timestamp>."""
  workers: int = 0
  """0 runs episodes in this process; N > 0 runs them as Ray tasks on a
  local Ray with N CPUs (or at most N at a time on --ray-address)."""
  ray_address: Optional[str] = None
  """Run on an existing Ray cluster (e.g. auto or ray://host:10001)."""
  allow_mismatch: bool = False
  """Let a PPO population (ppo, ppo:PATH) play scenarios of a game other
  than the one it was trained on (players, map, brackets, max_rate, bracket
  window), with a warning naming them; without it they are refused."""
