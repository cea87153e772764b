"""Configuration for UMD Apple Harvest: the induced economy M^phi.

This is Commons Harvest (Janssen et al. 2010; Perolat et al. 2017) run as the
induced economy of the Universal Mechanism Design game (the ICLR 2024 tiny
paper "Universal Mechanism Design"; see `shared/paper`):

*   Apples regrow with a probability that grows with the number of live apples
    within radius 2, so a patch whose last apple is eaten is dead for good.
    Over-harvesting is the tragedy of the commons.
*   Income is taxed. An apple's value is taxed at the marginal rate of the
    bracket holding the eater's gross income in the current tax period (or,
    with `bracket_window` W > 0, in the W harvest steps before the current
    one); the eater gets the rest at once, and the pool is paid out at the
    end of each tax period (equal lump sums, or to the players below the
    mean). Rates lie in [0, `max_rate`]; a rate above 1 is a fine, the
    eater's net is negative.
*   Optionally, the AI Economist's trade-off: unequal `skills` (player i's
    apple is worth `apple_value * skills[i]` of gross income) and an
    `effort_cost` per apple eaten, paid by the eater and destroyed, so a tax
    can make harvesting not worth the effort (a deadweight cost). Both are
    off by default (skills all 1, no cost); `umd_apple_harvest__unequal`
    turns them on.
*   One episode is a whole game of `rounds` rounds. Each round is a VOTE phase
    (`vote_steps` steps; avatars frozen; each `VOTE_<objective>` press puts
    that objective next in the player's ranked ballot) and a HARVEST phase
    (`harvest_steps` steps). The principal, in Python, sets the tax rates
    between the two through the Lab2D properties `principal.schedule` /
    `principal.rates.<k>`.
    The world carries over from round to round: eaten apples stay eaten.

Every mechanism knob is a field of `get_config()`; `build()` reads them. The
interface fields (action set, observation names, specs) depend on the number
of players, brackets and objectives, so `umd_meltingpot.substrate` re-derives
them with `with_num_players` before it builds. The mechanism observations are
declared once, in `MECHANISM_FIELDS`: the Lua packing, the unpacking, the
observation names and the specs all follow it.

The map, prefabs and avatars are Melting Pot's `commons_harvest__open`
builders, reused and extended: apples get `TaxedEdible` instead of `Edible`,
avatars get a `vote` action, a `Ballot` and the mechanism observations, and
are paid while zapped (`skipWaitStateRewards = False`) so no transfer is lost.
"""

import copy
from typing import Any, Mapping, NamedTuple, Optional, Sequence

import dm_env
from meltingpot.configs.substrates import commons_harvest__closed
from meltingpot.configs.substrates import commons_harvest__open
from meltingpot.utils.substrates import specs
from ml_collections import config_dict
import numpy as np

from umd_meltingpot.plumbing import paths
from umd_meltingpot.plumbing import validation
from umd_meltingpot.social_choice import welfare
from umd_meltingpot.principal import schedule
from umd_meltingpot.substrates import variants

LEVEL_NAME = "umd_apple_harvest"
# Pixels per cell side in the rendered views.
_SPRITE_SIZE = 8
MIN_PLAYERS = 2
MAX_PLAYERS = 16
REDISTRIBUTION_RULES = variants.REDISTRIBUTION_RULES

# A small map for fast tests and CPU learning: two patches of 11 apples each,
# so a greedy population can kill one within a round.
SMALL_ASCII_MAP = """
WWWWWWWWWWWWW
W AAA   AAA W
WAAAAA AAAAAW
W AAA   AAA W
W           W
W  Q     Q  W
W PPPPPPPPP W
W PPPPPPPPP W
WWWWWWWWWWWWW
"""

MAPS = {
    "open": commons_harvest__open.ASCII_MAP,
    "closed": commons_harvest__closed.ASCII_MAP,
    "small": SMALL_ASCII_MAP,
}

# Per-map defaults: (players, rounds, harvest_steps, vote_steps, tax_period).
_MAP_DEFAULTS = variants.MAP_DEFAULTS

