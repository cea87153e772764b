"""Human play of the UMD Apple Harvest substrates, in a pygame window.

  python -m umd_meltingpot.game.play --substrate umd_apple_harvest__small
  umd play --principal hand_rule          # you against the principal

There are two ways to play.

Free play (`play`, `umd play` without `--principal`) runs Melting Pot's own
human-play loop (`meltingpot.human_players.level_playing_utils.run_episode`)
on the raw Lab2D environment: you control one player at a time; the others
stand still (and abstain) unless you switch to them with TAB. No principal
runs: the vote is shown but changes nothing.

Against the principal (`play_against`, `umd play --principal NAME|CHECKPOINT`)
runs the game of `umd run`, built by the same functions (`loop.prepare`,
`loop.build_bots`, `loop.build_environment`): you are player 1, bots play the
others and vote their types, and the principal wrapper counts your ranked
ballot with theirs, elects the objective and lets the principal set phi within
delta of the last round's. Below the world the window shows `umd run
--video`'s HUD (`outputs/hud.py`): the tally, the rule's scores, the winner,
phi and each player's income, tax and transfer this round, yours labelled
"you".

Key bindings:

  W / UP arrow       move forward
  S / DOWN arrow     move backward
  A / LEFT arrow     step left
  D / RIGHT arrow    step right
  Q / E              turn left / turn right
  SPACE              fire the zapper
  1 .. K             rank objective k next (1-based, in the ballot order of
                     the config's `objectives`; K is their number, 3 by
                     default: 1 utilitarian, 2 egalitarian, 3 nash). The
                     keypad digits work too. A ballot only counts during a
                     VOTE phase.
  TAB                free play: switch to the next player
  ENTER              against the principal: end your ballot (at once:
                     abstain)
  close the window   quit

Each round starts with a VOTE phase (avatars frozen) followed by a HARVEST
phase. In free play a number key held at a VOTE step ranks that objective,
and the VOTE phase runs at the frame rate. Against the principal the game
waits for you during VOTE: each number key press ranks one objective (one
VOTE step; an objective already ranked is ignored), until you press ENTER or
the VOTE steps run out; then the bots finish theirs and the vote closes. The
line at the top of the window shows the player you control, the round, the
phase and your ballot; the console announces each phase, each election and
what each round paid you.
"""

import argparse
import collections
import contextlib
import dataclasses
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
from umd_meltingpot.game import loop
from umd_meltingpot.outputs import hud as hud_lib
from umd_meltingpot.outputs import video
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


HUMAN = 0
"""The player you are against the principal (0-based): P1."""
YOU = "you"
"""Your name in the HUD's player table."""

_ENTER_KEYS = (pygame.K_RETURN, pygame.K_KP_ENTER)
_TEXT_COLOUR = (255, 255, 255)
_TEXT_BACKGROUND = (20, 22, 30)
_PRINCIPAL_FONT_SIZE = 18


class Quit(Exception):
  """The window was closed: the game stops; its finished rounds are kept."""


def _vote_of_key(key: int, num_objectives: int) -> int:
  """k if `key` is the top-row or keypad digit k in 1..num_objectives,
  else 0."""
  for k in range(1, min(num_objectives, _MAX_VOTE_KEYS) + 1):
    if key in _number_keys(k):
      return k
  return 0


