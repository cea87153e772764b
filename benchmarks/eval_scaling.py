"""Episodes/s of `umd evaluate` on 2 Ray workers relative to 1 worker.

Both sides run the same episodes (the same scenario, population and seeds)
through `parallel.run_on_ray` on a fresh local Ray with 1 or 2 CPUs. Each
side first plays one warm-up episode per worker, so that Ray start-up and
each worker's one-off import of Melting Pot and TensorFlow are not timed;
then it times the batch. Sides alternate, `--repeats` times, in one run.

The scenario is umd_apple_harvest__open_0 (7 players: 5 focal, the greedy
population under test, and 2 background zapper bots, under the hand-rule
principal), named here; the output names its substrate, players and bots.

  .venv/bin/python benchmarks/eval_scaling.py [--episodes 8] [--repeats 2] \
      [--scenario umd_apple_harvest__open_0] [--population greedy]
"""

import argparse
import sys
import time

import _setup  # pylint: disable=unused-import  # First: the preamble.

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import common
from umd_meltingpot.plumbing import lazy
from umd_meltingpot.plumbing import parallel
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order

evaluate = lazy.module("umd_meltingpot.evaluation.evaluate")
scenario_lib = lazy.module("umd_meltingpot.evaluation.scenario")

SCENARIO = "umd_apple_harvest__open_0"
POPULATION = "greedy"


def _tasks(args: argparse.Namespace, seed: int, count: int):
  return evaluate.prepare(evaluate.EvaluateConfig(
      population=args.population, scenario=args.scenario, episodes=count,
      seed=seed)).tasks


def runner(workers: int, args: argparse.Namespace):
  """Returns a function timing the batch on a local Ray with `workers`."""

  def run() -> float:
    with parallel.ray_session(workers):
      warm_up = _tasks(args, seed=1, count=workers)
      parallel.run_on_ray(evaluate.run_episode, warm_up, workers=workers)
      tasks = _tasks(args, seed=0, count=args.episodes)
      start = time.perf_counter()
      parallel.run_on_ray(evaluate.run_episode, tasks, workers=workers)
      rate = len(tasks) / (time.perf_counter() - start)
    print(f"  {workers} worker(s): {rate:.3f} episodes/s", flush=True)
    return rate

  return run


def subject(args: argparse.Namespace) -> common.Subject:
  """The scenario's substrate, players and bots (focal and background)."""
  config = scenario_lib.get_config(args.scenario)
  focal = sum(config.is_focal)
  background = ",".join(sorted(set().union(*config.bots_by_role.values())))
  return common.Subject(
      substrate=config.substrate, players=len(config.roles),
      bots=f"{focal} focal {args.population}, {len(config.roles) - focal} "
      f"background {background}",
      settings={"scenario": args.scenario,
                "principal": config.mechanism.principal,
                "episodes": args.episodes, "repeats": args.repeats})


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--episodes", type=int, default=8)
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--scenario", default=SCENARIO)
  parser.add_argument("--population", default=POPULATION)
  common.add_history_flags(parser)
  args = parser.parse_args(argv)
  run = common.Run("eval_scaling", subject(args), args, argv)
  results = common.interleaved(
      {"1": runner(1, args), "2": runner(2, args)}, args.repeats)
  print(run.paired("episodes/s, 2 workers / 1 worker", results["2"],
                   results["1"]))
  run.finish()
  return 0


if __name__ == "__main__":
  sys.exit(main())
