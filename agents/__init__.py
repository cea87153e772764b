"""Agents for the UMD substrates; installed as `umd_meltingpot.agents`.

  from umd_meltingpot import agents
  bot = agents.make_bot("greedy", seed=1)
  follower = agents.make_bot("ppo", player=2)  # The shipped PPO checkpoint.

Besides the heuristic `BOTS`, "ppo" names the trained PPO follower shipped
in `checkpoints/ppo_small.npz`, "ppo_conditioned" the one conditioned on phi
in `checkpoints/ppo_conditioned_small.npz` (trained across random schedules
with fines: it needs its game's brackets and max_rate),
"ppo_conditioned_unequal" the one that also reads its own SKILL, for
umd_apple_harvest__unequal (`checkpoints/ppo_conditioned_unequal.npz`; it
barely uses it), "ppo_skilled_unequal" the one trained with skills drawn
per game, whose play depends on its skill
(`checkpoints/ppo_skilled_unequal.npz`), "ppo_skilled_uniform" one trained
with skills drawn from [0.4, 2.5], which plays any skills in that range
(umd_apple_harvest__unequal_wide too; `checkpoints/ppo_skilled_uniform.npz`),
and
"ppo:PATH" a checkpoint written by `umd train` (e.g.
ppo:runs/train-.../checkpoint.npz).
JAX is imported only when one is built. "best_response" names the follower that best-responds to
the tax schedule phi (`best_response.py`), with the meta-game table shipped
for the small map, and "best_response:PATH" one with another table.
"""

import importlib
from typing import TYPE_CHECKING, Any, Collection, Optional

if TYPE_CHECKING:
  from meltingpot.utils.policies import policy
  from umd_meltingpot.agents import bots

# The heuristic bots by name: their classes in `bots`. `BOTS` maps the names
# to the classes and imports them on first use: they import Melting Pot and
# TensorFlow, which the RL principal, a user of agents/ppo's pure-JAX core
# (`ppo/algorithm.py`), must not pull in.
_BOT_CLASSES = {
    "random": "RandomBot",
    "greedy": "GreedyBot",
    "sustainable": "SustainableBot",
    "zapper": "ZapperBot",
}


def _bots() -> dict[str, type]:
  from umd_meltingpot.agents import bots  # pylint: disable=g-import-not-at-top
  return {name: getattr(bots, cls) for name, cls in _BOT_CLASSES.items()}


def __getattr__(name: str) -> Any:
  if name == "BOTS":
    return _bots()
  if name == "FACTORY":  # What `game.loop.prepare` builds the bots with.
    return importlib.import_module(f"{__name__}.factory").FACTORY
  if name == "bots":  # `agents.bots.Voter` works before any bot is built.
    return importlib.import_module(f"{__name__}.bots")
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The trained follower: "ppo" alone, or "ppo:PATH" for another checkpoint.
PPO = "ppo"
PPO_CONDITIONED = "ppo_conditioned"
PPO_CONDITIONED_UNEQUAL = "ppo_conditioned_unequal"
PPO_SKILLED_UNEQUAL = "ppo_skilled_unequal"
PPO_SKILLED_UNIFORM = "ppo_skilled_uniform"
# The shipped PPO followers by name: their files in checkpoints/.
_SHIPPED_PPO = {PPO: "ppo_small.npz",
                PPO_CONDITIONED: "ppo_conditioned_small.npz",
                PPO_CONDITIONED_UNEQUAL: "ppo_conditioned_unequal.npz",
                PPO_SKILLED_UNEQUAL: "ppo_skilled_unequal.npz",
                PPO_SKILLED_UNIFORM: "ppo_skilled_uniform.npz"}
# The phi-responsive follower: "best_response" alone (the shipped table), or
# "best_response:PATH" for another table.
BEST_RESPONSE = "best_response"


def _is_loadable(name: str, kind: str) -> bool:
  return name == kind or (name.startswith(kind + ":") and
                          len(name) > len(kind) + 1)


def _is_ppo(name: str) -> bool:
  return name in _SHIPPED_PPO or _is_loadable(name, PPO)


def is_bot_name(name: str) -> bool:
  """Whether `name` names a heuristic bot, or a loadable follower."""
  return name in _BOT_CLASSES or _is_ppo(name) or _is_loadable(
      name, BEST_RESPONSE)


def bot_names() -> list[str]:
  """The valid bot names, for messages."""
  return sorted(_BOT_CLASSES) + [*_SHIPPED_PPO, PPO + ":PATH",
                                 BEST_RESPONSE, BEST_RESPONSE + ":PATH"]


