"""What the default `umd run` shows: the default tax against no tax.

  .venv/bin/python benchmarks/default_run.py --seeds 8

Plays `umd run`'s defaults (the small map, best_response followers, a flat
0.7 tax) and the same game with `--phi0 0` on the same seeds, and prints
per seed the apples eaten over the game and alive at its end, then the
ratio of the mean harvests and the mean paired difference, each with a
bootstrap 95% CI over seeds (stats.py).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np

import common
from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.plumbing import stats
# pylint: enable=g-import-not-at-top,wrong-import-position


def _harvest(config: game_lib.GameConfig) -> tuple[float, float]:
  """Apples eaten over the game, and apples alive at its end."""
  records = common.play(config)
  return (float(sum(sum(record.gross) for record in records)),
          float(records[-1].apples_alive))


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--seeds", type=int, default=8)
  parser.add_argument("--first-seed", type=int, default=1000,
                      help="seeds first-seed.. (held out: not the seed 0 of "
                      "the README's run)")
  args = parser.parse_args(argv)
  seeds = range(args.first_seed, args.first_seed + args.seeds)
  taxed, untaxed = [], []
  print(f"{'seed':>5} {'eaten (tax)':>12} {'eaten (none)':>12} "
        f"{'alive (tax)':>11} {'alive (none)':>12}")
  for seed in seeds:
    eaten_tax, alive_tax = _harvest(game_lib.GameConfig(seed=seed))
    eaten_none, alive_none = _harvest(game_lib.GameConfig(seed=seed,
                                                          phi0=(0.0,)))
    taxed.append(eaten_tax)
    untaxed.append(eaten_none)
    print(f"{seed:>5} {eaten_tax:>12.0f} {eaten_none:>12.0f} "
          f"{alive_tax:>11.0f} {alive_none:>12.0f}", flush=True)
  ratio, low, high = stats.ratio_of_means(taxed, untaxed, rng=0)
  print(f"apples eaten, default tax / no tax: {ratio:.2f} "
        f"(95% CI {low:.2f} to {high:.2f}, {len(taxed)} paired seeds)")
  diff, low, high = stats.bootstrap_mean_ci(
      [[a - b] for a, b in zip(taxed, untaxed)], rng=0)
  print(f"apples eaten, default tax - no tax: {diff:.1f} "
        f"(95% CI {low:.1f} to {high:.1f})")
  print(f"means: default tax {np.mean(taxed):.1f}, no tax "
        f"{np.mean(untaxed):.1f}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
