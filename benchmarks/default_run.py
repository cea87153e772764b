"""What the default `umd run` shows: the default tax against no tax.

  .venv/bin/python benchmarks/default_run.py --seeds 8

Plays `umd run`'s defaults as docs/RESULTS.md recorded them (the small
map, 4 best_response followers, a flat 0.7 tax), named here, and the same
game with `--phi0 0` on the same seeds, and prints per seed the apples eaten
over the game and alive at its end, then the ratio of the mean harvests and
the mean paired difference, each with a bootstrap 95% CI over seeds
(stats.py). If `umd run`'s defaults have moved since, it says how.
"""

import argparse
import sys

import _setup  # pylint: disable=unused-import  # First: the preamble.

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import numpy as np

import common
from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.plumbing import lazy
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order

stats = lazy.module("umd_meltingpot.plumbing.stats")

SUBSTRATE = "umd_apple_harvest__small"
PLAYERS = 4
BOTS = "best_response"
PHI0 = (0.7,)
# What the game above was when RESULTS recorded it: `umd run`'s defaults.
RECORDED_DEFAULTS = {"substrate": SUBSTRATE, "players": None, "bots": None,
                     "phi0": PHI0}


def _game(seed: int, phi0: tuple[float, ...]) -> game_lib.GameConfig:
  return game_lib.GameConfig(substrate=SUBSTRATE, players=PLAYERS, bots=BOTS,
                             phi0=phi0, seed=seed)


def _moved_defaults() -> dict[str, tuple[object, object]]:
  """`umd run`'s defaults that differ from RECORDED_DEFAULTS: then and now."""
  now = game_lib.GameConfig()
  return {field: (then, getattr(now, field))
          for field, then in RECORDED_DEFAULTS.items()
          if getattr(now, field) != then}


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
  common.add_history_flags(parser)
  args = parser.parse_args(argv)
  seeds = range(args.first_seed, args.first_seed + args.seeds)
  run = common.Run("default_run", common.Subject(
      substrate=SUBSTRATE, players=PLAYERS, bots=BOTS,
      settings={"phi0": ",".join(map(str, PHI0)), "vs phi0": 0,
                "seeds": f"{seeds.start}-{seeds.stop - 1}"}), args, argv)
  for field, (then, now) in _moved_defaults().items():
    print(f"note: umd run's default {field} is now {now} (was {then}); "
          f"this plays {field} as recorded")
  taxed, untaxed = [], []
  print(f"{'seed':>5} {'eaten (tax)':>12} {'eaten (none)':>12} "
        f"{'alive (tax)':>11} {'alive (none)':>12}")
  for seed in seeds:
    eaten_tax, alive_tax = _harvest(_game(seed, PHI0))
    eaten_none, alive_none = _harvest(_game(seed, (0.0,)))
    taxed.append(eaten_tax)
    untaxed.append(eaten_none)
    print(f"{seed:>5} {eaten_tax:>12.0f} {eaten_none:>12.0f} "
          f"{alive_tax:>11.0f} {alive_none:>12.0f}", flush=True)
  print(run.interval("apples eaten, default tax / no tax",
                     *stats.ratio_of_means(taxed, untaxed, rng=0),
                     seeds=len(taxed)))
  diff, low, high = stats.bootstrap_mean_ci(
      [[a - b] for a, b in zip(taxed, untaxed)], rng=0)
  print(f"apples eaten, default tax - no tax: {diff:.1f} "
        f"(95% CI {low:.1f} to {high:.1f})")
  print(f"means: default tax {np.mean(taxed):.1f}, no tax "
        f"{np.mean(untaxed):.1f}")
  run.finish()
  return 0


if __name__ == "__main__":
  sys.exit(main())
