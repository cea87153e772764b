"""Learned principals against no tax and the best fixed schedule (issue 13).

On any game (`--substrate`, `--bots`, `--brackets`, `--max-rate`; by
default issue 5's: `umd_apple_harvest__small` with followers that
best-respond to phi), for each objective O, every game a task of
`parallel.TaskCache` (`--workers`, `--ray-address`) cached in
`--out/tasks.jsonl`, so a killed run resumes where it stopped and the tables
do not depend on the number of workers. A game's O is the mean over its
rounds of O(round returns), the quantity the principal is fed each round
(`grid_search.game_value`); the grid is `grid_search.schedule_grid`.

- **matrix**: the grid (flat rates every `--flat-step` up to max_rate, and
  every 3-bracket schedule of `--levels`) on the tuning seeds 100+; each
  objective's best schedule, then the best schedules and no tax re-scored on
  the held-out seeds 1000+ on every objective (the 3x3 matrix), and each
  objective's own best against the others' on it (the goal: >= 1.10).
- **learning**: each principal of `--principals`, per objective and
  training seed (0..`--train-seeds`-1), trains `--train-games` games with
  the objective voted, recording each game's O against env steps (its run
  folder under --out/train/ keeps a checkpoint, resumed after a kill); then
  plays frozen on the held-out seeds. A principal's O per held-out seed is
  the mean over its training seeds; learned ÷ best fixed, ÷ no tax and
  ÷ ucb_constant are ratios of means with paired bootstrap CIs over the
  held-out seeds.
  Issue 21 adds: `--dense-factor F`, the dense best constant (`bo`
  trained F × --train-games games on --dense-seeds seeds, frozen), and
  every learner ÷ it; `--curve-games 8,16`, each learner's checkpoint kept
  after those games and played frozen on the first --curve-seeds held-out
  seeds, for the games each needs to reach 95% of the grid's best;
  `--spread`, each held-out seed played by one training seed's principal
  (j by j mod N) rather than all N; and issue 21's goals, met or not.
- **curves**: the training O against env steps, mean and 95% band over
  the training seeds, per objective and principal (`--png`).
- **mixed**: `--tracker` trained on the first two objectives (alternating
  games), then on the held-out seeds every player votes the first for
  `--switch-round` rounds and the second after; per round φ, D, the
  distance to the voted objective's best fixed φ and O.
- **loop**: the whole game: types drawn per seed (`uniform`), ballots cast
  through the substrate, `--rule`, `--tracker` trained under drawn types,
  the followers; the realised welfare per round and per objective voted.

Issue 5's own sections (compare, ceiling, dynamic; flags --grid-cache,
--online, --ceiling-step), which matrix and learning superseded, are
retired; docs/RESULTS.md names the commit that still has them.

  .venv/bin/python benchmarks/principal_vs_fixed.py \
      --substrate umd_apple_harvest__unequal --bots ppo_conditioned_unequal \
      --sections matrix,learning,curves,mixed,loop \
      --principals rl,cma,ucb_constant,epsilon_greedy --delta inf --phi0 0 \
      --cma-sigma0 1 --option rl:anneal_rounds=0 \
      --option rl:entropy_anneal_rounds=75 --flat-step 0.4 --levels 0,1,2,4 \
      --eval-seeds 16 --train-seeds 5 --train-games 30 --tracker cma \
      --mixed-delta 1 --rule borda --out runs/issue13 --workers 2

issue 21's setting (b) (docs/RESULTS.md):

  .venv/bin/python benchmarks/principal_vs_fixed.py \
      --substrate umd_apple_harvest__unequal --bots ppo_conditioned_unequal \
      --sections matrix,learning,curves \
      --principals bo,bo_dynamic,ucb_constant --delta inf --phi0 0 \
      --flat-step 0.4 --levels 0,1,2,4 --tune-seeds 4 --eval-seeds 16 \
      --train-seeds 5 --train-games 24 --dense-factor 3 --curve-games 8,16 \
      --curve-seeds 8 --spread --out runs/issue21b --workers 2

and, with issue 11's followers on the same economy and 10 training seeds
(docs/RESULTS.md's tables):

  .venv/bin/python benchmarks/principal_vs_fixed.py \
      --substrate umd_apple_harvest__unequal --bots ppo_conditioned \
      --allow-mismatch --sections matrix,learning,curves,mixed,loop \
      --principals rl,cma,ucb_constant --delta inf --phi0 0 \
      --cma-sigma0 1 --option rl:anneal_rounds=0 \
      --option rl:entropy_anneal_rounds=75 --flat-step 0.4 --levels 0,1,2,4 \
      --tune-seeds 4 --eval-seeds 16 --train-seeds 10 --train-games 30 \
      --tracker cma --mixed-delta 1 --rule borda --out runs/issue13b \
      --workers 2 --png docs/principal_sample_efficiency.png
"""

import argparse
import collections
import contextlib
import dataclasses
import hashlib
import itertools
import json
import math
import os
import pathlib
import sys
from typing import Any, Optional, Sequence

import _setup  # pylint: disable=unused-import  # First: the preamble.

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import numpy as np

from umd_meltingpot import agents

from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.training import grid_search
from umd_meltingpot.plumbing import parallel
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.plumbing import runs
from umd_meltingpot.plumbing import stats
from umd_meltingpot.plumbing import trained_game
from umd_meltingpot.training import common as training
from umd_meltingpot.social_choice import voting
from umd_meltingpot.social_choice import welfare
from umd_meltingpot.principal import checkpoint as checkpoint_lib
from umd_meltingpot.plumbing import lazy

import common
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order

# Melting Pot and TensorFlow when a game is played, not for --help.
bots_lib = lazy.module("umd_meltingpot.agents.bots")
principal_train = lazy.module("umd_meltingpot.training.principal")
wrapper_lib = lazy.module("umd_meltingpot.game.principal_wrapper")

# The game by default (issue 5's); the player count is the substrate's.
SUBSTRATE = "umd_apple_harvest__small"
BOTS = "best_response"
Schedule = tuple[float, ...]
SECTIONS = ("matrix", "learning", "curves", "mixed", "loop")
# Issue 5's sections, retired: the commit that still has them.
RETIRED_SECTIONS = ("compare", "ceiling", "dynamic")
RETIRED_AT = "b26d4f4"
TASKS_FILE = "tasks.jsonl"
# The dense best constant: this principal, trained --dense-factor times the
# learners' games (issue 21), keyed as this label.
DENSE = "bo"
DENSE_LABEL = "dense"
# A training run writes its checkpoint every this many games (its resume
# point after a kill).
CHECKPOINT_EVERY = 5


@dataclasses.dataclass(frozen=True)
class Learning:
  """How the learning principals play: their phi_0, the bound delta and
  options per principal name (e.g. {"cma": {"sigma0": 0.5}})."""
  phi0: Schedule
  delta: float
  options: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Setting:
  """The game of every task but its seed, principal and types: the
  substrate, the followers and the tax instruments (None: the
  substrate's)."""
  substrate: str
  bots: str
  brackets: Optional[tuple[float, ...]] = None
  max_rate: Optional[float] = None
  allow_mismatch: bool = False

  def base(self, preferences: str = "fixed:utilitarian",
           rule: str = "plurality") -> game_lib.GameConfig:
    """The game with the per-game fields (seed, principal, phi0, delta) at
    their defaults, as `grid_search.GridConfig.game` wants it."""
    return game_lib.GameConfig(
        substrate=self.substrate, bots=self.bots, brackets=self.brackets,
        max_rate=self.max_rate, preferences=preferences, rule=rule,
        allow_mismatch=self.allow_mismatch)


def fixed_task(setting: Setting, schedule: Schedule, seed: int,
               objectives: Sequence[str]) -> grid_search.GameTask:
  """One game under a fixed schedule, exactly as the grid plays it (so the
  matrix's and the baselines' games share their cache entries)."""
  return grid_search.GameTask(
      game=dataclasses.replace(setting.base(), phi0=tuple(schedule),
                               seed=seed, principal="fixed", delta=math.inf),
      objectives=tuple(objectives))


