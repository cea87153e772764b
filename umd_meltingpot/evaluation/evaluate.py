"""`umd evaluate`: populations against scenarios, with Melting Pot's harness.

  from umd_meltingpot.evaluation import evaluate
  config = evaluate.EvaluateConfig(population="greedy",
                                   scenario="umd_apple_harvest__small")
  result = evaluate.run(evaluate.prepare(config))

Each episode is one task: the scenario is built with the episode's seed, the
focal population is a Melting Pot `Population` of one heuristic bot, and
Melting Pot's `run_and_observe_episodes` plays it. Tasks run in this process
or, with `workers` > 0 or a `ray_address`, as Ray tasks (`parallel.py`);
either way a task's result depends only on the task, so both give the same
rows.

An episode's seed depends on the base seed, the scenario and the episode
index, not on the population: populations evaluated together meet the same
episodes (common random numbers), so their returns are compared episode by
episode (`paired_differences`). The fixed baselines (`BASELINES`: random and
greedy bots) are always run beside the populations asked for, and scores are
normalised against them (`normalised_scores`), so a score means the same in
every run, whatever else ran with it. The run folder holds:

*   `config.json`: the options, the scenarios and the populations;
*   `episodes.jsonl` and `episodes.csv`: one row per episode: focal and
    background per-capita returns, the welfare metrics of the principal
    wrapper's round records (means over the rounds), vote and tax stats;
    rows are streamed to `episodes-in-progress.jsonl` while the run goes
    on (in finishing order), which is removed at the end;
*   `summary.csv` and `summary.txt`: per scenario and population, the mean
    and 95% confidence half-width (Student's t) of the main columns;
*   `scores.json`: the baseline-normalised scores with their CIs, the
    paired differences and the populations' short labels;
*   `evaluate.png`: per scenario, each population's mean focal return with
    its 95% CI, and the baselines';
*   `videos/<scenario>__<population>__<episode>.mp4` with `video`: H.264,
    with the HUD of `umd run --video` (round, phase, step, apples, pool,
    rates, vote, and each player's bot, colour and flows; `video.Hud`).

This module plays the episodes and collects their rows and scores; the
estimates are `stats`', the table and the files `report.py`'s, the plot
`plots.write_evaluation`'s and the videos `video.EpisodeVideo`'s.
"""

import collections
import contextlib
import dataclasses
import math
import os
import pathlib
import re
import sys
import tempfile
import zlib
from typing import Any, Iterable, Mapping, Optional, Sequence

from meltingpot.utils.evaluation import evaluation
from meltingpot.utils.scenarios import population as population_lib
import numpy as np
import tqdm

from umd_meltingpot import agents
from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.plumbing import parallel
from umd_meltingpot.plumbing import runs
from umd_meltingpot.evaluation import report
# The options live apart so that `umd evaluate --help` imports no Melting Pot.
from umd_meltingpot.evaluation.options import EvaluateConfig
from umd_meltingpot.evaluation import scenario as scenario_lib
from umd_meltingpot.plumbing import stats
from umd_meltingpot import substrate as substrate_lib
from umd_meltingpot.plumbing import trained_game
from umd_meltingpot.plumbing import validation
from umd_meltingpot.outputs import hud as hud_lib
from umd_meltingpot.outputs import video as video_lib
from umd_meltingpot.agents import bots as bots_lib
from umd_meltingpot.game import principal_wrapper as wrapper_lib

# The columns summarised per scenario and population, in table order.
SUMMARY_COLUMNS = (
    "focal_per_capita_return",
    "background_per_capita_return",
    "welfare/utilitarian",
    "welfare/equality",
    "welfare/perolat_S",
    "welfare/apples_alive_end",
    "vote/focal_won",
    "objective/value",
    "tax/mean_rate",
)
_IN_PROGRESS = "episodes-in-progress.jsonl"
PLOT = "evaluate.png"
# The fixed baselines, always run: a score is normalised between them.
RANDOM_BASELINE = "random"
GREEDY_BASELINE = "greedy"
BASELINES = (RANDOM_BASELINE, GREEDY_BASELINE)
SCORE_METHOD = (
    "Per scenario, score = (F - R) / (G - R), where F, R and G are the mean "
    "focal per-capita returns of the population, the random bot and the "
    "greedy bot on the same episode seeds (the baselines are run in every "
    "evaluation), so 0 is random play, 1 greedy play and a score compares "
    "across runs; its 95% CI is a paired bootstrap over the episodes "
    "(stats.ratio_of_means of F - R over G - R). A scenario where G <= R "
    "has no score (null). A population's score is the mean of its "
    "scenarios' scores.")
