"""`umd grid`: fixed tax schedules scored on games, one Ray task per game.

  from umd_meltingpot.game import loop as game, grid_search
  config = grid_search.GridConfig(
      game=game.GameConfig(substrate="umd_apple_harvest__small"),
      rates=((0.0,), (0.7,)), levels=(0.0, 1.0), seeds=(100, 101),
      workers=2)
  table = grid_search.grid_search(config)
  print(table.format())

Every candidate schedule plays every seed: a whole game of the options in
`config.game`, under the `fixed` principal holding the schedule for the
whole game (delta inf). A fixed schedule ignores the vote, so one game per
(schedule, seed) scores every objective: a game's O is the mean over its
rounds of O(round returns) (`game_value`). The table gives, per schedule,
the mean over the seeds of each objective's O, the per-capita return, the
gross harvest per round and the apples alive at the end, and each
objective's best schedule.

Each game is one task (`parallel.run_tasks`): here, or as Ray tasks with
`workers` > 0 or a `ray_address`. A game's result depends only on its
schedule and seed (the game seed), and the table is computed from the
results in task order, so 0, 1 or 2 workers give the identical table.

Schedules are given (`rates`: each k rates, or one rate for a flat tax in
every bracket) or generated (`schedule_grid`: flat rates every `flat_step`
from 0 to the game's max_rate, and every k-bracket schedule of `levels`);
all of them are played, in that order, each once.

`run` also writes a run folder: `config.json`, `games.jsonl` (one line per
game, streamed as the games finish), `grid.json` (the table, with every
game in task order) and `table.txt`.
"""

import contextlib
import dataclasses
import itertools
import math
import pathlib
import sys
from typing import Any, Optional, Sequence

import numpy as np
import tqdm

from umd_meltingpot import agents
from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.plumbing import parallel
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.plumbing import runs
from umd_meltingpot.plumbing import stats
from umd_meltingpot.plumbing import validation
from umd_meltingpot.social_choice import welfare

Schedule = tuple[float, ...]

PER_GAME_FIELDS = ("phi0", "seed", "principal", "delta", "divergence",
                   "freeze_principal", "video", "out")
"""The `GameConfig` fields the grid sets for each game; left at their
defaults in `GridConfig.game` (they are not `umd grid` flags)."""

GAME_FIELDS_WITHOUT_FLAGS = (*PER_GAME_FIELDS, "objectives")
"""The `GameConfig` fields that are not `umd grid` flags: `PER_GAME_FIELDS`,
and the objectives on the ballot (the grid's fixed principal ignores the
vote; `umd grid --objectives` names those each game is scored by)."""

# The game's own columns besides the objectives, in table order.
COLUMNS = ("per_capita_return", "gross_per_round", "apples_alive_end")
_TITLES = {"per_capita_return": "per capita", "gross_per_round": "gross/round",
           "apples_alive_end": "apples end"}


def _distinct(item: validation.Check) -> validation.Check:
  """`tuple_of(item)` with no item twice (a repeat would be played or
  scored twice)."""
  check = validation.tuple_of(item)

  def normalise(value: Any) -> tuple[Any, ...]:
    items = check.normalise(value)
    if len(set(items)) != len(items):
      raise ValueError(value)
    return items

  return validation.Check(check.description + ", none twice", normalise)


