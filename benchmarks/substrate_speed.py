"""Step rate of umd_apple_harvest__open relative to commons_harvest__open.

Same map, 7 players, uniformly random actions. On the UMD side the mechanism
is live: non-zero bracket taxes, redistribution every tax period, the vote
actions in the action set, the phases and the extra observations. Repeats are
interleaved in one process; the ratio of paired repeats is what counts.

  .venv/bin/python benchmarks/substrate_speed.py [--steps 2000] [--repeats 7]
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from meltingpot import substrate as meltingpot_substrate  # pylint: disable=g-import-not-at-top
import numpy as np

import common  # pylint: disable=g-import-not-at-top
from umd_meltingpot import substrate  # pylint: disable=g-import-not-at-top

NUM_PLAYERS = 7


def make_runner(env, num_steps: int, seed: int):
  """Times `num_steps` steps; resets (a new Lua VM each) are not timed, as
  the two substrates' episodes differ in length."""
  bare = common.RandomPlay(env, seed)

  def run() -> float:
    elapsed = 0.0
    for _ in range(num_steps):
      bare.reset_if_over()
      actions = bare.actions()
      start = common.clock()
      bare.step(actions)
      elapsed += common.clock() - start
    return num_steps / elapsed

  return run


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--steps", type=int, default=2000)
  parser.add_argument("--repeats", type=int, default=7)
  args = parser.parse_args()

  config = substrate.get_config("umd_apple_harvest__open")
  with config.unlocked():
    config.initial_rates = (0.1, 0.3, 0.5)
  umd = substrate.build_from_config(config, roles=["default"] * NUM_PLAYERS,
                                    env_seed=1)
  commons = meltingpot_substrate.build("commons_harvest__open",
                                       roles=["default"] * NUM_PLAYERS)
  runners = {
      "umd_apple_harvest__open": make_runner(umd, args.steps, 0),
      "commons_harvest__open": make_runner(commons, args.steps, 0),
  }
  for runner in runners.values():  # Warm up both.
    runner()
  rates = common.interleaved(runners, args.repeats)
  for name, values in rates.items():
    print(f"{name:<26} {np.median(values):8.0f} steps/s (median)")
  print("ratio umd / commons: " + common.ratio_summary(
      rates["umd_apple_harvest__open"], rates["commons_harvest__open"]))
  umd.close()
  commons.close()


if __name__ == "__main__":
  main()