# The 8 Commons Harvest actions; every entry also carries `vote` (0: none).
_COMMONS_ACTIONS = (
    commons_harvest__open.NOOP,
    commons_harvest__open.FORWARD,
    commons_harvest__open.BACKWARD,
    commons_harvest__open.STEP_LEFT,
    commons_harvest__open.STEP_RIGHT,
    commons_harvest__open.TURN_LEFT,
    commons_harvest__open.TURN_RIGHT,
    commons_harvest__open.FIRE_ZAP,
)
COMMONS_ACTION_NAMES = ("NOOP", "FORWARD", "BACKWARD", "STEP_LEFT",
                        "STEP_RIGHT", "TURN_LEFT", "TURN_RIGHT", "FIRE_ZAP")

# How a player sees a global mechanism observation (`MechanismField.own`).
WHOLE = "whole"  # All of it: `<i>.PHASE` is `WORLD.PHASE`.
ENTRY = "entry"  # Its own entry: `<i>.SKILL` is `WORLD.SKILL[i - 1]`.
TALLY = "tally"  # Ranked ballots as a tally (`substrate.voting_tally`).
VIEWS = (WHOLE, ENTRY, TALLY)


class MechanismField(NamedTuple):
  """A global mechanism observation, which Lua packs into `WORLD.MECHANISM`.

  Attributes:
    name: the observation, `WORLD.<X>`; also the key of the Lua function
      that gives its values (`MECHANISM_SOURCES` in `components.lua`).
    shape: its dimensions, each "n" (players), "k" (tax brackets) or "K"
      (objectives), packed row-major; () for a single number.
    own: the per-player observation made from it, as (name, view) with the
      view one of VIEWS; None when players see it only as `WORLD.<X>`.
  """
  name: str
  shape: tuple[str, ...] = ()
  own: Optional[tuple[str, str]] = None


# The one declaration of the mechanism observations. Lua's
# `MechanismReporter` gets the names and shapes as its `fields` kwarg and
# packs them in this order (one call across the Python boundary per step
# instead of a dozen); `mechanism_layout` unpacks them, and the observation
# names and `timestep_spec` follow this order too. All are float64.
# pyformat: disable
MECHANISM_FIELDS = (
    MechanismField("WORLD.ROUND"),
    MechanismField("WORLD.PHASE",          (),         ("PHASE", WHOLE)),
    MechanismField("WORLD.TAX_RATES",      ("k",),     ("TAX_RATES", WHOLE)),
    MechanismField("WORLD.TAX_POOL"),
    # Each player's rank position of each objective (1 = top, 0 = unranked;
    # a zero row is an abstention); VOTING[k, r] counts the players ranking
    # objective k at position r + 1.
    MechanismField("WORLD.BALLOTS",        ("n", "K"), ("VOTING", TALLY)),
    # This round's income so far, per player.
    MechanismField("WORLD.ROUND_GROSS",    ("n",)),
    MechanismField("WORLD.ROUND_NET",      ("n",)),
    MechanismField("WORLD.ROUND_TAX",      ("n",)),
    MechanismField("WORLD.ROUND_TRANSFER", ("n",)),
    # The objects in group `apples`.
    MechanismField("WORLD.APPLES_ALIVE"),
    # 1 for players zapped out now (Perolat et al. 2017's peacefulness).
    MechanismField("WORLD.TAGGED",         ("n",)),
    # Gross income in the tax period (or window), which sets the next
    # apple's bracket, and the rate that apple would pay; 0 and the first
    # rate from a round's last harvest step on (the next round starts
    # afresh).
    MechanismField("WORLD.PERIOD_INCOME",  ("n",), ("PERIOD_INCOME", ENTRY)),
    MechanismField("WORLD.MARGINAL_RATE",  ("n",), ("MARGINAL_RATE", ENTRY)),
    MechanismField("WORLD.ROUND_EFFORT",   ("n",)),
    # What one apple is worth before tax (1: no skills).
    MechanismField("WORLD.SKILL",          ("n",), ("SKILL", ENTRY)),
)
# pyformat: enable

