"""Human play of the UMD Apple Harvest substrates, in a pygame window.

  python -m umd_meltingpot.game.play --substrate umd_apple_harvest__small

or, from Python, `umd_meltingpot.game.play.play("umd_apple_harvest__small")`.
This runs Melting Pot's own human-play loop
(`meltingpot.human_players.level_playing_utils.run_episode`) on the raw Lab2D
environment: you control one player at a time; the others stand still (and
abstain) unless you switch to them.

Key bindings:

  W / UP arrow       move forward
  S / DOWN arrow     move backward
  A / LEFT arrow     step left
  D / RIGHT arrow    step right
  Q / E              turn left / turn right
  SPACE              fire the zapper
  1 .. K             vote for objective k (1-based, in the ballot order of
                     the config's `objectives`; K is their number, 3 by
                     default: 1 utilitarian, 2 egalitarian, 3 nash). The
                     keypad digits work too. A ballot only counts during a
                     VOTE phase; the last one cast in the round counts.
  TAB                switch to the next player
  close the window   quit

Each round starts with a VOTE phase (avatars frozen; vote with the number
keys) followed by a HARVEST phase. The line at the top of the window shows
the player you control, the round, the phase, the vote tally and the tax
rates; the console announces each phase. No principal runs here: the tax
rates stay at the config's `initial_rates` (set them with `overrides`).
"""

import argparse
import functools
import json
import os
import sys
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

import dm_env
from meltingpot.human_players import level_playing_utils
from ml_collections import config_dict
import numpy as np
import pygame

from umd_meltingpot import substrate
from umd_meltingpot.substrates import phases
from umd_meltingpot.substrates import umd_apple_harvest

DEFAULT_SUBSTRATE = "umd_apple_harvest__small"
OBSERVATIONS = ("RGB", "WORLD.RGB")
"""What the window can show: the current player's view or the whole map."""

# Config fields derived from the others by `with_num_players`; not
# overridable.
_DERIVED_FIELDS = frozenset({
    "action_set", "action_spec", "default_player_roles",
    "global_observation_names", "individual_observation_names",
    "lab2d_settings_builder", "timestep_spec", "valid_roles",
})
_TEXT_FONT_SIZE = 22
_MAX_VOTE_KEYS = 9

ActionMap = Dict[str, Callable[[], int]]


def _number_keys(k: int) -> tuple[int, int]:
  """The top-row and keypad key codes of digit `k`."""
  return getattr(pygame, f"K_{k}"), getattr(pygame, f"K_KP{k}")


def get_vote_pressed(num_objectives: int) -> int:
  """Returns k if number key k (1..num_objectives) is pressed, else 0.

  The lowest pressed digit wins; the top-row and the keypad digits both
  count.

  Args:
    num_objectives: the number of objectives on the ballot (1 to 9).
  """
  pressed = pygame.key.get_pressed()
  for k in range(1, min(num_objectives, _MAX_VOTE_KEYS) + 1):
    if any(pressed[code] for code in _number_keys(k)):
      return k
  return 0


def action_map(num_objectives: int, *, human: bool = True) -> ActionMap:
  """The raw Lab2D action readers for `run_episode`, one per action name.

  Args:
    num_objectives: the number of objectives on the ballot.
    human: read the keyboard (see the module docstring); False draws random
      actions with Melting Pot's `get_random_*` helpers and a uniform random
      `vote` in 0..num_objectives, for headless runs.
  """
  if human:
    return {
        "move": level_playing_utils.get_direction_pressed,
        "turn": level_playing_utils.get_turn_pressed,
        "fireZap": level_playing_utils.get_space_key_pressed,
        "vote": lambda: get_vote_pressed(num_objectives),
    }
  return {
      "move": level_playing_utils.get_random_direction,
      "turn": level_playing_utils.get_random_turn,
      "fireZap": level_playing_utils.get_random_fire,
      "vote": lambda: int(np.random.randint(num_objectives + 1)),
  }


