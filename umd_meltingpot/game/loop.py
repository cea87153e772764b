"""The game loop behind `umd run`: vote, principal, play; tau rounds.

  from umd_meltingpot import agents
  from umd_meltingpot.game import loop as game
  config = game.GameConfig(substrate="umd_apple_harvest__small")
  result = game.run(game.prepare(config, agents.FACTORY))

`prepare` checks every option and builds nothing on disk, so bad input fails
before a run folder exists. `run` then plays one whole game (one episode of
the substrate) with heuristic bots as the followers, writing into the run
folder as it goes:

*   `config.json`: the options and the resolved substrate config;
*   `rounds.jsonl`: one `RoundRecord` per line, appended and flushed as each
    round ends, so an interrupted run keeps its finished rounds;
*   `steps.jsonl`: one `step_record` per step (apples alive, the tax pool,
    each player's gross, tax and transfer so far in the round), flushed as
    it goes;
*   `summary.png` at the end, and `episode.mp4` with `video=True`.
"""

# Annotations stay strings: the substrate and the wrapper load on first use.
from __future__ import annotations

import contextlib
import copy
import dataclasses
import pathlib
import sys
from typing import Any, Callable, Optional, Protocol, Sequence

import dm_env
import numpy as np
import tqdm

from umd_meltingpot.social_choice import preferences as preferences_lib
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.outputs import hud as hud_lib
from umd_meltingpot.plumbing import lazy
from umd_meltingpot.plumbing import runs
from umd_meltingpot.plumbing import validation
from umd_meltingpot.substrates import phases

# Melting Pot (and TensorFlow) load when a game is prepared, not when the
# options are read (`umd run --help`).
substrate_lib = lazy.module("umd_meltingpot.substrate")
wrapper_lib = lazy.module("umd_meltingpot.game.principal_wrapper")


@dataclasses.dataclass(frozen=True)
class MechanismOptions:
  """The substrate and mechanism options shared by `umd run` and `umd train`.

  Options left None take the substrate config's value, so every default of
  the mechanism lives in one place (`substrates/umd_apple_harvest.py`).
  """
  substrate: str = "umd_apple_harvest__open"
  """The substrate: a name from `umd list`."""
  players: Optional[int] = None
  """The number of players n, 2 to 16; default: the substrate's."""
  rounds: Optional[int] = None
  """tau, the number of rounds."""
  steps: Optional[int] = None
  """T, the HARVEST steps of each round."""
  vote_steps: Optional[int] = None
  """V, the VOTE steps of each round."""
  tax_period: Optional[int] = None
  """Harvest steps per tax period (the pool is paid out at each end)."""
  brackets: Optional[tuple[float, ...]] = None
  """The k-1 bracket edges on income per tax period, e.g. 5,10."""
  phi0: Optional[tuple[float, ...]] = None
  """phi_0, the k initial tax rates in [0, max_rate], e.g. 0,0.1,0.3; one
  rate is a flat tax in every bracket (0: no tax)."""
  max_rate: Optional[float] = None
  """The cap on every tax rate, a number in [1, 100] (default 1). Above 1 a
  rate is a fine: with n players and equal redistribution one more apple is
  worth (1 - t) + t/n to its eater, negative once t > n/(n-1)."""
  bracket_window: Optional[int] = None
  """0 (default): brackets on gross income in the tax period; W > 0: on
  gross income in the W harvest steps before the current one (a sliding
  window; 1: the previous step)."""
  redistribution: Optional[str] = None
  """How the tax pool is paid out: equal (default) or below_mean (to the
  players whose period income is below the mean)."""
  effort_cost: Optional[float] = None
  """The labour cost of one harvest, a finite number >= 0: each apple eaten
  costs its eater this much (destroyed, not pooled). Default: the
  substrate's (0; 0.3 on umd_apple_harvest__unequal)."""
  skills: Optional[tuple[float, ...]] = None
  """Each player's skill, one number > 0 per player, e.g. 0.5,1,1,1.5:
  player i's apple is worth skills[i] of taxable income. Default: the
  substrate's (all 1; Pareto quantiles on umd_apple_harvest__unequal)."""
  delta: float = 0.25
  """delta, the bound on D(phi_prev, phi) between rounds (inf: none)."""
  divergence: str = "linf"
  """D: linf, l1 or l2."""
  rule: str = "plurality"
  """The social choice rule f."""
  preferences: str = "uniform"
  """How the types theta are drawn, e.g. uniform, mallows:0.5,
  fixed:utilitarian (everyone's favourite), or full rankings by groups of
  players (the group sizes add up to the players), e.g.
  'fixed:3*nash>utilitarian>egalitarian;1*utilitarian>nash>egalitarian'."""
  principal: str = "fixed"
  """The principal algorithm, a name of `principal.PRINCIPALS` (listed
  below); the learning ones learn across the rounds. `umd run` also takes
  the path of a principal checkpoint written by `umd train principal`
  (e.g. runs/x/principal.npz)."""
  ballots: str = "world"
  """Where the ranked ballots come from: world (the rankings the players
  cast with VOTE presses in Lua; the bots cast their types') or types (the
  truthful rankings of the types, counted whatever the players press)."""
  principal_weight: float = 0.0
  """w, the weight of the principal's own type in the vote."""