_BOOTSTRAP_SAMPLES = 2000
@dataclasses.dataclass(frozen=True)
class EpisodeTask:
  """One episode to play; everything a worker needs."""
  index: int
  scenario: str
  population: str
  episode: int
  seed: int
  video: bool = False


@dataclasses.dataclass(frozen=True)
class EpisodeResult:
  """What a worker sends back: the row, and the video's bytes if asked."""
  index: int
  row: dict[str, Any]
  video: Optional[bytes] = None


@dataclasses.dataclass(frozen=True)
class PreparedEvaluation:
  """A validated evaluation, ready to run.

  Attributes:
    config: the options.
    populations: the populations asked for, in order.
    scenarios: the scenarios.
    tasks: the episodes of the populations, then of the baselines not
      among them.
    baselines: BASELINES.
  """
  config: EvaluateConfig
  populations: tuple[str, ...]
  scenarios: tuple[str, ...]
  tasks: tuple[EpisodeTask, ...]
  baselines: tuple[str, ...] = BASELINES

  @property
  def evaluated(self) -> tuple[str, ...]:
    """Every population played: those asked for, then the baselines."""
    return self.populations + tuple(
        b for b in self.baselines if b not in self.populations)


@dataclasses.dataclass
class EvaluationResult:
  """What `run` produced."""
  out: pathlib.Path
  rows: list[dict[str, Any]]
  summary: list[dict[str, Any]]
  scores: dict[str, Any]
  table: str
  differences: list[dict[str, Any]] = dataclasses.field(
      default_factory=list)


def parse_populations(spec: str) -> tuple[str, ...]:
  """The population names in `spec` (comma-separated).

  A population is a bot name, "ppo" (the shipped PPO follower) or
  "ppo:PATH" (a checkpoint from `umd train`), which is loaded here to check
  it.

  Raises:
    ValueError: an unknown name or a bad checkpoint, with the valid names.
  """
  names = tuple(name.strip() for name in spec.split(",") if name.strip())
  unknown = [name for name in names if not agents.is_bot_name(name)]
  if not names or unknown:
    raise ValueError(
        f"Unknown population {unknown or spec!r}; valid: "
        f"{agents.bot_names()} (comma-separated to compare several)")
  if len(set(names)) != len(names):
    raise ValueError(f"A population is named twice in {spec!r}")
  for name in names:
    agents.check_bot(name)
  return names


def episode_seed(seed: int, scenario: str, episode: int) -> int:
  """The seed of episode `episode` of `scenario` under base seed `seed`."""
  sequence = np.random.SeedSequence([seed, zlib.crc32(scenario.encode()),
                                     episode])
  return int(sequence.generate_state(1)[0]) % 2**31


def _check_options(config: EvaluateConfig) -> None:
  validation.validate(config)
  parallel.check_options(config.workers, config.ray_address)


def _scenario_list(names: Sequence[str]) -> str:
  """`names`, with every scenario of a substrate shortened to substrate_*."""
  parts = []
  for substrate in sorted({scenario_lib.get_config(n).substrate
                           for n in names}):
    mine = sorted(n for n in names
                  if scenario_lib.get_config(n).substrate == substrate)
    everyone = scenario_lib.SCENARIOS_BY_SUBSTRATE[substrate]
    parts.append(f"{substrate}_*" if set(mine) == set(everyone) else
                 ",".join(mine))
  return ",".join(parts)