class HumanPlayer:
  """You at the keyboard, as the game loop steps a bot
  (`loop.play_episode`): `initial_state()` and `step(timestep, state)`.

  In HARVEST the held keys move, turn and zap (Melting Pot's readers, one
  action a step: a move before a turn before a zap). In VOTE the game waits
  for your key presses: each number key ranks one objective (one VOTE step
  casts its `VOTE_<objective>` press), an objective already ranked is
  ignored, and ENTER ends your ballot (at once: you abstain); once it has
  ended, or ranks every objective, the remaining VOTE steps pass without a
  press. Presses outside VOTE are dropped. Closing the window raises `Quit`.

  The state is the round whose ballot you ended with ENTER (0: none).
  """

  def __init__(self, objectives: Sequence[str], *,
               wait: Callable[[], None]):
    """Reads your keys for a ballot over `objectives`.

    Args:
      objectives: the objectives on the ballot, in ballot order.
      wait: called while the game waits for a key (ticks the window's
        clock, so that waiting does not spin).
    """
    self._num_objectives = len(objectives)
    self._actions = umd_apple_harvest.action_set(objectives)
    self._wait = wait
    self._keys: collections.deque[int] = collections.deque()

  def _index(self, *, move: int = 0, turn: int = 0, fire: int = 0,
             vote: int = 0) -> int:
    return self._actions.index(
        {"move": move, "turn": turn, "fireZap": fire, "vote": vote})

  def initial_state(self) -> int:
    return 0

  def _read_events(self) -> None:
    """Queues the key presses since the last read; raises Quit on QUIT."""
    for event in pygame.event.get():
      if event.type == pygame.QUIT:
        raise Quit()
      if event.type == pygame.KEYDOWN:
        self._keys.append(event.key)

  def _next_key(self) -> int:
    """The next key pressed, waiting for one."""
    while not self._keys:
      self._read_events()
      if not self._keys:
        self._wait()
    return self._keys.popleft()

  def step(self, timestep: dm_env.TimeStep, state: int) -> tuple[int, int]:
    """Your action at `timestep` (your own view of it) and the next state.

    Raises:
      Quit: the window was closed.
    """
    observation = timestep.observation
    phase = int(observation["WORLD.PHASE"])
    if phase == phases.Phase.VOTE:
      round_ = int(observation["WORLD.ROUND"])
      ranked = _own_ranking(observation, HUMAN)
      if state == round_ or len(ranked) == self._num_objectives:
        self._read_events()
        self._keys.clear()
        return self._index(), state
      while True:
        key = self._next_key()
        if key in _ENTER_KEYS:
          return self._index(), round_
        vote = _vote_of_key(key, self._num_objectives)
        if vote and vote not in ranked:
          return self._index(vote=vote), state
    self._read_events()
    self._keys.clear()  # A vote counts only in the VOTE phase.
    if phase != phases.Phase.HARVEST:
      return self._index(), state
    move = level_playing_utils.get_direction_pressed()
    turn = 0 if move else level_playing_utils.get_turn_pressed()
    fire = 0 if move or turn else level_playing_utils.get_space_key_pressed()
    return self._index(move=move, turn=turn, fire=fire), state


class RandomHuman:
  """Your player without a window: uniform random actions from its own
  generator (`umd play --headless`, to check that the game runs)."""

  def __init__(self, num_actions: int, seed: int):
    self._num_actions = num_actions
    self._rng = np.random.default_rng(seed)

  def initial_state(self) -> None:
    return None

  def step(self, timestep: dm_env.TimeStep, state: None) -> tuple[int, None]:
    del timestep
    return int(self._rng.integers(self._num_actions)), state


def human_text(observation: Mapping[str, Any], *,
               objectives: Sequence[str], rounds: int) -> tuple[str, ...]:
  """The lines at the top of the window against the principal: who you
  are, the round and phase, the keys and, in VOTE, your ballot so far.

  Args:
    observation: your raw observation (the `WORLD.*` ones are read).
    objectives: the objectives on the ballot, in ballot order.
    rounds: tau.
  """
  round_, phase = _round_and_phase(observation, rounds)
  ranking = _own_ranking(observation, HUMAN)
  heading = f"You: P{HUMAN + 1} · round {round_}/{rounds} · {phase}"
  if phase == phases.Phase.VOTE.name:
    keys = " ".join(f"{k} {video.short_name(name)}"
                    for k, name in enumerate(objectives, start=1))
    yours = " > ".join(video.short_name(objectives[k - 1]) for k in ranking)
    return (f"{heading} · rank with keys: {keys}",
            f"your ballot: {yours or '-'} · ENTER: done")
  if phase == phases.Phase.HARVEST.name:
    return (f"{heading} · WASD move, Q/E turn, SPACE zap",)
  return (f"{heading} · game over",)