# A player's own view, the individual observations that `player_views`
# picks: Melting Pot's `RGB` (88 x 88 pixels, egocentric), `GRID` (the same
# view as 11 x 11 `agents.observation.Cell` classes, uint8, read from the
# layer view without rendering: lua/levels/umd_apple_harvest/view_cells.lua)
# and `FIRST_RGB_CRC32` (zlib's CRC-32 of the RGB view at the episode's
# first step, which seeds the bots; rendered once per episode).
PLAYER_VIEWS = ("RGB", "GRID", "FIRST_RGB_CRC32")
# The whole map's pixels, the global observation that `world_views` picks.
WORLD_VIEWS = ("WORLD.RGB",)
INDIVIDUAL_OBSERVATIONS = ("READY_TO_SHOOT",) + tuple(
    field.own[0] for field in MECHANISM_FIELDS if field.own)
# Melting Pot's LocationObserver; for tests and analysis, not for policies.
DEBUG_OBSERVATIONS = ("POSITION", "ORIENTATION")
GLOBAL_OBSERVATIONS = tuple(field.name for field in MECHANISM_FIELDS)


def action_set(objectives: Sequence[str]) -> tuple[dict[str, int], ...]:
  """The commons actions, then one `VOTE_<objective>` action per objective."""
  commons = tuple(dict(action, vote=0) for action in _COMMONS_ACTIONS)
  votes = tuple({"move": 0, "turn": 0, "fireZap": 0, "vote": k + 1}
                for k in range(len(objectives)))
  return commons + votes


def action_names(objectives: Sequence[str]) -> tuple[str, ...]:
  """Names of `action_set(objectives)`, index for index."""
  return COMMONS_ACTION_NAMES + tuple(
      f"VOTE_{objective.upper()}" for objective in objectives)


def map_shape(ascii_map: str) -> tuple[int, int]:
  rows = ascii_map.strip("\n").split("\n")
  return len(rows), len(rows[0])


def create_scene(config: config_dict.ConfigDict) -> dict[str, Any]:
  """The scene: regrowth neighbourhoods, treasury, ballots and rounds."""
  return {
      "name": "scene",
      "components": [
          {
              "component": "StateManager",
              "kwargs": {
                  "initialState": "scene",
                  "stateConfigs": [{"state": "scene"}],
              },
          },
          {"component": "Transform"},
          {"component": "Neighborhoods", "kwargs": {}},
          {
              "component": "Treasury",
              "kwargs": {
                  "rates": list(config.initial_rates),
                  "bracketEdges": list(config.bracket_edges),
                  "taxPeriod": config.tax_period,
                  "redistribution": config.redistribution,
                  "maxRate": config.max_rate,
                  "bracketWindow": config.bracket_window,
                  "effortCost": config.effort_cost,
                  "skills": list(config.skills),
              },
          },
          {
              "component": "BallotBox",
              "kwargs": {"numOptions": len(config.objectives)},
          },
          {
              "component": "RoundManager",
              "kwargs": {
                  "rounds": config.rounds,
                  "voteSteps": config.vote_steps,
                  "harvestSteps": config.harvest_steps,
              },
          },
          {
              "component": "MechanismReporter",
              "kwargs": {"fields": [
                  {"name": field.name, "shape": list(field.shape)}
                  for field in MECHANISM_FIELDS]},
          },
      ],
  }


def create_prefabs(config: config_dict.ConfigDict) -> dict[str, Any]:
  """Commons Harvest's prefabs, with apples paying through the treasury."""
  prefabs = copy.deepcopy(commons_harvest__open.create_prefabs(
      config.regrowth_radius, list(config.regrowth_probabilities)))
  apple_components = prefabs["apple"]["components"]
  for i, entry in enumerate(apple_components):
    if entry["component"] == "Edible":
      apple_components[i] = {
          "component": "TaxedEdible",
          "kwargs": {
              "liveState": entry["kwargs"]["liveState"],
              "waitState": entry["kwargs"]["waitState"],
              "value": config.apple_value,
          },
      }
    elif entry["component"] == "DensityRegrow":
      # The same regrowth, paused while voting.
      entry["component"] = "PhasedDensityRegrow"
  return prefabs