def check_fits(populations: Sequence[str], scenarios: Sequence[str], *,
               allow_mismatch: bool = False) -> None:
  """Refuses a PPO population on scenarios of a game it did not learn.

  Each population is checked against each scenario's game (its substrate
  and player count) and the observations the scenario shows focal players.

  Raises:
    ValueError: one line naming the population, the scenarios that differ
      from its game (with the differences) and how to allow them or which
      scenarios fit; without `allow_mismatch`, which warns instead.
  """
  for population in populations:
    mismatched: dict[str, list[str]] = {}  # Differences -> scenarios.
    source = population
    for name in scenarios:
      config = scenario_lib.get_config(name)
      substrate_config = substrate_lib.get_config(config.substrate)
      num_players = len(config.roles)
      try:
        agents.check_bot(
            population, num_rates=len(substrate_config.initial_rates),
            substrate_config=substrate_config, num_players=num_players,
            observations=scenario_lib.PERMITTED_OBSERVATIONS)
      except trained_game.Mismatch as mismatch:
        source = mismatch.source
        mismatched.setdefault("; ".join(mismatch.differences), []).append(
            name)
    if not mismatched:
      continue
    where = ", ".join(f"{_scenario_list(names)} ({detail})"
                      for detail, names in mismatched.items())
    bad = {name for names in mismatched.values() for name in names}
    fits = sorted({scenario_lib.get_config(name).substrate
                   for name in scenarios if name not in bad})
    if not allow_mismatch:
      other = f", or --scenario {' or '.join(fits)}" if fits else ""
      raise ValueError(
          f"population {population} ({source}) was trained on another game "
          f"than scenarios {where}; pass {trained_game.ALLOW_FLAG} to "
          f"evaluate it there anyway{other}")
    trained_game.warn(
        f"population {population} ({source}) was trained on another game "
        f"than scenarios {where}; evaluated anyway "
        f"({trained_game.ALLOW_FLAG})")


def prepare(config: EvaluateConfig) -> PreparedEvaluation:
  """Checks every option of `config`; builds nothing and writes nothing.

  Raises:
    ValueError: an invalid option, with the valid values in the message.
  """
  populations = parse_populations(config.population)
  scenarios = tuple(scenario_lib.scenarios_for(config.scenario))
  _check_options(config)
  check_fits(populations, scenarios, allow_mismatch=config.allow_mismatch)
  runs.check_new_folder(config.out)
  evaluated = populations + tuple(b for b in BASELINES
                                  if b not in populations)
  tasks = []
  for population in evaluated:
    for scenario in scenarios:
      for episode in range(config.episodes):
        tasks.append(EpisodeTask(
            index=len(tasks), scenario=scenario, population=population,
            episode=episode, seed=episode_seed(config.seed, scenario,
                                               episode),
            video=config.video))
  return PreparedEvaluation(config=config, populations=populations,
                            scenarios=scenarios, tasks=tuple(tasks))


# ---------------------------------------------------------------------------
# One episode (runs in a worker).
# ---------------------------------------------------------------------------


def _focal_population(task: EpisodeTask, config: scenario_lib.ScenarioConfig,
                      roles: Sequence[str]) -> population_lib.Population:
  """The population under test: one bot voting for the focal type.

  Melting Pot's population serves every focal slot with this one policy, so
  a PPO follower plays them all with its agent-id input at 0.
  """
  seed = int(np.random.SeedSequence([task.seed, 1]).generate_state(1)[0])
  bot = agents.make_bot(
      task.population, seed=seed,
      voter=bots_lib.Voter.truthful(scenario_lib.focal_types(config),
                                    config.mechanism.rule),
      num_objectives=len(scenario_lib.objectives_of(config)))
  return population_lib.Population(
      policies={task.population: bot},
      names_by_role={role: [task.population] for role in set(roles)},
      roles=roles)


