"""The bot factory that whoever runs a game hands to `game.loop.prepare`.

The game never imports the bots (they sit beside it, not under it): it asks
a `game.loop.BotFactory` to check a `--bots` spec and to build one policy
per player. `FACTORY` is ours, over the registry in `agents/__init__.py`:
the heuristic bots, the PPO followers and the best-response followers.
"""

from typing import Any, Optional, Sequence

from umd_meltingpot import agents
from umd_meltingpot.social_choice import preferences as preferences_lib

# The followers when --bots is not given: best_response where its shipped
# table covers the game, else these.
FALLBACK_BOTS = "random,greedy"


def _outside_best_response(substrate_config: Any) -> list[str]:
  """The parts of the game that best_response's model leaves out.

  Its tables price every apple at `apple_value` to a symmetric population
  (`agents/best_response.py`), so unequal skills or an effort cost would
  make it best-respond to another game.
  """
  missing = []
  skills = substrate_config.skills
  if any(skill != 1 for skill in skills):
    missing.append(f"skills {','.join(f'{skill:.3g}' for skill in skills)}")
  if substrate_config.effort_cost:
    missing.append(f"effort_cost {substrate_config.effort_cost:g}")
  return missing


def _check_best_response_fits(name: str, substrate_config: Any) -> None:
  """Refuses best_response (or best_response:PATH) on a game it cannot
  model: one with skills or an effort cost."""
  if name != agents.BEST_RESPONSE and not name.startswith(
      agents.BEST_RESPONSE + ":"):
    return
  missing = _outside_best_response(substrate_config)
  if missing:
    raise ValueError(
        f"--bots {name} cannot play this game: its tables model equal skills "
        f"and no effort cost, and this game has {' and '.join(missing)}; "
        f"choose other --bots (e.g. {FALLBACK_BOTS}, ppo_conditioned)")


def default_bots(substrate_config: Any, num_players: int) -> str:
  """The bots of a game whose config gives none (see `GameConfig.bots`)."""
  if _outside_best_response(substrate_config):
    return FALLBACK_BOTS
  try:
    agents.check_bot(agents.BEST_RESPONSE, substrate_config=substrate_config,
                     num_players=num_players)
  except ValueError:
    return FALLBACK_BOTS
  return agents.BEST_RESPONSE


class BotFactory:
  """Our bots, as the game asks for them (`game.loop.BotFactory`)."""

  def bot_names(self, spec: Optional[str], *, substrate_config: Any,
                num_players: int, allow_mismatch: bool = False
                ) -> tuple[str, ...]:
    """Checks a comma-separated `--bots` spec (None: the default bots),
    loading every checkpoint and table it names.

    Raises:
      ValueError: an unknown name, or a checkpoint or table that cannot
        play this game, with the valid names in the message.
    """
    if spec is None:
      spec = default_bots(substrate_config, num_players)
    names = tuple(name.strip() for name in spec.split(",") if name.strip())
    unknown = [name for name in names if not agents.is_bot_name(name)]
    if not names or unknown:
      raise ValueError(f"Unknown bots {unknown or spec!r}; valid: "
                       f"{agents.bot_names()} (comma-separated, cycled over "
                       "the players)")
    num_rates = len(substrate_config.bracket_edges) + 1
    for name in sorted(set(names)):
      _check_best_response_fits(name, substrate_config)
      agents.check_bot(name, num_rates=num_rates,
                       substrate_config=substrate_config,
                       num_players=num_players, allow_mismatch=allow_mismatch)
    return names

  def views(self, names: Sequence[str]) -> tuple[str, ...]:
    """The views bots `names` read: the pixels if a PPO follower learnt
    from them, else the cells and the seed the level computes without
    rendering (`bots.VIEWS`), on which every bot plays as on the pixels."""
    from umd_meltingpot.agents import bots as bots_lib  # pylint: disable=g-import-not-at-top
    from umd_meltingpot.agents.ppo import policy as ppo_policy  # pylint: disable=g-import-not-at-top
    for name in set(names):
      path = agents.ppo_checkpoint(name)
      if path is not None and "RGB" in ppo_policy.views(
          ppo_policy.load(path)):
        return ("RGB",)  # The pixels give every bot all it reads.
    return bots_lib.VIEWS

  def make_bots(self, names: Sequence[str], *,
                preferences: preferences_lib.Preferences, rule: str,
                seed: int, substrate_config: Any,
                num_players: int) -> list[Any]:
    """One bot per player (`names` cycled), voting truthfully for its
    type under `rule`; the PPO followers of one network share a team
    (`game.loop.BotTeam`)."""
    from umd_meltingpot.agents import bots as bots_lib  # pylint: disable=g-import-not-at-top
    players = []
    for player in range(num_players):
      voter = bots_lib.Voter.truthful(preferences.players[player], rule)
      players.append(agents.make_bot(
          names[player % len(names)], seed=seed * 1000 + player, voter=voter,
          num_objectives=len(substrate_config.objectives), player=player,
          substrate_config=substrate_config, num_players=num_players))
    if any(agents.ppo_checkpoint(name) for name in names):
      # The PPO followers of one network act in one call per step.
      from umd_meltingpot.agents.ppo import policy as ppo_policy  # pylint: disable=g-import-not-at-top
      ppo_policy.form_teams(players)
    return players


FACTORY = BotFactory()
"""The factory of every bot that `--bots` names."""
