"""The phases of a UMD game, coded as in the `PHASE` and `WORLD.PHASE`
observations.

  from umd_meltingpot.substrates import phases
  if int(observation["PHASE"]) == phases.Phase.VOTE: ...

This is the one Python definition of the codes. The level's Lua defines them
once too, in `lua/levels/umd_apple_harvest/phases.lua`; tests/test_phases.py
runs the level and checks that the two agree. The module imports nothing but
`enum`, so policies, wrappers and renderers can use it without loading Melting
Pot.
"""

import enum


class Phase(enum.IntEnum):
  """A phase of a round; its value is the code that the level observes."""
  VOTE = 0
  HARVEST = 1
  OVER = 2  # After the last round: the episode has ended.

  @property
  def label(self) -> str:
    """The lower-case name, as game records and video HUDs write it."""
    return self.name.lower()


LABELS: tuple[str, ...] = tuple(phase.label for phase in Phase)
"""Each phase's label, indexed by its code: ("vote", "harvest", "over")."""