def play_fixed(task: grid_search.GameTask) -> dict[str, Any]:
  """`grid_search.play_game`, as JSON (a `parallel.TaskCache` task)."""
  return dataclasses.asdict(grid_search.play_game(task))


@dataclasses.dataclass(frozen=True)
class TrainTask:
  """One principal's training run: `games` games of the setting, game g
  seeded `principal_train.game_seed(seed, g)` with types
  `preferences[g % len(preferences)]`, learning throughout."""
  setting: Setting
  principal: str
  preferences: tuple[str, ...]
  games: int
  seed: int
  phi0: Schedule
  delta: float
  options: tuple[tuple[str, Any], ...]
  rule: str
  folder: str
  """Where the checkpoint (`principal.npz`) and `curve.jsonl` go."""
  keep: tuple[int, ...] = ()
  """Game counts after which a copy of the checkpoint is kept
  (`principal-g<N>.npz`): the principal as it was then, for the
  sample-efficiency table."""

  def game(self, game: int) -> game_lib.GameConfig:
    return dataclasses.replace(
        self.setting.base(self.preferences[game % len(self.preferences)],
                          self.rule),
        seed=principal_train.game_seed(self.seed, game),
        principal=self.principal, phi0=self.phi0, delta=self.delta)


def kept_checkpoint(folder: pathlib.Path, games: int) -> pathlib.Path:
  """The copy of a training run's checkpoint kept after `games` games."""
  return folder / f"principal-g{games}.npz"


def _restore(task: TrainTask, prepared: game_lib.PreparedGame
             ) -> tuple[principal_lib.Principal, int]:
  """The principal and the games it has played: from its checkpoint after
  a kill (the curve cut back to it), else a new one."""
  folder = pathlib.Path(task.folder)
  checkpoint = folder / principal_train.PRINCIPAL
  curve = folder / "curve.jsonl"
  if checkpoint.exists():
    loaded = checkpoint_lib.load(
        checkpoint, num_brackets=prepared.schedule.num_brackets,
        delta=task.delta, divergence="linf")
    played = loaded.counters["games"]
    training.trim_metrics(curve, played, key="games")
    return loaded.principal, played
  folder.mkdir(parents=True, exist_ok=True)
  runs.write_text(curve, "")
  return principal_lib.make_principal(
      task.principal, schedule=prepared.schedule, delta=task.delta,
      divergence="linf", seed=task.seed, **dict(task.options)), 0


def train_principal(task: TrainTask) -> dict[str, Any]:
  """Trains (or resumes) one principal; its per-game curve and checkpoint.

  Returns:
    {"checkpoint": path, "curve": [{"games", "env_steps", "value"}, ...]}:
    after each game, the games and env steps so far and the game's mean
    value of the objectives voted (what the principal is fed).
  """
  prepared = game_lib.prepare(task.game(0), agents.FACTORY)
  steps = game_lib.episode_steps(prepared)
  principal, played = _restore(task, prepared)
  folder = pathlib.Path(task.folder)
  checkpoint = folder / principal_train.PRINCIPAL
  learnt_on = trained_game.of_config(prepared.substrate_config,
                                     prepared.num_players)
  with runs.JsonLines(folder / "curve.jsonl") as curve:
    for game in range(played, task.games):
      records = common.play(task.game(game), principal)
      curve.write({"games": game + 1, "env_steps": (game + 1) * steps,
                   **principal_train.game_metrics(records)})
      counters = {"games": game + 1, "env_steps": (game + 1) * steps}
      if game + 1 in task.keep:  # Before the checkpoint: resumes redo it.
        checkpoint_lib.save(kept_checkpoint(folder, game + 1),
                            task.principal, principal, prepared.schedule,
                            counters=counters, game=learnt_on)
      if (game + 1) % CHECKPOINT_EVERY == 0 or game + 1 == task.games:
        checkpoint_lib.save(
            checkpoint, task.principal, principal, prepared.schedule,
            counters=counters, game=learnt_on)
  lines = [json.loads(line) for line in
           (folder / "curve.jsonl").read_text().splitlines() if line]
  return {"checkpoint": str(checkpoint),
          "kept": {str(games): str(kept_checkpoint(folder, games))
                   for games in task.keep if games <= task.games},
          "curve": [{"games": line["games"], "env_steps": line["env_steps"],
                     "value": line["objective_value"]} for line in lines]}


@dataclasses.dataclass(frozen=True)
class ScheduledVote:
  """Every player's ballot: objective `first` until round `switch_round`
  (1-based, inclusive), then `second` (indices on the substrate's ballot)."""
  first: int
  second: int
  switch_round: int

  def __call__(self, round_index: int) -> int:
    return self.first if round_index < self.switch_round else self.second


@dataclasses.dataclass(frozen=True)
class PrincipalGame:
  """One held-out game of a trained principal, frozen (its best estimate
  every round: `umd run --principal PATH --freeze-principal`)."""
  setting: Setting
  checkpoint: str
  seed: int
  preferences: str
  phi0: Schedule
  delta: float
  rule: str = "plurality"
  vote: Optional[ScheduledVote] = None
  """Overrides every player's ballot (mixed votes); None: their types'."""


def round_summary(record: "wrapper_lib.RoundRecord") -> dict[str, Any]:
  """A round's record as JSON: what the voted, mixed and loop tables need."""
  return {"round": record.round, "objective": record.objective,
          "phi": [float(rate) for rate in record.phi],
          "divergence": float(record.divergence),
          "objective_value": float(record.objective_value),
          "welfare": {o: welfare.objective_value(o, np.asarray(record.returns))
                      for o in welfare.DEFAULT_OBJECTIVES},
          "apples_alive": float(record.apples_alive)}


def play_principal(task: PrincipalGame) -> dict[str, Any]:
  """Plays one `PrincipalGame`; each objective's game value and its rounds."""
  config = dataclasses.replace(
      task.setting.base(task.preferences, task.rule), seed=task.seed,
      principal=task.checkpoint, phi0=task.phi0, delta=task.delta,
      freeze_principal=True)
  vote = task.vote
  wrap = None if vote is None else (
      lambda bots: [bots_lib.BallotPolicy(bot, vote) for bot in bots])
  records = common.play(config, wrap_bots=wrap)
  return {"values": {o: grid_search.game_value(records, o)
                     for o in welfare.DEFAULT_OBJECTIVES},
          "rounds": [round_summary(record) for record in records]}


@dataclasses.dataclass(frozen=True)
class Experiment:
  """Issue 13's options: the game, the seeds and the learners."""
  setting: Setting
  objectives: tuple[str, ...]
  principals: tuple[str, ...]
  tune_seeds: tuple[int, ...]
  eval_seeds: tuple[int, ...]
  train_seeds: tuple[int, ...]
  train_games: int
  learning: Learning
  grid: tuple[Schedule, ...]
  num_rates: int
  out: pathlib.Path
  bootstrap: int
  dense_games: int = 0
  """The dense best constant: `DENSE` trained this many games (0: none)."""
  dense_seeds: tuple[int, ...] = ()
  curve_games: tuple[int, ...] = ()
  """Sample efficiency: each learner, frozen after these many games..."""
  curve_seeds: tuple[int, ...] = ()
  """... plays these held-out seeds."""
  spread: bool = False
  """Each held-out seed is played by one training seed's principal (seed
  j by training seed j mod n) instead of all of them: n times fewer
  held-out games, each held-out seed still paired with the references."""

  def plays(self, train_index: int, seed_index: int, trained: int) -> bool:
    """Whether training seed `train_index` (of `trained`) plays held-out
    seed `seed_index`."""
    return not self.spread or seed_index % trained == train_index

  @property
  def no_tax(self) -> Schedule:
    return (0.0,) * self.num_rates

  def train_task(self, principal: str, preferences: Sequence[str],
                 seed: int, *, delta: Optional[float] = None,
                 rule: str = "plurality", label: str,
                 games: Optional[int] = None,
                 keep: tuple[int, ...] = ()) -> TrainTask:
    delta = self.learning.delta if delta is None else delta
    task = TrainTask(
        setting=self.setting, principal=principal,
        preferences=tuple(preferences),
        games=self.train_games if games is None else games, seed=seed,
        phi0=self.learning.phi0, delta=delta,
        options=tuple(sorted(self.learning.options.get(principal,
                                                       {}).items())),
        rule=rule, folder="", keep=keep)
    # The folder names every field but the games, so a run asked for more
    # games resumes its checkpoint, and one with other options starts anew.
    fields = parallel.task_key(train_principal,
                               dataclasses.replace(task, games=0))
    digest = hashlib.sha256(fields.encode()).hexdigest()[:8]
    return dataclasses.replace(task, folder=str(
        self.out / "train" / f"{label}-{principal}-seed{seed}-{digest}"))


