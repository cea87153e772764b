"""Env steps/s of `umd run`'s loop relative to the bare substrate.

Both sides play umd_apple_harvest__open with 7 players for whole games. The
`umd run` side is what the command runs, minus the video and the files: the
principal wrapper (vote, f, the principal, the projection, the metrics) and
one heuristic bot per player choosing every action. The bare side is the
substrate alone with uniformly random actions. Repeats are interleaved in one
process.

  .venv/bin/python benchmarks/game_speed.py [--repeats 5] [--bots random,greedy]
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # pylint: disable=g-import-not-at-top

import common  # pylint: disable=g-import-not-at-top
from umd_meltingpot import agents
from umd_meltingpot.game import loop as game  # pylint: disable=g-import-not-at-top
from umd_meltingpot import substrate  # pylint: disable=g-import-not-at-top


def game_runner(prepared: game.PreparedGame):
  env = game.build_environment(prepared)
  bots = game.build_bots(prepared)

  def run() -> float:
    start = common.clock()
    steps = game.play_episode(env, bots)
    return steps / (common.clock() - start)

  return run


def bare_runner(prepared: game.PreparedGame):
  bare = common.RandomPlay(substrate.build_from_config(
      prepared.substrate_config, roles=["default"] * prepared.num_players,
      env_seed=1), seed=0)

  def run() -> float:
    # Whole games, the reset included, as on the `umd run` side.
    start = common.clock()
    steps = bare.episode()
    return steps / (common.clock() - start)

  return run


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--bots", default=game.GameConfig.bots)
  parser.add_argument("--principal", default="hand_rule")
  args = parser.parse_args()
  prepared = game.prepare(game.GameConfig(
      bots=args.bots, principal=args.principal), agents.FACTORY)
  runners = {"umd run": game_runner(prepared), "bare": bare_runner(prepared)}
  rates = common.interleaved(runners, args.repeats)
  for name, values in rates.items():
    print(f"{name:<8} {np.median(values):8.0f} steps/s (median)")
  print(f"ratio umd run / bare substrate (bots {args.bots}, principal "
        f"{args.principal}): " +
        common.ratio_summary(rates["umd run"], rates["bare"]))


if __name__ == "__main__":
  main()
