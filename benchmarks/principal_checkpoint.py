"""One principal checkpoint, frozen, against fixed schedules on paired
held-out seeds (the README's shipped principal; issue 21's goal 5 pair).

Plays `--principal PATH` frozen (`umd run --freeze-principal`) with the
followers `--bots` and every player voting `--objective`, and each fixed
schedule of `--compare` with `--compare-bots` (default: the same
followers), on the seeds 1000, 1001, ...; prints each side's mean O and
the checkpoint ÷ each schedule, a ratio of means with a paired bootstrap
95% CI over the seeds. Games are `principal_vs_fixed`'s.

  .venv/bin/python benchmarks/principal_checkpoint.py \
      --substrate umd_apple_harvest__unequal --bots ppo_conditioned_unequal \
      --principal agents/checkpoints/principal_bo_dynamic_unequal.npz \
      --compare "0,0,0;0.8,0.8,0.8;1,0,2"
"""

import argparse
import sys

import _setup  # pylint: disable=unused-import  # First: the preamble.

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import numpy as np

import principal_vs_fixed as pvf
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.plumbing import stats
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--substrate", required=True)
  parser.add_argument("--bots", required=True)
  parser.add_argument("--principal", required=True,
                      help="the principal checkpoint")
  parser.add_argument("--compare", required=True,
                      help="fixed schedules, e.g. '0,0,0;1,0,2'")
  parser.add_argument("--compare-bots", default=None,
                      help="the fixed schedules' followers (default --bots)")
  parser.add_argument("--objective", default="utilitarian")
  parser.add_argument("--seeds", type=int, default=16)
  parser.add_argument("--bootstrap", type=int, default=10_000)
  args = parser.parse_args(argv)
  try:
    schedules = [principal_lib.parse_rates(text, max_rate=100.0)
                 for text in args.compare.split(";")]
  except ValueError as error:
    parser.error(f"--compare: {error}")
  seeds = range(1000, 1000 + args.seeds)
  learned = np.array([pvf.play_principal(pvf.PrincipalGame(
      setting=pvf.Setting(args.substrate, args.bots),
      checkpoint=args.principal, seed=seed,
      preferences=f"fixed:{args.objective}", phi0=(0.0,),
      delta=float("inf")))["values"][args.objective] for seed in seeds])
  mean, half = stats.mean_ci(learned)
  print(f"\n{args.principal}, frozen, followers {args.bots}: {args.objective} "
        f"O {mean:.3f} ± {half:.3f} on seeds {seeds[0]}-{seeds[-1]}\n")
  print("| fixed schedule | followers | mean O | checkpoint ÷ it (95% CI) |")
  print("| --- | --- | --- | --- |")
  rng = np.random.default_rng(0)
  setting = pvf.Setting(args.substrate, args.compare_bots or args.bots)
  for schedule in schedules:
    fixed = np.array([pvf.play_fixed(pvf.fixed_task(
        setting, schedule, seed, [args.objective]))["values"][args.objective]
                      for seed in seeds])
    ratio, low, high = stats.ratio_of_means(learned, fixed, rng=rng,
                                            samples=args.bootstrap)
    print(f"| {pvf._format_phi(schedule)} | {setting.bots} | "  # pylint: disable=protected-access
          f"{fixed.mean():.3f} | {ratio:.3f} ({low:.3f}–{high:.3f}) |",
          flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
