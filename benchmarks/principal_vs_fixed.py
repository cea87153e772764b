"""Learned principals against no tax and the best fixed schedule (issue 5).

On `umd_apple_harvest__small` with followers that best-respond to phi
(`best_response`), for each objective O:

1. **Grid.** Every fixed schedule of the grid (flat rates, and 3-bracket
   rates from `--levels`) plays the tuning seeds; the best by mean O is the
   objective's *best fixed schedule*. A fixed schedule ignores the vote, so
   one game per schedule and seed scores all objectives.
2. **Train.** Each learning principal trains for `--train-games` games with
   an electorate that votes O (`fixed:O` types), from phi_0 = no tax, under
   the delta bound.
3. **Held-out.** No tax, the best fixed schedule and each trained principal
   play the same held-out seeds; the ratio of mean O over the seeds gets a
   paired bootstrap 95% CI. The principals play frozen (`set_learning
   (False)`: their best estimate, no exploration), as deployed; `--online`
   lets them keep exploring and learning instead.
4. **Mixed votes.** The electorate switches objective mid-game; a principal
   trained on both objectives must move phi towards the new objective's
   optimum, never by more than delta a round.

A game's O is the mean over its rounds of O(round returns), the quantity
the principal is fed each round.

  .venv/bin/python benchmarks/principal_vs_fixed.py --delta 0.25
"""

import argparse
import dataclasses
import itertools
import json
import math
import os
import pathlib
import sys
from typing import Any, Optional, Sequence

import numpy as np
import tqdm

from umd_meltingpot import game as game_lib
from umd_meltingpot import principal as principal_lib
from umd_meltingpot import runs
from umd_meltingpot import stats
from umd_meltingpot import substrate as substrate_lib
from umd_meltingpot import welfare
from umd_meltingpot.agents import best_response
from umd_meltingpot.agents import bots as bots_lib
from umd_meltingpot.principal import wrapper as wrapper_lib

# The benchmarks' shared helpers, beside this script (not installed).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # pylint: disable=g-import-not-at-top,g-bad-import-order

SUBSTRATE = "umd_apple_harvest__small"
EDGES = (5.0, 10.0)
NO_TAX = (0.0, 0.0, 0.0)
Schedule = tuple[float, ...]


def schedule_grid(flat_step: float, levels: Sequence[float]) -> list[Schedule]:
  """Flat schedules every `flat_step`, then 3-bracket ones from `levels`."""
  flats = [(t, t, t) for t in np.round(np.arange(0, 1 + 1e-9, flat_step), 6)]
  brackets = itertools.product(levels, repeat=3)
  grid = []
  for schedule in itertools.chain(flats, brackets):
    schedule = tuple(float(rate) for rate in schedule)
    if schedule not in grid:
      grid.append(schedule)
  return grid


def game_config(seed: int, *, objective: str, principal: str = "fixed",
                phi0: Schedule = NO_TAX, delta: float = math.inf,
                bots: str = "best_response") -> game_lib.GameConfig:
  return game_lib.GameConfig(
      substrate=SUBSTRATE, bots=bots, seed=seed, principal=principal,
      phi0=phi0, brackets=EDGES, delta=delta,
      preferences=f"fixed:{objective}")


def game_value(records: Sequence[wrapper_lib.RoundRecord],
               objective: str) -> float:
  """Mean over the rounds of O(round returns)."""
  return float(np.mean([welfare.objective_value(objective,
                                                np.asarray(r.returns))
                        for r in records]))


def tune(grid: Sequence[Schedule], seeds: Sequence[int],
         objectives: Sequence[str]) -> dict[Schedule, dict[str, float]]:
  """Mean O per fixed schedule and objective over the tuning seeds."""
  scores = {}
  for schedule in tqdm.tqdm(grid, desc="grid", file=sys.stderr):
    games = [common.play(game_config(seed, objective=objectives[0],
                                     phi0=schedule)) for seed in seeds]
    scores[schedule] = {
        objective: float(np.mean([game_value(g, objective) for g in games]))
        for objective in objectives}
  return scores


