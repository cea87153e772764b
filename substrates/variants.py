"""The registered UMD substrates, their per-map defaults and option names.

  from umd_meltingpot.substrates import variants
  variants.describe("umd_apple_harvest__small").num_players  # 4

The one definition of the substrate names (`substrate.SUBSTRATES`), of each
map's defaults (`umd_apple_harvest.get_config` reads them) and of the
redistribution rules. Like
`phases.py` it imports nothing heavy, so `umd --help` and `umd list` run
without loading Melting Pot (and TensorFlow with it).
"""

import dataclasses

# keep-sorted start
VARIANT_MAPS = {
    "umd_apple_harvest__closed": "closed",
    "umd_apple_harvest__open": "open",
    "umd_apple_harvest__small": "small",
}
# keep-sorted end

# How the Treasury pays the pool out (`config.redistribution`).
REDISTRIBUTION_RULES = ("equal", "below_mean")

# Per-map defaults: (players, rounds, harvest_steps, vote_steps, tax_period).
MAP_DEFAULTS = {
    "open": (7, 5, 200, 10, 50),
    "closed": (7, 5, 200, 10, 50),
    "small": (4, 5, 100, 5, 25),
}


@dataclasses.dataclass(frozen=True)
class SubstrateInfo:
  """What `umd list` shows about a substrate."""
  name: str
  num_players: int
  rounds: int
  vote_steps: int
  harvest_steps: int
  tax_period: int
  map_name: str


def describe(name: str) -> SubstrateInfo:
  """The player count and phase lengths of substrate `name`.

  Raises:
    ValueError: `name` is not a registered substrate.
  """
  if name not in VARIANT_MAPS:
    raise ValueError(
        f"Unknown substrate {name!r}; valid: {sorted(VARIANT_MAPS)}")
  map_name = VARIANT_MAPS[name]
  players, rounds, harvest_steps, vote_steps, tax_period = (
      MAP_DEFAULTS[map_name])
  return SubstrateInfo(name=name, num_players=players, rounds=rounds,
                       vote_steps=vote_steps, harvest_steps=harvest_steps,
                       tax_period=tax_period, map_name=map_name)
