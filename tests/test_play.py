"""Tests of human play, headless in Melting Pot's style (pygame patched)."""

import contextlib
import io
import os
from typing import Any, Collection
from unittest import mock

# No window and no sound device, before pygame initialises anything.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import pygame

from umd_meltingpot.game import play
from umd_meltingpot import substrate
# pylint: enable=g-import-not-at-top,wrong-import-position

_NAME = "umd_apple_harvest__small"
_TINY = {"rounds": 1, "vote_steps": 2, "harvest_steps": 5}


class _Pressed:
  """A stand-in for `pygame.key.get_pressed()`: these keys are held."""

  def __init__(self, keys: Collection[int] = ()):
    self._keys = frozenset(keys)

  def __getitem__(self, key: int) -> bool:
    return key in self._keys


class _EnvSpy:
  """Wraps `substrate.build_environment`, keeping every timestep the game
  steps into."""

  def __init__(self):
    self.timesteps = []
    self._build = substrate.build_environment

  def __call__(self, *args: Any, **kwargs: Any):
    env = self._build(*args, **kwargs)
    step = env.step

    def recording_step(actions):
      timestep = step(actions)
      self.timesteps.append(timestep)
      return timestep

    env.step = recording_step
    return env


def _run(**kwargs: Any) -> str:
  """Runs `play.play` on the tiny game; returns what it printed."""
  out = io.StringIO()
  with contextlib.redirect_stdout(out):
    play.play(_NAME, overrides=_TINY, **kwargs)
  return out.getvalue()


# Mock arguments come bottom decorator first: time, display, event, key.
@mock.patch.object(pygame, "key")
@mock.patch.object(pygame, "event")
@mock.patch.object(pygame, "display")
@mock.patch.object(pygame, "time")
class PlayTest(absltest.TestCase):

  def test_pygame_episode_runs(self, unused_time, display, unused_event,
                               unused_key):
    # As in Melting Pot's play_level_test: every key reads as pressed.
    output = _run(render=True)
    display.set_mode.assert_called_once()
    self.assertIn("Round 1/1: VOTE", output)
    self.assertIn("Round 1/1: HARVEST", output)
    self.assertIn("Player 4: score is", output)

  def test_number_key_two_votes_for_objective_two(self, unused_time,
                                                  unused_display,
                                                  unused_event, key):
    key.get_pressed.return_value = _Pressed({pygame.K_2})
    spy = _EnvSpy()
    with mock.patch.object(substrate, "build_environment", spy), \
        mock.patch.object(pygame, "font") as font:
      output = _run(render=True, verbose=True, players=3)
    # 2 VOTE + 5 HARVEST steps; run_episode stops at the last one.
    self.assertLen(spy.timesteps, 7)
    after_vote = spy.timesteps[1].observation
    np.testing.assert_array_equal(
        after_vote["WORLD.BALLOTS"], [[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    # VOTING[k, r]: players ranking objective k at position r + 1.
    np.testing.assert_array_equal(
        after_vote["1.VOTING"], [[0, 0, 0], [1, 0, 0], [0, 0, 0]])
    self.assertIn("your ballot: 2 egalitarian", output)
    self.assertIn("tally: utilitarian 0, egalitarian 1, nash 0", output)
    rendered = [call.args[0] for call in
                font.SysFont.return_value.render.call_args_list]
    self.assertIn("P1 R1/1 VOTE (keys 1-3; yours 2) votes 0/1/0 tax 0/0/0%",
                  rendered)

  def test_no_key_abstains(self, unused_time, unused_display, unused_event,
                           key):
    key.get_pressed.return_value = _Pressed()
    spy = _EnvSpy()
    with mock.patch.object(substrate, "build_environment", spy):
      _run(render=True, observation="WORLD.RGB")
    for timestep in spy.timesteps:
      self.assertFalse(timestep.observation["WORLD.BALLOTS"].any())

  def test_headless_run_opens_no_window(self, unused_time, display, event,
                                        key):
    output = _run(render=False, verbose=True)
    display.set_mode.assert_not_called()
    event.get.assert_not_called()
    key.get_pressed.assert_not_called()
    self.assertIn("Round 1/1: HARVEST", output)


class VoteKeyTest(parameterized.TestCase):

  @parameterized.parameters(
      ((), 3, 0),
      (("K_1",), 3, 1),
      (("K_3",), 3, 3),
      (("K_KP2",), 3, 2),
      (("K_4",), 3, 0),
      (("K_5",), 5, 5),
      (("K_0",), 3, 0),
      (("K_3", "K_2"), 3, 2),
  )
  def test_vote_key(self, names, num_objectives, expected):
    pressed = _Pressed({getattr(pygame, name) for name in names})
    with mock.patch.object(pygame, "key") as key:
      key.get_pressed.return_value = pressed
      self.assertEqual(play.get_vote_pressed(num_objectives), expected)

  def test_random_action_map_stays_in_range(self):
    actions = play.action_map(3, human=False)
    self.assertEqual(set(actions), {"move", "turn", "fireZap", "vote"})
    votes = {actions["vote"]() for _ in range(200)}
    self.assertEqual(votes, {0, 1, 2, 3})


class ValidationTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ("unknown_substrate", {"substrate_name": "commons_harvest__open"},
       "umd_apple_harvest__small"),
      ("too_few_players", {"players": 1}, "2 to 16"),
      ("too_many_players", {"players": 17}, "2 to 16"),
      ("players_not_int", {"players": 2.5}, "2 to 16"),
      ("unknown_field", {"overrides": {"round": 2}}, "'rounds'"),
      ("derived_field", {"overrides": {"action_set": ()}}, "'vote_steps'"),
      ("bad_value", {"overrides": {"rounds": 0}}, "rounds"),
      ("bad_type", {"overrides": {"rounds": "two"}}, "rounds"),
      ("too_many_objectives", {"overrides": {"objectives": ("nash",) * 10}},
       "objectives"),
      ("observation", {"observation": "LAYER"}, "WORLD.RGB"),
      ("fps", {"fps": 0}, "fps"),
  )
  def test_bad_input(self, kwargs, message):
    kwargs = {"substrate_name": _NAME, "render": False, **kwargs}
    with mock.patch.object(play.level_playing_utils, "run_episode") as run:
      with self.assertRaisesRegex(ValueError, message):
        play.play(**kwargs)
      run.assert_not_called()


class GameConfigTest(absltest.TestCase):

  def test_a_variants_skills_are_drawn_for_the_players(self):
    config = play._game_config("umd_apple_harvest__unequal", 6, None)
    self.assertLen(config.skills, 6)
    self.assertLen(config.default_player_roles, 6)


class MainTest(absltest.TestCase):

  def test_flags(self):
    with mock.patch.object(play, "play") as run:
      play.main(["--substrate", "umd_apple_harvest__open", "--players", "3",
                 "--override", "rounds=2", "--override",
                 "initial_rates=[0.1, 0.2, 0.3]", "--override",
                 "redistribution=below_mean", "--headless", "--verbose"])
    run.assert_called_once_with(
        "umd_apple_harvest__open", players=3,
        overrides={"rounds": 2, "initial_rates": [0.1, 0.2, 0.3],
                   "redistribution": "below_mean"},
        render=False, fps=8, verbose=True, observation="RGB")

  def test_bad_input_is_a_usage_error(self):
    with contextlib.redirect_stderr(io.StringIO()) as err:
      with self.assertRaises(SystemExit):
        play.main(["--players", "1", "--headless"])
    self.assertIn("2 to 16 players", err.getvalue())


if __name__ == "__main__":
  absltest.main()