def _round_and_phase(observation: Mapping[str, Any],
                     rounds: int) -> tuple[int, str]:
  round_ = int(observation["WORLD.ROUND"])
  phase = phases.Phase(int(observation["WORLD.PHASE"])).name
  return min(round_, rounds), phase


def _own_ranking(observation: Mapping[str, Any],
                 player_index: int) -> list[int]:
  """Player `player_index`'s (0-based) ranking this round, best first, as
  1-based objective numbers (the keys); empty: no ballot yet."""
  row = np.asarray(observation["WORLD.BALLOTS"])[player_index]
  ranked = np.flatnonzero(row)
  return [int(k) + 1 for k in ranked[np.argsort(row[ranked])]]


def _tally(observation: Mapping[str, Any]) -> list[int]:
  """First preferences per objective (`WORLD.BALLOTS` holds rank positions)."""
  ballots = np.asarray(observation["WORLD.BALLOTS"])
  return [int(count) for count in (ballots == 1).sum(axis=0)]


def _percent(rates: Any) -> str:
  return "/".join(f"{100 * float(rate):g}" for rate in np.ravel(rates)) + "%"


def status_line(observation: Mapping[str, Any],
                player_index: int,
                *,
                rounds: int,
                objectives: Sequence[str]) -> str:
  """One line on the state of the game, for the console.

  Args:
    observation: a raw Lab2D observation of the substrate (the `WORLD.*`
      observations are used).
    player_index: the 0-based index of the player you control.
    rounds: the number of rounds of the game.
    objectives: the objectives on the ballot, in ballot order.
  """
  round_, phase = _round_and_phase(observation, rounds)
  ranking = _own_ranking(observation, player_index)
  tally = ", ".join(f"{k} {name} {count}" for k, (name, count) in enumerate(
      zip(objectives, _tally(observation)), start=1))
  you = " > ".join(f"{k} {objectives[k - 1]}" for k in ranking) or "none"
  return (f"Player {player_index + 1} | round {round_}/{rounds} {phase} | "
          f"your ballot: {you} | tally: {tally} | tax rates "
          f"{_percent(observation['WORLD.TAX_RATES'])}")


def screen_line(observation: Mapping[str, Any],
                player_index: int,
                *,
                rounds: int,
                num_objectives: int) -> str:
  """A short version of `status_line`, for the top of the window."""
  round_, phase = _round_and_phase(observation, rounds)
  if phase == phases.Phase.VOTE.name:
    keys = f"1-{num_objectives}" if num_objectives > 1 else "1"
    ranking = ">".join(map(str, _own_ranking(observation, player_index)))
    phase = f"VOTE (keys {keys}; yours {ranking or '-'})"
  tally = "/".join(str(count) for count in _tally(observation))
  return (f"P{player_index + 1} R{round_}/{rounds} {phase} "
          f"votes {tally} tax {_percent(observation['WORLD.TAX_RATES'])}")


def _phase_announcement(observation: Mapping[str, Any], *,
                        config: config_dict.ConfigDict) -> str:
  round_, phase = _round_and_phase(observation, config.rounds)
  if phase == phases.Phase.VOTE.name:
    keys = ", ".join(f"{k} {name}"
                     for k, name in enumerate(config.objectives, start=1))
    return (f"== Round {round_}/{config.rounds}: VOTE for "
            f"{config.vote_steps} steps; rank the objectives, best first, "
            f"one key a step: {keys}")
  if phase == phases.Phase.HARVEST.name:
    tally = ", ".join(f"{name} {count}" for name, count in zip(
        config.objectives, _tally(observation)))
    return (f"== Round {round_}/{config.rounds}: HARVEST for "
            f"{config.harvest_steps} steps; tax rates "
            f"{_percent(observation['WORLD.TAX_RATES'])}; tally: {tally}")
  return "== Game over"