def cached_tune(path: Optional[str], grid: Sequence[Schedule],
                seeds: Sequence[int], objectives: Sequence[str]
                ) -> dict[Schedule, dict[str, float]]:
  """`tune`, reusing the scores saved at `path` for the same grid and seeds."""
  key = json.dumps({"grid": grid, "seeds": list(seeds),
                    "objectives": list(objectives)})
  if path and os.path.exists(path):
    with open(path, encoding="utf-8") as file:
      saved = json.load(file)
    if saved["key"] == key:
      return {tuple(schedule): score
              for schedule, score in zip(grid, saved["scores"])}
  scores = tune(grid, seeds, objectives)
  if path:
    runs.write_text(path, json.dumps(
        {"key": key, "scores": [scores[s] for s in grid]}))
  return scores


@dataclasses.dataclass(frozen=True)
class Learning:
  """How the learning principals play: their phi_0, the bound delta and
  options per principal name (e.g. {"cma": {"sigma0": 0.5}})."""
  phi0: Schedule
  delta: float
  options: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

  def config(self, seed: int, objective: str, name: str
             ) -> game_lib.GameConfig:
    return game_config(seed, objective=objective, principal=name,
                       phi0=self.phi0, delta=self.delta)


def train(name: str, objectives: Sequence[str], games: int,
          learning: Learning, seed: int) -> principal_lib.Principal:
  """A principal trained on `games` games, cycling through `objectives`."""
  principal = principal_lib.make_principal(
      name, schedule=principal_lib.TaxSchedule(learning.phi0, EDGES),
      delta=learning.delta, divergence="linf", seed=seed,
      **learning.options.get(name, {}))
  for game in tqdm.trange(games, desc=f"train {name}", file=sys.stderr,
                          leave=False):
    objective = objectives[game % len(objectives)]
    common.play(learning.config(10_000 + game, objective, name), principal)
  return principal


@dataclasses.dataclass
class Row:
  objective: str
  name: str
  values: np.ndarray
  phi_mean: tuple[float, ...]


def evaluate(objective: str, best: Schedule, learners: dict[str, Any],
             seeds: Sequence[int], learning: Learning) -> list[Row]:
  """No tax, the best fixed schedule and each learner on the same seeds."""
  rows = []
  contenders = [("no tax", game_config(0, objective=objective), None),
                ("best fixed", game_config(0, objective=objective, phi0=best),
                 None)]
  contenders += [(name, learning.config(0, objective, name), learner)
                 for name, learner in learners.items()]
  for label, config, learner in contenders:
    games = [common.play(dataclasses.replace(config, seed=seed), learner)
             for seed in tqdm.tqdm(seeds, desc=f"{objective} {label}",
                                   file=sys.stderr, leave=False)]
    rows.append(Row(
        objective=objective, name=label,
        values=np.array([game_value(g, objective) for g in games]),
        phi_mean=tuple(np.mean([r.phi for g in games for r in g], axis=0))))
  return rows


def ceiling(step: float, objectives: Sequence[str],
            grid: Sequence[Schedule]) -> list[dict[str, Any]]:
  """How much any constant schedule could beat the grid's best.

  Scores schedules by the followers' own meta-game (the table's measured
  incomes under each schedule's equilibrium, per round), so a fine grid over
  [0, 1]^3 costs seconds: per objective, the grid's best against the fine
  grid's best.
  """
  meta_game = best_response.load()
  levels = np.round(np.arange(0, 1 + 1e-9, step), 6)
  fine = list(itertools.product(levels, repeat=3))

  def value(rates: Schedule, objective: str) -> float:
    k = meta_game.response(rates)
    returns = meta_game.round_returns((k, k), rates)
    return float(np.mean([[welfare.objective_value(objective, r)
                           for r in game] for game in returns]))

  rows = []
  for objective in objectives:
    best_grid = max(grid, key=lambda s, o=objective: value(s, o))
    best_fine = max(fine, key=lambda s, o=objective: value(s, o))
    rows.append(dict(
        objective=objective, grid=best_grid,
        grid_value=value(best_grid, objective), fine=best_fine,
        fine_value=value(best_fine, objective)))
  return rows