def grid_scores(experiment: Experiment, cache: parallel.TaskCache
                ) -> dict[Schedule, dict[str, float]]:
  """Mean O per fixed schedule of the grid over the tuning seeds."""
  tasks = [fixed_task(experiment.setting, schedule, seed,
                      experiment.objectives)
           for schedule in experiment.grid for seed in experiment.tune_seeds]
  games = cache.run(play_fixed, tasks, "grid")
  scores = {}
  for schedule in experiment.grid:
    mine = [g for g in games if tuple(g["schedule"]) == tuple(schedule)]
    scores[tuple(schedule)] = {
        o: float(np.mean([g["values"][o] for g in mine]))
        for o in experiment.objectives}
  return scores


def best_schedules(experiment: Experiment, cache: parallel.TaskCache
                   ) -> dict[str, Schedule]:
  """Each objective's best fixed schedule of the grid (the first on a tie)."""
  scores = grid_scores(experiment, cache)
  return {o: max(experiment.grid, key=lambda s, o=o: scores[tuple(s)][o])
          for o in experiment.objectives}


def held_out_fixed(experiment: Experiment, cache: parallel.TaskCache,
                   schedules: Sequence[Schedule]
                   ) -> dict[Schedule, dict[str, np.ndarray]]:
  """Each schedule's O per held-out seed, for every objective."""
  schedules = list(dict.fromkeys(tuple(s) for s in schedules))
  tasks = [fixed_task(experiment.setting, schedule, seed,
                      experiment.objectives)
           for schedule in schedules for seed in experiment.eval_seeds]
  games = iter(cache.run(play_fixed, tasks, "held-out fixed"))
  values = {}
  for schedule in schedules:
    mine = [next(games) for _ in experiment.eval_seeds]
    values[schedule] = {o: np.array([g["values"][o] for g in mine])
                        for o in experiment.objectives}
  return values


def _ratio_cell(ratio: Sequence[float]) -> str:
  value, low, high = ratio
  if math.isnan(value):
    return "n/a"
  return f"{value:.3f} ({low:.3f}–{high:.3f})"


def print_matrix(experiment: Experiment, cache: parallel.TaskCache,
                 results: dict[str, Any]) -> None:
  """The 3x3 matrix: each objective's best fixed schedule (tuning seeds)
  scored on every objective on the held-out seeds; and the >= 10% check."""
  best = best_schedules(experiment, cache)
  values = held_out_fixed(experiment, cache,
                          [experiment.no_tax, *best.values()])
  objectives = experiment.objectives
  rng = np.random.default_rng(0)
  print(f"\nBest fixed schedules ({len(experiment.grid)} schedules, tuning "
        f"seeds {grid_search.format_seeds(experiment.tune_seeds)}), scored "
        f"on {len(experiment.eval_seeds)} held-out seeds "
        f"({grid_search.format_seeds(experiment.eval_seeds)}): mean O "
        "(95% CI, Student's t)\n")
  print("| schedule | best for | " + " | ".join(objectives) + " |")
  print("| --- | --- | " + " | ".join("---" for _ in objectives) + " |")
  rows = [("no tax", experiment.no_tax)] + [(o, best[o]) for o in objectives]
  for label, schedule in rows:
    cells = []
    for objective in objectives:
      mean, half = stats.mean_ci(values[schedule][objective])
      cells.append(f"{mean:.3f} ± {half:.3f}" if half is not None
                   else f"{mean:.3f}")
    print(f"| {_format_phi(schedule)} | {label} | " + " | ".join(cells)
          + " |")
  print("\nEach objective's own best schedule ÷ another objective's best, "
        "on that objective (paired bootstrap 95% CI; the goal: ≥ 1.10):\n")
  print("| objective | ÷ best for | ratio (95% CI) | ≥ 1.10 | and CI above 1 |")
  print("| --- | --- | --- | --- | --- |")
  checks = []
  separated = []
  for objective in objectives:
    own = values[best[objective]][objective]
    for other in objectives:
      if other == objective:
        continue
      ratio = stats.ratio_of_means(own, values[best[other]][objective],
                                   rng=rng, samples=experiment.bootstrap)
      met = ratio[0] >= 1.10
      checks.append(met)
      separated.append(met and ratio[1] > 1.0)
      print(f"| {objective} | {other} {_format_phi(best[other])} | "
            f"{_ratio_cell(ratio)} | {'yes' if met else 'no'} | "
            f"{'yes' if separated[-1] else 'no'} |")
      results.setdefault("matrix_checks", []).append(dict(
          objective=objective, other=other, ratio=ratio, met=met,
          ci_above_1=separated[-1]))
  print(f"\n{sum(checks)} of {len(checks)} comparisons reach 1.10, "
        f"{sum(separated)} with the CI above 1 (issue 22's goal: at least "
        "3).")
  rhos = _print_agreement(experiment, grid_scores(experiment, cache))
  results["spearman"] = {f"{a} vs {b}": rho for (a, b), rho in rhos.items()}
  pair = ("utilitarian", "egalitarian")
  if pair in rhos:
    print(f"\nIssue 22's goals: >= 3 comparisons at 1.10 with the CI above "
          f"1: {'met' if sum(separated) >= 3 else 'not met'} "
          f"({sum(separated)}); Spearman utilitarian vs egalitarian <= 0.5: "
          f"{'met' if rhos[pair] <= 0.5 else 'not met'} "
          f"({rhos[pair]:.3f}).")
  results["best_fixed"] = {o: list(best[o]) for o in objectives}
  results["matrix"] = {
      _format_phi(s): {o: values[s][o].tolist() for o in objectives}
      for _, s in rows}


def _print_agreement(experiment: Experiment,
                     scores: dict[Schedule, dict[str, float]],
                     top: int = 5) -> dict[tuple[str, str], float]:
  """How much the objectives agree on the grid (tuning seeds): each one's
  best schedules, and Spearman's rank correlation of O between objectives
  over the grid. Where they agree, no schedule can be 10% better on one
  objective than another objective's best."""
  objectives = experiment.objectives
  print(f"\nEach objective's {top} best schedules on the tuning seeds "
        "(mean O):\n")
  print("| rank | " + " | ".join(objectives) + " |")
  print("| --- | " + " | ".join("---" for _ in objectives) + " |")
  ranked = {o: sorted(scores, key=lambda s, o=o: -scores[s][o])
            for o in objectives}
  for rank in range(min(top, len(scores))):
    cells = [f"{_format_phi(ranked[o][rank])} {scores[ranked[o][rank]][o]:.3f}"
             for o in objectives]
    print(f"| {rank + 1} | " + " | ".join(cells) + " |")
  print(f"\nSpearman's rank correlation of O over the "
        f"{len(scores)} schedules:\n")
  rhos = {}
  for first, second in itertools.combinations(objectives, 2):
    rho = stats.spearman([scores[s][first] for s in scores],
                         [scores[s][second] for s in scores])
    rhos[(first, second)] = rho
    print(f"- {first} vs {second}: {rho:.3f}")
  return rhos


