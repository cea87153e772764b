"""`umd train principal`: a learning principal over many games.

  from umd_meltingpot.training import principal as principal_train
  prepared = principal_train.prepare(principal_train.PrincipalTrainConfig(
      principal="bandit", games=50, out="runs/bandit"))
  principal_train.train(prepared)

  principal_train.train(principal_train.prepare_resume("runs/bandit"))

One principal object (a learning one: bandit, thompson, cma, rl,
ucb_constant or epsilon_greedy) plays `games` whole games of `umd run` in a
row, learning across rounds and games, against the followers `bots` (as in
`umd run`): fixed, or, with `adapt_followers` U > 0, one PPO follower
fine-tuned for U PPO updates after every game under the principal's current
state (`adaptive_followers`; its checkpoints in `followers/`). Game g (from 0)
is `umd run` with the training options and the seed
`game_seed(seed, g)`; the principal is seeded with `seed`, so a seed gives
the same games and the same principal. A run folder holds

*   `config.json`: the training options (`"mode": "principal"`);
*   `metrics.jsonl`: one JSON line per game, flushed as written: the
    counters, the game's seed, the mean objective value, the final and
    mean rates, the largest D(φ_prev, φ), the objectives voted and the
    round-mean welfare metrics;
*   `principal.npz` (+ `principal.json`): the principal's checkpoint
    (`principal.checkpoint`), replaced atomically every `checkpoint_every`
    games and at the end.

`--resume` reloads the checkpoint (and the adapted followers saved with
it), cuts `metrics.jsonl` back to its games and plays the following games
(a new `--games` may extend the run). The bandits and CMA-ES resume exactly;
the RL principal drops the steps it had not learnt from yet (fewer than its
`update_every`).

With `workers` > 0 or a `ray_address`, a principal that plans its games in
batches (`principal.BATCHED`: bo, bo_dynamic) plays each batch's games as
Ray tasks (`parallel.run_tasks`, one Ray session for the run), then learns
from them in game order; the games, their seeds and what the principal is
told are those of the sequential run, so a seed gives the same principal
for any number of workers. Checkpoints then fall at the end of a batch.
"""

import contextlib
import dataclasses
import pathlib
import sys
import time
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from umd_meltingpot import agents
from umd_meltingpot.training import adaptive_followers
from umd_meltingpot.game import loop as game_lib
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.plumbing import parallel
from umd_meltingpot.plumbing import runs
from umd_meltingpot.plumbing import stats
from umd_meltingpot.plumbing import trained_game
from umd_meltingpot.training import common as training
from umd_meltingpot.plumbing import validation
from umd_meltingpot.principal import checkpoint as checkpoint_lib
if TYPE_CHECKING:  # It imports Melting Pot, which `--help` must not wait for.
  from umd_meltingpot.game import principal_wrapper as wrapper_lib

LEARNING: tuple[str, ...] = principal_lib.LEARNING
"""The principals this job trains: the learning ones."""
PRINCIPAL = "principal.npz"


@dataclasses.dataclass(frozen=True)
class PrincipalTrainConfig(training.RunOptions):
  """The options of a principal training run; each is a `umd train
  principal` flag."""
  principal: str = validation.checked("bandit", validation.one_of(LEARNING))
  """The learning principal to train."""
  games: int = validation.checked(100, validation.integer(ge=1))
  """Train the principal for this many whole games."""
  bots: str = "random,greedy"
  """The fixed followers, as in umd run (best_response: followers that
  best-respond to phi)."""
  allow_mismatch: bool = False
  """Let a follower checkpoint (--bots ppo:PATH) play a game other than the
  one it was trained on, with a warning; without it that is refused."""
  adapt_followers: int = validation.checked(0, validation.integer(ge=0))
  """After each game, fine-tune the PPO followers (--bots: one PPO
  follower, e.g. ppo_conditioned) for this many PPO updates in games under
  the principal's current state, as Large Legislative Models' agents adapt
  to each schedule; 0: fixed followers. One update learns from one unroll
  (the checkpoint's unroll_length steps, 128 for the shipped followers) of
  each game, so a 525-step game needs 5 to be seen whole: with 1 the
  followers only ever learn from its first round. Their checkpoints go to
  followers/ in the run folder."""
  adapt_envs: int = validation.checked(1, validation.integer(ge=1))
  """Games stepped together in each PPO update of --adapt-followers."""
  workers: int = validation.checked(0, validation.integer(ge=0))
  """Play the games of one principal update (a batch of bo's candidates)
  as Ray tasks on a local Ray with this many CPUs; 0 (and no
  --ray-address): one after the other in this process. Only for the
  principals that plan games in batches (bo, bo_dynamic); the result does
  not depend on it."""
  ray_address: Optional[str] = validation.checked(None, parallel.RAY_ADDRESS)
  """Play those games on the Ray cluster at this address (at most --workers
  at once if > 0)."""
  principal_options: dict[str, Any] = dataclasses.field(default_factory=dict)
  """The principal's options, its config's fields (`umd train principal
  --help` lists them as flags); unset ones keep the config's defaults."""

  def __post_init__(self) -> None:
    """See base class; also the principal's options, named as flags.

    Raises:
      ValueError: an option the principal does not take, or a bad value.
    """
    super().__post_init__()
    spec = principal_lib.PRINCIPALS[self.principal]
    valid = spec.option_names()
    for option in self.principal_options:
      if option not in valid:
        raise ValueError(
            f"{validation.flag(option)}: principal {self.principal!r} does "
            "not take it; its options: "
            f"{', '.join(map(validation.flag, valid)) or 'none'}")
    try:
      spec.config_class(**self.principal_options, **spec.fixed)
    except ValueError as error:  # "<field> must be ...": name its flag.
      named = validation.with_flag(
          str(error), {option: option for option in self.principal_options})
      if named == str(error):
        raise
      raise ValueError(named) from None