def create_avatar_object(player_idx: int,
                         num_objectives: int,
                         debug_observations: bool = False) -> dict[str, Any]:
  """A Commons Harvest avatar that can also vote and sees the mechanism."""
  # The first two players spawn near the apples, as in Commons Harvest.
  spawn_group = "insideSpawnPoints" if player_idx < 2 else "spawnPoints"
  avatar = copy.deepcopy(commons_harvest__open.create_avatar_object(
      player_idx, commons_harvest__open.TARGET_SPRITE_SELF, spawn_group))
  for entry in avatar["components"]:
    if entry["component"] == "Avatar":
      kwargs = entry["kwargs"]
      kwargs["actionOrder"] = list(kwargs["actionOrder"]) + ["vote"]
      kwargs["actionSpec"]["vote"] = {
          "default": 0, "min": 0, "max": num_objectives}
      # Transfers reach zapped players too (the Treasury checks this).
      kwargs["skipWaitStateRewards"] = False
  avatar["components"].append({"component": "Ballot"})
  if debug_observations:
    avatar["components"].append({
        "component": "LocationObserver",
        "kwargs": {"objectIsAvatar": True, "alsoReportOrientation": True},
    })
  return avatar


_NUM_PLAYERS = validation.integer(ge=MIN_PLAYERS, le=MAX_PLAYERS)
_STEPS = validation.integer(ge=1)
_BRACKET_WINDOW = validation.integer(ge=0)
# The rules as a tuple in the message, as it has always read.
_REDISTRIBUTION = validation.Check(
    f"one of {REDISTRIBUTION_RULES}",
    validation.one_of(REDISTRIBUTION_RULES).normalise)
# Any number > 0, inf included, as it has always been.
_APPLE_VALUE = validation.Check(
    "> 0", validation.number(gt=0, allow_inf=True).normalise)
_EFFORT_COST = validation.number(ge=0)
_SKILLS = validation.tuple_of(validation.number(gt=0), min_length=0)


def _views(valid: tuple[str, ...]) -> validation.Check:
  """Distinct names from `valid`, in its order (so that the observation
  names do not depend on how they were asked for)."""

  def normalise(names: Any) -> tuple[str, ...]:
    names = validation.tuple_of(validation.one_of(valid),
                                min_length=0).normalise(names)
    return tuple(name for name in valid if name in names)

  return validation.Check(f"names from {valid}", normalise)


_PLAYER_VIEWS = _views(PLAYER_VIEWS)
_WORLD_VIEWS = _views(WORLD_VIEWS)


def _distinct_objectives(names: Any) -> tuple[str, ...]:
  # At least 2: a ballot of one objective elects it whatever anyone votes.
  names = validation.tuple_of(validation.one_of(welfare.OBJECTIVES),
                              min_length=2).normalise(names)
  if len(set(names)) != len(names):
    raise ValueError(names)
  return names


_OBJECTIVES = validation.Check(
    f"at least 2 distinct names from {welfare.OBJECTIVES}",
    _distinct_objectives)


def check_num_players(num_players: int) -> None:
  """Raises ValueError unless MIN_PLAYERS <= num_players <= MAX_PLAYERS."""
  if not validation.accepts(_NUM_PLAYERS, num_players):
    raise ValueError(f"{LEVEL_NAME} takes {MIN_PLAYERS} to {MAX_PLAYERS} "
                     f"players, got {num_players}")


def _check_skills(skills: tuple[Any, ...],
                  num_players: Optional[int]) -> None:
  """Checks `skills` (and their number, if `num_players`)."""
  count = "one value per player" + (
      f" ({num_players})" if num_players is not None else "")
  if not validation.accepts(_SKILLS, skills) or (
      skills and num_players is not None and len(skills) != num_players):
    raise ValueError(f"skills must be empty (every skill 1) or have {count}, "
                     f"each a finite number > 0; got {skills}")


