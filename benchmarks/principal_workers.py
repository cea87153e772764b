"""Games/s of `umd train principal --workers 2` relative to `--workers 1`.

Both sides train the same seeded `bo` principal (batches of `--batch`
candidates, `--games` games) through `training.principal.train` on a fresh
local Ray with 1 or 2 CPUs, the batch's games as Ray tasks. Each side first
plays one warm-up game per worker (another seed), so that Ray start-up and
each worker's one-off import of Melting Pot, TensorFlow and JAX are not
timed; then it times the whole training run (wall clock, the principal's
asks and tells included). Sides alternate, `--repeats` times, in one run,
and every run's principal must equal the first (the result does not depend
on the number of workers).

The game is named here: umd_apple_harvest__small with its 4 players, the
shipped `ppo_conditioned` followers, brackets 1,2 and max_rate 4 (the game
they were trained on), every player voting utilitarian.

  .venv/bin/python benchmarks/principal_workers.py [--games 24] \
      [--batch 8] [--repeats 2]
"""

import argparse
import sys
import tempfile
import time

import _setup  # pylint: disable=unused-import  # First: the preamble.

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import numpy as np

import common
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.plumbing import parallel
from umd_meltingpot.training import principal as principal_train
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order

SUBSTRATE = "umd_apple_harvest__small"
BOTS = "ppo_conditioned"


def _config(args: argparse.Namespace, workers: int, out: str,
            seed: int = 0) -> principal_train.PrincipalTrainConfig:
  return principal_train.PrincipalTrainConfig(
      principal="bo", substrate=SUBSTRATE, bots=BOTS, brackets=(1.0, 2.0),
      max_rate=4.0, delta=float("inf"), preferences="fixed:utilitarian",
      games=args.games, seed=seed, workers=workers, out=out,
      checkpoint_every=args.games, principal_options={"batch": args.batch})


def _principal(out: str) -> dict[str, np.ndarray]:
  with np.load(f"{out}/{principal_train.PRINCIPAL}") as saved:
    return {key: saved[key] for key in saved.files if key != "header"}


def runner(workers: int, args: argparse.Namespace,
           principals: list[dict[str, np.ndarray]]):
  """Returns a function timing one training run on `workers` Ray CPUs."""

  def run() -> float:
    with tempfile.TemporaryDirectory() as folder, \
        parallel.ray_session(workers):
      warm_up = _config(args, workers, f"{folder}/warm", seed=99)
      parallel.run_tasks(
          principal_train.play_planned,
          [principal_train.PlannedGame(
              warm_up, game, principal_lib.FixedPrincipal((0.0,) * 3, 4.0))
           for game in range(workers)], workers=workers)
      prepared = principal_train.prepare(_config(args, workers,
                                                 f"{folder}/run"))
      start = time.perf_counter()
      principal_train.train(prepared, progress=False)
      rate = args.games / (time.perf_counter() - start)
      principals.append(_principal(f"{folder}/run"))
    print(f"  {workers} worker(s): {rate:.3f} games/s", flush=True)
    return rate

  return run


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--games", type=int, default=24)
  parser.add_argument("--batch", type=int, default=8)
  parser.add_argument("--repeats", type=int, default=2)
  common.add_history_flags(parser)
  args = parser.parse_args(argv)
  if min(args.games, args.batch, args.repeats) < 1:
    parser.error("--games, --batch and --repeats must be >= 1")
  run = common.Run("principal_workers", common.Subject(
      substrate=SUBSTRATE, players=4, bots=BOTS,
      settings={"principal": "bo", "games": args.games, "batch": args.batch,
                "brackets": "1,2", "max rate": 4,
                "repeats": args.repeats}), args, argv)
  principals: list[dict[str, np.ndarray]] = []
  results = common.interleaved(
      {"1": runner(1, args, principals), "2": runner(2, args, principals)},
      args.repeats)
  same = all(p.keys() == principals[0].keys() and all(
      np.array_equal(p[k], principals[0][k]) for k in p) for p in principals)
  print(f"principals identical across workers and repeats: {same}")
  print(run.paired("games/s, 2 workers / 1 worker", results["2"],
                   results["1"]))
  if not same:  # Not a figure to keep.
    sys.exit("the principals differ between runs")
  run.finish()
  return 0


if __name__ == "__main__":
  sys.exit(main())
