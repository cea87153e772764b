"""Games/s of `umd grid` on 2 Ray workers relative to 1 worker.

Both sides play the same grid (the same game, schedules and seeds) through
`grid_search.play` on a fresh local Ray with 1 or 2 CPUs. Each side first
plays one warm-up game per worker (other seeds), so that Ray start-up and
each worker's one-off import of Melting Pot and TensorFlow are not timed;
then it times the grid (wall-clock: the point is the parallel speed-up).
Sides alternate, `--repeats` times, in one run, and every table must equal
the first (the table does not depend on the number of workers).

  .venv/bin/python benchmarks/grid_scaling.py [--flat-step 0.25] \
      [--seeds 4] [--repeats 2] [--substrate umd_apple_harvest__small]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # pylint: disable=g-import-not-at-top
from umd_meltingpot.game import loop as game_lib  # pylint: disable=g-import-not-at-top
from umd_meltingpot.training import grid_search  # pylint: disable=g-import-not-at-top
from umd_meltingpot.plumbing import parallel  # pylint: disable=g-import-not-at-top


def _prepared(args: argparse.Namespace, workers: int, first_seed: int,
              seeds: int) -> grid_search.PreparedGrid:
  return grid_search.prepare(grid_search.GridConfig(
      game=game_lib.GameConfig(substrate=args.substrate),
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


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--substrate", default="umd_apple_harvest__small")
  parser.add_argument("--flat-step", type=float, default=0.25)
  parser.add_argument("--seeds", type=int, default=4)
  parser.add_argument("--repeats", type=int, default=2)
  args = parser.parse_args()
  tables: list[grid_search.GridTable] = []
  games = len(_prepared(args, 0, first_seed=100, seeds=args.seeds).tasks)
  print(f"grid of {games} games (flat step {args.flat_step}, {args.seeds} "
        f"seeds) on {args.substrate}, {args.repeats} interleaved repeats, "
        f"{os.cpu_count()} CPUs, load average at start "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
  results = common.interleaved(
      {"1": runner(1, args, tables), "2": runner(2, args, tables)},
      args.repeats)
  same = all(table == tables[0] for table in tables)
  print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        f"; tables identical across workers and repeats: {same}")
  print("games/s, 2 workers / 1 worker: "
        + common.ratio_summary(results["2"], results["1"]))
  if not same:
    sys.exit("the tables differ between runs")


if __name__ == "__main__":
  main()
