"""A principal against fixed and against adapting followers (issue 13).

Large Legislative Models fine-tunes its agents under each schedule its
principal tries. This trains Large Legislative Models' UCB over constant
flat rates (`ucb_constant`) twice on the same game and seed, with the
electorate voting utilitarian:

- **fixed**: the followers (`--bots`, a PPO checkpoint) never change;
- **adapting**: `--adapt-followers U` (`--adapt`): after every game the
  followers take U PPO updates in fresh games under the principal's current
  state. One update is one 128-step unroll, a quarter of a 525-step game,
  so U = 1 fine-tunes on the first round only and U = 5 on a whole game.

Then both populations, the original and the adapted followers, play flat
rates (`--rates`) on the paired held-out seeds (`umd grid`), and the table
gives each schedule's mean utilitarian O with a 95% CI, the share of seeds
with apples alive at the end, and paired ratios of means with bootstrap
CIs: each population's best flat rate ÷ no tax, and the adapted ÷ the
original followers.

The game is named here: umd_apple_harvest__unequal with 4 players and the
shipped `ppo_conditioned_unequal` followers on every player. Every step is a
`umd` command whose output folder is reused when it is complete, so a killed
run resumes (the training runs with `--resume`).

  .venv/bin/python benchmarks/adapting_followers.py --out runs/adapting --adapt 1
  .venv/bin/python benchmarks/adapting_followers.py --out runs/adapting --adapt 5
"""

import argparse
import json
import pathlib
import subprocess
import sys
from typing import Any, Optional

import _setup  # pylint: disable=unused-import  # First: the preamble.

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import numpy as np

import common
from umd_meltingpot.plumbing import stats
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order

SUBSTRATE = "umd_apple_harvest__unequal"
PLAYERS = 4
BOTS = "ppo_conditioned_unequal"


def _umd(*args: str) -> None:
  command = [str(pathlib.Path(sys.executable).with_name("umd")), *args]
  print("$ umd " + " ".join(args), file=sys.stderr, flush=True)
  subprocess.run(command, check=True)


def train(out: pathlib.Path, games: int, seed: int, adapt: int) -> None:
  """`umd train principal`, resumed if `out` holds a checkpoint."""
  if (out / "principal.npz").exists():
    _umd("train", "principal", "--resume", str(out), "--games", str(games),
         "--quiet")
    return
  _umd("train", "principal", "--principal", "ucb_constant", "--substrate",
       SUBSTRATE, "--players", str(PLAYERS), "--bots", BOTS, "--delta",
       "inf", "--phi0", "0", "--preferences", "fixed:utilitarian", "--games",
       str(games), "--seed", str(seed), "--adapt-followers", str(adapt),
       "--quiet", "--out", str(out))


def grid(out: pathlib.Path, bots: str, rates: str, seeds: str
         ) -> dict[float, dict[int, dict[str, Any]]]:
  """Flat rate -> seed -> game of `umd grid` (played unless `out` has it)."""
  if not (out / "grid.json").exists():
    _umd("grid", "--substrate", SUBSTRATE, "--players", str(PLAYERS),
         "--bots", bots, "--rates", rates,
         "--seeds", seeds, "--objectives", "utilitarian", "--quiet", "--out",
         str(out))
  games: dict[float, dict[int, dict[str, Any]]] = {}
  for line in (out / "games.jsonl").read_text().splitlines():
    game = json.loads(line)
    games.setdefault(round(game["schedule"][0], 6), {})[game["seed"]] = game
  return games


def _values(games: dict[int, dict[str, Any]], seeds: list[int]) -> list[float]:
  return [games[seed]["values"]["utilitarian"] for seed in seeds]