class SchedulePlan(principal_lib.Principal):
  """Proposes plan[r] in round r (a dynamic schedule fixed in advance)."""

  def __init__(self, plan: Sequence[Schedule]):
    self._plan = [np.asarray(rates, dtype=float) for rates in plan]

  def propose(self, observation, objective):
    del objective
    return self._plan[min(observation.round_index, len(self._plan) - 1)]

  def update(self, feedback) -> None:
    del feedback


def dynamic_probes(objective: str, best: Schedule, seeds: Sequence[int]
                   ) -> list[tuple[str, float, tuple[float, float, float]]]:
  """Dynamic schedules that change best fixed in the first or last round,
  against best fixed itself, on the same seeds."""
  rounds = substrate_lib.get_config(SUBSTRATE).rounds
  plans = {
      "last round untaxed": [best] * (rounds - 1) + [NO_TAX],
      "last round flat 0.5": [best] * (rounds - 1) + [(0.5,) * 3],
      "last round flat 1.0": [best] * (rounds - 1) + [(1.0,) * 3],
      "first round flat 1.0": [(1.0,) * 3] + [best] * (rounds - 1),
  }
  fixed = np.array([game_value(common.play(game_config(
      seed, objective=objective, phi0=best)), objective) for seed in seeds])
  rows = []
  for label, plan in plans.items():
    values = np.array([game_value(common.play(
        game_config(seed, objective=objective, phi0=plan[0]),
        SchedulePlan(plan)), objective) for seed in seeds])
    rows.append((label, float(values.mean()), stats.ratio_of_means(
        values, fixed, rng=1)))
  return rows


def mixed_votes(name: str, objectives: Sequence[str], switch_round: int,
                best: dict[str, Schedule], games: int, seeds: Sequence[int],
                learning: Learning) -> list[dict[str, Any]]:
  """Per round: the voted objective, phi, D and O, averaged over seeds."""
  principal = train(name, objectives, games, learning, seed=1)
  principal.set_learning(False)
  first, second = objectives[:2]
  order = welfare.DEFAULT_OBJECTIVES  # The substrate's ballot order.
  votes = [order.index(first)] * switch_round + [order.index(second)] * 10

  def vote(round_index: int) -> int:  # The electorate's types change.
    return votes[min(round_index, len(votes) - 1)]

  rows: dict[int, list[wrapper_lib.RoundRecord]] = {}
  for seed in tqdm.tqdm(seeds, desc="mixed votes", file=sys.stderr):
    records = common.play(
        learning.config(seed, first, name), principal,
        wrap_bots=lambda bots: [bots_lib.BallotPolicy(b, vote) for b in bots])
    for record in records:
      rows.setdefault(record.round, []).append(record)
  table = []
  for round_number, records in sorted(rows.items()):
    objective = records[0].objective
    table.append({
        "round": round_number,
        "objective": objective,
        "phi": np.mean([r.phi for r in records], axis=0).round(3).tolist(),
        "best_fixed_phi": list(best[objective]),
        "max_D": float(max(r.divergence for r in records)),
        "O": float(np.mean([r.objective_value for r in records])),
    })
  return table


def _format_phi(phi: Sequence[float]) -> str:
  return "(" + ", ".join(f"{rate:.2f}" for rate in phi) + ")"