def _table_path(name: str) -> str:
  from umd_meltingpot.agents import best_response  # pylint: disable=g-import-not-at-top
  if name == BEST_RESPONSE:
    return str(best_response.DEFAULT_TABLE)
  return name[len(BEST_RESPONSE) + 1:]


def ppo_checkpoint(name: str) -> Optional[str]:
  """The checkpoint file that PPO bot `name` plays; None for other bots."""
  return _checkpoint_path(name) if _is_ppo(name) else None


def _checkpoint_path(name: str) -> str:
  if name in _SHIPPED_PPO:
    from umd_meltingpot.agents.ppo import policy as ppo_policy  # pylint: disable=g-import-not-at-top
    return str(ppo_policy.DEFAULT_CHECKPOINT.with_name(_SHIPPED_PPO[name]))
  return name[len(PPO) + 1:]


def check_bot(name: str, *, num_rates: Optional[int] = None,
              substrate_config: Any = None,
              num_players: Optional[int] = None,
              allow_mismatch: bool = False,
              observations: Optional[Collection[str]] = None) -> None:
  """Checks that bot `name` can be built (loading a checkpoint or table).

  Args:
    name: a bot name (see `bot_names`).
    num_rates: the substrate's number of tax rates, which a PPO checkpoint
      must have been trained with; None skips that check.
    substrate_config: the game's substrate config, with `num_players`: a
      best-response table must have been measured on the same setting; None
      skips that check.
    num_players: the game's number of players.
    allow_mismatch: let a PPO checkpoint play a game other than the one it
      was trained on (`substrate_config` with `num_players`), with a
      warning on stderr; without it that is refused.
    observations: the observations the game shows the bot's players (a
      scenario's permitted ones); None: all.

  Raises:
    ValueError: an unknown name, or a missing, corrupt or unfitting
      checkpoint or table.
  """
  if not is_bot_name(name):
    raise ValueError(f"Unknown bot {name!r}; valid: {bot_names()}")
  if name in _BOT_CLASSES:
    return
  if _is_loadable(name, BEST_RESPONSE):
    from umd_meltingpot.agents import best_response  # pylint: disable=g-import-not-at-top
    path = _table_path(name)
    meta_game = best_response.load(path)
    if substrate_config is not None:
      best_response.check_fits(meta_game, substrate_config, num_players,
                               path)
    return
  from umd_meltingpot.agents.ppo import policy as ppo_policy  # pylint: disable=g-import-not-at-top
  follower = ppo_policy.load(_checkpoint_path(name))
  if num_rates is not None and follower.num_rates != num_rates:
    raise ValueError(
        f"{follower.source} was trained with {follower.num_rates} tax rates;"
        f" this substrate has {num_rates} (see --brackets)")
  if substrate_config is not None and num_players is not None:
    ppo_policy.check_game(follower, substrate_config, num_players,
                          allow_mismatch=allow_mismatch,
                          observations=observations)


def make_bot(name: str,
             *,
             seed: int = 0,
             voter: "Optional[bots.Voter]" = None,
             num_objectives: int = 3,
             player: int = 0,
             substrate_config: Any = None,
             num_players: Optional[int] = None) -> "policy.Policy":
  """Builds the bot called `name`.

  Args:
    name: a key of BOTS, "ppo", "ppo:PATH", "best_response" or
      "best_response:PATH".
    seed: the seed of the bot's random generators.
    voter: how the bot votes in the VOTE phase; None abstains.
    num_objectives: the number of objectives on the ballot.
    player: the player index the bot plays (a PPO follower's agent id).
    substrate_config: the game's substrate config: a best-response table is
      restated for the game (fewer rounds, a longer tax period, other
      brackets: `MetaGame.for_game`); None plays the table as measured.
    num_players: the game's number of players, with `substrate_config`.

  Raises:
    ValueError: an unknown name, a voter that does not fit
      `num_objectives`, or a bad PPO checkpoint.
  """
  if name in _BOT_CLASSES:
    return _bots()[name](num_objectives=num_objectives, voter=voter, seed=seed)
  check_bot(name)
  if _is_loadable(name, BEST_RESPONSE):
    from umd_meltingpot.agents import best_response  # pylint: disable=g-import-not-at-top
    meta_game = best_response.load(_table_path(name))
    if substrate_config is not None:
      meta_game = meta_game.for_game(substrate_config, num_players)
    return best_response.BestResponseFollower(
        meta_game, num_objectives=num_objectives, voter=voter, seed=seed)
  from umd_meltingpot.agents.ppo import policy as ppo_policy  # pylint: disable=g-import-not-at-top
  return ppo_policy.PPOPolicy.from_checkpoint(
      _checkpoint_path(name), agent_id=player, voter=voter,
      num_objectives=num_objectives, seed=seed)