@dataclasses.dataclass(kw_only=True)
class PreparedPrincipalTraining(training.PreparedRun):
  """A validated principal training run, ready to start or resume."""
  config: PrincipalTrainConfig
  schedule: principal_lib.TaxSchedule
  game: trained_game.Game
  """The game it learns on, recorded in its checkpoint."""
  game_objectives: tuple[str, ...] = ()
  """The objectives on the game's ballot (a batch is asked for each)."""


@dataclasses.dataclass
class PrincipalTrainResult:
  """What `train` produced."""
  out: pathlib.Path
  games: int
  env_steps: int
  last_value: Optional[float]

  def summary(self) -> str:
    """One line for the terminal."""
    last = "none" if self.last_value is None else f"{self.last_value:.2f}"
    return (f"{self.games} games, {self.env_steps} env steps; last mean "
            f"objective value {last}; outputs in {self.out}/")


def game_seed(seed: int, game: int) -> int:
  """The seed of training game `game` (from 0) of a run seeded `seed`."""
  state = np.random.SeedSequence([seed, game]).generate_state(1)
  return int(state[0] >> 1)


def game_config(config: PrincipalTrainConfig, game: int,
                bots: Optional[str] = None) -> game_lib.GameConfig:
  """The `umd run` options of training game `game`.

  Args:
    config: the run's options.
    game: the game's index, from 0.
    bots: the followers, if not `config.bots` (adapted ones).
  """
  return config.game_config(game_seed(config.seed, game),
                            bots=config.bots if bots is None else bots,
                            allow_mismatch=config.allow_mismatch)


def prepare(config: PrincipalTrainConfig) -> PreparedPrincipalTraining:
  """Checks every option; builds nothing and writes nothing.

  Raises:
    ValueError: an invalid option, with the valid values in the message.
  """
  game = game_lib.prepare(game_config(config, 0), agents.FACTORY)
  if config.adapt_followers:
    adaptive_followers.check(
        adaptive_followers.source_checkpoint(config.bots), config.adapt_envs)
  _check_parallel(config)
  runs.check_new_folder(config.out)
  return PreparedPrincipalTraining(
      config=config, schedule=game.schedule,
      game=trained_game.of_config(game.substrate_config, game.num_players),
      game_objectives=tuple(game.substrate_config.objectives),
      substrate_config=game_lib.substrate_summary(game),
      out=pathlib.Path(config.out) if config.out else None)


def prepare_resume(run: str, games: Optional[int] = None
                   ) -> PreparedPrincipalTraining:
  """Prepares to continue the principal run in folder `run`.

  Args:
    run: a folder written by `train`.
    games: a new total number of games, to train longer than first asked.

  Raises:
    ValueError: no such run, a followers run, or a missing or corrupt
      config or checkpoint.
  """
  folder, _, config = training.resume_options(
      run, PrincipalTrainConfig, training.PRINCIPAL, "games", games)
  prepared = prepare(config)
  _load(folder, prepared)  # Raises if missing, corrupt or mismatched.
  return training.mark_resumed(prepared, folder)


def in_parallel(config: PrincipalTrainConfig) -> bool:
  """Whether the run plays its batches' games as Ray tasks."""
  return parallel.uses_ray(config.workers, config.ray_address)