def report(populations: dict[str, dict[float, dict[int, dict[str, Any]]]],
           run: Optional[common.Run] = None) -> None:
  """Prints the table and the ratios (kept in `run` for the history)."""
  first = next(iter(populations.values()))
  rates = sorted(first)
  seeds = sorted(first[rates[0]])
  print(f"\nutilitarian O per flat rate, {len(seeds)} held-out seeds "
        f"({seeds[0]}-{seeds[-1]}), mean [95% CI]; alive: share of seeds "
        "with apples alive at the end\n")
  print("| followers | " + " | ".join(f"flat {r:g}" for r in rates) + " |")
  print("| --- | " + " | ".join("---" for _ in rates) + " |")
  best = {}
  for name, games in populations.items():
    cells, means = [], {}
    for rate in rates:
      means[rate], half = stats.mean_ci(_values(games[rate], seeds))
      alive = np.mean([games[rate][s]["apples_alive_end"] > 0 for s in seeds])
      cells.append(f"{means[rate]:.2f} [{means[rate] - half:.2f}, "
                   f"{means[rate] + half:.2f}], alive {alive:.0%}")
    best[name] = max(rates, key=means.get)
    print(f"| {name} | " + " | ".join(cells) + " |")

  def ratio(label: str, numerator: list[float],
            denominator: list[float]) -> str:
    value, low, high = stats.ratio_of_means(numerator, denominator, rng=0)
    if run is not None:
      run.interval(label, value, low, high, seeds=len(seeds))
    return f"| {label} | {value:.2f} [{low:.2f}, {high:.2f}] |"

  print("\n| ratio (paired bootstrap 95% CI) | value |")
  print("| --- | --- |")
  for name, games in populations.items():
    print(ratio(f"{name} at its best flat {best[name]:g} ÷ no tax",
                _values(games[best[name]], seeds), _values(games[0.0], seeds)))
  (fixed_name, fixed), (adapted_name, adapted) = populations.items()
  for rate in dict.fromkeys((best[fixed_name], best[adapted_name])):
    print(ratio(f"{adapted_name} ÷ {fixed_name}, both at flat {rate:g}",
                _values(adapted[rate], seeds), _values(fixed[rate], seeds)))
  if best[fixed_name] != best[adapted_name]:
    print(ratio(f"{adapted_name} at {best[adapted_name]:g} ÷ {fixed_name} "
                f"at {best[fixed_name]:g}",
                _values(adapted[best[adapted_name]], seeds),
                _values(fixed[best[fixed_name]], seeds)))


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--out", default="runs/adapting")
  parser.add_argument("--games", type=int, default=60)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--rates", default="0;0.4;0.8;1.2")
  parser.add_argument("--seeds", default="1000-1015")
  parser.add_argument("--adapt", type=int, default=5,
                      help="PPO updates of the followers after each game")
  common.add_history_flags(parser)
  args = parser.parse_args(argv)
  run = common.Run("adapting_followers", common.Subject(
      substrate=SUBSTRATE, players=PLAYERS,
      bots=f"{BOTS}, fixed vs adapting ({args.adapt} PPO updates a game)",
      settings={"principal": "ucb_constant", "games": args.games,
                "seed": args.seed, "rates": args.rates,
                "seeds": args.seeds}), args, argv)
  out = pathlib.Path(args.out)
  train(out / "ucb_fixed", args.games, args.seed, adapt=0)
  adapting = f"ucb_adapt{args.adapt}"
  train(out / adapting, args.games, args.seed, adapt=args.adapt)
  for name in ("ucb_fixed", adapting):
    values = [json.loads(line)["objective_value"] for line in
              (out / name / "metrics.jsonl").read_text().splitlines()]
    half = len(values) // 2
    print(f"{name}: training O, first {half} games {np.mean(values[:half]):.2f}, "
          f"last {len(values) - half} {np.mean(values[half:]):.2f}")
  adapted = out / adapting / "followers" / "current.npz"
  report({
      "original": grid(out / "eval_original", BOTS, args.rates, args.seeds),
      f"adapted (U = {args.adapt})": grid(
          out / f"eval_adapted{args.adapt}", f"ppo:{adapted}", args.rates,
          args.seeds)}, run)
  run.finish()
  return 0


if __name__ == "__main__":
  sys.exit(main())
