"""Games/s of `umd grid` on 2 Ray workers relative to 1 worker.

Both sides play the same grid (the same game, schedules and seeds) through
`grid_search.play` on a fresh local Ray with 1 or 2 CPUs. Each side first
plays one warm-up game per worker (other seeds), so that Ray start-up and
each worker's one-off import of Melting Pot and TensorFlow are not timed;
then it times the grid (wall-clock: the point is the parallel speed-up).
Sides alternate, `--repeats` times, in one run, and every table must equal
the first (the table does not depend on the number of workers).

The game is named here: umd_apple_harvest__small with its 4 players, all
best_response followers (what docs/RESULTS.md measured, then `umd grid`'s
default bots there), in the map's default game.

  .venv/bin/python benchmarks/grid_scaling.py [--flat-step 0.25] \
      [--seeds 4] [--repeats 2] [--substrate umd_apple_harvest__small]
"""

import argparse
import sys
import time

import _setup  # pylint: disable=unused-import  # First: the preamble.

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import common
from umd_meltingpot import agents
from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.training import grid_search
from umd_meltingpot.plumbing import parallel
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order

SUBSTRATE = "umd_apple_harvest__small"
PLAYERS = 4
BOTS = "best_response"


def _game(args: argparse.Namespace) -> game_lib.GameConfig:
  return game_lib.GameConfig(substrate=args.substrate, players=args.players,
                             bots=args.bots)


def _prepared(args: argparse.Namespace, workers: int, first_seed: int,
              seeds: int) -> grid_search.PreparedGrid:
  return grid_search.prepare(grid_search.GridConfig(
      game=_game(args),
      flat_step=args.flat_step, seeds=tuple(range(first_seed,
                                                  first_seed + seeds)),
      workers=workers))


def runner(workers: int, args: argparse.Namespace,
           tables: list[grid_search.GridTable]):
  """Returns a function timing the grid on a local Ray with `workers`."""
  prepared = _prepared(args, workers, first_seed=100, seeds=args.seeds)

  def run() -> float:
    with parallel.ray_session(workers):
      warm_up = _prepared(args, workers, first_seed=1, seeds=1)
      parallel.run_tasks(grid_search.play_game, warm_up.tasks[:workers],
                         workers=workers)
      start = time.perf_counter()
      tables.append(grid_search.play(prepared))
      rate = len(prepared.tasks) / (time.perf_counter() - start)
    print(f"  {workers} worker(s): {rate:.3f} games/s", flush=True)
    return rate

  return run


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--substrate", default=SUBSTRATE)
  parser.add_argument("--players", type=int, default=PLAYERS)
  parser.add_argument("--bots", default=BOTS)
  parser.add_argument("--flat-step", type=float, default=0.25)
  parser.add_argument("--seeds", type=int, default=4)
  parser.add_argument("--repeats", type=int, default=2)
  common.add_history_flags(parser)
  args = parser.parse_args(argv)
  tables: list[grid_search.GridTable] = []
  games = len(_prepared(args, 0, first_seed=100, seeds=args.seeds).tasks)
  prepared = game_lib.prepare(_game(args), agents.FACTORY)
  run = common.Run("grid_scaling", common.Subject(
      substrate=args.substrate, players=prepared.num_players,
      bots=",".join(prepared.bot_names),
      settings={"games": games, "flat step": args.flat_step,
                "seeds": f"100-{99 + args.seeds}",
                "rounds": prepared.substrate_config.rounds,
                "repeats": args.repeats}), args, argv)
  results = common.interleaved(
      {"1": runner(1, args, tables), "2": runner(2, args, tables)},
      args.repeats)
  same = all(table == tables[0] for table in tables)
  print(f"tables identical across workers and repeats: {same}")
  print(run.paired("games/s, 2 workers / 1 worker", results["2"],
                   results["1"]))
  if not same:  # Not a figure to keep.
    sys.exit("the tables differ between runs")
  run.finish()
  return 0


if __name__ == "__main__":
  sys.exit(main())