class _Window:
  """The pygame window against the principal: your view (or the map)
  scaled, `video.compose_frame`'s HUD strip below it, and `human_text` on
  top."""

  def __init__(self, *, caption: str, fps: int, screen_width: int,
               screen_height: int):
    pygame.init()
    pygame.display.set_caption(caption)
    self._font = pygame.font.SysFont(None, _PRINCIPAL_FONT_SIZE)
    self._clock = pygame.time.Clock()
    self._fps = fps
    self._size = (screen_width, screen_height)
    self._scale = 0
    self._display = None

  def show(self, image: np.ndarray, hud: video.Hud,
           lines: Sequence[str]) -> None:
    """Draws one frame and waits for the next one's time."""
    if self._display is None:  # The first frame fixes the layout.
      height, width = np.asarray(image).shape[:2]
      self._scale = max(1, min(
          self._size[0] // width,
          (self._size[1] - video.strip_height(hud)) // height))
    frame = video.compose_frame(image, hud, self._scale)
    if self._display is None:
      self._display = pygame.display.set_mode(
          (frame.shape[1], frame.shape[0]))
    # pygame is column major.
    surface = pygame.surfarray.make_surface(np.transpose(frame, (1, 0, 2)))
    self._display.blit(surface, (0, 0))
    for row, line in enumerate(lines):
      text = self._font.render(line, True, _TEXT_COLOUR, _TEXT_BACKGROUND)
      self._display.blit(text, (4, 4 + row * (_PRINCIPAL_FONT_SIZE + 2)))
    pygame.display.update()
    self._clock.tick(self._fps)

  def wait(self) -> None:
    self._clock.tick(self._fps)

  def close(self) -> None:
    pygame.quit()


def _flat(values: Sequence[float]) -> str:
  return "/".join(f"{value:.2f}" for value in values)


def _announce_vote(env: Any, world: Mapping[str, Any], *,
                   game: "loop.PreparedGame") -> str:
  """The console line when a vote has closed: the winner and phi."""
  config = game.substrate_config
  vote = env.counted_vote(world)
  tally = ", ".join(f"{name} {count:g}"
                    for name, count in zip(config.objectives, vote.tally))
  tie = " (tie broken at random)" if vote.tie_broken else ""
  return (f"== Round {int(world['WORLD.ROUND'])}/{config.rounds}: "
          f"{game.config.rule} elected {env.objective}{tie}; first "
          f"preferences: {tally}. The principal set phi = {_flat(env.phi)} "
          f"(delta {game.config.delta:g}, {game.config.divergence}). "
          f"HARVEST for {config.harvest_steps} steps.")


def _announce_round(record: Any) -> str:
  """The console line when a round has ended: what it paid you."""
  you = HUMAN
  return (f"== Round {record.round}/{record.rounds} over: you earned "
          f"{record.gross[you]:.1f}, paid {record.tax[you]:.1f} tax, got "
          f"{record.transfer[you]:.1f} back; return "
          f"{record.returns[you]:.1f}. {record.objective} = "
          f"{record.objective_value:.2f}.")


def play_against(game: "loop.PreparedGame",
                 *,
                 render: bool = True,
                 fps: int = 8,
                 screen_width: int = 800,
                 screen_height: int = 600,
                 verbose: bool = False,
                 observation: str = "RGB") -> list[Any]:
  """Plays one game of `game` as player 1 against its principal.

  The bots of `game` play the other players (its `--bots` cycled over
  them, the first on P2) and vote their types; your ranked ballot (number
  keys, see `HumanPlayer`) is counted with theirs from `WORLD.BALLOTS`, and
  the principal sets phi each round within delta, as in `umd run`. The
  window shows `observation` with the HUD below it (`outputs/hud.py`).

  Args:
    game: a game from `loop.prepare` (with `umd_meltingpot.agents.FACTORY`);
      its ballots must be "world", so that key presses count.
    render: True opens a pygame window and reads the keyboard; False runs
      headless, your player taking random actions (`RandomHuman`).
    fps: frames (environment steps) per second of the HARVEST phase.
    screen_width: the largest width of the world in the window, in pixels.
    screen_height: the largest height of the window, in pixels.
    verbose: also print the round, phase, your ballot, the tally and phi
      after every step.
    observation: what the window shows: "RGB" (your view) or "WORLD.RGB"
      (the whole map).

  Returns:
    The records of the rounds played (`RoundRecord`, as in `rounds.jsonl`);
    fewer than tau if the window was closed.

  Raises:
    ValueError: an unknown observation, a non-positive size or fps, more
      objectives than number keys, ballots other than "world", a game
      without bots, or no display to open a window on.
  """
  if observation not in OBSERVATIONS:
    raise ValueError(
        f"Unknown observation {observation!r}; valid: {list(OBSERVATIONS)}")
  _check_positive(fps=fps, screen_width=screen_width,
                  screen_height=screen_height)
  config = game.substrate_config
  objectives = tuple(config.objectives)
  if len(objectives) > _MAX_VOTE_KEYS:
    raise ValueError(f"Human play has number keys for at most "
                     f"{_MAX_VOTE_KEYS} objectives, got {len(objectives)}")
  if game.mechanism.ballot_source != "world":
    raise ValueError(
        f"ballots must be 'world' to play against the principal (your "
        f"VOTE presses count only then), got "
        f"{game.mechanism.ballot_source!r}")
  if not game.bot_names:
    raise ValueError("playing against the principal needs bots for the "
                     "other players")
  if render:
    check_display()
  os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
  # Cycled over the others: P2 gets the first bot (`make_bots` gives player
  # i names[i % L], and P1's bot is left out).
  names = game.bot_names
  bots = loop.build_bots(dataclasses.replace(
      game, bot_names=names[-1:] + names[:-1]))
  players = [YOU] + [names[(i - 1) % len(names)]
                     for i in range(1, game.num_players)]
  views = game.bot_factory.views(names)
  if views is not None:  # The bots' views and the window's.
    views = (*views, observation)
  hud_options = dict(
      rounds=config.rounds, objectives=objectives, rule=game.config.rule,
      steps=loop.episode_steps(game), names=players,
      colours=video.player_colours(game.num_players))
  others = ", ".join(f"P{i + 1} {name}"
                     for i, name in enumerate(players) if i != HUMAN)
  print(f"{game.config.substrate}: you are P{HUMAN + 1} against the "
        f"{game.config.principal} principal ({game.config.rule} vote, "
        f"delta {game.config.delta:g} {game.config.divergence}); {others}. "
        f"{config.rounds} rounds of {config.vote_steps} VOTE + "
        f"{config.harvest_steps} HARVEST steps; phi_0 "
        f"{_flat(game.schedule.as_array())}.")
  if render:
    keys = ", ".join(f"{k} {name}" for k, name in enumerate(objectives,
                                                            start=1))
    print("Keys: WASD/arrows move, Q/E turn, SPACE zap. In each VOTE the "
          f"game waits for your ballot: rank the objectives, best first, "
          f"one key each ({keys}); ENTER ends it (at once: abstain).")
  counter = loop.StepCounter()
  announced = {}

  def on_step(timestep: dm_env.TimeStep) -> None:
    counter.observe(timestep)
    world = timestep.observation[HUMAN]
    phase_key = _round_and_phase(world, config.rounds)
    if announced.get("phase") != phase_key:
      announced["phase"] = phase_key
      if phase_key[1] == phases.Phase.HARVEST.name:
        print(_announce_vote(env, world, game=game))
      elif phase_key[1] == phases.Phase.VOTE.name:
        print(f"== Round {phase_key[0]}/{config.rounds}: VOTE")
    if verbose:
      print(status_line(world, HUMAN, rounds=config.rounds,
                        objectives=objectives))
    if window is not None:
      window.show(world[observation], hud_lib.hud(
          env, world, step=counter.step, **hud_options),
                  human_text(world, objectives=objectives,
                             rounds=config.rounds))

  def on_round_end(record: Any) -> None:
    print(_announce_round(record))

  with contextlib.ExitStack() as stack:
    env = stack.enter_context(loop.build_environment(
        game, on_round_end, views=views))
    window = None
    if render:
      window = _Window(
          caption=f"UMD: you (P{HUMAN + 1}) against the "
          f"{game.config.principal} principal", fps=fps,
          screen_width=screen_width, screen_height=screen_height)
      stack.callback(window.close)
      human = HumanPlayer(objectives, wait=window.wait)
    else:
      human = RandomHuman(len(config.action_set), seed=game.config.seed + 4)
    try:
      loop.play_episode(env, [human, *bots[1:]], on_step)
    except Quit:
      print("Window closed: the game stops; finished rounds are kept.")
    records = env.records
  if records:
    print(loop.format_table(records))
  return records


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