def train_all(experiment: Experiment, cache: parallel.TaskCache
              ) -> dict[tuple[str, str, int], dict[str, Any]]:
  """Every (objective, principal, training seed) run of the learning
  section, trained with its objective voted (`fixed:O`); and the dense
  best constant's runs, as (objective, "dense", seed)."""
  keys = [(o, p, s) for o in experiment.objectives
          for p in experiment.principals for s in experiment.train_seeds]
  tasks = [experiment.train_task(p, [f"fixed:{o}"], s, label=o,
                                 keep=experiment.curve_games)
           for o, p, s in keys]
  if experiment.dense_games:
    dense = [(o, DENSE_LABEL, s) for o in experiment.objectives
             for s in experiment.dense_seeds]
    keys += dense
    tasks += [experiment.train_task(DENSE, [f"fixed:{o}"], s,
                                    label=f"dense-{o}",
                                    games=experiment.dense_games)
              for o, _, s in dense]
  return dict(zip(keys, cache.run(train_principal, tasks, "train")))


def play_frozen(experiment: Experiment, cache: parallel.TaskCache,
                groups: dict[Any, tuple[str, list[str]]],
                seeds: Sequence[int], desc: str) -> dict[Any, np.ndarray]:
  """O of principal checkpoints played frozen on held-out `seeds`.

  Args:
    groups: per key, the objective voted and one checkpoint per training
      seed, in the training seeds' order.

  Returns:
    Per key, shape [checkpoints, seeds]; NaN where a training seed does not
    play a seed (`Experiment.plays`).
  """
  played = {key: [[experiment.plays(i, j, len(checkpoints))
                   for j in range(len(seeds))]
                  for i in range(len(checkpoints))]
            for key, (_, checkpoints) in groups.items()}
  tasks = [PrincipalGame(
      setting=experiment.setting, checkpoint=checkpoint, seed=seed,
      preferences=f"fixed:{objective}", phi0=experiment.learning.phi0,
      delta=experiment.learning.delta)
           for key, (objective, checkpoints) in groups.items()
           for i, checkpoint in enumerate(checkpoints)
           for j, seed in enumerate(seeds) if played[key][i][j]]
  games = iter(cache.run(play_principal, tasks, desc))
  return {key: np.array([[next(games)["values"][objective] if plays
                          else math.nan for plays in row]
                         for row in played[key]])
          for key, (objective, _) in groups.items()}


def evaluate_all(experiment: Experiment, cache: parallel.TaskCache,
                 trained: dict[tuple[str, str, int], dict[str, Any]]
                 ) -> dict[tuple[str, str], np.ndarray]:
  """O of each trained principal, frozen, per training and held-out seed:
  shape [training seeds, held-out seeds] per (objective, principal)."""
  groups: dict[tuple[str, str], tuple[str, list[str]]] = {}
  for (objective, principal, _), run in trained.items():
    groups.setdefault((objective, principal), (objective, []))[1].append(
        run["checkpoint"])
  return play_frozen(experiment, cache, groups, experiment.eval_seeds,
                     "held-out learned")


def evaluate_kept(experiment: Experiment, cache: parallel.TaskCache,
                  trained: dict[tuple[str, str, int], dict[str, Any]]
                  ) -> dict[tuple[str, str, int], np.ndarray]:
  """O of each learner frozen after each of `curve_games` games on the
  curve seeds: shape [training seeds, curve seeds] per (objective,
  principal, games)."""
  groups = {(o, p, g): (o, [trained[(o, p, s)]["kept"][str(g)]
                            for s in experiment.train_seeds])
            for o in experiment.objectives for p in experiment.principals
            for g in experiment.curve_games}
  return play_frozen(experiment, cache, groups, experiment.curve_seeds,
                     "held-out kept")


def print_learning(experiment: Experiment, cache: parallel.TaskCache,
                   results: dict[str, Any]) -> None:
  """Learned ÷ the grid's best fixed schedule, ÷ the dense best constant,
  ÷ no tax and ÷ ucb_constant, per objective; then issue 21's goals."""
  best = best_schedules(experiment, cache)
  fixed = held_out_fixed(experiment, cache,
                         [experiment.no_tax, *best.values()])
  trained = train_all(experiment, cache)
  learned = evaluate_all(experiment, cache, trained)
  rng = np.random.default_rng(0)
  print(f"\nLearned principals, frozen, on {len(experiment.eval_seeds)} "
        f"held-out seeds; each trained {experiment.train_games} games per "
        f"training seed ({len(experiment.train_seeds)} seeds). A principal's "
        "O per held-out seed is the mean over its training seeds; ratios of "
        "mean O with paired bootstrap 95% CIs over the held-out seeds; "
        "'seeds' is the range of the ratio to best fixed over the training "
        "seeds.")
  if experiment.dense_games:
    print(f"The dense best constant: {DENSE} trained "
          f"{experiment.dense_games} games on seed(s) "
          f"{grid_search.format_seeds(experiment.dense_seeds)}, frozen.")
  print("\n| objective | principal | mean O | ÷ grid's best (95% CI) | seeds "
        "| ÷ dense best constant (95% CI) | ÷ no tax (95% CI) "
        "| ÷ ucb_constant (95% CI) | final φ (training seed 0) |")
  print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
  rows = []
  for objective in experiment.objectives:
    best_values = fixed[best[objective]][objective]
    none_values = fixed[experiment.no_tax][objective]
    bases = {"best_fixed": best_values, "no_tax": none_values}
    for name, key in (("dense", DENSE_LABEL),
                      ("ucb_constant", "ucb_constant")):
      if (objective, key) in learned:
        bases[name] = np.nanmean(learned[(objective, key)], axis=0)
    over_none = stats.ratio_of_means(best_values, none_values, rng=rng,
                                     samples=experiment.bootstrap)
    print(f"| {objective} | grid's best {_format_phi(best[objective])} | "
          f"{best_values.mean():.3f} | 1 | | | {_ratio_cell(over_none)} | "
          "| |")
    names = list(experiment.principals)
    if experiment.dense_games:
      names.append(DENSE_LABEL)
    for principal in names:
      per_seed = learned[(objective, principal)]
      mean = np.nanmean(per_seed, axis=0)
      ratios = {name: stats.ratio_of_means(mean, base, rng=rng,
                                           samples=experiment.bootstrap)
                for name, base in bases.items()}
      spread = [float(np.nanmean(s) / best_values[~np.isnan(s)].mean())
                for s in per_seed]
      seeds = (experiment.dense_seeds if principal == DENSE_LABEL
               else experiment.train_seeds)
      final = _final_phi(trained[(objective, principal, seeds[0])])
      cells = [_ratio_cell(ratios[name]) if name in ratios else "—"
               for name in ("best_fixed", "dense", "no_tax",
                            "ucb_constant")]
      print(f"| {objective} | {principal} | {mean.mean():.3f} | {cells[0]} "
            f"| {min(spread):.2f}–{max(spread):.2f} | {cells[1]} | "
            f"{cells[2]} | {cells[3]} | {final} |", flush=True)
      rows.append(dict(objective=objective, principal=principal,
                       values=per_seed.tolist(), ratios=ratios,
                       per_training_seed_ratio=spread))
  results["learning"] = rows
  efficiency = {}
  if experiment.curve_games:
    efficiency = print_efficiency(experiment, cache, trained, fixed, best,
                                  learned, results)
  _print_goals(rows, experiment.objectives, efficiency)


