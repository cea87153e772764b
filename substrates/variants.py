"""The registered UMD substrates, their per-map defaults and option names.

  from umd_meltingpot.substrates import variants
  variants.describe("umd_apple_harvest__small").num_players  # 4

The one definition of the substrate names (`substrate.SUBSTRATES`), of each
map's defaults (`umd_apple_harvest.get_config` reads them), of each
variant's own overrides of its map's config (`VARIANT_OVERRIDES`) and of the
redistribution rules. Like
`phases.py` it imports nothing heavy, so `umd --help` and `umd list` run
without loading Melting Pot (and TensorFlow with it).
"""

import dataclasses
import math
from typing import Any

# keep-sorted start
VARIANT_MAPS = {
    "umd_apple_harvest__closed": "closed",
    "umd_apple_harvest__open": "open",
    "umd_apple_harvest__small": "small",
    "umd_apple_harvest__unequal": "small",
    "umd_apple_harvest__unequal_wide": "small",
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
class ParetoSkills:
  """Skills at the quantiles of a Pareto distribution, as many as players.

  Player i of n gets the quantile (i + 0.5) / n of Pareto(alpha) (scale 1:
  it cancels), then all are divided by their mean, so the mean skill is 1
  and player 0 is the least skilled. The AI Economist draws its agents'
  skills from a Pareto distribution too; quantiles make the spread
  reproducible without a seed.
  """
  alpha: float

  def values(self, num_players: int) -> tuple[float, ...]:
    """The n skills, ascending, with mean 1."""
    quantiles = [(1.0 - (i + 0.5) / num_players) ** (-1.0 / self.alpha)
                 for i in range(num_players)]
    mean = math.fsum(quantiles) / num_players
    return tuple(q / mean for q in quantiles)


# `umd_apple_harvest__unequal`: unequal skills (Pareto, alpha 2) and an effort
# cost per apple, so taxing and redistributing trades equality against
# production. For 4 players the skills are 0.629, 0.745, 0.961, 1.665; with
# c = 0.3 a flat tax of 1 makes every apple worth 0.25 s - 0.3 < 0 to players
# below skill 1.2 (docs: the marginal value table). Brackets and cap are those
# of the shipped conditioned follower `ppo_conditioned`.
UNEQUAL_SKILLS = ParetoSkills(alpha=2.0)
UNEQUAL_EFFORT_COST = 0.3
# `umd_apple_harvest__unequal_wide`: the same economy with a heavier tail,
# Pareto alpha 1.2 (0.425, 0.563, 0.861, 2.151 for 4 players). Issue 22
# measured that with alpha 2 the objectives still agree (egalitarian and
# Nash welfare share their best schedule even with followers that sort by
# skill) and tried a wider spread, the AI Economist's lever for that
# trade-off; with ppo_skilled_uniform it did not help (docs/RESULTS.md).
# Kept apart so that `__unequal`'s results stay reproducible.
WIDE_SKILLS = ParetoSkills(alpha=1.2)

# Each variant's overrides of its map's config (`umd_apple_harvest.
# get_config`): field -> value, or a `ParetoSkills` resolved for the game's
# number of players. A variant not listed is its map's config unchanged.
# The unequal economies differ only in their skills.
_UNEQUAL_ECONOMY = {
    "effort_cost": UNEQUAL_EFFORT_COST,
    "bracket_edges": (1.0, 2.0),
    "initial_rates": (0.0, 0.0, 0.0),
    "max_rate": 4.0,
}
VARIANT_OVERRIDES: dict[str, dict[str, Any]] = {
    "umd_apple_harvest__unequal": {"skills": UNEQUAL_SKILLS,
                                   **_UNEQUAL_ECONOMY},
    "umd_apple_harvest__unequal_wide": {"skills": WIDE_SKILLS,
                                        **_UNEQUAL_ECONOMY},
}


def overrides(name: str, num_players: int) -> dict[str, Any]:
  """Variant `name`'s config overrides for a game of `num_players`.

  Raises:
    ValueError: `name` is not a registered substrate.
  """
  describe(name)  # Checks the name.
  return {field: (value.values(num_players)
                  if isinstance(value, ParetoSkills) else value)
          for field, value in VARIANT_OVERRIDES.get(name, {}).items()}


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