def round_stats(records: Sequence[wrapper_lib.RoundRecord],
                objectives: Sequence[str],
                focal_objective: str) -> dict[str, Any]:
  """Episode columns from the principal wrapper's round records.

  Welfare metrics are means over the rounds; `vote/won.<objective>` is the
  share of rounds the objective won, `vote/share.<objective>` its mean vote
  share, `vote/focal_won` the share of rounds won by the focal players'
  favourite; `objective/value` is the mean value of the voted objective,
  `tax/mean_rate` the mean rate over brackets and rounds.
  """
  columns: dict[str, Any] = {"rounds": len(records)}
  metric_names = sorted({key for r in records for key in r.metrics})
  for key in metric_names:
    columns[f"welfare/{key}"] = stats.finite_mean(
        r.metrics.get(key) for r in records)
  columns["welfare/apples_alive_end"] = (
      float(records[-1].apples_alive) if records else None)
  for index, name in enumerate(objectives):
    columns[f"vote/won.{name}"] = stats.finite_mean(
        float(r.objective == name) for r in records)
    columns[f"vote/share.{name}"] = stats.finite_mean(
        r.vote_shares[index] for r in records)
  columns["vote/focal_won"] = stats.finite_mean(
      float(r.objective == focal_objective) for r in records)
  columns["objective/value"] = stats.finite_mean(
      r.objective_value for r in records)
  columns["tax/mean_rate"] = stats.finite_mean(
      float(np.mean(r.phi)) for r in records)
  columns["tax/mean_divergence"] = stats.finite_mean(
      r.divergence for r in records)
  columns["tax/collected"] = float(sum(sum(r.tax) for r in records))
  columns["tax/final_phi"] = list(records[-1].phi) if records else None
  return columns


def video_name(task: EpisodeTask) -> str:
  # A population can be a path (ppo:runs/x/checkpoint.npz): one file name.
  population = re.sub(r"[^A-Za-z0-9_.-]+", "_", task.population)
  return f"{task.scenario}__{population}__{task.episode}.mp4"


def player_names(config: scenario_lib.ScenarioConfig,
                 population: str) -> list[str]:
  """Each player slot's bot: the focal population or its background bot."""
  return [population if focal else "/".join(sorted(config.bots_by_role[role]))
          for role, focal in zip(config.roles, config.is_focal)]


class _EpisodeFilm:
  """Films a scenario's substrate with `umd run`'s HUD, as an mp4.

  Melting Pot's own `video_root` writes an overlay-free webm through
  OpenCV (which warns about the codec); this draws every substrate
  timestep, the focal and background players alike, with `game.hud`.
  """

  def __init__(self, env: scenario_lib.Scenario,
               wrapper: wrapper_lib.PrincipalWrapper,
               config: scenario_lib.ScenarioConfig, population: str,
               path: pathlib.Path) -> None:
    substrate_config = substrate_lib.get_config(config.substrate)
    names = player_names(config, population)
    self._wrapper = wrapper
    self._hud = dict(
        rounds=substrate_config.rounds,
        objectives=tuple(substrate_config.objectives),
        rule=config.mechanism.rule,
        steps=game_lib.config_steps(substrate_config),
        names=names, colours=video_lib.player_colours(len(names)))
    self._counter = game_lib.StepCounter()
    self._video = video_lib.EpisodeVideo(path)
    self._error: Optional[BaseException] = None
    self._subscription = env.observables().substrate.timestep.subscribe(
        self._on_timestep)

  def _on_timestep(self, timestep) -> None:
    if self._error is not None:
      return
    try:
      self._counter.observe(timestep)
      world = timestep.observation[0]
      self._video.add_frame(world["WORLD.RGB"], hud_lib.hud(
          self._wrapper, world, step=self._counter.step, **self._hud))
    except Exception as error:  # pylint: disable=broad-except
      # Raised again by `finish`: an observer's error would be lost.
      self._error = error

  def finish(self) -> bytes:
    """Stops filming; returns the mp4's bytes."""
    self._subscription.dispose()
    if self._error is not None:
      self._video.discard()
      raise self._error
    return self._video.close().read_bytes()

  def discard(self) -> None:
    """Stops filming and leaves no video (the episode failed)."""
    self._subscription.dispose()
    self._video.discard()