def validate(config: config_dict.ConfigDict,
             num_players: Optional[int] = None) -> None:
  """Checks the mechanism fields, naming the valid values on failure.

  Args:
    config: the substrate config.
    num_players: the game's number of players, which `skills` must match;
      None checks each skill but not their number.

  Raises:
    ValueError: a field is out of range or inconsistent.
  """
  for field in ("rounds", "harvest_steps", "vote_steps", "tax_period"):
    validation.check_value(field, _STEPS, config[field])
  try:  # TaxSchedule's own check: finite, > 0, strictly increasing.
    edges = list(schedule.check_edges(config.bracket_edges))
  except (TypeError, ValueError) as error:
    raise ValueError(f"bracket_edges: {error}") from None
  rates = [float(rate) for rate in config.initial_rates]
  if len(rates) != len(edges) + 1:
    raise ValueError(
        f"initial_rates needs {len(edges) + 1} rates for "
        f"{len(edges)} bracket edges, got {len(rates)}: {rates}")
  max_rate = schedule.check_max_rate(config.max_rate)
  in_range = validation.number(ge=0, le=max_rate)  # Rejects NaN too.
  if not all(validation.accepts(in_range, rate) for rate in rates):
    raise ValueError(
        f"initial_rates must lie in [0, {max_rate:g}] (max_rate), got {rates}")
  validation.check_value("bracket_window", _BRACKET_WINDOW,
                         config.bracket_window)
  validation.check_value("redistribution", _REDISTRIBUTION,
                         config.redistribution)
  objectives = validation.check_value("objectives", _OBJECTIVES,
                                      tuple(config.objectives))
  if config.vote_steps < len(objectives) - 1:
    # A ballot is ranked one VOTE press per step (see `BallotBox`), so a
    # full ranking of K objectives takes K - 1 steps.
    validation.fail(
        "vote_steps",
        f">= {len(objectives) - 1} (K - 1 for the {len(objectives)} "
        f"objectives, so that any ranking can be cast)", config.vote_steps)
  rows = config.ascii_map.strip("\n").split("\n")
  if len(set(map(len, rows))) != 1:
    raise ValueError("ascii_map rows must all have the same length")
  validation.check_value("apple_value", _APPLE_VALUE, config.apple_value)
  validation.check_value("effort_cost", _EFFORT_COST, config.effort_cost)
  _check_skills(tuple(config.skills), num_players)
  validation.check_value("player_views", _PLAYER_VIEWS, config.player_views)
  validation.check_value("world_views", _WORLD_VIEWS, config.world_views)


def _dimensions(config: config_dict.ConfigDict,
                num_players: int) -> dict[str, int]:
  """The sizes of a `MechanismField`'s dimensions in a game."""
  return {"n": num_players, "k": len(config.initial_rates),
          "K": len(config.objectives)}


# The shape of a view (`MechanismField.own`), from that of its field.
_VIEW_SHAPES = {
    WHOLE: lambda shape: shape,
    ENTRY: lambda shape: shape[1:],
    TALLY: lambda shape: (shape[1], shape[1]),  # Objective x rank position.
}


def mechanism_layout(
    config: config_dict.ConfigDict,
    num_players: int) -> dict[str, tuple[int, int, tuple[int, ...]]]:
  """Where each of MECHANISM_FIELDS sits in `WORLD.MECHANISM`.

  Returns:
    name -> (start, stop, shape), in the order of MECHANISM_FIELDS.
  """
  dimensions = _dimensions(config, num_players)
  layout, start = {}, 0
  for field in MECHANISM_FIELDS:
    shape = tuple(dimensions[d] for d in field.shape)
    stop = start + int(np.prod(shape, dtype=int))
    layout[field.name] = (start, stop, shape)
    start = stop
  return layout


