"""Games/s of the game a principal's training waits on: symbolic ÷ pixels.

One whole game (5 rounds of 5 VOTE + 100 HARVEST steps, the reset
included) on umd_apple_harvest__small with 4 `ppo_conditioned` followers
(brackets 1,2, max_rate 4, phi0 0,4,4, the fixed principal), as `umd train
principal` plays it. The symbolic side is what `umd run` plays now: the
followers read the level's `GRID`, and Lab2D renders no pixels. The pixel
side plays the same seeded game with every player's `RGB` and `WORLD.RGB`
computed, and the followers parse their RGB views, as before issue 20.
Both sides give the same round records (checked each repeat). Repeats are
interleaved in one process; CPU time.

  .venv/bin/python benchmarks/principal_game_speed.py [--repeats 5]
"""

import argparse
import sys

import _setup  # pylint: disable=unused-import  # First: the preamble.
# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import numpy as np

import common
from umd_meltingpot import agents
from umd_meltingpot.game import loop as game
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order

SUBSTRATE = "umd_apple_harvest__small"
PLAYERS = 4
BOTS = "ppo_conditioned"
GAME = dict(brackets=(1.0, 2.0), max_rate=4.0, phi0=(0.0, 4.0, 4.0),
            principal="fixed", delta=float("inf"))
PIXELS = ("RGB", "WORLD.RGB")


def game_runner(prepared: game.PreparedGame, views, records: list):
  """Times one whole game, seeded alike on every call."""
  bots = game.build_bots(prepared)

  def run() -> float:
    start = common.clock()
    with game.build_environment(prepared, views=views) as env:
      game.play_episode(env, bots)
      records.append([record.to_json() for record in env.records])
    return 1.0 / (common.clock() - start)

  return run


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--seed", type=int, default=1000)
  common.add_history_flags(parser)
  args = parser.parse_args(argv)
  prepared = game.prepare(game.GameConfig(
      substrate=SUBSTRATE, players=PLAYERS, bots=BOTS, seed=args.seed,
      **GAME), agents.FACTORY)
  config = prepared.substrate_config
  run = common.Run("principal_game_speed", common.Subject(
      substrate=SUBSTRATE, players=PLAYERS,
      bots=f"{BOTS} (symbolic: GRID; pixels: RGB parsed)",
      settings={**GAME, "rounds": config.rounds, "seed": args.seed,
                "repeats": args.repeats}), args, argv)
  symbolic, pixels = [], []
  runners = {"symbolic": game_runner(prepared, None, symbolic),
             "pixels": game_runner(prepared, PIXELS, pixels)}
  rates = common.interleaved(runners, args.repeats)
  if symbolic != pixels:
    raise AssertionError("the two paths played different games")
  for name, values in rates.items():
    print(f"{name:<9} {np.median(values):6.2f} games/s (median)")
  print(run.paired("games/s symbolic / pixels", rates["symbolic"],
                   rates["pixels"]))
  run.finish()
  return 0


if __name__ == "__main__":
  sys.exit(main())
