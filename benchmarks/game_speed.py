"""Env steps/s of `umd run`'s loop relative to the bare substrate.

Both sides play whole games of umd_apple_harvest__open with 7 players (the
map's default game: 5 rounds of 10 VOTE + 200 HARVEST steps), resets
included. The `umd run` side is what the command runs, minus the video and
the files: the principal wrapper (vote, f, the hand-rule principal, the
projection, the metrics) and one heuristic bot per player choosing every
action (random,greedy cycled). The bare side is the substrate alone with
uniformly random actions, every player's RGB and WORLD.RGB rendered (the
`umd run` side computes only the views its bots read). Repeats are
interleaved in one process.

The game is named here, not taken from `umd run`'s defaults (the small map
and best_response followers since issue 14): docs/RESULTS.md's figures are
of this one.

  .venv/bin/python benchmarks/game_speed.py [--repeats 5] [--bots random,greedy]
"""

import argparse
import sys

import _setup  # pylint: disable=unused-import  # First: the preamble.

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import numpy as np

import common
from umd_meltingpot import agents
from umd_meltingpot.game import loop as game
from umd_meltingpot.plumbing import lazy
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order

substrate = lazy.module("umd_meltingpot.substrate")

SUBSTRATE = "umd_apple_harvest__open"
PLAYERS = 7
BOTS = "random,greedy"
PRINCIPAL = "hand_rule"


def game_runner(prepared: game.PreparedGame):
  env = game.build_environment(prepared)
  bots = game.build_bots(prepared)

  def run() -> float:
    start = common.clock()
    steps = game.play_episode(env, bots)
    return steps / (common.clock() - start)

  return run


def bare_runner(prepared: game.PreparedGame):
  # The bare substrate as Melting Pot users get it: every player's RGB and
  # WORLD.RGB rendered (the game side computes only what its bots read).
  config = prepared.substrate_config.copy_and_resolve_references()
  defaults = substrate.get_config(prepared.config.substrate)
  with config.unlocked():
    config.player_views = defaults.player_views
    config.world_views = defaults.world_views
  bare = common.RandomPlay(substrate.build_from_config(
      config, roles=["default"] * prepared.num_players, env_seed=1), seed=0)

  def run() -> float:
    # Whole games, the reset included, as on the `umd run` side.
    start = common.clock()
    steps = bare.episode()
    return steps / (common.clock() - start)

  return run


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--bots", default=BOTS,
                      help="the `umd run` side's bots (default: %(default)s)")
  parser.add_argument("--principal", default=PRINCIPAL)
  parser.add_argument("--substrate", default=SUBSTRATE,
                      help="the game's substrate (default: %(default)s)")
  parser.add_argument("--players", type=int, default=PLAYERS,
                      help="the game's players (default: %(default)s)")
  common.add_history_flags(parser)
  args = parser.parse_args(argv)
  # phi0 None: the substrate's own initial rates, as when RESULTS was
  # measured (`umd run`'s default is a flat 0.7 since issue 14).
  prepared = game.prepare(game.GameConfig(
      substrate=args.substrate, players=args.players, bots=args.bots,
      phi0=None,
      principal=args.principal), agents.FACTORY)
  config = prepared.substrate_config
  run = common.Run("game_speed", common.Subject(
      substrate=args.substrate, players=prepared.num_players,
      bots=f"{','.join(prepared.bot_names)} (umd run) vs uniformly random "
      "actions (bare)",
      settings={"principal": args.principal, "rounds": config.rounds,
                "vote_steps": config.vote_steps,
                "harvest_steps": config.harvest_steps,
                "repeats": args.repeats}), args, argv)
  runners = {"umd run": game_runner(prepared), "bare": bare_runner(prepared)}
  rates = common.interleaved(runners, args.repeats)
  for name, values in rates.items():
    print(f"{name:<8} {np.median(values):8.0f} steps/s (median)")
  print(run.paired("umd run / bare substrate", rates["umd run"],
                   rates["bare"]))
  run.finish()
  return 0


if __name__ == "__main__":
  sys.exit(main())
