"""Agents for the UMD substrates; installed as `umd_meltingpot.agents`.

  from umd_meltingpot import agents
  bot = agents.make_bot("greedy", seed=1)
"""

from typing import Optional

from meltingpot.utils.policies import policy

from umd_meltingpot.agents import bots

# The heuristic bots by name.
BOTS = {
    "random": bots.RandomBot,
    "greedy": bots.GreedyBot,
    "sustainable": bots.SustainableBot,
    "zapper": bots.ZapperBot,
}


def make_bot(name: str,
             *,
             seed: int = 0,
             voter: Optional[bots.Voter] = None,
             num_objectives: int = 3) -> policy.Policy:
  """Builds the heuristic bot called `name`.

  Args:
    name: a key of BOTS.
    seed: the seed of the bot's random generators.
    voter: how the bot votes in the VOTE phase; None abstains.
    num_objectives: the number of objectives on the ballot.

  Raises:
    ValueError: an unknown name, or a voter that does not fit
      `num_objectives`.
  """
  if name not in BOTS:
    raise ValueError(f"Unknown bot {name!r}; valid: {sorted(BOTS)}")
  return BOTS[name](num_objectives=num_objectives, voter=voter, seed=seed)
