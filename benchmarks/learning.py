"""Learned PPO followers against the heuristic bots on the small map.

For each mechanism (no tax; one fixed flat tax) the followers trained under
that mechanism play whole games of umd_apple_harvest__small (4 players),
and so do 4 greedy, 4 sustainable and 4 random bots, on the same seeds
(same substrate seed, types and principal): paired games. Reported per
population: the per-capita return (mean over seeds, 95% CI), apples alive
at the end of round 1 and of the last round; and the paired ratio of the
learned per-capita return to the greedy bots' (ratio of means, with a
bootstrap 95% CI over the seeds). The goal is a ratio >= 0.8.

Give trained checkpoints, or let the script train them first (`umd train`
under the same mechanism, `--total-steps` env steps each, at most 1e6):

  .venv/bin/python benchmarks/learning.py \\
      --no-tax runs/ppo-small-notax/checkpoint.npz \\
      --tax runs/ppo-small-tax30/checkpoint.npz --phi0 0.3,0.3,0.3 --seeds 10
  .venv/bin/python benchmarks/learning.py --total-steps 300000
"""

import argparse
import sys
from typing import Optional

import _setup  # pylint: disable=unused-import  # First: the preamble.

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import numpy as np

import common
from umd_meltingpot.game import loop as game
from umd_meltingpot.plumbing import lazy
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order

stats = lazy.module("umd_meltingpot.plumbing.stats")

SUBSTRATE = "umd_apple_harvest__small"
PLAYERS = 4
BASELINES = ("greedy", "sustainable", "random")


def play(bots: str, seed: int, phi0: Optional[tuple[float, ...]]
         ) -> tuple[float, float, float]:
  """One game; returns (per-capita return, apples alive after round 1,
  apples alive after the last round)."""
  records = common.play(game.GameConfig(
      substrate=SUBSTRATE, players=PLAYERS, bots=bots, seed=seed, phi0=phi0,
      principal="fixed" if phi0 else "none"))
  returns = np.sum([r.returns for r in records], axis=0)
  return (float(returns.mean()), records[0].apples_alive,
          records[-1].apples_alive)


def mean_ci(values: np.ndarray) -> str:
  """`mean +- half-width` of the 95% CI (Student's t over the seeds)."""
  mean, half = stats.mean_ci(values)
  return f"{mean:6.2f}" + (f" +- {half:4.2f}" if half is not None else "")


def train_checkpoint(name: str, phi0: Optional[tuple[float, ...]],
                     total_steps: int, seed: int) -> str:
  """Trains followers under the mechanism; returns the checkpoint path."""
  from umd_meltingpot.training import followers as train  # pylint: disable=g-import-not-at-top
  out = f"runs/bench-learning-{name}-seed{seed}"
  config = train.TrainConfig(
      substrate=SUBSTRATE, phi0=phi0, principal="fixed" if phi0 else "none",
      total_steps=total_steps, seed=seed, out=out)
  result = train.train(train.prepare(config, train.PPOConfig()))
  return str(result.out / train.CHECKPOINT)


def evaluate(run: common.Run, name: str, checkpoint: str,
             phi0: Optional[tuple[float, ...]], seeds: list[int]) -> None:
  populations = {"ppo": "ppo:" + checkpoint,
                 **{bot: bot for bot in BASELINES}}
  results = {label: np.array([play(bots, seed, phi0) for seed in seeds])
             for label, bots in populations.items()}
  print(f"\n== {name}: phi0={phi0 or 'none'}, {len(seeds)} paired seeds, "
        f"checkpoint {checkpoint}")
  print(f"{'population':<12} {'per-capita return':>18} "
        f"{'apples r1':>10} {'apples end':>10}")
  for label, rows in results.items():
    print(f"{label:<12} {mean_ci(rows[:, 0]):>18} {rows[:, 1].mean():>10.2f}"
          f" {rows[:, 2].mean():>10.2f}")
  rng = np.random.default_rng(0)
  for baseline in BASELINES:
    print(run.interval(
        f"{name}: learned / {baseline} per-capita return",
        *stats.ratio_of_means(results["ppo"][:, 0], results[baseline][:, 0],
                              rng=rng), seeds=len(seeds)))


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  parser.add_argument("--no-tax", help="checkpoint trained with no tax")
  parser.add_argument("--tax", help="checkpoint trained under --phi0")
  parser.add_argument("--phi0", default="0.3,0.3,0.3",
                      help="the fixed tax schedule (k rates)")
  parser.add_argument("--seeds", type=int, default=10,
                      help="paired evaluation seeds")
  parser.add_argument("--first-seed", type=int, default=1000,
                      help="evaluation seeds start here (training uses 0)")
  parser.add_argument("--total-steps", type=int, default=300_000,
                      help="env steps per training run (if training)")
  parser.add_argument("--train-seed", type=int, default=0)
  common.add_history_flags(parser)
  args = parser.parse_args(argv)
  phi0 = tuple(float(rate) for rate in args.phi0.split(","))
  seeds = list(range(args.first_seed, args.first_seed + args.seeds))
  run = common.Run("learning", common.Subject(
      substrate=SUBSTRATE, players=PLAYERS,
      bots=f"PPO followers (ppo:CHECKPOINT) vs {','.join(BASELINES)}, each "
      "on every player",
      settings={"no-tax checkpoint": args.no_tax or "trained here",
                "tax checkpoint": args.tax or "trained here",
                "phi0": args.phi0,
                "seeds": f"{seeds[0]}-{seeds[-1]}"}), args, argv)
  mechanisms = (("no tax", args.no_tax, None),
                (f"fixed tax {args.phi0}", args.tax, phi0))
  for name, checkpoint, rates in mechanisms:
    if checkpoint is None:
      label = "notax" if rates is None else "tax"
      checkpoint = train_checkpoint(label, rates, args.total_steps,
                                    args.train_seed)
    evaluate(run, name, checkpoint, rates, seeds)
  run.finish()
  return 0


if __name__ == "__main__":
  sys.exit(main())
