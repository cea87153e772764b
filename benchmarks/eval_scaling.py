"""Episodes/s of `umd evaluate` on 2 Ray workers relative to 1 worker.

Both sides run the same episodes (the same scenario, population and seeds)
through `parallel.run_on_ray` on a fresh local Ray with 1 or 2 CPUs. Each
side first plays one warm-up episode per worker, so that Ray start-up and
each worker's one-off import of Melting Pot and TensorFlow are not timed;
then it times the batch. Sides alternate, `--repeats` times, in one run.

  .venv/bin/python benchmarks/eval_scaling.py [--episodes 8] [--repeats 2] \
      [--scenario umd_apple_harvest__open_0] [--population greedy]
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # pylint: disable=g-import-not-at-top
from umd_meltingpot.evaluation import evaluate  # pylint: disable=g-import-not-at-top
from umd_meltingpot.plumbing import parallel  # pylint: disable=g-import-not-at-top


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


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--episodes", type=int, default=8)
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--scenario", default="umd_apple_harvest__open_0")
  parser.add_argument("--population", default="greedy")
  args = parser.parse_args()
  print(f"{args.episodes} episodes of {args.scenario} with population "
        f"{args.population}, {args.repeats} interleaved repeats, "
        f"{os.cpu_count()} CPUs")
  results = common.interleaved(
      {"1": runner(1, args), "2": runner(2, args)}, args.repeats)
  print("episodes/s, 2 workers / 1 worker: "
        + common.ratio_summary(results["2"], results["1"]))


if __name__ == "__main__":
  main()
