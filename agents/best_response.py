"""Followers that best-respond to the tax schedule phi.

Selfish learners ignore phi (docs/RESULTS.md, issue 4): PPO trained under
random schedules races for apples at any tax. For the Principal's problem,
max_phi O(phi, pi(phi)), the followers must instead play an equilibrium of
the game that phi induces. This module gives them one, by empirical
game-theoretic analysis over a family of restraint strategies:

* **Strategies.** Strategy k is `SustainableBot(min_neighbours=k)`: eat an
  apple only if at least k other live apples lie within radius 2 (k=0 is
  greedy). A larger k spares more of the patch, which regrows by density.
* **Measure once.** On the substrate, with no tax, every symmetric profile
  (all play k) and every one-deviant profile (one plays d, the rest k) is
  played over whole games on several seeds; each player's gross income per
  tax period is kept. Heuristic bots ignore phi, so these incomes hold for
  every phi.
* **Tax in Python.** A player's return under any schedule phi follows from its
  period incomes: taxes as the Lua `Treasury` levies them
  (`TaxSchedule.taxes_in_period`) and the pool redistributed by the
  substrate's rule. So the meta-game's payoffs for any phi cost microseconds.
* **Respond.** Under phi, profile "all play k" is an equilibrium when no
  deviation d pays the deviant more than k does. The followers coordinate on
  the equilibrium that pays them most (payoff dominance); when no symmetric
  pure equilibrium exists, on the profile whose best deviation gains least.

The measured incomes for the small map's defaults ship as
`checkpoints/best_response_small.json`. A table also covers games it
provably describes (`MetaGame.for_game`): fewer rounds (the bots do not know
the horizon, so a game's first r rounds are those of a longer one), a tax
period that is a multiple of the table's (a period's income is the sum of
its sub-periods'), and any bracket edges and redistribution rule (taxes are
computed in Python). Measure another setting, e.g. a longer game, with

  python -m umd_meltingpot.training.best_response_table \
      --substrate umd_apple_harvest__small --rounds 8 --seeds 16 \
      --out table.json

A follower re-reads `TAX_RATES` every step, so when the Principal changes phi
between rounds the population switches to the new phi's equilibrium: it
best-responds to phi as if phi were kept (the Stackelberg commitment).
"""

import dataclasses
import functools
import json
import pathlib
from typing import Any, Mapping, Sequence

import numpy as np

from umd_meltingpot.agents import bots
from umd_meltingpot.principal import schedule as schedule_lib

FORMAT = "umd-best-response-1"
DEFAULT_TABLE = pathlib.Path(__file__).parent / "checkpoints" / (
    "best_response_small.json")
DEFAULT_STRATEGIES = (0, 1, 2, 3, 4, 5, 6)

# The substrate config fields a table's incomes depend on; a game must match
# them all for the table to describe it.
SETTING_FIELDS = ("rounds", "harvest_steps", "vote_steps", "tax_period",
                  "bracket_edges", "apple_value", "redistribution",
                  "regrowth_radius", "regrowth_probabilities", "ascii_map")
# Of those, the ones a game must share with the table exactly; a game may
# have fewer `rounds`, a `tax_period` that is a multiple of the table's, and
# any `bracket_edges` and `redistribution` (see `MetaGame.for_game`).
_EXACT_FIELDS = ("num_players", "harvest_steps", "vote_steps", "apple_value",
                 "regrowth_radius", "regrowth_probabilities", "ascii_map")


def setting_of(substrate_config: Any, num_players: int) -> dict[str, Any]:
  """The fields of `substrate_config` that a table's incomes depend on."""
  setting = {"num_players": int(num_players)}
  for field in SETTING_FIELDS:
    value = substrate_config[field]
    setting[field] = list(value) if isinstance(value, (list, tuple)) else value
  return setting