def run_episode(task: EpisodeTask) -> EpisodeResult:
  """Plays one episode of `task` with Melting Pot's evaluation harness."""
  config = scenario_lib.get_config(task.scenario)
  records = []
  wrappers = []  # The scenario's principal wrapper, for the video HUD.
  factory = scenario_lib.get_factory_from_config(
      config, seed=task.seed, on_round_end=records.append,
      on_build=wrappers.append)
  video = None
  with contextlib.ExitStack() as stack:
    population = _focal_population(task, config,
                                   factory.focal_player_roles())
    stack.callback(population.close)
    env = stack.enter_context(factory.build())
    film = None
    if task.video:
      folder = pathlib.Path(stack.enter_context(tempfile.TemporaryDirectory()))
      film = _EpisodeFilm(env, wrappers[-1], config, task.population,
                          folder / "episode.mp4")
    try:
      frame = evaluation.run_and_observe_episodes(population, env,
                                                  num_episodes=1)
    except BaseException:
      if film is not None:
        film.discard()
      raise
    if film is not None:
      video = film.finish()
  episode = frame.iloc[0]
  objectives = scenario_lib.objectives_of(config)
  row = {
      "scenario": task.scenario,
      "substrate": config.substrate,
      "population": task.population,
      "episode": task.episode,
      "seed": task.seed,
      "focal_per_capita_return": float(episode["focal_per_capita_return"]),
      "background_per_capita_return": float(
          episode["background_per_capita_return"]),
      "focal_player_returns": [
          float(r) for r in episode["focal_player_returns"]],
      "background_player_returns": [
          float(r) for r in episode["background_player_returns"]],
      **round_stats(records, objectives,
                    config.mechanism.focal_favourite),
  }
  if task.video:
    row["video"] = f"videos/{video_name(task)}"
  return EpisodeResult(index=task.index, row=row, video=video)


# ---------------------------------------------------------------------------
# Summaries and scores.
# ---------------------------------------------------------------------------