@dataclasses.dataclass(frozen=True)
class GameConfig(MechanismOptions, validation.Validated):
  """The options of one game; each is a `umd run` flag.

  The game's own fields are checked when the config is made
  (`plumbing/validation.py`); the mechanism options by the configs that own
  them when the game is prepared: the substrate config's fields, the
  `MechanismConfig` of the vote and delta, the principal registry and the
  bot factory.

  The defaults show the mechanism at work in seconds: on the small map,
  followers that best-respond to phi kill the commons in round 1 untaxed
  (`--phi0 0`) and keep it alive under a flat 0.7 tax (docs/RESULTS.md).
  """
  substrate: str = "umd_apple_harvest__small"
  """The substrate: a name from `umd list`."""
  phi0: Optional[tuple[float, ...]] = (0.7,)
  """phi_0, the k initial tax rates in [0, max_rate], e.g. 0,0.1,0.3; one
  rate is a flat tax in every bracket (0: no tax)."""
  bots: Optional[str] = None
  """The followers' bots, cycled over the players, e.g. greedy or
  random,greedy,sustainable; best_response plays the equilibrium of the
  tax in force (best_response:PATH with a table of your own); ppo is the
  shipped PPO follower, ppo_conditioned the shipped one conditioned on phi
  (with --brackets 1,2 --max-rate 4), ppo_conditioned_unequal the one that
  also reads its skill (umd_apple_harvest__unequal), ppo_skilled_unequal
  the one trained with skills drawn per game, whose play depends on its
  skill (the same game), ppo:PATH a checkpoint from umd train. Default:
  best_response where its shipped table covers the game (the small map,
  without skills or effort cost), else random,greedy."""
  seed: int = validation.checked(0, validation.integer(ge=0))
  """Seeds the substrate, the types, the bots, tie-breaking and a learning
  principal."""
  allow_mismatch: bool = validation.checked(False, validation.boolean())
  """Let a follower (--bots ppo:PATH) or principal checkpoint play a game
  other than the one it was trained on (players, map, brackets, max_rate,
  bracket window), with a warning naming the differences; without it such a
  checkpoint is refused."""
  freeze_principal: bool = validation.checked(False, validation.boolean())
  """Play a learning principal without exploring or learning: its best
  estimate every round (e.g. a trained checkpoint on held-out games)."""
  video: bool = validation.checked(False, validation.boolean())
  """Also write episode.mp4."""
  out: Optional[str] = None
  """The run folder; default: a new runs/<timestamp>."""
  objectives: Optional[tuple[str, ...]] = None
  """The objectives on the ballot, at least 2 distinct names from the
  welfare registry, comma-separated, e.g.
  utilitarian,egalitarian,nash,power_mean (one VOTE_<objective> action each,
  in this order); default: the substrate's (utilitarian, egalitarian,
  nash)."""


@dataclasses.dataclass
class PreparedGame:
  """A validated game, ready to build and play."""
  config: GameConfig
  substrate_config: Any
  num_players: int
  schedule: principal_lib.TaxSchedule
  preferences: preferences_lib.Preferences
  bot_names: tuple[str, ...]
  bot_factory: BotFactory
  """Builds the bots (`build_bots`)."""
  mechanism: wrapper_lib.MechanismConfig
  principal: Optional[principal_lib.Principal] = None
  """The principal loaded from a checkpoint; None: build it by name."""