def _apply_overrides(config: config_dict.ConfigDict,
                     overrides: Mapping[str, Any]) -> config_dict.ConfigDict:
  """Returns `config` with mechanism fields replaced by `overrides`."""
  valid = sorted(set(config.keys()) - _DERIVED_FIELDS)
  unknown = sorted(set(overrides) - set(valid))
  if unknown:
    raise ValueError(
        f"Unknown or derived config fields {unknown}; valid: {valid}")
  with config.unlocked():
    for key, value in overrides.items():
      if isinstance(config[key], tuple) and isinstance(value, list):
        value = tuple(value)
      try:
        config[key] = value
      except TypeError as e:
        raise ValueError(f"Bad value {value!r} for config field {key!r}: "
                         f"{e}") from e
  return config


def _game_config(substrate_name: str, players: Optional[int],
                 overrides: Optional[Mapping[str, Any]]
                 ) -> config_dict.ConfigDict:
  """The validated config of the game, with its interface for `players`."""
  if players is not None and (isinstance(players, bool) or
                              not isinstance(players, int)):
    raise ValueError(f"players must be an integer from "
                     f"{umd_apple_harvest.MIN_PLAYERS} to "
                     f"{umd_apple_harvest.MAX_PLAYERS}, got {players!r}")
  # Sized for the players, as a variant's per-player skills are.
  config = substrate.get_config(substrate_name, num_players=players)
  players = len(config.default_player_roles)
  config = _apply_overrides(config, overrides or {})
  if len(config.objectives) > _MAX_VOTE_KEYS:
    raise ValueError(f"Human play has number keys for at most "
                     f"{_MAX_VOTE_KEYS} objectives, got "
                     f"{len(config.objectives)}")
  return umd_apple_harvest.with_num_players(config, players)


def check_display() -> None:
  """Raises ValueError, saying what to do, when no window can open.

  SDL segfaults (after an XDG_RUNTIME_DIR message) when asked for a window
  on Linux without a display, so this is checked before anything is built.
  An explicit `SDL_VIDEODRIVER` (e.g. dummy, offscreen) is left to SDL.
  """
  if (not sys.platform.startswith("linux") or os.environ.get(
      "SDL_VIDEODRIVER") or os.environ.get("DISPLAY") or os.environ.get(
          "WAYLAND_DISPLAY")):
    return
  raise ValueError(
      "no display to open the game window on (DISPLAY and WAYLAND_DISPLAY "
      "are unset): run umd play where a display is (a desktop, ssh -X, or "
      "xvfb-run umd play), or without a window: umd play --headless (random "
      "actions, for testing)")