def _check_parallel(config: PrincipalTrainConfig) -> None:
  """Refuses --workers / --ray-address for a principal that plays one game
  at a time, or with adapting followers (they change after every game).

  Raises:
    ValueError: one line naming the problem and the valid principals.
  """
  if not in_parallel(config):
    return
  option = ("--ray-address" if config.ray_address
            else f"--workers {config.workers}")
  if config.principal not in principal_lib.BATCHED:
    raise ValueError(
        f"{option}: principal {config.principal!r} learns after every game, "
        "so its games cannot run in parallel; the principals whose games "
        f"can: {', '.join(principal_lib.BATCHED)}")
  if config.adapt_followers:
    raise ValueError(f"{option}: --adapt-followers changes the followers "
                     "after every game, so the games cannot run in parallel; "
                     "drop one of them")
  parallel.check_options(config.workers, config.ray_address)


def _load(folder: pathlib.Path, prepared: PreparedPrincipalTraining
          ) -> checkpoint_lib.LoadedPrincipal:
  config = prepared.config
  loaded = checkpoint_lib.load(
      folder / PRINCIPAL, num_brackets=prepared.schedule.num_brackets,
      delta=config.delta, divergence=config.divergence)
  if loaded.name != config.principal:
    raise ValueError(f"{folder / PRINCIPAL} holds principal {loaded.name!r};"
                     f" the run trains {config.principal!r}")
  return loaded


def _run_config(prepared: PreparedPrincipalTraining) -> dict[str, Any]:
  """The run's config.json."""
  return {"mode": training.PRINCIPAL,
          "train": dataclasses.asdict(prepared.config),
          "num_brackets": prepared.schedule.num_brackets,
          "substrate_config": prepared.substrate_config}


def game_metrics(records: list["wrapper_lib.RoundRecord"]
                 ) -> dict[str, Any]:
  """The metrics.jsonl entries of one game's round records."""
  objectives: dict[str, int] = {}
  for record in records:
    objectives[record.objective] = objectives.get(record.objective, 0) + 1
  return {
      "objective_value": stats.finite_mean([r.objective_value for r in records]),
      "objectives": objectives,
      "phi": list(records[-1].phi) if records else None,
      "phi_mean": np.mean([r.phi for r in records], axis=0).tolist()
                  if records else None,
      "divergence_max": max((r.divergence for r in records), default=None),
      **{f"metrics/{name}": stats.finite_mean([r.metrics[name] for r in records])
         for name in (records[0].metrics if records else {})},
  }


def _play(config: PrincipalTrainConfig, game_index: int,
          principal: principal_lib.Principal, bots: Optional[str] = None
          ) -> tuple[int, list["wrapper_lib.RoundRecord"]]:
  """Plays training game `game_index` with `principal` (and `bots`, if not
  the config's)."""
  game = game_lib.prepare(game_config(config, game_index, bots), agents.FACTORY)
  bots = game_lib.build_bots(game)
  with game_lib.build_environment(game, principal=principal) as env:
    steps = game_lib.play_episode(env, bots)
    return steps, list(env.records)


@dataclasses.dataclass(frozen=True)
class PlannedGame:
  """One game of a batch, a Ray task: training game `game` played with a
  principal's plan for it."""
  config: PrincipalTrainConfig
  game: int
  plan: principal_lib.Principal


def play_planned(task: PlannedGame) -> dict[str, Any]:
  """Plays one `PlannedGame`: its steps, the rounds' (objective, value)
  and its metrics.jsonl entries."""
  steps, records = _play(task.config, task.game, task.plan)
  return {"steps": steps,
          "rounds": [(r.objective, float(r.objective_value))
                     for r in records],
          "metrics": game_metrics(records)}


def _followers(prepared: PreparedPrincipalTraining, out: pathlib.Path,
               games: int) -> Optional[adaptive_followers.AdaptiveFollowers]:
  """The adapting followers of a run with --adapt-followers (restored to
  game `games` on resume, else saved as game 0); None without."""
  config = prepared.config
  if not config.adapt_followers:
    return None
  followers = adaptive_followers.AdaptiveFollowers(
      adaptive_followers.source_checkpoint(config.bots),
      updates=config.adapt_followers, envs=config.adapt_envs,
      seed=config.seed, folder=out / adaptive_followers.FOLDER)
  if prepared.resume:
    followers.restore(games)
  else:
    followers.save(games)
  return followers


