"""Step rate of umd_apple_harvest__open relative to commons_harvest__open.

Same map, 7 players, uniformly random actions. On the UMD side the mechanism
is live: non-zero bracket taxes, redistribution every tax period, the vote
actions in the action set, the phases and the extra observations. Repeats are
interleaved in one process; the ratio of paired repeats is what counts.

  .venv/bin/python benchmarks/substrate_speed.py [--steps 2000] [--repeats 7]
"""

import argparse
import sys

import _setup  # pylint: disable=unused-import  # First: the preamble.

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import numpy as np

import common
from umd_meltingpot.plumbing import lazy
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order

meltingpot_substrate = lazy.module("meltingpot.substrate")
substrate = lazy.module("umd_meltingpot.substrate")

UMD = "umd_apple_harvest__open"
COMMONS = "commons_harvest__open"
NUM_PLAYERS = 7
RATES = (0.1, 0.3, 0.5)


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


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  parser.add_argument("--steps", type=int, default=2000)
  parser.add_argument("--repeats", type=int, default=7)
  common.add_history_flags(parser)
  args = parser.parse_args(argv)
  run = common.Run("substrate_speed", common.Subject(
      substrate=f"{UMD} vs {COMMONS}", players=NUM_PLAYERS,
      bots="uniformly random actions",
      settings={"umd rates": ",".join(map(str, RATES)),
                "steps": args.steps, "repeats": args.repeats}), args, argv)

  config = substrate.get_config(UMD)
  with config.unlocked():
    config.initial_rates = RATES
  umd = substrate.build_from_config(config, roles=["default"] * NUM_PLAYERS,
                                    env_seed=1)
  commons = meltingpot_substrate.build(COMMONS,
                                       roles=["default"] * NUM_PLAYERS)
  runners = {UMD: make_runner(umd, args.steps, 0),
             COMMONS: make_runner(commons, args.steps, 0)}
  for runner in runners.values():  # Warm up both.
    runner()
  rates = common.interleaved(runners, args.repeats)
  for name, values in rates.items():
    print(f"{name:<26} {np.median(values):8.0f} steps/s (median)")
  print(run.paired("umd / commons", rates[UMD], rates[COMMONS]))
  umd.close()
  commons.close()
  run.finish()
  return 0


if __name__ == "__main__":
  sys.exit(main())