def own_observations(
    config: config_dict.ConfigDict,
    num_players: int) -> dict[str, tuple[str, str, tuple[int, ...]]]:
  """The per-player views of MECHANISM_FIELDS (their `own`).

  Returns:
    the per-player name -> (global name, view, shape), in the order of
    MECHANISM_FIELDS.
  """
  layout = mechanism_layout(config, num_players)
  views = {}
  for field in MECHANISM_FIELDS:
    if field.own:
      own, view = field.own
      shape = _VIEW_SHAPES[view](layout[field.name][2])
      views[own] = (field.name, view, shape)
  return views


def timestep_spec(config: config_dict.ConfigDict, num_players: int):
  """The single-player timestep spec for `num_players` players."""
  height, width = map_shape(config.ascii_map)
  debug = {
      "POSITION": specs.int32(2),
      "ORIENTATION": specs.int32(),
  } if config.debug_observations else {}
  own = own_observations(config, num_players)
  world = mechanism_layout(config, num_players)
  rgb = specs.OBSERVATION["RGB"]
  views = {
      "RGB": rgb,
      "GRID": dm_env.specs.Array(
          (rgb.shape[0] // _SPRITE_SIZE, rgb.shape[1] // _SPRITE_SIZE),
          np.uint8, name="GRID"),
      "FIRST_RGB_CRC32": specs.float64(),
      "WORLD.RGB": specs.rgb(height * _SPRITE_SIZE, width * _SPRITE_SIZE),
  }
  return specs.timestep({
      **debug,
      **{name: views[name] for name in player_views(config)},
      "READY_TO_SHOOT": specs.OBSERVATION["READY_TO_SHOOT"],
      **{name: specs.float64(*shape) for name, (_, _, shape) in own.items()},
      # Global observations, for the principal, metrics and video.
      **{name: views[name] for name in world_views(config)},
      **{name: specs.float64(*shape)
         for name, (_, _, shape) in world.items()},
  })


def player_views(config: config_dict.ConfigDict) -> tuple[str, ...]:
  """The `PLAYER_VIEWS` that `config` asks for, in that order."""
  return validation.check_value("player_views", _PLAYER_VIEWS,
                                config.player_views)


def world_views(config: config_dict.ConfigDict) -> tuple[str, ...]:
  """The `WORLD_VIEWS` that `config` asks for, in that order."""
  return validation.check_value("world_views", _WORLD_VIEWS,
                                config.world_views)


def with_num_players(config: config_dict.ConfigDict,
                     num_players: int) -> config_dict.ConfigDict:
  """Returns a locked copy of `config` whose interface fits `num_players`.

  The mechanism fields are validated first, and the derived fields (action
  set, specs, default roles) are recomputed from them.

  Raises:
    ValueError: a mechanism field is invalid, or `num_players` is outside
      [MIN_PLAYERS, MAX_PLAYERS].
  """
  check_num_players(num_players)
  validate(config, num_players)
  config = copy.deepcopy(config)
  with config.unlocked():
    config.action_set = action_set(config.objectives)
    config.action_spec = specs.action(len(config.action_set))
    config.individual_observation_names = (
        list(player_views(config)) + list(INDIVIDUAL_OBSERVATIONS)
        + (list(DEBUG_OBSERVATIONS) if config.debug_observations else []))
    config.global_observation_names = (list(world_views(config))
                                       + list(GLOBAL_OBSERVATIONS))
    config.timestep_spec = timestep_spec(config, num_players)
    if len(config.default_player_roles) != num_players:
      config.default_player_roles = ("default",) * num_players
  return config.lock()


def get_config(map_name: str = "open") -> config_dict.ConfigDict:
  """Default configuration of UMD Apple Harvest on `map_name`."""
  validation.check_value("map_name", validation.one_of(sorted(MAPS)),
                         map_name)
  players, rounds, harvest_steps, vote_steps, tax_period = (
      _MAP_DEFAULTS[map_name])
  config = config_dict.ConfigDict()
  # The map's name (a key of MAPS) and its ASCII art, as in Commons Harvest
  # (W wall, A apple on grass, P spawn point, Q spawn point near the apples).
  config.map_name = map_name
  config.ascii_map = MAPS[map_name]
  # tau: rounds per episode (one episode is one whole game).
  config.rounds = rounds
  # T: HARVEST steps per round.
  config.harvest_steps = harvest_steps
  # V: VOTE steps per round (avatars frozen, ballots open); >= K - 1, one
  # ranked objective per step.
  config.vote_steps = vote_steps
  # Harvest steps per tax period; the pool is paid out at each period's end
  # and at the end of each round.
  config.tax_period = tax_period
  # k-1 strictly increasing edges on gross income within a tax period (or
  # window), so k brackets: [0, e1), [e1, e2), ..., [e_{k-1}, inf), each edge
  # lowered by schedule.EDGE_TOLERANCE for the rounding of float sums.
  config.bracket_edges = (5.0, 10.0)
  # phi_0: the k marginal rates in force until the principal writes others.
  config.initial_rates = (0.0, 0.0, 0.0)
  # How the pool is paid out: one of REDISTRIBUTION_RULES.
  config.redistribution = "equal"
  # The cap on every rate, in [1, schedule.MAX_RATE_LIMIT]. Above 1 a rate is
  # a fine: with n players and equal redistribution, one more apple taxed at
  # t is worth (1 - t) + t / n to its eater, < 0 once t > n / (n - 1).
  config.max_rate = 1.0
  # 0: brackets on gross income in the tax period; W > 0: on gross income
  # in the W harvest steps before the current one (a sliding window,
  # restarted each round; W = 1 is the previous step).
  config.bracket_window = 0
  # The welfare objectives on the ballot (names from welfare.OBJECTIVES).
  config.objectives = welfare.DEFAULT_OBJECTIVES
  # Gross value of one apple.
  config.apple_value = 1.0
  # The labour cost of one harvest: each apple eaten costs its eater this
  # much of its reward at once; it is destroyed, not pooled (>= 0).
  config.effort_cost = 0.0
  # Player i's apple is worth apple_value * skills[i] of gross income, taxed
  # as income; () means every skill is 1, else one value > 0 per player.
  config.skills = ()
  # Commons Harvest's regrowth: radius and per-neighbour-count probabilities.
  config.regrowth_radius = commons_harvest__open.APPLE_RESPAWN_RADIUS
  config.regrowth_probabilities = tuple(
      commons_harvest__open.REGROWTH_PROBABILITIES)
  # Adds the POSITION and ORIENTATION observations (slower; for debugging).
  config.debug_observations = False
  # The views observed (PLAYER_VIEWS, WORLD_VIEWS), each computed only when
  # asked for. Melting Pot's by default; a game whose bots read no pixels
  # asks for ("GRID", "FIRST_RGB_CRC32") and no WORLD.RGB.
  config.player_views = ("RGB",)
  config.world_views = ("WORLD.RGB",)

  config.valid_roles = frozenset({"default"})
  config.default_player_roles = ("default",) * players
  return with_num_players(config, players)


def build(
    roles: Sequence[str],
    config: config_dict.ConfigDict,
) -> Mapping[str, Any]:
  """Builds the Lab2D settings for `roles` from `config`."""
  validate(config, len(roles))
  num_players = len(roles)
  num_objectives = len(config.objectives)
  return dict(
      # An absolute path ending in `.lua`: Melting Pot's builder joins it onto
      # `levelDirectory` (which stays the path of Melting Pot's own Lua, so
      # `require 'meltingpot.lua.modules.*'` resolves).
      levelName=str(paths.level_init(LEVEL_NAME)),
      levelDirectory="meltingpot/lua/levels",
      numPlayers=num_players,
      maxEpisodeLengthFrames=config.rounds * (
          config.vote_steps + config.harvest_steps),
      spriteSize=_SPRITE_SIZE,
      topology="BOUNDED",
      simulation={
          "map": config.ascii_map,
          "gameObjects": [
              create_avatar_object(i, num_objectives,
                                   config.debug_observations)
              for i in range(num_players)],
          "prefabs": create_prefabs(config),
          "charPrefabMap": commons_harvest__open.CHAR_PREFAB_MAP,
          "scene": create_scene(config),
      },
  )