@dataclasses.dataclass(frozen=True)
class GridConfig(validation.Validated):
  """The options of `umd grid`; each but `game` is a flag (the game's are
  `umd run`'s, less `PER_GAME_FIELDS`)."""
  game: game_lib.GameConfig = dataclasses.field(
      default_factory=game_lib.GameConfig)
  """The game every schedule plays (substrate, bots, brackets, max_rate,
  ...); its `PER_GAME_FIELDS` are set per game."""
  rates: Optional[tuple[tuple[float, ...], ...]] = validation.checked(
      None, validation.optional(validation.tuple_of(
          validation.tuple_of(validation.number(ge=0)))))
  """Schedules to play, separated by ';': each k rates in [0, max_rate], or
  one rate for a flat tax in every bracket, e.g. '0;0.5;0,0.5,1'."""
  flat_step: Optional[float] = validation.checked(
      None, validation.optional(validation.number(gt=0)))
  """Also play the flat schedules 0, STEP, 2 STEP, ... up to max_rate."""
  levels: Optional[tuple[float, ...]] = validation.checked(
      None, validation.optional(validation.tuple_of(validation.number(ge=0))))
  """Also play every k-bracket schedule whose rates are among these levels,
  e.g. 0,0.5,1 (3^k schedules)."""
  seeds: tuple[int, ...] = validation.checked(
      (0, 1, 2, 3), _distinct(validation.integer(ge=0)))
  """The game seeds every schedule plays, e.g. 100-103 or 1,5,9."""
  objectives: tuple[str, ...] = validation.checked(
      welfare.DEFAULT_OBJECTIVES,
      _distinct(validation.one_of(welfare.OBJECTIVES)))
  """The objectives O to score each game by (comma-separated)."""
  workers: int = validation.checked(0, validation.integer(ge=0))
  """0 plays the games in this process; N > 0 plays them as Ray tasks on a
  local Ray with N CPUs (or at most N at a time on --ray-address)."""
  ray_address: Optional[str] = None
  """Run on an existing Ray cluster (e.g. auto or ray://host:10001)."""
  out: Optional[str] = None
  """The run folder; default: a new runs/grid-<timestamp>."""

  def __post_init__(self) -> None:
    super().__post_init__()
    if not isinstance(self.game, game_lib.GameConfig):
      validation.fail("game", "a game.GameConfig", self.game)
    defaults = game_lib.GameConfig()
    for name in PER_GAME_FIELDS:
      if getattr(self.game, name) != getattr(defaults, name):
        validation.fail(
            f"game.{name}", f"left at its default "
            f"{getattr(defaults, name)!r}: the grid sets it for each game "
            "(rates, seeds, out)", getattr(self.game, name))
    if self.rates is None and self.flat_step is None and self.levels is None:
      raise ValueError("no schedules to play: give rates, flat_step or "
                       "levels (--rates, --flat-step, --levels)")


@dataclasses.dataclass(frozen=True)
class GameTask:
  """One game to play; everything a worker needs."""
  game: game_lib.GameConfig
  objectives: tuple[str, ...]

  @property
  def schedule(self) -> Schedule:
    return tuple(self.game.phi0)


@dataclasses.dataclass(frozen=True)
class GameResult:
  """One game's scores (what a worker sends back)."""
  schedule: Schedule
  seed: int
  values: dict[str, float]
  """Each objective's O: the mean over rounds of O(round returns)."""
  per_capita_return: float
  """The players' mean return over the whole game."""
  gross_per_round: float
  """Apples harvested per round, all players (before tax)."""
  apples_alive_end: float
  """Apples alive when the game ended."""


@dataclasses.dataclass(frozen=True)
class GridRow:
  """One schedule's means over the seeds (None: no finite value), with
  the 95% CI half-widths of O (Student's t; None with one seed)."""
  schedule: Schedule
  values: dict[str, Optional[float]]
  values_ci95: dict[str, Optional[float]]
  per_capita_return: Optional[float]
  gross_per_round: Optional[float]
  apples_alive_end: Optional[float]


@dataclasses.dataclass(frozen=True)
class GridTable:
  """The grid's result: a row per schedule, in the order played."""
  objectives: tuple[str, ...]
  seeds: tuple[int, ...]
  rows: tuple[GridRow, ...]
  best: dict[str, Schedule]
  """Per objective, the schedule of highest mean O (the first on a tie)."""
  games: tuple[GameResult, ...]
  """Every game, in task order (schedule, then seed)."""

  def to_json(self) -> dict[str, Any]:
    """A JSON-ready dict."""
    return runs.json_ready(dataclasses.asdict(self))

  def format(self) -> str:
    """The table for the terminal: means over the seeds, each objective's
    best schedule starred, then the best schedules."""
    return format_table(self)


@dataclasses.dataclass(frozen=True)
class PreparedGrid:
  """A validated grid search, ready to play."""
  config: GridConfig
  schedules: tuple[Schedule, ...]
  tasks: tuple[GameTask, ...]


@dataclasses.dataclass(frozen=True)
class GridRun:
  """What `run` produced."""
  out: pathlib.Path
  table: GridTable