@dataclasses.dataclass
class RunResult:
  """What `run` produced."""
  out: pathlib.Path
  records: list[wrapper_lib.RoundRecord]
  steps: int


class BotFactory(Protocol):
  """What the game asks of the followers' bots.

  The game does not import them: who runs it hands one to `prepare`
  (`umd_meltingpot.agents.FACTORY` has every bot that `--bots` names;
  `NO_BOTS` is for games whose every player is external, as in PettingZoo).
  """

  def bot_names(self, spec: Optional[str], *, substrate_config: Any,
                num_players: int, allow_mismatch: bool = False
                ) -> tuple[str, ...]:
    """Checks a comma-separated `--bots` spec (None: the default bots).

    Raises:
      ValueError: a bot that is unknown or cannot play this game.
    """

  def make_bots(self, names: Sequence[str], *,
                preferences: preferences_lib.Preferences, rule: str,
                seed: int, substrate_config: Any,
                num_players: int) -> list[Any]:
    """One bot (a Melting Pot policy) per player, `names` cycled, each
    voting truthfully for its type under `rule`."""

  def views(self, names: Sequence[str]) -> Optional[tuple[str, ...]]:
    """The views that bots `names` read, from `umd_apple_harvest`'s
    `PLAYER_VIEWS` and `WORLD_VIEWS`; the game computes only those (and
    `WORLD.RGB` for a video). None: the substrate config's own, Melting
    Pot's `RGB` and `WORLD.RGB`."""


class BotTeam(Protocol):
  """Bots that act in one call, e.g. followers sharing one network.

  A bot whose `team` attribute is a BotTeam is stepped by it, with every
  other bot of the game that shares it; bots without one step one by one
  (Melting Pot's `Policy.step`). A factory forms the teams as it builds the
  bots, so that the game needs to know nothing of them.
  """

  def step_all(self, members: Sequence[Any],
               timesteps: Sequence[dm_env.TimeStep], states: Sequence[Any]
               ) -> tuple[list[int], list[Any]]:
    """Steps `members`, each on its player's timestep and state.

    Returns:
      Their actions and next states, as each one's `step` would give them.
    """


class _NoBots:
  """The factory of a game without bots: every player acts from outside."""

  def views(self, names: Sequence[str]) -> Optional[tuple[str, ...]]:
    del names  # People or programs play: they see what Melting Pot shows.
    return None

  def bot_names(self, spec: Optional[str], **unused: Any) -> tuple[str, ...]:
    if spec is not None:
      raise ValueError(f"this game has no bots, got bots={spec!r}")
    return ()

  def make_bots(self, names: Sequence[str], **unused: Any) -> list[Any]:
    del names
    raise ValueError("this game has no bots to build")


NO_BOTS = _NoBots()


# The substrate config's mechanism fields and the options that set them,
# so that an error about a field also names what the user typed.
_FIELD_OPTIONS = {
    "rounds": "rounds",
    "harvest_steps": "steps",
    "vote_steps": "vote_steps",
    "tax_period": "tax_period",
    "bracket_edges": "brackets",
    "initial_rates": "phi0",
    "max_rate": "max_rate",
    "bracket_window": "bracket_window",
    "redistribution": "redistribution",
    "effort_cost": "effort_cost",
    "skills": "skills",
    "objectives": "objectives",
}



def _substrate_config(config: GameConfig):
  overrides = {field: getattr(config, option)
               for field, option in _FIELD_OPTIONS.items()}
  # A variant's per-player skills are drawn for the game's players; a bad
  # player count is named by `prepare`.
  players = config.players
  try:
    substrate_lib.umd_apple_harvest.check_num_players(players)
  except (TypeError, ValueError):
    players = None
  substrate_config = substrate_lib.get_config(config.substrate, players)
  with substrate_config.unlocked():
    for key, value in overrides.items():
      if value is not None:
        substrate_config[key] = tuple(value) if isinstance(
            value, (list, tuple)) else value
  num_rates = len(substrate_config.bracket_edges) + 1
  if config.brackets is not None and config.phi0 is None:
    # New brackets without rates: no tax in any of them.
    with substrate_config.unlocked():
      substrate_config.initial_rates = (0.0,) * num_rates
  elif config.phi0 is not None and len(config.phi0) == 1:
    with substrate_config.unlocked():  # A flat rate.
      substrate_config.initial_rates = tuple(config.phi0) * num_rates
  return substrate_config


