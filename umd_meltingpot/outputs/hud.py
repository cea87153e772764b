"""The video's heads-up display: what the mechanism did at this step.

`hud` reads the step's global observations and the principal wrapper's
state (phi, the counted vote, the objective) into a `video.Hud`, which
`video.EpisodeVideo` draws under the world, and `umd play --principal`
under its window's view (`game/play.py`, your row named "you").
"""

from typing import Any, Protocol, Sequence

import numpy as np

from umd_meltingpot.outputs import video
from umd_meltingpot.substrates import phases


class Mechanism(Protocol):
  """What the HUD reads of the game's principal wrapper
  (`game.principal_wrapper.PrincipalWrapper`)."""
  phi: Sequence[float]
  objective: Any

  def counted_vote(self, world: dict[str, np.ndarray]) -> Any:
    """The ballots the rule counts, tallied (`CountedVote`)."""


def hud(env: Mechanism, world: dict[str, np.ndarray], *,
        rounds: int, objectives: Sequence[str], rule: str, step: int,
        steps: int, names: Sequence[str],
        colours: Sequence[tuple[int, int, int]]):
  """The video HUD of the current step (`video.Hud`).

  Args:
    env: the principal wrapper playing the game (phi, the vote).
    world: the global observations of the current step.
    rounds: tau.
    objectives: the objectives on the ballot.
    rule: the social choice rule.
    step: the steps played; steps: those of the whole game.
    names: each player's bot, in player order.
    colours: each player's avatar colour (`video.player_colours`).
  """
  vote = env.counted_vote(world)  # The ballots the rule counts.
  flows = zip(names, colours, world["WORLD.ROUND_GROSS"],
              world["WORLD.ROUND_TAX"], world["WORLD.ROUND_TRANSFER"])
  return video.Hud(
      round=int(world["WORLD.ROUND"]),
      rounds=rounds,
      phase=phases.Phase(int(world["WORLD.PHASE"])).label,
      rates=tuple(env.phi),
      objectives=tuple(objectives),
      tally=vote.tally,
      objective=env.objective,
      rule=rule,
      scores=vote.scores,
      tie_broken=vote.tie_broken,
      step=step, steps=steps,
      apples_alive=float(world["WORLD.APPLES_ALIVE"]),
      pool=float(world["WORLD.TAX_POOL"]),
      players=tuple(video.PlayerFlow(*flow) for flow in flows))