def _check_positive(**values: int) -> None:
  for name, value in values.items():
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def play(substrate_name: str = DEFAULT_SUBSTRATE,
         *,
         players: Optional[int] = None,
         overrides: Optional[Mapping[str, Any]] = None,
         render: bool = True,
         fps: int = 8,
         screen_width: int = 800,
         screen_height: int = 600,
         verbose: bool = False,
         observation: str = "RGB") -> None:
  """Plays one game of `substrate_name` (see the module docstring for keys).

  Args:
    substrate_name: a name from `umd_meltingpot.substrate.SUBSTRATES`.
    players: the number of players (2 to 16); default: the substrate's.
    overrides: config fields to change (e.g. `{"rounds": 1, "vote_steps":
      3, "initial_rates": (0.1, 0.2, 0.3)}`); any field of
      `substrate.get_config` except the derived interface fields.
    render: True opens a pygame window and reads the keyboard; False runs
      headless (Melting Pot's `RenderType.NONE`) with random actions for the
      current player.
    fps: frames (environment steps) per second of the window.
    screen_width: the largest width of the window, in pixels.
    screen_height: the largest height of the window, in pixels.
    verbose: print a status line (round, phase, your ballot, tally, tax
      rates) after every step, and the Lab2D events. Phase changes are
      announced either way.
    observation: what the window shows: "RGB" (the current player's view)
      or "WORLD.RGB" (the whole map).

  Raises:
    ValueError: an unknown substrate, observation or config field, a player
      count out of range, a bad override value, or a non-positive size or fps.
  """
  if observation not in OBSERVATIONS:
    raise ValueError(
        f"Unknown observation {observation!r}; valid: {list(OBSERVATIONS)}")
  _check_positive(fps=fps, screen_width=screen_width,
                  screen_height=screen_height)
  if render:
    check_display()
  # The game has no sound: without this SDL opens the sound card (ALSA
  # prints errors where there is none).
  os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
  config = _game_config(substrate_name, players, overrides)
  roles = config.default_player_roles
  objectives = tuple(config.objectives)
  full_config = config_dict.ConfigDict(
      {"lab2d_settings": config.lab2d_settings_builder(config, roles)})
  announced = {}

  def verbose_fn(timestep: dm_env.TimeStep, player_index: int,
                 current_player_index: int) -> None:
    if player_index != current_player_index:
      return
    obs = timestep.observation
    phase_key = _round_and_phase(obs, config.rounds)
    if announced.get("phase") != phase_key:
      announced["phase"] = phase_key
      print(_phase_announcement(obs, config=config))
    if verbose:
      print(status_line(obs, player_index, rounds=config.rounds,
                        objectives=objectives))

  def text_display_fn(timestep: dm_env.TimeStep, player_index: int) -> str:
    return screen_line(timestep.observation, player_index,
                       rounds=config.rounds,
                       num_objectives=len(objectives))

  rounds = f"{config.rounds} round{'s' if config.rounds != 1 else ''}"
  print(f"{substrate_name}: {len(roles)} players, {rounds} of "
        f"{config.vote_steps} VOTE + {config.harvest_steps} HARVEST steps.")
  if render:
    print("Keys: WASD/arrows move, Q/E turn, SPACE zap, TAB next player, "
          f"1-{len(objectives)} vote: " + ", ".join(
              f"{k} {name}" for k, name in enumerate(objectives, start=1)))
  print(_phase_announcement(
      {"WORLD.ROUND": 1, "WORLD.PHASE": phases.Phase.VOTE}, config=config))
  announced["phase"] = (1, phases.Phase.VOTE.name)
  level_playing_utils.run_episode(
      observation,
      {},
      action_map(len(objectives), human=render),
      full_config,
      interactive=(level_playing_utils.RenderType.PYGAME if render
                   else level_playing_utils.RenderType.NONE),
      screen_width=screen_width,
      screen_height=screen_height,
      fps=fps,
      verbose_fn=verbose_fn,
      text_display_fn=text_display_fn,
      text_font_size=_TEXT_FONT_SIZE,
      text_x_pos=8,
      text_y_pos=8,
      env_builder=functools.partial(substrate.build_environment,
                                    config=config),
      print_events=verbose,
      default_observation="WORLD.RGB",
  )


def _parse_override(text: str) -> tuple[str, Any]:
  """Parses KEY=VALUE; VALUE is JSON when it parses, else a string."""
  key, sep, value = text.partition("=")
  if not sep or not key:
    raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
  try:
    return key, json.loads(value)
  except json.JSONDecodeError:
    return key, value


def main(argv: Optional[Sequence[str]] = None) -> None:
  """Command line: `python -m umd_meltingpot.game.play --help`."""
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  parser.add_argument("--substrate", default=DEFAULT_SUBSTRATE,
                      choices=sorted(substrate.SUBSTRATES))
  parser.add_argument("--players", type=int, default=None,
                      help="number of players (default: the substrate's)")
  parser.add_argument("--observation", default="RGB", choices=OBSERVATIONS)
  parser.add_argument("--override", type=_parse_override, action="append",
                      default=[], metavar="KEY=VALUE",
                      help="config field override, e.g. rounds=2 or "
                      "initial_rates=[0.1,0.2,0.3]; repeatable")
  parser.add_argument("--fps", type=int, default=8)
  parser.add_argument("--headless", action="store_true",
                      help="no window: random actions, no rendering")
  parser.add_argument("--verbose", action="store_true",
                      help="print the game state after every step")
  args = parser.parse_args(argv)
  try:
    play(args.substrate,
         players=args.players,
         overrides=dict(args.override),
         render=not args.headless,
         fps=args.fps,
         verbose=args.verbose,
         observation=args.observation)
  except ValueError as e:
    parser.error(str(e))


if __name__ == "__main__":
  main()