def prepare(config: GameConfig, bot_factory: BotFactory) -> PreparedGame:
  """Checks every option of `config`; builds nothing and writes nothing.

  Args:
    config: the game's options.
    bot_factory: checks `config.bots` and later builds them
      (`umd_meltingpot.agents.FACTORY`, or `NO_BOTS`).

  Raises:
    ValueError: an invalid option, with the valid values in the message.
  """
  substrate_config = _substrate_config(config)
  num_players = (config.players if config.players is not None else
                 len(substrate_config.default_player_roles))
  # Validates the mechanism fields and the player count.
  try:
    substrate_config = substrate_lib.umd_apple_harvest.with_num_players(
        substrate_config, num_players)
  except ValueError as error:
    raise ValueError(validation.with_flag(str(error), _FIELD_OPTIONS)) from None
  schedule = principal_lib.TaxSchedule(substrate_config.initial_rates,
                                       substrate_config.bracket_edges,
                                       substrate_config.max_rate)
  loaded = _load_principal(config, schedule, substrate_config, num_players)
  mechanism = wrapper_lib.MechanismConfig(
      rule=config.rule, delta=config.delta, divergence=config.divergence,
      principal_weight=config.principal_weight,
      ballot_source=config.ballots)
  try:
    preferences = preferences_lib.from_spec(
        config.preferences, num_players=num_players,
        objectives=tuple(substrate_config.objectives),
        rng=np.random.default_rng(config.seed))
  except ValueError as error:
    raise ValueError(f"--preferences: {error}") from None
  bot_names = bot_factory.bot_names(
      config.bots, substrate_config=substrate_config,
      num_players=num_players, allow_mismatch=config.allow_mismatch)
  views = bot_factory.views(bot_names)
  if views is not None:
    substrate_config = with_views(
        substrate_config, (*views, *(("WORLD.RGB",) if config.video else ())))
  return PreparedGame(
      config=config, substrate_config=substrate_config,
      num_players=num_players, schedule=schedule, preferences=preferences,
      bot_names=bot_names, bot_factory=bot_factory, mechanism=mechanism,
      principal=loaded)


def with_views(substrate_config: Any, views: Sequence[str]) -> Any:
  """`substrate_config` computing only `views` (from `umd_apple_harvest`'s
  `PLAYER_VIEWS` and `WORLD_VIEWS`): rendering only what someone looks at.
  """
  harvest = substrate_lib.umd_apple_harvest
  substrate_config = copy.deepcopy(substrate_config)
  with substrate_config.unlocked():
    substrate_config.player_views = tuple(
        view for view in harvest.PLAYER_VIEWS if view in views)
    substrate_config.world_views = tuple(
        view for view in harvest.WORLD_VIEWS if view in views)
  return harvest.with_num_players(
      substrate_config, len(substrate_config.default_player_roles))


def _load_principal(config: GameConfig, schedule: principal_lib.TaxSchedule,
                    substrate_config: Any, num_players: int
                    ) -> Optional[principal_lib.Principal]:
  """The checkpointed principal that `config.principal` names, if a path.

  Raises:
    ValueError: an unknown name, or a missing, corrupt or mismatched
      checkpoint (another game without `allow_mismatch`).
  """
  from umd_meltingpot.plumbing import trained_game  # pylint: disable=g-import-not-at-top
  from umd_meltingpot.principal import checkpoint  # pylint: disable=g-import-not-at-top
  if config.principal in principal_lib.PRINCIPALS:
    return None
  if not checkpoint.is_checkpoint_path(config.principal):
    raise ValueError(
        f"Unknown principal {config.principal!r}; valid: "
        f"{sorted(principal_lib.PRINCIPALS)}, or the path of a checkpoint "
        "written by umd train principal (e.g. runs/x/principal.npz)")
  loaded = checkpoint.load(
      config.principal, num_brackets=schedule.num_brackets,
      delta=config.delta, divergence=config.divergence)
  if loaded.game is None:
    trained_game.warn(f"{config.principal} predates principal checkpoints "
                      "that record their game; it cannot be checked against "
                      "this one")
  else:
    trained_game.check(config.principal, loaded.game,
                       trained_game.of_config(substrate_config, num_players),
                       allow=config.allow_mismatch)
  return loaded.principal