def main(argv: Optional[Sequence[str]] = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--objectives", default="utilitarian,egalitarian,nash")
  parser.add_argument("--principals", default="bandit,thompson,rl")
  parser.add_argument("--delta", type=float, default=0.25,
                      help="the learning principals' bound (inf: none)")
  parser.add_argument("--phi0", default="0,0,0",
                      help="the learning principals' initial rates")
  parser.add_argument("--cma-sigma0", type=float, default=None,
                      help="CMA-ES's initial step size (default: its own)")
  parser.add_argument("--flat-step", type=float, default=0.1)
  parser.add_argument("--levels", default="0,0.25,0.5,0.75,1")
  parser.add_argument("--tune-seeds", type=int, default=4)
  parser.add_argument("--eval-seeds", type=int, default=20)
  parser.add_argument("--train-games", type=int, default=100)
  parser.add_argument("--bootstrap", type=int, default=10_000)
  parser.add_argument("--switch-round", type=int, default=2,
                      help="mixed votes: the last round of the first "
                      "objective")
  parser.add_argument("--online", action="store_true",
                      help="evaluate the principals still learning")
  parser.add_argument("--ceiling-step", type=float, default=0.05,
                      help="the fine grid of the ceiling analysis")
  parser.add_argument("--json", default=None, help="also write the results")
  parser.add_argument("--sections", default="compare,ceiling,dynamic,mixed",
                      help="which parts to run (comma-separated)")
  parser.add_argument("--grid-cache", default=None,
                      help="reuse the grid's tuning scores from this JSON "
                      "file, or write them there")
  args = parser.parse_args(argv)
  objectives = [o for o in args.objectives.split(",") if o]
  unknown = [o for o in objectives if o not in welfare.DEFAULT_OBJECTIVES]
  principals = [p for p in args.principals.split(",") if p]
  bad = [p for p in principals if p not in principal_lib.LEARNING]
  if unknown or bad or not objectives:
    parser.error(f"objectives must come from {welfare.DEFAULT_OBJECTIVES} "
                 f"and principals from {','.join(principal_lib.LEARNING)}; got "
                 f"{unknown + bad or args.objectives}")
  sections = set(args.sections.split(","))
  if not sections <= {"compare", "ceiling", "dynamic", "mixed"}:
    parser.error(f"--sections must come from compare,ceiling,dynamic,mixed;"
                 f" got {args.sections}")
  for flag, path in (("--json", args.json), ("--grid-cache", args.grid_cache)):
    try:  # Before the hours of games, not after them.
      if path is not None:
        runs.check_writable(pathlib.Path(path).parent, flag=flag)
    except ValueError as error:
      parser.error(str(error))
  levels = [float(level) for level in args.levels.split(",")]
  options = {} if args.cma_sigma0 is None else {
      "cma": {"sigma0": args.cma_sigma0}}
  learning = Learning(phi0=tuple(principal_lib.parse_rates(args.phi0)),
                      delta=args.delta, options=options)
  grid = schedule_grid(args.flat_step, levels)
  scores = cached_tune(args.grid_cache, grid, range(100, 100 + args.tune_seeds),
                       objectives)
  best = {o: max(grid, key=lambda s, o=o: scores[s][o]) for o in objectives}
  rng = np.random.default_rng(0)
  eval_seeds = range(1000, 1000 + args.eval_seeds)
  results: dict[str, Any] = {"best_fixed": {o: best[o] for o in objectives},
                             "rows": []}
  print(f"\nlearners: phi0 = {learning.phi0}, delta = {args.delta}, "
        f"options {options}, {'online' if args.online else 'frozen'}; grid of {len(grid)} schedules on "
        f"{args.tune_seeds} tuning seeds; {args.eval_seeds} held-out seeds; "
        f"principals trained {args.train_games} games\n")
  print("| objective | principal | mean O (held-out) | ÷ no tax | ÷ best fixed "
        "(95% CI) | mean φ |")
  print("| --- | --- | --- | --- | --- | --- |")
  for objective in objectives if "compare" in sections else ():
    learners = {name: train(name, [objective], args.train_games, learning,
                            seed=0) for name in principals}
    for learner in learners.values():
      learner.set_learning(args.online)
    rows = evaluate(objective, best[objective], learners, eval_seeds,
                    learning)
    no_tax, fixed = rows[0].values, rows[1].values
    for row in rows:
      ratio_none = stats.ratio_of_means(row.values, no_tax, rng=rng,
                                        samples=args.bootstrap)
      ratio_best = stats.ratio_of_means(row.values, fixed, rng=rng,
                                        samples=args.bootstrap)
      label = row.name if row.name != "best fixed" else (
          f"best fixed {_format_phi(best[objective])}")
      print(f"| {objective} | {label} | {row.values.mean():.3f} | "
            f"{ratio_none[0]:.3f} | {ratio_best[0]:.3f} "
            f"({ratio_best[1]:.3f}–{ratio_best[2]:.3f}) | "
            f"{_format_phi(row.phi_mean)} |", flush=True)
      results["rows"].append(dict(
          objective=objective, principal=row.name,
          values=row.values.tolist(), ratio_no_tax=ratio_none,
          ratio_best_fixed=ratio_best, phi_mean=row.phi_mean))
  if "ceiling" in sections:
    _print_ceiling(args, objectives, grid, results)
  if "dynamic" in sections:
    _print_dynamic(objectives, best, eval_seeds, results)
  if len(objectives) >= 2 and principals and "mixed" in sections:
    _print_mixed(args, principals[0], objectives, best, eval_seeds, learning,
                 results)
  if args.json:
    runs.write_text(args.json, json.dumps(results, indent=1))
  return 0


def _print_ceiling(args, objectives, grid, results) -> None:
  print("\nCeiling: the best constant schedule on a fine grid (step "
        f"{args.ceiling_step}) against the grid's best, both scored by the "
        "followers' meta-game (mean O per round over the table's seeds):\n")
  print("| objective | grid's best | O | fine grid's best | O | ratio |")
  print("| --- | --- | --- | --- | --- | --- |")
  results["ceiling"] = ceiling(args.ceiling_step, objectives, grid)
  for row in results["ceiling"]:
    print(f"| {row['objective']} | {_format_phi(row['grid'])} | "
          f"{row['grid_value']:.3f} | {_format_phi(row['fine'])} | "
          f"{row['fine_value']:.3f} | "
          f"{row['fine_value'] / row['grid_value']:.3f} |")


def _print_dynamic(objectives, best, eval_seeds, results) -> None:
  print("\nDynamic schedules against the best fixed one (held-out seeds):\n")
  print("| objective | plan | mean O | ÷ best fixed (95% CI) |")
  print("| --- | --- | --- | --- |")
  results["dynamic"] = {}
  for objective in objectives:
    rows = dynamic_probes(objective, best[objective], eval_seeds)
    results["dynamic"][objective] = rows
    for label, mean, (ratio, low, high) in rows:
      print(f"| {objective} | {label} | {mean:.3f} | {ratio:.3f} "
            f"({low:.3f}–{high:.3f}) |", flush=True)


def _print_mixed(args, name, objectives, best, eval_seeds, learning,
                 results) -> None:
  table = mixed_votes(name, objectives[:2], args.switch_round,
                      best, args.train_games, eval_seeds, learning)
  results["mixed_votes"] = table
  print(f"\nMixed votes ({name}, {objectives[0]} for rounds "
        f"1–{args.switch_round}, then {objectives[1]}):\n")
  print("| round | objective voted | mean φ | its best fixed φ | max D | "
        "mean O |")
  print("| --- | --- | --- | --- | --- | --- |")
  for row in table:
    print(f"| {row['round']} | {row['objective']} | "
          f"{_format_phi(row['phi'])} | {_format_phi(row['best_fixed_phi'])}"
          f" | {row['max_D']:.3f} | {row['O']:.3f} |")


if __name__ == "__main__":
  sys.exit(main())