def _final_phi(run: dict[str, Any]) -> str:
  """The φ of a training run's last game, or its mean φ if it moved."""
  path = pathlib.Path(run["checkpoint"]).with_name("curve.jsonl")
  lines = [json.loads(line) for line in path.read_text().splitlines()
           if line]
  return _format_phi(lines[-1]["phi"]) if lines and lines[-1].get(
      "phi") else "?"


def print_efficiency(experiment: Experiment, cache: parallel.TaskCache,
                     trained: dict[tuple[str, str, int], dict[str, Any]],
                     fixed: dict[Schedule, dict[str, np.ndarray]],
                     best: dict[str, Schedule],
                     learned: dict[tuple[str, str], np.ndarray],
                     results: dict[str, Any]
                     ) -> dict[str, dict[str, float]]:
  """Held-out O of each learner frozen after `curve_games` games (and at
  the end) ÷ the grid's best on the same seeds, per training seed; the
  games each needs to reach 95% of the grid's best (median over training
  seeds; inf: not within the budget)."""
  kept = evaluate_kept(experiment, cache, trained)
  count = len(experiment.curve_seeds)
  points = sorted(set(experiment.curve_games) | {experiment.train_games})
  print(f"\nSample efficiency: each learner frozen after g games, on "
        f"held-out seeds {grid_search.format_seeds(experiment.curve_seeds)};"
        " mean over training seeds of (its O ÷ the grid's best O on those "
        "seeds); games to 95%: the first g at which a training seed's ratio "
        "reaches 0.95, median over training seeds (the grid plays "
        f"{len(experiment.grid) * len(experiment.tune_seeds)}).\n")
  print("| objective | principal | " + " | ".join(f"g = {g}" for g in points)
        + " | games to 95% (median) |")
  print("| --- | --- | " + " | ".join("---" for _ in points) + " | --- |")
  efficiency: dict[str, dict[str, float]] = {}
  for objective in experiment.objectives:
    reference = fixed[best[objective]][objective][:count]
    for principal in experiment.principals:
      ratios = {}
      for g in points:
        values = (kept[(objective, principal, g)] if g in
                  experiment.curve_games else np.array(
                      [row[:count] for row in
                       learned[(objective, principal)]]))
        ratios[g] = np.array([np.nanmean(row) / reference[~np.isnan(row)]
                              .mean() for row in values])
      reach = [next((g for g in points if ratios[g][i] >= 0.95), math.inf)
               for i in range(len(experiment.train_seeds))]
      median = float(np.median(reach))
      efficiency.setdefault(principal, {})[objective] = median
      print(f"| {objective} | {principal} | " + " | ".join(
          f"{ratios[g].mean():.3f}" for g in points) + f" | {median:g} |")
  results["efficiency"] = efficiency
  return efficiency


def _print_goals(rows: Sequence[dict[str, Any]],
                 objectives: Sequence[str],
                 efficiency: dict[str, dict[str, float]]) -> None:
  """Which principals meet issue 21's goals 1-4."""
  print("\nIssue 21's goals: (1) ÷ grid's best ≥ 1.0 on every objective "
        "with the CI's low end ≥ 0.95, and ≥ 1.05 with the CI above 1 on "
        "≥ 2; (2) a dynamic principal ÷ the dense best constant ≥ 1.03 "
        "with the CI above 1 on ≥ 1; (3) ÷ ucb_constant ≥ 1.2 with the CI "
        "above 1 on ≥ 2; (4) ≤ 50 games to 95% of the grid's best (median "
        "over training seeds).\n")
  for principal in dict.fromkeys(row["principal"] for row in rows):
    mine = {row["objective"]: row["ratios"] for row in rows
            if row["principal"] == principal}

    def met(name: str, value: float, low: float) -> list[str]:
      return [o for o, ratios in mine.items() if name in ratios
              and ratios[name][0] >= value and ratios[name][1] > low]
    floor = met("best_fixed", 1.0, 0.95 - 1e-12)
    beats = met("best_fixed", 1.05, 1.0)
    goal1 = len(floor) == len(objectives) and len(beats) >= 2
    dense = met("dense", 1.03, 1.0)
    ucb = met("ucb_constant", 1.2, 1.0)
    games = efficiency.get(principal, {})
    goal4 = ("; (4) games to 95%: " + ", ".join(
        f"{o} {g:g}" for o, g in games.items()) + (
            " — met" if games and max(games.values()) <= 50 else
            " — not met")) if games else ""
    print(f"- {principal}: (1) ≥ 1.0 on {', '.join(floor) or 'none'}, "
          f"≥ 1.05 on {', '.join(beats) or 'none'} — "
          f"{'met' if goal1 else 'not met'}; (2) ÷ dense ≥ 1.03 on "
          f"{', '.join(dense) or 'none'}; (3) ÷ ucb_constant ≥ 1.2 on "
          f"{', '.join(ucb) or 'none'} — "
          f"{'met' if len(ucb) >= 2 else 'not met'}{goal4}")


def _smoothed(values: np.ndarray, window: int) -> np.ndarray:
  """The trailing mean over `window` games (fewer at the start)."""
  sums = np.cumsum(values, axis=-1)
  counts = np.minimum(np.arange(1, values.shape[-1] + 1), window)
  shifted = np.concatenate([np.zeros(values.shape[:-1] + (window,)),
                            sums[..., :-window]], axis=-1)[...,
                                                           :values.shape[-1]]
  return (sums - shifted) / counts


