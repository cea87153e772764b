"""Env steps/s while training PPO followers, relative to the bare substrate.

The training side is `umd train` on umd_apple_harvest__small (4 players)
with the default PPO config (2 worker processes x 4 games, the learner and
the batched actor in this process), measured from its metrics.jsonl between
the first and the last update (so start-up and the first JIT compile are
left out). Env steps are substrate steps of all players together, VOTE steps
included, and the learner's updates count against the rate. The bare side is
one substrate in this process stepping whole games with uniformly random
actions, timed before and after training so that load on the machine hits
both sides alike. Each repeat is bare, training, bare; the repeats' ratios
are summarised (median, range), and the load average is printed, since other
jobs on a shared machine take CPU from the two sides unevenly.

`--breakdown` instead trains in this one process (no workers, so CPU time
is clean) and reports where the CPU goes per substrate step: Lab2D
(stepping, rendering, observations), the Melting Pot and principal
wrappers, the episode resets (which rebuild the Lua VM), view parsing and
the rest of the observation encoding, pickling what a worker sends back,
batched inference, rollout recording and the learner's update.

The game is named here: umd_apple_harvest__small with its 4 players, the
PPO followers learning on every player under `umd train followers`'
default mechanism (the fixed principal at the substrate's initial rates),
against uniformly random actions on the bare side.

  .venv/bin/python benchmarks/train_throughput.py [--total-steps 40000]
      [--repeats 3]
  .venv/bin/python benchmarks/train_throughput.py --breakdown
"""

import argparse
import collections
import contextlib
import json
import os
import pickle
import sys
import tempfile
import time

import _setup  # pylint: disable=unused-import  # First: the preamble.

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import common
from umd_meltingpot.plumbing import lazy
from umd_meltingpot.training import followers as train
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order

substrate = lazy.module("umd_meltingpot.substrate")

SUBSTRATE = "umd_apple_harvest__small"
PLAYERS = 4