def build_bots(game: PreparedGame) -> list[Any]:
  """One bot per player, casting its type's truthful ballot under the
  game's rule (`voting.truthful_ballot`)."""
  return game.bot_factory.make_bots(
      game.bot_names, preferences=game.preferences,
      rule=game.mechanism.rule, seed=game.config.seed,
      substrate_config=game.substrate_config, num_players=game.num_players)


def build_principal(game: PreparedGame,
                    principal: Optional[principal_lib.Principal] = None
                    ) -> principal_lib.Principal:
  """The principal to play `game` with, frozen if `freeze_principal`.

  Args:
    game: a game from `prepare`.
    principal: one to use (e.g. one that persists across games); default:
      the game's checkpointed principal, else a new one by name, seeded by
      the game's seed.
  """
  principal = principal or game.principal or principal_lib.make_principal(
      game.config.principal, schedule=game.schedule,
      delta=game.config.delta, divergence=game.config.divergence,
      seed=game.config.seed + 3)
  if game.config.freeze_principal:
    principal.set_learning(False)
  return principal


def build_environment(
    game: PreparedGame,
    on_round_end: Optional[Callable[[wrapper_lib.RoundRecord], None]] = None,
    principal: Optional[principal_lib.Principal] = None,
    rng: Optional[np.random.Generator] = None,
    views: Optional[Sequence[str]] = None,
) -> wrapper_lib.PrincipalWrapper:
  """The substrate wrapped with the principal, seeded by the game's seed.

  Args:
    game: a game from `prepare`.
    on_round_end: called with each round's record.
    principal: a principal to play with (e.g. one that persists across the
      games of `umd train principal`); default: the game's checkpointed
      principal, else a new one by name, seeded by the game's seed.
    rng: the wrapper's tie-breaking generator (e.g. one whose state the
      caller records before each election, to replay it); default: one
      seeded by the game's seed.
    views: the views to compute instead of the game's (`with_views`), for
      players other than its bots (the learning followers).
  """
  substrate_config = game.substrate_config
  if views is not None:
    substrate_config = with_views(substrate_config, views)
  env = substrate_lib.build_from_config(
      substrate_config, roles=["default"] * game.num_players,
      env_seed=game.config.seed + 1)
  return wrapper_lib.PrincipalWrapper(
      env, principal=build_principal(game, principal),
      schedule=game.schedule,
      objectives=game.substrate_config.objectives,
      rounds=game.substrate_config.rounds, mechanism=game.mechanism,
      preferences=game.preferences,
      rng=rng if rng is not None else np.random.default_rng(
          game.config.seed + 2),
      on_round_end=on_round_end)


def player_timestep(timestep: dm_env.TimeStep, player: int) -> dm_env.TimeStep:
  """Player `player`'s view of a multi-player timestep, as bots take it."""
  return timestep._replace(reward=timestep.reward[player],
                           observation=timestep.observation[player])


def episode_steps(game: PreparedGame) -> int:
  return config_steps(game.substrate_config)


def config_steps(substrate_config: Any) -> int:
  """The steps of one game of a substrate config: tau (V + T)."""
  c = substrate_config
  return c.rounds * (c.vote_steps + c.harvest_steps)


def substrate_summary(game: PreparedGame) -> dict[str, Any]:
  """The resolved substrate config of `game`, for a run's config.json."""
  c = game.substrate_config
  return {
      "map_name": c.map_name, "players": game.num_players,
      "rounds": c.rounds, "harvest_steps": c.harvest_steps,
      "vote_steps": c.vote_steps, "tax_period": c.tax_period,
      "bracket_edges": list(c.bracket_edges),
      "initial_rates": list(c.initial_rates),
      "redistribution": c.redistribution,
      "max_rate": c.max_rate, "bracket_window": c.bracket_window,
      "objectives": list(c.objectives), "apple_value": c.apple_value,
      "effort_cost": c.effort_cost, "skills": list(c.skills),
  }