def plot_curves(experiment: Experiment, cache: parallel.TaskCache,
                png: pathlib.Path, window: int) -> None:
  """The sample-efficiency PNG: per objective, each principal's training
  O against env steps (mean over training seeds, 95% t band), with the
  best fixed schedule and no tax on the held-out seeds."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  trained = train_all(experiment, cache)
  best = best_schedules(experiment, cache)
  fixed = held_out_fixed(experiment, cache,
                         [experiment.no_tax, *best.values()])
  objectives = experiment.objectives
  figure, axes = pyplot.subplots(1, len(objectives),
                                 figsize=(5 * len(objectives), 4),
                                 squeeze=False)
  for axis, objective in zip(axes[0], objectives):
    for principal in experiment.principals:
      curves = [trained[(objective, principal, s)]["curve"]
                for s in experiment.train_seeds]
      steps = np.array([point["env_steps"] for point in curves[0]])
      values = _smoothed(np.array([[np.nan if p["value"] is None
                                    else p["value"] for p in curve]
                                   for curve in curves]), window)
      summary = [stats.mean_ci(values[:, g]) for g in range(len(steps))]
      mean = np.array([np.nan if m is None else m for m, _ in summary])
      half = np.array([0.0 if h is None else h for _, h in summary])
      line, = axis.plot(steps, mean, label=principal)
      axis.fill_between(steps, mean - half, mean + half, alpha=0.2,
                        color=line.get_color())
    for label, schedule, style in (
        (f"best fixed {_format_phi(best[objective])}", best[objective], "--"),
        ("no tax", experiment.no_tax, ":")):
      axis.axhline(fixed[schedule][objective].mean(), color="black",
                   linestyle=style, linewidth=1, label=label + " (held-out)")
    axis.set_title(objective)
    axis.set_xlabel("env steps")
    axis.set_ylabel(f"{objective} O per game (mean of last {window} games)")
    axis.legend(fontsize=7)
  figure.suptitle(
      f"{experiment.setting.substrate}, bots {experiment.setting.bots}: "
      f"mean over {len(experiment.train_seeds)} training seeds, 95% band")
  figure.tight_layout()
  with runs.atomic_path(png, suffix=".png") as partial:
    figure.savefig(partial, dpi=110)
  pyplot.close(figure)
  print(f"\nSample-efficiency curves: {png}")


def _round_rows(games: Sequence[dict[str, Any]]
                ) -> dict[int, list[dict[str, Any]]]:
  rows: dict[int, list[dict[str, Any]]] = {}
  for game in games:
    for record in game["rounds"]:
      rows.setdefault(record["round"], []).append(record)
  return rows


def print_mixed(experiment: Experiment, cache: parallel.TaskCache,
                tracker: str, switch_round: int, delta: float,
                results: dict[str, Any]) -> None:
  """Mixed votes: a principal trained on the first two objectives (one a
  game, alternating) faces a vote that switches after `switch_round`."""
  first, second = experiment.objectives[:2]
  best = best_schedules(experiment, cache)
  trained = cache.run(train_principal, [experiment.train_task(
      tracker, [f"fixed:{first}", f"fixed:{second}"], 0, delta=delta,
      label="mixed")], "train mixed")[0]
  order = welfare.DEFAULT_OBJECTIVES  # The substrate's ballot order.
  vote = ScheduledVote(order.index(first), order.index(second), switch_round)
  games = cache.run(play_principal, [PrincipalGame(
      setting=experiment.setting, checkpoint=trained["checkpoint"], seed=seed,
      preferences=f"fixed:{first}", phi0=experiment.learning.phi0,
      delta=delta, vote=vote) for seed in experiment.eval_seeds], "mixed")
  print(f"\nMixed votes ({tracker}, trained {experiment.train_games} games "
        f"alternating {first} and {second}, δ = {delta:g}; {first} voted "
        f"in rounds 1–{switch_round}, then {second}; "
        f"{len(experiment.eval_seeds)} held-out seeds):\n")
  print("| round | objective voted | mean φ | its best fixed φ | max D | "
        "mean L∞ to best φ | mean O |")
  print("| --- | --- | --- | --- | --- | --- | --- |")
  table = []
  for round_number, records in sorted(_round_rows(games).items()):
    objective = records[0]["objective"]
    phi = np.array([r["phi"] for r in records])
    target = np.array(best[objective], dtype=float)
    row = {"round": round_number, "objective": objective,
           "phi": phi.mean(axis=0).round(3).tolist(),
           "best_fixed_phi": list(best[objective]),
           "max_D": float(max(r["divergence"] for r in records)),
           "distance": float(np.abs(phi - target).max(axis=1).mean()),
           "O": float(np.mean([r["objective_value"] for r in records]))}
    table.append(row)
    print(f"| {round_number} | {objective} | {_format_phi(row['phi'])} | "
          f"{_format_phi(row['best_fixed_phi'])} | {row['max_D']:.3f} | "
          f"{row['distance']:.3f} | {row['O']:.3f} |")
  results["mixed_votes"] = table


def print_loop(experiment: Experiment, cache: parallel.TaskCache,
               tracker: str, rules: Sequence[str],
               results: dict[str, Any]) -> None:
  """The full loop: types drawn per game, ballots cast in the substrate,
  the rule, a principal trained under drawn types (with the first rule),
  the followers; with several rules, each plays the same held-out seeds
  (the same electorates) and the rules are compared."""
  trained = cache.run(train_principal, [experiment.train_task(
      tracker, ["uniform"], 0, rule=rules[0], label=f"loop-{rules[0]}")],
                      "train loop")[0]
  games_by_rule = {rule: cache.run(play_principal, [PrincipalGame(
      setting=experiment.setting, checkpoint=trained["checkpoint"],
      seed=seed, preferences="uniform", phi0=experiment.learning.phi0,
      delta=experiment.learning.delta, rule=rule)
                                                    for seed in
                                                    experiment.eval_seeds],
                                   f"loop {rule}") for rule in rules}
  best = best_schedules(experiment, cache)
  fixed = held_out_fixed(experiment, cache, list(best.values()))
  results["loop"] = {}
  for rule, games in games_by_rule.items():
    results["loop"][rule] = _print_loop_rule(
        experiment, tracker, rule, rules[0], games, best, fixed)
  if len(rules) > 1:
    results["rules"] = _print_rule_comparison(experiment, games_by_rule)


def _print_loop_rule(experiment: Experiment, tracker: str, rule: str,
                     trained_rule: str, games: Sequence[dict[str, Any]],
                     best: dict[str, Schedule],
                     fixed: dict[Schedule, dict[str, np.ndarray]]
                     ) -> list[dict[str, Any]]:
  """One rule's loop: per round, and per objective voted, with whether
  the objectives voted lead to welfare whose CIs separate."""
  objectives = welfare.DEFAULT_OBJECTIVES
  print(f"\nThe full loop, rule {rule} ({tracker} trained "
        f"{experiment.train_games} games under uniform random types with "
        f"rule {trained_rule}, ballots cast in the substrate; "
        f"{len(experiment.eval_seeds)} held-out seeds, types drawn per "
        "seed). Per round:\n")
  print("| round | objectives voted | mean φ | " +
        " | ".join(f"realised {o}" for o in objectives) + " |")
  print("| --- | --- | --- | " + " | ".join("---" for _ in objectives) + " |")
  for round_number, records in sorted(_round_rows(games).items()):
    voted = collections.Counter(r["objective"] for r in records)
    cells = [f"{np.mean([r['welfare'][o] for r in records]):.3f}"
             for o in objectives]
    print(f"| {round_number} | "
          + ", ".join(f"{o} {n}" for o, n in sorted(voted.items()))
          + f" | {_format_phi(np.mean([r['phi'] for r in records], axis=0))}"
          " | " + " | ".join(cells) + " |")
  print(f"\nRule {rule}: realised welfare per objective voted (rounds "
        "pooled over seeds; 95% cluster-bootstrap CI over seeds); for scale, "
        "the voted objective's O under its best fixed schedule on the same "
        "seeds:\n")
  print("| objective voted | rounds | mean φ | " +
        " | ".join(f"realised {o}" for o in objectives) +
        " | its best fixed's O |")
  print("| --- | --- | --- | " + " | ".join("---" for _ in objectives) +
        " | --- |")
  rng = np.random.default_rng(0)
  table = []
  for voted in objectives:
    by_seed = [[r for r in game["rounds"] if r["objective"] == voted]
               for game in games]
    by_seed = [rounds for rounds in by_seed if rounds]
    if not by_seed:
      continue
    pooled = [r for rounds in by_seed for r in rounds]
    cells = {o: stats.bootstrap_mean_ci(
        [[r["welfare"][o] for r in rounds] for rounds in by_seed], rng=rng,
        samples=experiment.bootstrap) for o in objectives}
    anchor = (f"{fixed[best[voted]][voted].mean():.3f} "
              f"{_format_phi(best[voted])}" if voted in best else "—")
    print(f"| {voted} | {len(pooled)} | "
          f"{_format_phi(np.mean([r['phi'] for r in pooled], axis=0))} | "
          + " | ".join(_ratio_cell(cells[o]) for o in objectives)
          + f" | {anchor} |")
    table.append(dict(objective=voted, rounds=len(pooled), welfare=cells))
  separated = [
      f"{a['objective']} vs {b['objective']} on {o}"
      for a, b in itertools.combinations(table, 2) for o in objectives
      if (a["welfare"][o][1] > b["welfare"][o][2]
          or b["welfare"][o][1] > a["welfare"][o][2])]
  print("\nPairs of objectives voted whose realised welfare CIs do not "
        f"overlap: {'; '.join(separated) if separated else 'none'}")
  return table


def _print_rule_comparison(experiment: Experiment,
                           games_by_rule: dict[str, Sequence[dict[str, Any]]]
                           ) -> dict[str, Any]:
  """Each rule's realised welfare on the same electorates: how often it
  elects each objective, each objective's game value, and the paired
  difference from the first rule (a difference, not a ratio: egalitarian
  welfare can be negative)."""
  objectives = welfare.DEFAULT_OBJECTIVES
  first, *others = games_by_rule
  rng = np.random.default_rng(0)
  print(f"\nThe rules on the same {len(experiment.eval_seeds)} electorates "
        "(types drawn per seed, the same principal and followers): rounds "
        "electing each objective, each objective's game value (mean over "
        f"seeds, 95% CI) and its paired difference from {first}'s (95% "
        "CI):\n")
  print("| rule | elected (" + " / ".join(objectives) + ") | " + " | ".join(
      objectives) + " | " + " | ".join(
          f"{o} − {first}" for o in objectives) + " |")
  print("| --- | --- | " + " | ".join(["---"] * 2 * len(objectives)) + " |")
  table = {}
  values_by_rule = {
      rule: {o: np.array([game["values"][o] for game in games])
             for o in objectives}
      for rule, games in games_by_rule.items()}
  baseline = values_by_rule[first]
  for rule, games in games_by_rule.items():
    elected = collections.Counter(r["objective"] for game in games
                                  for r in game["rounds"])
    values = values_by_rule[rule]
    means = {o: stats.bootstrap_mean_ci([[v] for v in values[o]], rng=rng,
                                        samples=experiment.bootstrap)
             for o in objectives}
    differences = {o: stats.bootstrap_mean_ci(
        [[d] for d in values[o] - baseline[o]], rng=rng,
        samples=experiment.bootstrap) for o in objectives}
    print(f"| {rule} | " + " / ".join(str(elected[o]) for o in objectives)
          + " | " + " | ".join(_ratio_cell(means[o]) for o in objectives)
          + " | " + " | ".join(_ratio_cell(differences[o])
                               for o in objectives) + " |")
    table[rule] = dict(elected=dict(elected), values=means,
                       differences=differences)
  differing = [f"{rule} on {o}" for rule in others for o in objectives
               if not table[rule]["differences"][o][1] <= 0.0
               <= table[rule]["differences"][o][2]]
  print(f"\nRules whose welfare differs from {first}'s (CI excludes 0): "
        f"{'; '.join(differing) if differing else 'none'}")
  return table


def _format_phi(phi: Sequence[float]) -> str:
  return "(" + ", ".join(f"{rate:.2f}" for rate in phi) + ")"


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--objectives", default="utilitarian,egalitarian,nash")
  parser.add_argument("--principals", default="bandit,thompson,rl")
  parser.add_argument("--delta", type=float, default=0.25,
                      help="the learning principals' bound (inf: none)")
  parser.add_argument("--phi0", default="0,0,0",
                      help="the learning principals' initial rates")
  parser.add_argument("--cma-sigma0", type=float, default=None,
                      help="CMA-ES's initial step size (default: its own)")
  parser.add_argument("--option", action="append", default=[],
                      metavar="PRINCIPAL:FIELD=VALUE",
                      help="a learning principal's config field, e.g. "
                      "rl:anneal_rounds=0 (repeatable)")
  parser.add_argument("--flat-step", type=float, default=0.1)
  parser.add_argument("--levels", default="0,0.25,0.5,0.75,1")
  parser.add_argument("--tune-seeds", type=int, default=4)
  parser.add_argument("--eval-seeds", type=int, default=20)
  parser.add_argument("--train-games", type=int, default=100)
  parser.add_argument("--train-seeds", type=int, default=10,
                      help="learning: training seeds per principal and "
                      "objective (seeds 0..N-1)")
  parser.add_argument("--bootstrap", type=int, default=10_000)
  parser.add_argument("--dense-factor", type=int, default=0,
                      help=f"learning: the dense best constant, {DENSE} "
                      "trained this many times --train-games (0: none)")
  parser.add_argument("--dense-seeds", type=int, default=1,
                      help="learning: its training seeds (100..)")
  parser.add_argument("--curve-games", default="",
                      help="learning: also play each learner frozen after "
                      "these many games (e.g. 12,24), for the "
                      "sample-efficiency table")
  parser.add_argument("--spread", action="store_true",
                      help="learning: each held-out seed is played by one "
                      "training seed's principal (seed j by training seed j "
                      "mod N), not by all N")
  parser.add_argument("--curve-seeds", type=int, default=8,
                      help="learning: the held-out seeds those play (the "
                      "first N)")
  parser.add_argument("--switch-round", type=int, default=2,
                      help="mixed votes: the last round of the first "
                      "objective")
  parser.add_argument("--json", default=None, help="also write the results")
  parser.add_argument("--sections", default=",".join(SECTIONS),
                      help="which parts to run (comma-separated): "
                      + ",".join(SECTIONS))
  game = parser.add_argument_group("the game")
  game.add_argument("--substrate", default=SUBSTRATE)
  game.add_argument("--bots", default=BOTS,
                    help="the followers, as umd run's --bots")
  game.add_argument("--brackets", default=None,
                    help="bracket edges, e.g. 1,2 (default: the substrate's)")
  game.add_argument("--max-rate", type=float, default=None,
                    help="the cap on rates (default: the substrate's)")
  game.add_argument("--allow-mismatch", action="store_true",
                    help="let a follower checkpoint play another game")
  game.add_argument("--tracker", default=None,
                    help="mixed, loop: the principal (default: the first of "
                    "--principals)")
  game.add_argument("--mixed-delta", type=float, default=None,
                    help="mixed: the tracker's bound (default: --delta)")
  game.add_argument("--rule", default="plurality",
                    help="loop: the social choice rule, or several, comma-"
                    "separated (the principal trains under the first; each "
                    "plays the same held-out electorates, then compared)")
  game.add_argument("--smoothing", type=int, default=5,
                    help="curves: the trailing window, in games")
  game.add_argument("--png", default=None,
                    help="curves: the PNG (default: OUT/sample_efficiency.png)")
  game.add_argument("--out", default=None,
                    help="the folder of cached tasks and training runs; an "
                    "existing one is resumed (default: a new "
                    "runs/principal_vs_fixed-<timestamp>)")
  game.add_argument("--workers", type=int, default=0,
                    help="play the tasks as Ray tasks on N local CPUs "
                    "(0: here, one after the other)")
  game.add_argument("--ray-address", default=None,
                    help="play the tasks on this Ray cluster")
  common.add_history_flags(parser)
  return parser


def _names(text: str) -> list[str]:
  return [name for name in text.split(",") if name]


def _principal_options(args: argparse.Namespace,
                       parser: argparse.ArgumentParser
                       ) -> dict[str, dict[str, Any]]:
  """--cma-sigma0 and every --option, by principal."""
  options: dict[str, dict[str, Any]] = {}
  if args.cma_sigma0 is not None:
    options["cma"] = {"sigma0": args.cma_sigma0}
  for item in args.option:
    name, _, assignment = item.partition(":")
    field, equals, text = assignment.partition("=")
    if name not in principal_lib.LEARNING or not field or not equals:
      parser.error(f"--option must be PRINCIPAL:FIELD=VALUE with PRINCIPAL "
                   f"one of {','.join(principal_lib.LEARNING)}; got {item!r}")
    try:
      value = json.loads(text)
    except json.JSONDecodeError:
      value = text
    options.setdefault(name, {})[field] = value
  for name, fields in options.items():
    try:  # Unknown fields and bad values, before any game.
      principal_lib.make_principal(
          name, schedule=principal_lib.TaxSchedule((0.0,), ()), **fields)
    except (TypeError, ValueError) as error:
      parser.error(f"--option {name}: {error}")
  return options


def main(argv: Optional[Sequence[str]] = None) -> int:
  parser = _parser()
  args = parser.parse_args(argv)
  objectives = _names(args.objectives)
  unknown = [o for o in objectives if o not in welfare.DEFAULT_OBJECTIVES]
  principals = _names(args.principals)
  bad = [p for p in principals if p not in principal_lib.LEARNING]
  if unknown or bad or not objectives:
    parser.error(f"objectives must come from {welfare.DEFAULT_OBJECTIVES} "
                 f"and principals from {','.join(principal_lib.LEARNING)}; got "
                 f"{unknown + bad or args.objectives}")
  sections = set(_names(args.sections))
  retired = sorted(sections & set(RETIRED_SECTIONS))
  if retired:
    parser.error(f"sections {','.join(retired)} (issue 5's) are retired; "
                 f"run them at commit {RETIRED_AT}")
  if not sections or not sections <= set(SECTIONS):
    parser.error(f"--sections must come from {','.join(SECTIONS)}; got "
                 f"{args.sections}")
  for flag, path in (("--json", args.json), ("--png", args.png)):
    try:  # Before the hours of games, not after them.
      if path is not None:
        runs.check_writable(pathlib.Path(path).parent, flag=flag)
    except ValueError as error:
      parser.error(str(error))
  try:
    brackets = (None if args.brackets is None else
                tuple(principal_lib.parse_edges(args.brackets)))
    levels = [float(level) for level in args.levels.split(",")]
    phi0 = tuple(principal_lib.parse_rates(args.phi0))
  except ValueError as error:
    parser.error(f"--brackets, --levels and --phi0 take comma-separated "
                 f"numbers: {error}")
  setting = Setting(substrate=args.substrate, bots=args.bots,
                    brackets=brackets, max_rate=args.max_rate,
                    allow_mismatch=args.allow_mismatch)
  learning = Learning(phi0=phi0, delta=args.delta,
                      options=_principal_options(args, parser))
  experiment = _experiment(args, parser, setting, objectives, principals,
                           learning, levels)
  players = game_lib.prepare(dataclasses.replace(setting.base(), phi0=(0.0,)),
                             agents.FACTORY).num_players
  run = common.Run("principal_vs_fixed", common.Subject(
      substrate=setting.substrate, players=players, bots=setting.bots,
      settings={"sections": args.sections,
                "principals": ",".join(principals),
                "train games": args.train_games,
                "eval seeds": len(experiment.eval_seeds)}), args, argv)
  results: dict[str, Any] = {}
  with contextlib.ExitStack() as stack:
    if parallel.uses_ray(args.workers, args.ray_address):
      # One Ray for every section: its workers start (and import
      # TensorFlow) once, not once per batch of tasks.
      _export_script_folder()
      stack.enter_context(parallel.ray_session(args.workers,
                                               args.ray_address))
    _run_sections(args, parser, experiment,
                  [section for section in SECTIONS if section in sections],
                  results)
  if args.json:
    runs.write_text(args.json, json.dumps(runs.json_ready(results), indent=1))
  _keep_ratios(run, results, len(experiment.eval_seeds))
  run.finish()
  return 0


def _keep_ratios(run: common.Run, results: dict[str, Any],
                 seeds: int) -> None:
  """The matrix's and the learned principals' ratios, for the history."""
  for check in results.get("matrix_checks", []):
    run.interval(f"{check['objective']} best / {check['other']} best",
                 *check["ratio"], seeds=seeds)
  for row in results.get("learning", []):
    for base, ratio in row["ratios"].items():
      run.interval(f"{row['objective']} {row['principal']} / {base}",
                   *ratio, seeds=seeds)


def _experiment(args: argparse.Namespace, parser: argparse.ArgumentParser,
                setting: Setting, objectives: Sequence[str],
                principals: Sequence[str], learning: Learning,
                levels: Sequence[float]) -> Experiment:
  """The checked options of the experiment."""
  try:
    game = game_lib.prepare(dataclasses.replace(setting.base(), phi0=(0.0,)),
                            agents.FACTORY)
    schedule = game.schedule
    grid = grid_search.schedule_grid(args.flat_step, levels,
                                     num_rates=schedule.num_brackets,
                                     max_rate=schedule.max_rate)
    for rates in [*grid, learning.phi0]:
      schedule.with_rates(rates * schedule.num_brackets if len(rates) == 1
                          else rates)
    parallel.check_options(args.workers, args.ray_address)
    out = pathlib.Path(args.out) if args.out else runs.default_folder(
        "principal_vs_fixed")
    runs.check_writable(out)
  except ValueError as error:
    parser.error(str(error))
  if min(args.train_seeds, args.eval_seeds, args.tune_seeds,
         args.train_games) < 1:
    parser.error("--train-seeds, --eval-seeds, --tune-seeds and "
                 "--train-games must be >= 1")
  try:
    curve_games = tuple(sorted({int(g) for g in _names(args.curve_games)}))
  except ValueError:
    parser.error(f"--curve-games takes comma-separated game counts; got "
                 f"{args.curve_games!r}")
  if any(not 1 <= g < args.train_games for g in curve_games):
    parser.error(f"--curve-games must lie in [1, --train-games); got "
                 f"{args.curve_games!r}")
  if args.dense_factor < 0 or args.dense_seeds < 1 or not (
      1 <= args.curve_seeds <= args.eval_seeds):
    parser.error("--dense-factor must be >= 0, --dense-seeds >= 1 and "
                 "--curve-seeds in [1, --eval-seeds]")
  return Experiment(
      setting=setting, objectives=tuple(objectives),
      principals=tuple(principals),
      tune_seeds=tuple(range(100, 100 + args.tune_seeds)),
      eval_seeds=tuple(range(1000, 1000 + args.eval_seeds)),
      train_seeds=tuple(range(args.train_seeds)),
      train_games=args.train_games, learning=learning, grid=tuple(grid),
      num_rates=schedule.num_brackets, out=out, bootstrap=args.bootstrap,
      dense_games=args.dense_factor * args.train_games,
      dense_seeds=tuple(range(100, 100 + args.dense_seeds)),
      curve_games=curve_games,
      curve_seeds=tuple(range(1000, 1000 + args.curve_seeds)),
      spread=args.spread)


def _export_script_folder() -> None:
  """Puts this script's folder on the PYTHONPATH that Ray workers inherit:
  its tasks are pickled by value, but import `common` by name."""
  here = os.path.dirname(os.path.abspath(__file__))
  os.environ["PYTHONPATH"] = os.pathsep.join(
      filter(None, [here, os.environ.get("PYTHONPATH")]))


def _run_sections(args: argparse.Namespace, parser: argparse.ArgumentParser,
                  experiment: Experiment, sections: Sequence[str],
                  results: dict[str, Any]) -> None:
  """Plays and prints the sections, in their order."""
  tracker = args.tracker or experiment.principals[0]
  if tracker not in principal_lib.LEARNING:
    parser.error(f"--tracker must be one of "
                 f"{','.join(principal_lib.LEARNING)}; got {tracker!r}")
  unknown = [r for r in args.rule.split(",") if r not in voting.RULES]
  if unknown:
    parser.error(f"--rule: unknown rules {unknown}; valid: "
                 f"{','.join(voting.RULES)}")
  if "mixed" in sections and len(experiment.objectives) < 2:
    parser.error("mixed needs two --objectives (the first, then the second)")
  experiment.out.mkdir(parents=True, exist_ok=True)
  cache = parallel.TaskCache(experiment.out / TASKS_FILE,
                             workers=args.workers,
                             ray_address=args.ray_address)
  setting = experiment.setting
  default = "the substrate's"
  print(f"\n{setting.substrate}, followers {setting.bots}, brackets "
        f"{setting.brackets or default}, max_rate "
        f"{setting.max_rate or default}; learners: phi0 = "
        f"{experiment.learning.phi0}, delta = {experiment.learning.delta}, "
        f"options {experiment.learning.options}; tasks cached in "
        f"{experiment.out}/{TASKS_FILE}")
  if "matrix" in sections:
    print_matrix(experiment, cache, results)
  if "learning" in sections:
    print_learning(experiment, cache, results)
  if "curves" in sections:
    plot_curves(experiment, cache, pathlib.Path(
        args.png or experiment.out / "sample_efficiency.png"),
                args.smoothing)
  if "mixed" in sections:
    delta = experiment.learning.delta if args.mixed_delta is None else (
        args.mixed_delta)
    print_mixed(experiment, cache, tracker, args.switch_round, delta,
                results)
  if "loop" in sections:
    print_loop(experiment, cache, tracker, args.rule.split(","), results)


if __name__ == "__main__":
  sys.exit(main())