def bare_rate(seconds: float, seed: int) -> float:
  """Steps/s of the bare substrate with random actions, resets included.

  Wall-clock time, unlike the other benchmarks (`common.clock` is CPU time
  of this process): training steps its games in worker processes, whose
  work this process's CPU time would not count, so its rate is wall-clock
  and the bare side must be measured on the same clock.
  """
  with substrate.build(SUBSTRATE, roles=["default"] * PLAYERS,
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
    config = train.TrainConfig(substrate=SUBSTRATE, players=PLAYERS,
                               total_steps=total_steps,
                               out=os.path.join(folder, "run"),
                               checkpoint_every=10)
    prepared = train.prepare(config, train.PPOConfig(num_workers=num_workers))
    result = train.train(prepared, progress=False)
    with open(result.out / train.METRICS) as f:
      records = [json.loads(line) for line in f]
  first, last = records[0], records[-1]
  return ((last["env_steps"] - first["env_steps"])
          / (last["time_s"] - first["time_s"]))


@contextlib.contextmanager
def _timers(targets):
  """Adds the CPU time of every call of `owner.name`, for each (owner,
  name, bucket) in `targets`, to its bucket; restores them on exit."""
  totals = collections.Counter()
  originals = [(owner, name, getattr(owner, name))
               for owner, name, _ in targets]

  def timed(function, bucket):
    def wrapper(*args, **kwargs):
      start = common.clock()
      try:
        return function(*args, **kwargs)
      finally:
        totals[bucket] += common.clock() - start
    return wrapper

  for (owner, name, function), (_, _, bucket) in zip(originals, targets):
    setattr(owner, name, timed(function, bucket))
  try:
    yield totals
  finally:
    for owner, name, function in originals:
      setattr(owner, name, function)


def _pickled(step, totals: collections.Counter):
  """`_Group.step` that also pickles and unpickles its reply, as a worker
  process and the learner's process would; adds that time to
  totals["ipc"]."""
  def step_and_pickle(self, actions):
    result = step(self, actions)
    start = common.clock()
    pickle.loads(pickle.dumps(("ok", result), pickle.HIGHEST_PROTOCOL))
    totals["ipc"] += common.clock() - start
    return result
  return step_and_pickle


def breakdown(total_steps: int) -> None:
  """Prints where the CPU time of in-process training goes, per step."""
  # pylint: disable=g-import-not-at-top,protected-access
  import dmlab2d
  from meltingpot.utils.substrates.wrappers import reset_wrapper
  from umd_meltingpot.agents import observation as obs_lib
  from umd_meltingpot.training import follower_actor as actor_lib
  from umd_meltingpot.training import follower_env as env_lib
  from umd_meltingpot.agents.ppo import features
  from umd_meltingpot.agents.ppo import learning
  from umd_meltingpot.game import principal_wrapper as wrapper_lib
  group = env_lib._Group
  targets = [
      (dmlab2d.Environment, "step", "lab2d"),
      (reset_wrapper.ResetWrapper, "reset", "rebuild"),
      (wrapper_lib.PrincipalWrapper, "step", "substrate"),
      (wrapper_lib.PrincipalWrapper, "reset", "substrate"),
      (obs_lib, "parse_cells", "parse"),
      (features, "encode_players", "encode"),
      (actor_lib.PPOActor, "select_action", "inference"),
      (actor_lib.PPOActor, "observe", "recording"),
      (actor_lib.PPOActor, "take_batch", "recording"),
      (actor_lib.PPOActor, "update", "learner_wait"),
      (learning.PPOLearner, "step", "learner_step"),
      (group, "step", "group"),
      (group, "reset", "group"),
      (env_lib.VectorEnv, "__init__", "start"),
  ]
  # pylint: enable=g-import-not-at-top
  step, ipc = group.step, collections.Counter()
  try:
    group.step = _pickled(step, ipc)
    with tempfile.TemporaryDirectory() as folder, _timers(targets) as cpu:
      config = train.TrainConfig(
          substrate=SUBSTRATE, players=PLAYERS, total_steps=total_steps,
          out=os.path.join(folder, "run"), checkpoint_every=10 ** 6)
      prepared = train.prepare(config, train.PPOConfig(num_workers=0))
      start = common.clock()
      result = train.train(prepared, progress=False)
      total = common.clock() - start
  finally:
    group.step = step
  # pylint: enable=protected-access
  cpu.update(ipc)
  # The timers nest: each part is its timer less the parts inside it.
  rollout = cpu["group"] + cpu["inference"] + cpu["recording"]
  parts = {
      "Lab2D (step, render, observations)": cpu["lab2d"],
      "episode resets (Lua VM rebuilt)": cpu["rebuild"],
      "Melting Pot + principal wrappers": (
          cpu["substrate"] - cpu["lab2d"] - cpu["rebuild"]),
      "view parsing (parse_cells)": cpu["parse"],
      "rest of the observation encoding": cpu["encode"] - cpu["parse"],
      "HarvestEnv and group bookkeeping": (
          cpu["group"] - cpu["ipc"] - cpu["substrate"] - cpu["encode"]),
      "IPC (pickling a worker's reply)": cpu["ipc"],
      "batched inference (select_action)": cpu["inference"],
      "rollout recording (observe, take_batch)": cpu["recording"],
      "learner update (first JIT compile included)": (
          cpu["learner_step"] + cpu["learner_wait"] - rollout),
      "start-up (building the games)": cpu["start"],
  }
  parts["other (logging, checkpoint)"] = total - sum(parts.values())
  steps = result.env_steps
  print(f"CPU per substrate step, training in one process ({steps} steps, "
        f"{total:.1f} CPU s):")
  for name, seconds in parts.items():
    print(f"  {name:44s} {seconds / steps * 1e6:7.1f} us "
          f"{100 * seconds / total:5.1f}%")
  print(f"  {'total':44s} {total / steps * 1e6:7.1f} us")
  print(f"bare substrate, random actions: {1e6 / bare_cpu_rate(1):7.1f} us "
        f"per step (CPU)")


def bare_cpu_rate(seed: int, steps: int = 3000) -> float:
  """Steps/s of the bare substrate in CPU time, resets included."""
  with substrate.build(SUBSTRATE, roles=["default"] * PLAYERS,
                       env_seed=seed) as env:
    bare = common.RandomPlay(env, seed)

    def step():
      bare.reset_if_over()
      bare.step(bare.actions())
    return common.steps_per_second(step, steps)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  parser.add_argument("--total-steps", type=int, default=40_000)
  parser.add_argument("--num-workers", type=int, default=2)
  parser.add_argument("--bare-seconds", type=float, default=15.0)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--breakdown", action="store_true",
                      help="where the CPU goes, training in this process")
  common.add_history_flags(parser)
  args = parser.parse_args(argv)
  games = train.PPOConfig().envs_per_worker
  workers = 0 if args.breakdown else args.num_workers
  settings = {"total steps": args.total_steps, "workers": workers,
              "games per worker": games}
  if not args.breakdown:
    settings.update({"repeats": args.repeats,
                     "bare seconds": args.bare_seconds})
  run = common.Run("train_throughput", common.Subject(
      substrate=SUBSTRATE, players=PLAYERS,
      bots="PPO followers training (umd train followers) vs uniformly "
      "random actions (bare)", settings=settings), args, argv)
  if args.breakdown:  # No ratio: nothing for the history.
    breakdown(args.total_steps)
    run.finish()
    return 0
  trainings, bares = [], []
  for repeat in range(args.repeats):
    load = os.getloadavg()[0]
    before = bare_rate(args.bare_seconds, seed=1 + 2 * repeat)
    training = training_rate(args.total_steps, args.num_workers)
    after = bare_rate(args.bare_seconds, seed=2 + 2 * repeat)
    trainings.append(training)
    bares.append((before + after) / 2)
    print(f"repeat {repeat + 1}: bare {bares[-1]:.0f} steps/s (before "
          f"{before:.0f}, after {after:.0f}); training ({args.num_workers} "
          f"workers x {games} games) {training:.0f} env steps/s; ratio "
          f"{training / bares[-1]:.3f}; load average {load:.1f} -> "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
  print(run.paired("training / bare", trainings, bares))
  run.finish()
  return 0


if __name__ == "__main__":
  sys.exit(main())