def summarise(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
  """One row per (scenario, population), sorted, with its `episodes` and
  each of `SUMMARY_COLUMNS`' `<column>/mean` and `/ci95` (Student's t)."""
  return stats.grouped_mean_ci(rows, ("scenario", "population"),
                               SUMMARY_COLUMNS, count="episodes")


def _returns(rows: Iterable[Mapping[str, Any]]
             ) -> dict[tuple[str, str], dict[int, float]]:
  """Focal per-capita returns by (scenario, population), then by seed."""
  returns: dict[tuple[str, str], dict[int, float]] = (
      collections.defaultdict(dict))
  for row in rows:
    value = row.get("focal_per_capita_return")
    if value is not None and math.isfinite(value):
      returns[(row["scenario"], row["population"])][row["seed"]] = value
  return returns


def normalised_scores(rows: Sequence[Mapping[str, Any]],
                      populations: Sequence[str], *,
                      seed: int = 0) -> dict[str, Any]:
  """Each population's focal return normalised against the baselines.

  See `SCORE_METHOD`. Episodes are paired by scenario and seed; a seed
  missing for the population or a baseline is left out of that scenario.

  Args:
    rows: the episode rows, with the baselines' (BASELINES).
    populations: the populations to score.
    seed: fixes the bootstrap resampling.

  Returns:
    {"method", "baselines", "populations": {name: {"score",
    "per_scenario": {scenario: {"score", "ci95": [low, high] or None,
    "episodes"}}}}}.
  """
  returns = _returns(rows)
  scenarios = sorted({scenario for scenario, _ in returns})
  scores = {}
  for population in populations:
    per_scenario = {}
    for scenario in scenarios:
      focal = returns.get((scenario, population), {})
      low_runs = returns.get((scenario, RANDOM_BASELINE), {})
      high_runs = returns.get((scenario, GREEDY_BASELINE), {})
      seeds = sorted(set(focal) & set(low_runs) & set(high_runs))
      if not seeds:
        continue
      value, low, high = stats.normalised_score(
          *([runs_[s] for s in seeds]
            for runs_ in (focal, low_runs, high_runs)),
          rng=stats.named_rng(seed, "score", scenario, population),
          samples=_BOOTSTRAP_SAMPLES)
      per_scenario[scenario] = {
          "score": None if math.isnan(value) else value,
          "ci95": stats.interval(low, high), "episodes": len(seeds)}
    scores[population] = {
        "score": stats.finite_mean(
            entry["score"] for entry in per_scenario.values()),
        "per_scenario": per_scenario,
    }
  return {"method": SCORE_METHOD, "baselines": list(BASELINES),
          "populations": scores}


def comparison_pairs(populations: Sequence[str]
                     ) -> list[tuple[str, str]]:
  """The pairs `paired_differences` compares: each pair of the populations
  asked for, in order, then each of them against each baseline (each pair
  once)."""
  pairs = [(a, b) for i, a in enumerate(populations)
           for b in populations[i + 1:]]
  for a in populations:
    pairs += [(a, b) for b in BASELINES
              if b != a and (a, b) not in pairs and (b, a) not in pairs]
  return pairs


def paired_differences(rows: Sequence[Mapping[str, Any]],
                       pairs: Sequence[tuple[str, str]], *,
                       seed: int = 0) -> list[dict[str, Any]]:
  """Mean differences of focal return between populations, episode-paired.

  For a pair (A, B), each episode seed of a scenario that both played gives
  one difference A - B (they met the same episode: same map, bots, types
  and principal seeds). Per scenario and over all scenarios ("all": each
  scenario's episode a pair), the mean difference has a 95% bootstrap CI
  (`stats.bootstrap_mean`, each pair resampled whole).

  Returns:
    One entry per pair and scenario: {"a", "b", "scenario", "episodes",
    "mean", "ci95": [low, high]}; pairs without a common episode are left
    out.
  """
  returns = _returns(rows)
  scenarios = sorted({scenario for scenario, _ in returns})
  entries = []
  for a, b in pairs:
    pooled = []
    for scenario in scenarios + ["all"]:
      if scenario == "all":
        differences = pooled
      else:
        first = returns.get((scenario, a), {})
        second = returns.get((scenario, b), {})
        differences = [first[s] - second[s]
                       for s in sorted(set(first) & set(second))]
        pooled = pooled + differences
      if not differences:
        continue
      mean, low, high = stats.bootstrap_mean(
          differences, rng=stats.named_rng(seed, "diff", a, b, scenario),
          samples=_BOOTSTRAP_SAMPLES)
      entries.append({"a": a, "b": b, "scenario": scenario,
                      "episodes": len(differences), "mean": mean,
                      "ci95": [low, high]})
  return entries


def _resolved_config(prepared: PreparedEvaluation) -> dict[str, Any]:
  return {
      "options": dataclasses.asdict(prepared.config),
      "populations": list(prepared.populations),
      "baselines": list(prepared.baselines),
      "scenarios": {
          name: scenario_lib.get_config(name).description
          for name in prepared.scenarios},
      "episodes": len(prepared.tasks),
  }


def run(prepared: PreparedEvaluation, *, progress: bool = True
        ) -> EvaluationResult:
  """Plays every episode of `prepared` and writes the run folder.

  Raises:
    ValueError: the run folder exists and is not empty.
  """
  config = prepared.config
  out = runs.new_folder(config.out, kind="eval")
  runs.write_json(out / "config.json", _resolved_config(prepared))
  if config.video:
    (out / "videos").mkdir()
  with contextlib.ExitStack() as stack:
    stream = stack.enter_context(
        runs.JsonLines(out / _IN_PROGRESS, append=False))
    bar = stack.enter_context(tqdm.tqdm(
        total=len(prepared.tasks), unit="episode", disable=not progress,
        file=sys.stderr, desc="evaluate"))

    def on_result(index: int, result: EpisodeResult) -> None:
      if result.video is not None:
        runs.write_bytes(out / "videos" / video_name(prepared.tasks[index]),
                         result.video)
      stream.write(runs.json_ready(result.row))
      bar.update(1)

    results = parallel.run_tasks(run_episode, prepared.tasks, on_result,
                                 workers=config.workers,
                                 ray_address=config.ray_address)
  ordered = [result.row for result in results]
  summary = summarise(ordered)
  scores = normalised_scores(ordered, prepared.populations, seed=config.seed)
  differences = paired_differences(
      ordered, comparison_pairs(prepared.populations), seed=config.seed)
  names = report.labels(prepared.evaluated)
  scores["paired_differences"] = differences
  scores["labels"] = names
  table = report.format_table(summary, scores, differences,
                              prepared.evaluated)
  report.write_results(out, rows=ordered, summary=summary, table=table,
                       scores=scores)
  os.remove(out / _IN_PROGRESS)  # episodes.jsonl holds every row now.
  # matplotlib only here: Ray workers import this module too.
  from umd_meltingpot.outputs import plots  # pylint: disable=g-import-not-at-top
  plots.write_evaluation(summary, prepared.evaluated, out / PLOT,
                         labels=names, baselines=prepared.baselines)
  return EvaluationResult(out=out, rows=ordered, summary=summary,
                          scores=scores, table=table,
                          differences=differences)