def schedule_grid(flat_step: Optional[float], levels: Sequence[float] = (),
                  *, num_rates: int = 3, max_rate: float = 1.0
                  ) -> list[Schedule]:
  """Flat schedules every `flat_step`, then k-bracket ones from `levels`.

  Args:
    flat_step: the flat rates 0, step, 2 step, ... up to `max_rate`; None:
      none.
    levels: every schedule of `num_rates` rates among these.
    num_rates: k, the rates of a schedule.
    max_rate: the largest flat rate.

  Returns:
    The schedules, each once, flat ones first.
  """
  flats = [] if flat_step is None else [
      (t,) * num_rates
      for t in np.round(np.arange(0, max_rate + 1e-9, flat_step), 6)]
  brackets = itertools.product(levels, repeat=num_rates)
  grid = []
  for schedule in itertools.chain(flats, brackets):
    schedule = tuple(float(rate) for rate in schedule)
    if schedule not in grid:
      grid.append(schedule)
  return grid


def game_value(records: Sequence[Any], objective: str) -> float:
  """A game's O: the mean over its rounds of O(round returns), the value
  the principal is fed each round.

  Args:
    records: the game's `wrapper.RoundRecord`s.
    objective: a name of `welfare.OBJECTIVES`.
  """
  return float(np.mean([welfare.objective_value(objective,
                                                np.asarray(r.returns))
                        for r in records]))


def _schedules(config: GridConfig, base: game_lib.PreparedGame
               ) -> tuple[Schedule, ...]:
  """The schedules to play, each with the game's k rates, each once.

  Raises:
    ValueError: a schedule with the wrong number of rates, or a rate
      outside [0, max_rate].
  """
  substrate_config = base.substrate_config
  edges = tuple(substrate_config.bracket_edges)
  max_rate = float(substrate_config.max_rate)
  num_rates = len(edges) + 1
  given = [tuple(rates) * num_rates if len(rates) == 1 else tuple(rates)
           for rates in config.rates or ()]
  generated = schedule_grid(config.flat_step, config.levels or (),
                            num_rates=num_rates, max_rate=max_rate)
  schedules = []
  for rates in itertools.chain(given, generated):
    try:
      principal_lib.TaxSchedule(rates, edges, max_rate)
    except ValueError as error:
      raise ValueError(
          f"rates: schedule {','.join(f'{r:g}' for r in rates)} does not "
          f"fit the game (brackets {list(edges)}, max_rate {max_rate:g}): "
          f"{error}") from None
    if rates not in schedules:
      schedules.append(rates)
  return tuple(schedules)


def prepare(config: GridConfig) -> PreparedGrid:
  """Checks every option of `config`; plays nothing and writes nothing.

  Raises:
    ValueError: an invalid option, with the valid values in the message.
  """
  parallel.check_options(config.workers, config.ray_address)
  runs.check_new_folder(config.out)
  # The game, with a schedule that fits any brackets: checks the game's
  # options and gives k and max_rate.
  base = game_lib.prepare(dataclasses.replace(config.game, phi0=(0.0,)),
                          agents.FACTORY)
  schedules = _schedules(config, base)
  tasks = tuple(
      GameTask(game=dataclasses.replace(
          config.game, phi0=schedule, seed=seed, principal="fixed",
          delta=math.inf), objectives=config.objectives)
      for schedule in schedules for seed in config.seeds)
  return PreparedGrid(config=config, schedules=schedules, tasks=tasks)


def play_game(task: GameTask) -> GameResult:
  """Plays one game of the grid (in a worker) and scores it."""
  game = game_lib.prepare(task.game, agents.FACTORY)
  bots = game_lib.build_bots(game)
  with game_lib.build_environment(game) as env:
    game_lib.play_episode(env, bots)
    records = env.records
  return GameResult(
      schedule=task.schedule, seed=task.game.seed,
      values={objective: game_value(records, objective)
              for objective in task.objectives},
      per_capita_return=float(np.sum([np.mean(r.returns) for r in records])),
      gross_per_round=float(np.mean([np.sum(r.gross) for r in records])),
      apples_alive_end=float(records[-1].apples_alive))


def tabulate(prepared: PreparedGrid,
             games: Sequence[GameResult]) -> GridTable:
  """The table of `prepared`'s games (`games` in task order)."""
  objectives = prepared.config.objectives
  rows = []
  for schedule in prepared.schedules:
    mine = [game for game in games if game.schedule == schedule]
    summaries = {o: stats.mean_ci([g.values[o] for g in mine])
                 for o in objectives}
    rows.append(GridRow(
        schedule=schedule,
        values={o: summaries[o][0] for o in objectives},
        values_ci95={o: summaries[o][1] for o in objectives},
        **{column: stats.finite_mean(getattr(g, column) for g in mine)
           for column in COLUMNS}))
  best = {}
  for objective in objectives:
    ranked = [row for row in rows if row.values[objective] is not None]
    if ranked:  # max keeps the first of equal values.
      best[objective] = max(ranked,
                            key=lambda r, o=objective: r.values[o]).schedule
  return GridTable(objectives=objectives, seeds=prepared.config.seeds,
                   rows=tuple(rows), best=best, games=tuple(games))