def _resolved_config(game: PreparedGame) -> dict[str, Any]:
  return {
      "options": dataclasses.asdict(game.config),
      "substrate_config": substrate_summary(game),
      "types": game.preferences.utilities.tolist(),
      "bots": [game.bot_names[i % len(game.bot_names)]
               for i in range(game.num_players)],
  }


class StepCounter:
  """Follows a game's timesteps: the steps played and the step just played.

  An observation shows the round and phase of the *coming* step; the step
  that ends a round already shows the next round's VOTE, while the world's
  ROUND_* totals still hold the round just ended. `observe` therefore
  returns the round and phase of the step that produced the timestep (for
  the first timestep, those of the coming step).
  """

  def __init__(self) -> None:
    self.step = 0
    self._coming: tuple[int, int] = (1, int(phases.Phase.VOTE))

  def observe(self, timestep: dm_env.TimeStep) -> tuple[int, str]:
    """Counts `timestep`; returns (round, phase label) of its step."""
    world = timestep.observation[0]
    coming = (int(world["WORLD.ROUND"]), int(world["WORLD.PHASE"]))
    if timestep.first():
      self.step, played = 0, coming
    else:
      self.step, played = self.step + 1, self._coming
    self._coming = coming
    return played[0], phases.Phase(played[1]).label


def step_record(step: int, round_: int, phase: str,
                world: dict[str, np.ndarray]) -> dict[str, Any]:
  """One line of `steps.jsonl`: the world after step `step` of the game.

  Args:
    step: the steps played (0: the state at reset).
    round_: the round of that step, 1-based (`StepCounter`).
    phase: its phase label.
    world: the global observations of the timestep it produced.

  Returns:
    step, round, phase, apples_alive, pool (taxed, not yet paid out) and,
    per player, gross, tax and transfer so far in the round: the last step
    of a round holds the round's totals, as in `rounds.jsonl`.
  """
  return {
      "step": step, "round": round_, "phase": phase,
      "apples_alive": int(world["WORLD.APPLES_ALIVE"]),
      "pool": float(world["WORLD.TAX_POOL"]),
      "gross": [float(x) for x in world["WORLD.ROUND_GROSS"]],
      "tax": [float(x) for x in world["WORLD.ROUND_TAX"]],
      "transfer": [float(x) for x in world["WORLD.ROUND_TRANSFER"]],
  }


def _hud_options(game: PreparedGame) -> dict[str, Any]:
  """What `hud` needs of `game`, besides the step: worked out once."""
  from umd_meltingpot.outputs import video  # pylint: disable=g-import-not-at-top
  return dict(rounds=game.substrate_config.rounds,
              objectives=game.substrate_config.objectives,
              rule=game.config.rule, steps=episode_steps(game),
              names=_resolved_config(game)["bots"],
              colours=video.player_colours(game.num_players))


def run_title(game: PreparedGame) -> str:
  """The first line of summary.png's title: what was played, and how."""
  bots = _resolved_config(game)["bots"]
  # "best_response ×4" rather than the name four times.
  counts = {name: bots.count(name) for name in dict.fromkeys(bots)}
  bots = ", ".join(f"{name} ×{count}" if count > 1 else name
                   for name, count in counts.items())
  config = game.config
  return (f"{config.substrate} · principal {config.principal} · "
          f"bots {bots} · seed {config.seed}")


def _teams(bots: Sequence[Any]
           ) -> list[tuple[Optional[BotTeam], list[int]]]:
  """The players in groups stepped by one call: each `BotTeam` with its
  players, at its first player's place; None with one player for a bot
  that steps alone."""
  groups, teams = [], {}
  for player, bot in enumerate(bots):
    team = getattr(bot, "team", None)
    if team is None:
      groups.append((None, [player]))
    elif id(team) in teams:
      teams[id(team)].append(player)
    else:
      teams[id(team)] = [player]
      groups.append((team, teams[id(team)]))
  return groups


