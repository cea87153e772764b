"""How followers meet skills in training: the game's, or new ones per episode.

A parameter-shared follower trained with the same skill in the same slot
every episode can tell the players apart by their agent id, and never needs
its SKILL input (issue 22: `ppo_conditioned_unequal` ignored it). Drawing
skills per episode takes that shortcut away:

*   `fixed`: the game's skills, in every episode;
*   `permute`: the game's skills, shuffled among the players each episode
    (every slot meets every skill; the economy's distribution is unchanged);
*   `uniform:LO,HI`: each player's skill drawn log-uniformly from [LO, HI]
    each episode (skills the game never had, between and beyond its own).

A follower checkpoint records its draw (`substrate_config.skill_draw`), so
`trained_game` accepts the games whose skills the draw covers.
"""

import math
from typing import NamedTuple, Sequence

import numpy as np

from umd_meltingpot.plumbing import validation

FIXED = "fixed"
PERMUTE = "permute"
UNIFORM = "uniform"
SPECS = f"{FIXED}, {PERMUTE} or {UNIFORM}:LO,HI (0 < LO < HI)"


class SkillDraw(NamedTuple):
  """A parsed draw: its kind and, for `uniform`, its range."""
  kind: str
  low: float = 0.0
  high: float = 0.0

  def __str__(self) -> str:
    if self.kind == UNIFORM:
      return f"{UNIFORM}:{self.low:g},{self.high:g}"
    return self.kind


def parse(spec: object) -> SkillDraw:
  """Parses a draw spec.

  Raises:
    ValueError: not one of `SPECS`, named with the valid values.
  """
  text = str(spec).strip()
  if text in (FIXED, PERMUTE):
    return SkillDraw(text)
  kind, _, bounds = text.partition(":")
  if kind == UNIFORM:
    try:
      low, high = (float(b) for b in bounds.split(","))
    except ValueError:
      low = high = math.nan
    if 0 < low < high < math.inf:
      return SkillDraw(UNIFORM, low, high)
  raise ValueError(f"the skill draw must be {SPECS}, got {spec!r}")


def check(spec: object) -> str:
  """The spec, checked and written canonically (`parse`)."""
  return str(parse(spec))


def per_player(skills: Sequence[float], num_players: int) -> np.ndarray:
  """A game's skills, one per player (a config's empty skills: every skill
  1)."""
  return np.asarray(skills if len(skills) else [1.0] * num_players, float)


def draw(spec: SkillDraw, skills: Sequence[float], num_players: int,
         rng: np.random.Generator) -> tuple[float, ...]:
  """One episode's skills, one per player.

  Args:
    spec: the draw.
    skills: the game's skills (empty: every skill 1).
    num_players: the number of players.
    rng: the source of randomness (unused by `fixed`).
  """
  base = per_player(skills, num_players)
  if spec.kind == PERMUTE:
    base = rng.permutation(base)
  elif spec.kind == UNIFORM:
    base = np.exp(rng.uniform(math.log(spec.low), math.log(spec.high),
                              size=num_players))
  return tuple(float(s) for s in base)


def covers(spec: SkillDraw, trained: Sequence[float],
           game: Sequence[float], num_players: int) -> bool:
  """Whether a follower trained with `spec` on skills `trained` met the
  skills `game` in training (up to rounding): the same skills for `fixed`,
  the same multiset for `permute`, each within the range for `uniform`."""
  here = per_player(game, num_players)
  if spec.kind == UNIFORM:
    return bool(np.all(here >= spec.low * (1 - 1e-9))
                and np.all(here <= spec.high * (1 + 1e-9)))
  there = per_player(trained, num_players)
  if spec.kind == PERMUTE:
    here, there = np.sort(here), np.sort(there)
  return here.shape == there.shape and bool(
      np.allclose(here, there, rtol=1e-9, atol=1e-12))


CHECK = validation.Check(SPECS, check)
"""`check` as a config field's check."""