def play(prepared: PreparedGrid,
         on_game: Optional[parallel.OnResult] = None) -> GridTable:
  """Plays every game of `prepared` (here or on Ray); writes nothing.

  Args:
    prepared: from `prepare`.
    on_game: called with each game's task position and result as it
      finishes.
  """
  config = prepared.config
  games = parallel.run_tasks(play_game, prepared.tasks, on_game,
                             workers=config.workers,
                             ray_address=config.ray_address)
  return tabulate(prepared, games)


def grid_search(config: GridConfig) -> GridTable:
  """Checks `config` and plays its grid; writes nothing.

  Raises:
    ValueError: an invalid option, with the valid values in the message.
  """
  return play(prepare(config))


def format_schedule(schedule: Sequence[float]) -> str:
  return ",".join(f"{rate:.2f}" for rate in schedule)


def format_seeds(seeds: Sequence[int]) -> str:
  """`seeds` as typed: 100-103 for a run of consecutive seeds."""
  if len(seeds) > 2 and list(seeds) == list(range(seeds[0],
                                                  seeds[-1] + 1)):
    return f"{seeds[0]}-{seeds[-1]}"
  return ",".join(map(str, seeds))


def _cell(value: Optional[float], starred: bool = False) -> str:
  text = "n/a" if value is None or math.isnan(value) else f"{value:.2f}"
  return text + ("*" if starred else " ")


def format_table(table: GridTable) -> str:
  """See `GridTable.format`."""
  width = max([len("schedule"), *(len(format_schedule(row.schedule))
                                  for row in table.rows)])
  titles = [*table.objectives, *(_TITLES[c] for c in COLUMNS)]
  cell = max(12, *(len(title) + 1 for title in titles))
  lines = [f"mean over {len(table.seeds)} seed(s) "
           f"({format_seeds(table.seeds)}); O = mean over the rounds of "
           "O(round returns); * the objective's best",
           f"{'schedule':<{width}}  " + " ".join(
               f"{title:>{cell}}" for title in titles)]
  for row in table.rows:
    cells = [_cell(row.values[o], table.best.get(o) == row.schedule)
             for o in table.objectives]
    cells += [_cell(getattr(row, column)) for column in COLUMNS]
    lines.append(f"{format_schedule(row.schedule):<{width}}  " + " ".join(
        f"{text:>{cell}}" for text in cells))
  lines.append("")
  for objective, schedule in table.best.items():
    row = next(r for r in table.rows if r.schedule == schedule)
    ci = row.values_ci95[objective]
    spread = f" ± {ci:.2f}" if ci is not None else ""
    lines.append(f"best for {objective}: {format_schedule(schedule)} "
                 f"(O {row.values[objective]:.2f}{spread})")
  return "\n".join(lines)


def _resolved_config(prepared: PreparedGrid) -> dict[str, Any]:
  return runs.json_ready({
      "options": dataclasses.asdict(prepared.config),
      "schedules": prepared.schedules,
      "games": len(prepared.tasks),
  })


def run(prepared: PreparedGrid, *, progress: bool = True) -> GridRun:
  """Plays `prepared`'s grid and writes its run folder.

  Raises:
    ValueError: the run folder exists and is not empty.
  """
  out = runs.new_folder(prepared.config.out, kind="grid")
  runs.write_json(out / "config.json", _resolved_config(prepared))
  with contextlib.ExitStack() as stack:
    log = stack.enter_context(runs.JsonLines(out / "games.jsonl",
                                             append=False))
    bar = stack.enter_context(tqdm.tqdm(
        total=len(prepared.tasks), unit="game", disable=not progress,
        file=sys.stderr, desc="grid"))

    def on_game(_: int, result: GameResult) -> None:
      log.write(runs.json_ready(dataclasses.asdict(result)))
      bar.update(1)

    table = play(prepared, on_game)
  runs.write_json(out / "grid.json", table.to_json())
  runs.write_text(out / "table.txt", table.format() + "\n")
  return GridRun(out=out, table=table)