def play_episode(env: wrapper_lib.PrincipalWrapper,
                 bots: Sequence[Any],
                 on_step: Optional[Callable[[dm_env.TimeStep], None]] = None,
                 ) -> int:
  """Plays one whole game with one bot per player; returns the step count.

  Bots that share a `BotTeam` act in one call per step; the others one by
  one.
  """
  states = [bot.initial_state() for bot in bots]
  groups = _teams(bots)
  timestep = env.reset()
  if on_step:
    on_step(timestep)
  steps = 0
  while not timestep.last():
    actions = [0] * len(bots)
    for team, players in groups:
      members = [bots[player] for player in players]
      timesteps = [player_timestep(timestep, player) for player in players]
      before = [states[player] for player in players]
      if team is None:
        acted, after = zip(*(bot.step(own, state) for bot, own, state
                             in zip(members, timesteps, before)))
      else:
        acted, after = team.step_all(members, timesteps, before)
      for player, action, state in zip(players, acted, after):
        actions[player], states[player] = action, state
    timestep = env.step(actions)
    steps += 1
    if on_step:
      on_step(timestep)
  return steps


def format_table(records: Sequence[wrapper_lib.RoundRecord]) -> str:
  """A short per-round table for the terminal."""
  # As wide as the longest objective elected (eq_times_prod is 13).
  width = max([12, *(len(r.objective) for r in records)])
  header = (f"{'round':>5}  {'objective':<{width}} {'phi':<20} {'D':>5}  "
            f"{'O':>8}  {'util':>7}  {'equal':>5}  {'apples':>6}")
  lines = [header, "-" * len(header)]
  for r in records:
    phi = ",".join(f"{rate:.2f}" for rate in r.phi)
    equality = r.metrics["equality"]  # NaN: no income to share.
    equality = "-" if np.isnan(equality) else f"{equality:.2f}"
    lines.append(
        f"{r.round:>5}  {r.objective:<{width}} {phi:<20} "
        f"{r.divergence:>5.2f}  "
        f"{r.objective_value:>8.2f}  {r.metrics['utilitarian']:>7.1f}  "
        f"{equality:>5}  {r.apples_alive:>6.0f}")
  return "\n".join(lines)


def run(game: PreparedGame, *, progress: bool = True) -> RunResult:
  """Plays one game, prepared by `prepare`, and writes its run folder.

  Raises:
    ValueError: the run folder exists and is not empty, or cannot be
      written.
  """
  config = game.config
  bots = build_bots(game)
  out = runs.new_folder(config.out)
  runs.write_json(out / "config.json", _resolved_config(game))
  with contextlib.ExitStack() as stack:
    rounds_log = stack.enter_context(runs.JsonLines(out / "rounds.jsonl"))
    steps_log = stack.enter_context(runs.JsonLines(out / "steps.jsonl"))
    counter = StepCounter()
    step_records = []  # Also drawn in summary.png.

    def on_round_end(record: wrapper_lib.RoundRecord) -> None:
      rounds_log.write(record.to_json())

    env = stack.enter_context(build_environment(game, on_round_end))
    recorder = None
    if config.video:
      from umd_meltingpot.outputs import video  # pylint: disable=g-import-not-at-top
      recorder = stack.enter_context(video.EpisodeVideo(out / "episode.mp4"))
      hud_options = _hud_options(game)
    bar = stack.enter_context(tqdm.tqdm(
        total=episode_steps(game), unit="step", disable=not progress,
        file=sys.stderr, desc=config.substrate))

    def on_step(timestep: dm_env.TimeStep) -> None:
      if not timestep.first():
        bar.update(1)
      world = timestep.observation[0]
      round_, phase = counter.observe(timestep)
      step_records.append(step_record(counter.step, round_, phase, world))
      steps_log.write(step_records[-1])
      if recorder is not None:
        recorder.add_frame(world["WORLD.RGB"], hud_lib.hud(
            env, world, step=counter.step, **hud_options))

    steps = play_episode(env, bots, on_step)
    records = env.records
  from umd_meltingpot.outputs import plots  # pylint: disable=g-import-not-at-top
  plots.write_summary([r.to_json() for r in records], out / "summary.png",
                      steps=step_records, title=run_title(game))
  return RunResult(out=out, records=records, steps=steps)
