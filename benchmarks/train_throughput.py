"""Env steps/s while training PPO followers, relative to the bare substrate.

The training side is `umd train` on umd_apple_harvest__small (4 players)
with the default PPO config (2 worker processes x 4 games, the learner and
the batched actor in this process), measured from its metrics.jsonl between
the first and the last update (so start-up and the first JIT compile are
left out). Env steps are substrate steps of all players together, VOTE steps
included, and the learner's updates count against the rate. The bare side is
one substrate in this process stepping whole games with uniformly random
actions, timed before and after training so that load on the machine hits
both sides alike.

  .venv/bin/python benchmarks/train_throughput.py [--total-steps 40000]
"""

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # pylint: disable=g-import-not-at-top
from umd_meltingpot import substrate  # pylint: disable=g-import-not-at-top
# Importing train sets its XLA flags (one XLA thread) before JAX starts, so
# the training here runs as `umd train` does.
from umd_meltingpot import train  # pylint: disable=g-import-not-at-top

SUBSTRATE = "umd_apple_harvest__small"


def bare_rate(seconds: float, seed: int) -> float:
  """Steps/s of the bare substrate with random actions, resets included.

  Wall-clock time, unlike the other benchmarks (`common.clock` is CPU time
  of this process): training steps its games in worker processes, whose
  work this process's CPU time would not count, so its rate is wall-clock
  and the bare side must be measured on the same clock.
  """
  with substrate.build(SUBSTRATE, roles=["default"] * 4,
                       env_seed=seed) as env:
    bare = common.RandomPlay(env, seed)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
      bare.reset_if_over()
      bare.step(bare.actions())
      steps += 1
    return steps / (time.perf_counter() - start)


def training_rate(total_steps: int, num_workers: int) -> float:
  """Env steps/s of `umd train`, between its first and last update."""
  with tempfile.TemporaryDirectory() as folder:
    config = train.TrainConfig(substrate=SUBSTRATE, total_steps=total_steps,
                               out=os.path.join(folder, "run"),
                               checkpoint_every=10)
    prepared = train.prepare(config, train.PPOConfig(num_workers=num_workers))
    result = train.train(prepared, progress=False)
    with open(result.out / train.METRICS) as f:
      records = [json.loads(line) for line in f]
  first, last = records[0], records[-1]
  return ((last["env_steps"] - first["env_steps"])
          / (last["time_s"] - first["time_s"]))


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--total-steps", type=int, default=40_000)
  parser.add_argument("--num-workers", type=int, default=2)
  parser.add_argument("--bare-seconds", type=float, default=15.0)
  args = parser.parse_args()
  before = bare_rate(args.bare_seconds, seed=1)
  training = training_rate(args.total_steps, args.num_workers)
  after = bare_rate(args.bare_seconds, seed=2)
  bare = (before + after) / 2
  print(f"bare substrate, random actions: {bare:8.0f} steps/s "
        f"(before {before:.0f}, after {after:.0f})")
  games = train.PPOConfig().envs_per_worker
  print(f"training ({args.num_workers} workers x {games} games): "
        f"{training:8.0f} env steps/s")
  print(f"training / bare: {training / bare:.3f} (cores: {os.cpu_count()})")


if __name__ == "__main__":
  sys.exit(main())