def _adapt(followers: adaptive_followers.AdaptiveFollowers,
           prepared: PreparedPrincipalTraining,
           principal: principal_lib.Principal, games: int) -> dict[str, Any]:
  """Fine-tunes the followers under a snapshot of the principal's state
  after `games` games; returns their metrics."""
  config = prepared.config
  snapshot = followers.folder / adaptive_followers.PRINCIPAL
  checkpoint_lib.save(snapshot, config.principal, principal,
                      prepared.schedule, counters={"games": games},
                      game=prepared.game)
  # Their own bots are not played (the followers are), but are checked.
  adaptation = dataclasses.replace(
      game_config(config, games, bots="random"), principal=str(snapshot))
  return followers.adapt([adaptation] * config.adapt_envs)


def _ray(config: PrincipalTrainConfig) -> Any:
  """One Ray session for the run's batches (none if it plays in-process)."""
  if not in_parallel(config):
    return contextlib.nullcontext()
  return parallel.ray_session(config.workers, config.ray_address)


def _next_games(prepared: PreparedPrincipalTraining,
                principal: principal_lib.Principal, first: int,
                followers: Optional[adaptive_followers.AdaptiveFollowers]
                ) -> list[tuple[int, dict[str, Any]]]:
  """Plays the next game (or, in parallel, the rest of the principal's
  batch) from game `first`; each game's steps and metrics, in order."""
  config = prepared.config
  if not in_parallel(config):
    steps, records = _play(config, first, principal,
                           followers and followers.bots)
    return [(steps, game_metrics(records))]
  plans = principal.plan_batch(
      prepared.game_objectives, prepared.schedule.as_array(),
      prepared.schedule.max_rate, config.games - first)
  tasks = [PlannedGame(config, first + i, plan)
           for i, plan in enumerate(plans)]
  results = parallel.run_tasks(play_planned, tasks, workers=config.workers,
                               ray_address=config.ray_address)
  principal.tell_batch(plans, [result["rounds"] for result in results])
  return [(result["steps"], result["metrics"]) for result in results]


def train(prepared: PreparedPrincipalTraining, *, progress: bool = True
          ) -> PrincipalTrainResult:
  """Trains (or resumes) the principal until `games` games are played.

  Raises:
    ValueError: the run folder exists and is not empty (new runs), or the
      checkpoint does not fit the config (resumed runs).
  """
  import tqdm  # pylint: disable=g-import-not-at-top
  config = prepared.config
  counters = {"games": 0, "env_steps": 0}
  if prepared.resume:
    out = prepared.out
    loaded = _load(out, prepared)
    principal = loaded.principal
    counters.update(loaded.counters)
    training.trim_metrics(out / training.METRICS, counters["games"],
                          key="games")
  else:
    out = training.new_folder(prepared, "principal", _run_config)
    principal = principal_lib.make_principal(
        config.principal, schedule=prepared.schedule, delta=config.delta,
        divergence=config.divergence, seed=config.seed,
        **config.principal_options)

  followers = _followers(prepared, out, counters["games"])

  def save() -> None:
    if followers is not None:  # First: the principal names the game count.
      followers.save(counters["games"])
    checkpoint_lib.save(out / PRINCIPAL, config.principal, principal,
                        prepared.schedule, counters=counters,
                        game=prepared.game)
    if followers is not None:  # Last: until now the old count was named.
      followers.prune(counters["games"])

  last_value, start = None, time.perf_counter()
  saved_at = counters["games"]
  with _ray(config), runs.JsonLines(out / training.METRICS) as metrics, \
      tqdm.tqdm(total=config.games, initial=counters["games"], unit="game",
                disable=not progress, file=sys.stderr,
                desc=f"train {config.principal}") as bar:
    while counters["games"] < config.games:
      first = counters["games"]
      for steps, metrics_of_game in _next_games(prepared, principal,
                                                first, followers):
        record = {"seed": game_seed(config.seed, counters["games"]),
                  **metrics_of_game}
        counters["games"] += 1
        counters["env_steps"] += steps
        if followers is not None:
          record.update(_adapt(followers, prepared, principal,
                               counters["games"]))
        record.update(counters, time_s=time.perf_counter() - start)
        metrics.write(record)
        last_value = record["objective_value"]
        if last_value is not None:
          bar.set_postfix(O=f"{last_value:.2f}")
        bar.update(1)
      # A batch may pass a multiple of checkpoint_every: save after it.
      if counters["games"] // config.checkpoint_every > \
          first // config.checkpoint_every:
        save()
        saved_at = counters["games"]
    if saved_at != counters["games"] or not (out / PRINCIPAL).exists():
      save()
  return PrincipalTrainResult(out=out, games=counters["games"],
                              env_steps=counters["env_steps"],
                              last_value=last_value)