# eq=False: compared and hashed by identity, as `_cached_response`'s key.
@dataclasses.dataclass(frozen=True, eq=False)
class MetaGame:
  """Measured incomes of the restraint meta-game, and phi's equilibrium.

  Attributes:
    setting: the substrate fields and player count it was measured on.
    strategies: the min_neighbours values k of the strategies.
    incomes: (deviant k, others' k) -> gross income per seed, player and
      tax period, shape [seeds, n, periods]; player 0 is the deviant, and
      deviant == others is the symmetric profile.
  """
  setting: Mapping[str, Any]
  strategies: tuple[int, ...]
  incomes: Mapping[tuple[int, int], np.ndarray]

  def __post_init__(self):
    missing = [(d, k) for d in self.strategies for k in self.strategies
               if (d, k) not in self.incomes]
    if missing:
      raise ValueError(f"The table lacks the profiles {missing[:5]} "
                       f"(deviant k, others' k) of strategies "
                       f"{self.strategies}")

  def schedule(self, rates: Sequence[float]) -> schedule_lib.TaxSchedule:
    """`rates` on the table's bracket edges.

    Rates above 1 (fines, in a game with `max_rate` > 1) are taxed as the
    Treasury taxes them: the game checked them against its own cap, and the
    incomes were measured untaxed, so any cap fits the table.
    """
    rates = tuple(rates)
    return schedule_lib.TaxSchedule(
        rates, tuple(self.setting["bracket_edges"]),
        max_rate=max((schedule_lib.DEFAULT_MAX_RATE, *rates)))

  def round_returns(self, profile: tuple[int, int],
                    rates: Sequence[float]) -> np.ndarray:
    """Each round's returns under `rates`, shape [seeds, rounds, n]."""
    return self._round_returns(profile, self.schedule(rates))

  def _round_returns(self, profile: tuple[int, int],
                     schedule: schedule_lib.TaxSchedule) -> np.ndarray:
    incomes = self.incomes[profile]
    seeds, n, periods = incomes.shape
    rounds = int(self.setting["rounds"])
    by_round = incomes.reshape(seeds, n, rounds, periods // rounds)
    return taxed_returns(by_round.transpose(0, 2, 1, 3), schedule,
                         float(self.setting["apple_value"]),
                         str(self.setting["redistribution"]))

  def returns(self, profile: tuple[int, int],
              rates: Sequence[float]) -> np.ndarray:
    """Per seed and player, the whole game's return under `rates`."""
    return self.round_returns(profile, rates).sum(axis=1)

  def payoffs(self, rates: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The meta-game's payoffs under `rates`, averaged over seeds.

    Returns:
      (symmetric, deviant): symmetric[i] is a player's mean return when all
      play strategies[i]; deviant[j, i] is the deviant's mean return when it
      plays strategies[j] and the others play strategies[i].
    """
    schedule = self.schedule(rates)
    m = len(self.strategies)
    symmetric = np.empty(m)
    deviant = np.empty((m, m))
    for i, k in enumerate(self.strategies):
      for j, d in enumerate(self.strategies):
        returns = self._round_returns((d, k), schedule).sum(axis=1)
        deviant[j, i] = returns[:, 0].mean()
        if d == k:
          symmetric[i] = returns.mean()
    return symmetric, deviant

  def response(self, rates: Sequence[float]) -> int:
    """The min_neighbours k the followers play under `rates`."""
    return _cached_response(self, tuple(float(r) for r in rates))

  def for_game(self, substrate_config: Any,
               num_players: int) -> "MetaGame":
    """This table, restated for a game it covers.

    The game may have fewer rounds (its incomes are the first rounds'), a
    tax period that is a multiple of the table's (incomes summed over the
    sub-periods) and any bracket edges and redistribution rule; every other
    field of `setting_of` must match.

    Raises:
      ValueError: the table does not cover the game; the message names each
        mismatch and the command that measures a table for the game.
    """
    return _for_game(self, json.dumps(setting_of(substrate_config,
                                                 num_players)))

  def to_json(self) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "setting": dict(self.setting),
        "strategies": list(self.strategies),
        "profiles": [{"deviant": d, "others": k,
                      "incomes": self.incomes[d, k].tolist()}
                     for d in self.strategies for k in self.strategies],
    }


def select_equilibrium(symmetric: np.ndarray, deviant: np.ndarray) -> int:
  """Index of the symmetric profile the followers coordinate on.

  Args:
    symmetric: [m] payoff of a player when all play strategy i.
    deviant: [m, m] payoff of a deviant playing j against all others on i.

  Returns:
    Among profiles no deviant can improve on, the one paying most (payoff
    dominance); if there is none, the one whose best deviation gains least.
    Ties go to the lower index.
  """
  gains = deviant.max(axis=0) - symmetric  # The deviant's best gain per i.
  stable = np.flatnonzero(gains <= 1e-9)
  if stable.size:
    return int(stable[np.argmax(symmetric[stable])])
  return int(np.argmin(gains))


def _uncovered(table: Mapping[str, Any], game: Mapping[str, Any]
               ) -> list[str]:
  """Why a table measured on setting `table` does not cover `game`."""
  why = []
  for key in _EXACT_FIELDS:
    if _normal(table.get(key)) == _normal(game[key]):
      continue
    if key == "ascii_map":
      why.append(f"map: table {_map_name(table.get(key))}, game "
                 f"{_map_name(game[key])}")
    else:
      why.append(f"{key}: table {table.get(key)!r}, game {game[key]!r}")
  if game["rounds"] > table["rounds"]:
    why.append(f"rounds: table {table['rounds']}, game {game['rounds']} "
               "(a table covers as many rounds or fewer)")
  if (game["tax_period"] % table["tax_period"]
      or game["harvest_steps"] % game["tax_period"]):
    why.append(f"tax_period: table {table['tax_period']}, game "
               f"{game['tax_period']} (a game's tax period must be a "
               "multiple of the table's and divide harvest_steps)")
  return why


def _map_name(ascii_map: Any) -> str:
  """A map's name in messages (never the map itself)."""
  from umd_meltingpot.substrates import umd_apple_harvest  # pylint: disable=g-import-not-at-top
  for name, known in umd_apple_harvest.MAPS.items():
    if _normal(known) == _normal(ascii_map):
      return f"the {name!r} map"
  return "a custom map"


def measure_command(game: Mapping[str, Any]) -> str:
  """The command that measures a table for a game of setting `game`."""
  from umd_meltingpot.substrates import umd_apple_harvest  # pylint: disable=g-import-not-at-top
  from umd_meltingpot.substrates import variants  # pylint: disable=g-import-not-at-top
  substrate = next(
      (name for name, map_name in sorted(variants.VARIANT_MAPS.items())
       if _normal(umd_apple_harvest.MAPS[map_name]) == _normal(
           game["ascii_map"])), "SUBSTRATE")
  return (f"python -m umd_meltingpot.training.best_response_table --substrate "
          f"{substrate} --players {game['num_players']} --rounds "
          f"{game['rounds']} --steps {game['harvest_steps']} --vote-steps "
          f"{game['vote_steps']} --tax-period {game['tax_period']} --out "
          "table.json")


@functools.lru_cache(maxsize=64)
def _for_game(meta_game: MetaGame, game_json: str) -> MetaGame:
  """`MetaGame.for_game`, once per table and game setting (the followers of
  one game share the result, and with it the response cache)."""
  game = json.loads(game_json)
  why = _uncovered(meta_game.setting, game)
  if why:
    raise ValueError(
        f"the best-response table was measured on another setting "
        f"({'; '.join(why)}); measure one for this game (minutes) with: "
        f"{measure_command(game)}, then play it with "
        "--bots best_response:table.json")
  table = meta_game.setting
  merge = game["tax_period"] // table["tax_period"]
  periods = game["rounds"] * game["harvest_steps"] // table["tax_period"]
  incomes = {}
  for profile, array in meta_game.incomes.items():
    seeds, n, _ = array.shape
    incomes[profile] = array[:, :, :periods].reshape(
        seeds, n, periods // merge, merge).sum(axis=-1)
  return MetaGame(setting=game, strategies=meta_game.strategies,
                  incomes=incomes)


@functools.lru_cache(maxsize=4096)
def _cached_response(meta_game: MetaGame, rates: tuple[float, ...]) -> int:
  symmetric, deviant = meta_game.payoffs(rates)
  return meta_game.strategies[select_equilibrium(symmetric, deviant)]


def taxed_returns(incomes: np.ndarray, schedule: schedule_lib.TaxSchedule,
                  apple_value: float, redistribution: str) -> np.ndarray:
  """Whole-game returns from gross period incomes, as the Treasury pays.

  Args:
    incomes: [..., n, periods] gross income per player and tax period.
    schedule: the rates and bracket edges.
    apple_value: an apple's value; incomes are multiples of it.
    redistribution: "equal" (the pool split over all) or "below_mean" (over
      those whose period income is below the period mean; all if none).

  Returns:
    [..., n] the sum over periods of net income plus transfers.
  """
  apples = np.rint(np.asarray(incomes) / apple_value).astype(int)
  tax_of_count = _tax_by_apple_count(schedule, apple_value, int(apples.max()))
  taxes = tax_of_count[apples]
  pool = taxes.sum(axis=-2, keepdims=True)
  if redistribution == "equal":
    recipients = np.ones_like(apples, dtype=bool)
  elif redistribution == "below_mean":
    below = incomes < incomes.mean(axis=-2, keepdims=True)
    recipients = np.where(below.any(axis=-2, keepdims=True), below, True)
  else:
    raise ValueError(f"redistribution must be 'equal' or 'below_mean', got "
                     f"{redistribution!r}")
  share = pool / recipients.sum(axis=-2, keepdims=True)
  returns = np.asarray(incomes) - taxes + recipients * share
  return returns.sum(axis=-1)


def _tax_by_apple_count(schedule: schedule_lib.TaxSchedule, apple_value: float,
                        max_count: int) -> np.ndarray:
  """tax[c]: the tax on c apples eaten in one period (apples taxed in turn)."""
  per_apple = schedule.taxes_in_period([apple_value] * max_count)
  return np.concatenate([[0.0], np.cumsum(per_apple)])


# ----------------------------------------------------------------------------
# The follower.
# ----------------------------------------------------------------------------


class BestResponseFollower(bots.SustainableBot):
  """Plays the restraint k that the meta-game's equilibrium gives for phi.

  Each HARVEST step it reads the rates in force from `TAX_RATES` and plays
  `SustainableBot(min_neighbours=k)` with k = `meta_game.response(rates)`.
  Every slot sees the same rates, so one object can serve several slots.
  """

  def __init__(self, meta_game: MetaGame, **kwargs):
    super().__init__(**kwargs)
    self._meta_game = meta_game

  @property
  def meta_game(self) -> MetaGame:
    return self._meta_game

  def _harvest(self, observation: bots.Observation,
               state: bots.BotState) -> tuple[int, bots.BotState]:
    rates = np.asarray(observation["TAX_RATES"], dtype=float)
    self._min_neighbours = self._meta_game.response(rates)
    return super()._harvest(observation, state)


# ----------------------------------------------------------------------------
# Loading, checking and measuring tables.
# ----------------------------------------------------------------------------


def _fail(path: Any, why: str) -> ValueError:
  return ValueError(f"{path} is not a best-response table written by "
                    "`python -m umd_meltingpot.training.best_response_table`: "
                    f"{why}")


@functools.lru_cache(maxsize=8)
def load(path: str = str(DEFAULT_TABLE)) -> MetaGame:
  """Reads a table (once per path and process: every follower of a game
  shares it); raises ValueError naming what is wrong with it."""
  try:
    data = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
  except FileNotFoundError:
    raise ValueError(f"No best-response table at {path}") from None
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
    raise _fail(path, str(error)) from None
  if not isinstance(data, dict) or data.get("format") != FORMAT:
    raise _fail(path, f"its format is not {FORMAT!r}")
  try:
    strategies = tuple(int(k) for k in data["strategies"])
    incomes = {}
    for profile in data["profiles"]:
      array = np.asarray(profile["incomes"], dtype=float)
      if array.ndim != 3 or not np.all(np.isfinite(array)) or np.any(
          array < 0):
        raise ValueError("incomes must be finite, >= 0, [seeds, n, periods]")
      incomes[int(profile["deviant"]), int(profile["others"])] = array
    return MetaGame(setting=dict(data["setting"]), strategies=strategies,
                    incomes=incomes)
  except (KeyError, TypeError, ValueError) as error:
    raise _fail(path, str(error)) from None


def check_fits(meta_game: MetaGame, substrate_config: Any, num_players: int,
               source: Any) -> None:
  """Raises ValueError if the table does not cover the game
  (`MetaGame.for_game` says why, without printing maps), or the game puts
  brackets on a sliding window (a table holds incomes per tax
  period, which cannot say what a window held). `max_rate` needs no check:
  fines are taxed in Python as the Treasury levies them."""
  window = substrate_config.get("bracket_window", 0)
  if window:
    raise ValueError(
        f"{source} cannot play a game with bracket_window = {window}: a "
        "best-response table holds incomes per tax period, so it taxes only "
        "brackets on period income (bracket_window = 0)")
  try:
    meta_game.for_game(substrate_config, num_players)
  except ValueError as error:
    raise ValueError(f"{source}: {error}") from None


def _normal(value: Any) -> Any:
  if isinstance(value, (list, tuple)):
    return [_normal(v) for v in value]
  if isinstance(value, (int, float)) and not isinstance(value, bool):
    return float(value)
  return value
