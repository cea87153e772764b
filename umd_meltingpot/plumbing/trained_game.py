"""The game a checkpoint learnt on, and whether it fits the game it meets.

A follower (PPO) or principal checkpoint learnt one game: its number of
players, its map, its bracket edges, its cap on rates (`max_rate`) and its
bracket window. Used on a game that differs in any of these, it plays what
it never saw, silently. `check` refuses that, naming each difference, unless
`--allow-mismatch` is given, which lets it play with a one-line warning on
stderr instead.

  trained = trained_game.of_summary(checkpoint_config["substrate_config"],
                                    players=4)
  trained_game.check("ppo_small.npz", trained,
                     trained_game.of_config(substrate_config, num_players),
                     allow=False)   # ValueError: ... players 4, here 7 ...

A checkpoint written before `max_rate`, `bracket_window`, `effort_cost`
and `skills` existed lacks them; it learnt their defaults (1, 0, no effort
cost and every skill 1, then the only values), so a missing one reads as its
default. A follower that never paid for effort or saw unequal skills would
otherwise play the unequal economy as if apples were free.
"""

import math
import sys
from typing import Any, Mapping, Optional

from umd_meltingpot.plumbing import skill_draw

# The fields compared, each with the name a message gives it.
FIELDS = {
    "players": "players",
    "map_name": "map",
    "bracket_edges": "bracket edges",
    "max_rate": "max_rate",
    "bracket_window": "bracket_window",
    "effort_cost": "effort_cost",
    "skills": "skills",
}
# Fields older checkpoints predate, and the only value games had then.
_PREDATED = {"max_rate": 1.0, "bracket_window": 0, "effort_cost": 0.0,
             "skills": ()}
ALLOW_FLAG = "--allow-mismatch"
SKILL_DRAW = "skill_draw"

Game = dict[str, Any]
"""A game as compared: a value per key of FIELDS."""


def of_summary(summary: Mapping[str, Any],
               players: Optional[int] = None) -> Game:
  """The game of a substrate summary (`game.substrate_summary`'s JSON, or a
  checkpoint's copy of it).

  Args:
    summary: the JSON summary; `players` may be absent from older ones.
    players: the number of players, where the summary lacks it.

  Raises:
    KeyError: the summary lacks the map or the bracket edges.
    TypeError, ValueError: a field of the wrong type.
  """
  game = {
      "players": int(summary.get("players", players)),
      "map_name": str(summary["map_name"]),
      "bracket_edges": tuple(float(e) for e in summary["bracket_edges"]),
  }
  for key, default in _PREDATED.items():
    value = summary.get(key, default)
    game[key] = (tuple(float(v) for v in value) if isinstance(default, tuple)
                 else type(default)(value))
  # How training met the skills, where drawn (`skill_draw`); games, and
  # checkpoints trained on their game's skills, do not say.
  draw = skill_draw.check(summary.get(SKILL_DRAW, skill_draw.FIXED))
  if draw != skill_draw.FIXED:
    game[SKILL_DRAW] = draw
  return game


def of_config(substrate_config: Any, num_players: int) -> Game:
  """The game of a substrate config (a `ConfigDict`) with `num_players`."""
  return of_summary({
      "players": num_players,
      "map_name": substrate_config.map_name,
      "bracket_edges": substrate_config.bracket_edges,
      "max_rate": substrate_config.max_rate,
      "bracket_window": substrate_config.bracket_window,
      "effort_cost": substrate_config.effort_cost,
      "skills": substrate_config.skills,
  })


def _format(value: Any) -> str:
  if isinstance(value, tuple):
    return "(" + ",".join(_format(v) for v in value) + ")"
  if isinstance(value, float):
    return f"{value:g}"
  return str(value)


def _shown(key: str, value: Any) -> str:
  # No skills means every skill is 1, which "()" would not say.
  if key == "skills" and not value:
    return "all 1"
  return _format(value)


def _same(a: Any, b: Any) -> bool:
  if isinstance(a, tuple) and isinstance(b, tuple):
    return len(a) == len(b) and all(map(_same, a, b))
  if isinstance(a, float) or isinstance(b, float):
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
  return a == b


def differences(trained: Mapping[str, Any],
                game: Mapping[str, Any]) -> list[str]:
  """Each field in which `game` differs from `trained`, as "map small, here
  open", in FIELDS order."""
  return [f"{label} {_trained_shown(key, trained)}, here "
          f"{_shown(key, game[key])}"
          for key, label in FIELDS.items()
          if not _matches(key, trained, game)]


def _draw(trained: Mapping[str, Any]) -> skill_draw.SkillDraw:
  return skill_draw.parse(trained.get(SKILL_DRAW, skill_draw.FIXED))


def _matches(key: str, trained: Mapping[str, Any],
             game: Mapping[str, Any]) -> bool:
  if key == "skills":
    return skill_draw.covers(_draw(trained), trained["skills"],
                             game["skills"], game["players"])
  return _same(trained[key], game[key])


def _trained_shown(key: str, trained: Mapping[str, Any]) -> str:
  draw = _draw(trained)
  if key != "skills" or draw.kind == skill_draw.FIXED:
    return _shown(key, trained[key])
  if draw.kind == skill_draw.PERMUTE:
    return f"{_shown(key, trained[key])} in any order"
  return f"drawn from [{draw.low:g}, {draw.high:g}]"


class Mismatch(ValueError):
  """A checkpoint met a game other than the one it learnt.

  Attributes:
    source: the checkpoint, as messages name it.
    differences: each difference, as `differences` gives it.
  """

  def __init__(self, source: str, differences: list[str]):
    super().__init__(
        f"{source} was trained on another game ({'; '.join(differences)}); "
        f"pass {ALLOW_FLAG} to use it anyway")
    self.source = source
    self.differences = differences


_warned: set[str] = set()


def warn(message: str) -> None:
  """Writes a one-line warning to stderr, once per process (a game is
  prepared again for every training game)."""
  if message not in _warned:
    _warned.add(message)
    print(f"warning: {message}", file=sys.stderr, flush=True)


def check(source: str, trained: Mapping[str, Any], game: Mapping[str, Any],
          *, allow: bool) -> list[str]:
  """Refuses a checkpoint used on a game it did not learn on.

  Args:
    source: names the checkpoint in messages.
    trained: the game it learnt on.
    game: the game it is about to play.
    allow: let it play anyway, with a warning on stderr
      (`--allow-mismatch`).

  Returns:
    The differences (empty when the games match).

  Raises:
    Mismatch: (a ValueError) the games differ and `allow` is False; one line
      naming the differences and the flag.
  """
  found = differences(trained, game)
  if found:
    if not allow:
      raise Mismatch(source, found)
    warn(f"{source} was trained on another game ({'; '.join(found)}); used "
         f"anyway ({ALLOW_FLAG})")
  return found
