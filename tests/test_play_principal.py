"""Tests of `umd play --principal`: a human against the principal.

The games run in a real pygame window on SDL's dummy video driver; the human
is scripted: it watches the HUD that the game draws and, when a round's VOTE
is on screen, presses that round's keys through pygame's own event queue
(`pygame.event.post`), while holding keys for the HARVEST phase.
"""

import contextlib
import io
import os
import pathlib
from typing import Any, Collection, Mapping, Sequence
from unittest import mock

# No window and no sound device, before pygame initialises anything.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import pygame

from umd_meltingpot import agents
from umd_meltingpot.game import loop
from umd_meltingpot.game import play
from umd_meltingpot.outputs import hud as hud_lib
from umd_meltingpot.outputs import video
from umd_meltingpot.principal import registry
from umd_meltingpot.substrates import phases
from tests import helpers
# pylint: enable=g-import-not-at-top,wrong-import-position

# The shipped principal, trained on umd_apple_harvest__unequal.
_CHECKPOINT = (pathlib.Path(__file__).parents[1] / "agents" / "checkpoints"
               / "principal_bo_dynamic_unequal.npz")
_DELTA = 0.1
_PHI0 = (0.7, 0.7, 0.7)
# Two short rounds on the small map, greedy bots, a principal that moves
# phi every round. With seed 0 and A held, P1 harvests in round 1.
_GAME = dict(rounds=2, steps=15, vote_steps=2, principal="random",
             bots="greedy", seed=0, delta=_DELTA, phi0=_PHI0[:1])
# More event reads than a scripted game needs: then the human closes the
# window, so that a game waiting for a ballot that never comes fails, not
# hangs.
_MAX_READS = 20_000
QUIT = "quit"
"""In a round's keys: close the window."""


class _Held:
  """A stand-in for `pygame.key.get_pressed()`: these keys are held."""

  def __init__(self, keys: Collection[int]):
    self._keys = frozenset(keys)

  def __getitem__(self, key: int) -> bool:
    return key in self._keys


class _ScriptedHuman:
  """Presses each round's keys once that round's VOTE is on screen.

  It wraps `hud_lib.hud` to see each frame's world as it is drawn (and keeps
  the HUDs), and `pygame.event.get` to post the keys into pygame's queue
  just before the game reads it.
  """

  def __init__(self, keys: Mapping[int, Sequence[Any]],
               held: Collection[int] = ()):
    self._keys = dict(keys)
    self._held = _Held(held)
    self._hud = hud_lib.hud
    self._get = pygame.event.get
    self._compose = video.compose_frame
    self._reads = 0
    self.frames: list[tuple[dict[str, Any], video.Hud]] = []
    self.composed: list[np.ndarray] = []
    self.shown: list[np.ndarray] = []

  def hud(self, env, world, **kwargs) -> video.Hud:
    drawn = self._hud(env, world, **kwargs)
    self.frames.append((world, drawn))
    return drawn

  def compose_frame(self, *args, **kwargs) -> np.ndarray:
    frame = self._compose(*args, **kwargs)
    self.composed.append(frame)
    return frame

  def update(self, *unused) -> None:
    """pygame.display.update: keeps what the window shows."""
    surface = pygame.display.get_surface()
    self.shown.append(np.transpose(pygame.surfarray.array3d(surface),
                                   (1, 0, 2)))

  def get(self, *args, **kwargs):
    self._reads += 1
    if self.frames:
      world = self.frames[-1][0]
      if int(world["WORLD.PHASE"]) == phases.Phase.VOTE:
        for key in self._keys.pop(int(world["WORLD.ROUND"]), ()):
          pygame.event.post(pygame.event.Event(pygame.QUIT) if key == QUIT
                            else pygame.event.Event(pygame.KEYDOWN, key=key))
    if self._reads > _MAX_READS:
      pygame.event.post(pygame.event.Event(pygame.QUIT))
    return self._get(*args, **kwargs)

  @contextlib.contextmanager
  def playing(self):
    with mock.patch.object(hud_lib, "hud", self.hud), \
        mock.patch.object(video, "compose_frame", self.compose_frame), \
        mock.patch.object(pygame.display, "update", self.update), \
        mock.patch.object(pygame.event, "get", self.get), \
        mock.patch.object(pygame.key, "get_pressed", lambda: self._held):
      yield


def _prepare(**options: Any) -> loop.PreparedGame:
  return loop.prepare(loop.GameConfig(**{**_GAME, **options}),
                      agents.FACTORY)


def _play(keys: Mapping[int, Sequence[Any]], held: Collection[int] = (),
          **options: Any) -> tuple[list[Any], _ScriptedHuman, str]:
  """Plays `_GAME` in the dummy window with a scripted human."""
  human = _ScriptedHuman(keys, held)
  out = io.StringIO()
  with human.playing(), contextlib.redirect_stdout(out):
    records = play.play_against(_prepare(**options), render=True, fps=1000)
  return records, human, out.getvalue()


def _harvest_frames(human: _ScriptedHuman, round_: int):
  """The (world, hud) frames drawn in round `round_`'s HARVEST."""
  return [(world, hud) for world, hud in human.frames
          if int(world["WORLD.ROUND"]) == round_
          and int(world["WORLD.PHASE"]) == phases.Phase.HARVEST]


def _frame_ending(human: _ScriptedHuman, round_: int):
  """The frame drawn after round `round_`'s last step: the next round's
  VOTE (or the game over), whose ROUND_* totals are still that round's."""
  last_harvest = max(
      index for index, (world, _) in enumerate(human.frames)
      if int(world["WORLD.ROUND"]) == round_
      and int(world["WORLD.PHASE"]) == phases.Phase.HARVEST)
  return human.frames[last_harvest + 1]


class AgainstThePrincipalTest(absltest.TestCase):
  """Two games on one seed: one where P1 ranks by keys, one where it
  abstains (ENTER at once)."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    held = {pygame.K_a}  # Step left: P1 reaches apples in round 1.
    # Round 1: 3, then 3 again (already ranked: ignored, not a VOTE step of
    # the 2), then 1; the ENTER comes after the vote has closed.
    cls.voted, cls.human, cls.output = _play(
        {1: [pygame.K_3, pygame.K_3, pygame.K_KP1, pygame.K_RETURN],
         2: [pygame.K_2, pygame.K_RETURN]}, held)
    cls.abstained, _, _ = _play(
        {1: [pygame.K_RETURN], 2: [pygame.K_KP_ENTER]}, held)

  def test_both_games_are_played_to_the_end(self):
    self.assertLen(self.voted, 2)
    self.assertLen(self.abstained, 2)
    self.assertIn("you are P1 against the random principal", self.output)

  def test_your_recorded_ballot_is_the_ranking_you_pressed(self):
    # Rank positions per objective (utilitarian, egalitarian, nash).
    self.assertEqual(self.voted[0].ballots[play.HUMAN], [2, 0, 1])
    self.assertEqual(self.voted[1].ballots[play.HUMAN], [0, 1, 0])
    for record in self.abstained:
      self.assertEqual(record.ballots[play.HUMAN], [0, 0, 0])

  def test_your_keys_change_the_counted_ballots_and_no_others(self):
    for voted, abstained in zip(self.voted, self.abstained):
      self.assertNotEqual(voted.ballots, abstained.ballots)
      # The bots cast the same ballots in both games.
      self.assertEqual(voted.ballots[1:], abstained.ballots[1:])
      self.assertTrue(any(any(row) for row in voted.ballots[1:]))
    # Your first preference is one more vote in the tally.
    np.testing.assert_array_equal(
        np.subtract(self.voted[0].tally, self.abstained[0].tally), [0, 0, 1])
    np.testing.assert_array_equal(
        np.subtract(self.voted[1].tally, self.abstained[1].tally), [0, 1, 0])

  def test_the_principal_sets_phi_each_round_within_delta(self):
    previous = _PHI0
    for record in self.voted:
      np.testing.assert_allclose(record.phi_prev, previous)
      self.assertLessEqual(record.divergence, _DELTA + 1e-9)
      self.assertLessEqual(
          np.abs(np.subtract(record.phi, record.phi_prev)).max(),
          _DELTA + 1e-9)
      # The random principal moves phi: the rounds differ from phi_0.
      self.assertFalse(np.allclose(record.phi, record.phi_prev))
      # Lua taxes the round's apples at the principal's phi.
      for world, _ in _harvest_frames(self.human, record.round):
        np.testing.assert_allclose(world["WORLD.TAX_RATES"], record.phi)
      previous = record.phi

  def test_the_hud_shows_the_tally_the_winner_and_phi(self):
    for record in self.voted:
      _, hud = _harvest_frames(self.human, record.round)[0]
      self.assertEqual(list(hud.tally), record.tally)
      self.assertEqual(hud.objective, record.objective)
      np.testing.assert_allclose(hud.rates, record.phi)
      self.assertEqual(list(hud.scores), record.scores)
      self.assertEqual(hud.tie_broken, record.tie_broken)
      self.assertTrue(hud.lines()[-1].startswith(
          f"objective {record.objective}"), hud.lines())
    # While the vote is open, the ballots cast so far.
    _, hud = self.human.frames[0]
    self.assertIsNone(hud.objective)
    self.assertEqual(sum(hud.tally), 0)

  def test_the_hud_shows_your_income_tax_and_transfer(self):
    for record in self.voted:
      _, hud = _frame_ending(self.human, record.round)
      you = hud.players[play.HUMAN]
      self.assertEqual(you.name, play.YOU)
      self.assertAlmostEqual(you.income, record.gross[play.HUMAN])
      self.assertAlmostEqual(you.tax, record.tax[play.HUMAN])
      self.assertAlmostEqual(you.transfer, record.transfer[play.HUMAN])
      self.assertEqual(hud.table()[1][0], f"P1 {play.YOU}")
    # Held A made P1 harvest and pay tax in round 1: not 0 against 0.
    first = self.voted[0]
    self.assertGreater(first.gross[play.HUMAN], 0)
    self.assertGreater(first.tax[play.HUMAN], 0)
    self.assertGreater(first.transfer[play.HUMAN], 0)

  def test_the_window_shows_each_frame_with_its_hud(self):
    self.assertLen(self.human.composed, len(self.human.frames))
    self.assertLen(self.human.shown, len(self.human.frames))
    for composed, shown in zip(self.human.composed[-3:],
                               self.human.shown[-3:]):
      self.assertEqual(shown.shape, composed.shape)
      # Below the text lines at the top: the world and the HUD strip.
      np.testing.assert_array_equal(shown[50:], composed[50:])

  def test_the_console_announces_the_election_and_your_round(self):
    record = self.voted[0]
    self.assertIn(f"plurality elected {record.objective}", self.output)
    self.assertIn(f"you earned {record.gross[play.HUMAN]:.1f}, paid "
                  f"{record.tax[play.HUMAN]:.1f} tax", self.output)


class ScriptedWindowTest(absltest.TestCase):

  def test_closing_the_window_keeps_the_finished_rounds(self):
    records, _, output = _play({1: [pygame.K_1, pygame.K_RETURN], 2: [QUIT]})
    self.assertLen(records, 1)
    self.assertEqual(records[0].ballots[play.HUMAN], [1, 0, 0])
    self.assertIn("Window closed", output)

  def test_held_keys_move_you_in_harvest(self):
    still, _, _ = _play({1: [pygame.K_RETURN], 2: [pygame.K_RETURN]},
                        rounds=1)
    moved, _, _ = _play({1: [pygame.K_RETURN], 2: [pygame.K_RETURN]},
                        {pygame.K_a}, rounds=1)
    self.assertEqual(still[0].gross[play.HUMAN], 0)
    self.assertGreater(moved[0].gross[play.HUMAN], 0)


class HumanTextTest(absltest.TestCase):

  def test_vote_lines_show_keys_and_your_ballot(self):
    observation = {"WORLD.ROUND": 2, "WORLD.PHASE": phases.Phase.VOTE,
                   "WORLD.BALLOTS": np.array([[2, 0, 1], [1, 0, 0]])}
    lines = play.human_text(observation,
                            objectives=("utilitarian", "egalitarian", "nash"),
                            rounds=3)
    self.assertIn("round 2/3 · VOTE", lines[0])
    self.assertIn("1 " + video.short_name("utilitarian"), lines[0])
    self.assertIn(f"your ballot: {video.short_name('nash')} > "
                  f"{video.short_name('utilitarian')}", lines[1])


class BadInputTest(parameterized.TestCase):

  def test_an_unknown_principal_is_one_line_naming_the_valid_ones(self):
    code, err = helpers.umd_with_stderr(
        "play", "--principal", "nonsense", "--headless")
    self.assertEqual(code, 2)
    self.assertEqual(err.count("\n"), 1, err)
    self.assertNotIn("Traceback", err)
    self.assertIn("umd play: error: Unknown principal 'nonsense'", err)
    helpers.assert_names_every_one(self, ValueError(err), registry.PRINCIPALS)

  def test_a_missing_checkpoint_is_one_line(self):
    missing = os.path.join(self.create_tempdir().full_path, "principal.npz")
    code, err = helpers.umd_with_stderr(
        "play", "--principal", missing, "--headless")
    self.assertEqual(code, 2)
    self.assertEqual(err.count("\n"), 1, err)
    self.assertIn(missing, err)

  @parameterized.parameters(
      (["--rule", "borda"], "--rule sets"),
      (["--seed", "3", "--delta", "0.1"], "--delta, --seed set"),
      (["--freeze-principal"], "--freeze-principal sets"),
  )
  def test_game_options_need_a_principal(self, args, message):
    with mock.patch.object(play, "play") as free:
      code, err = helpers.umd_with_stderr("play", "--headless", *args)
    free.assert_not_called()
    self.assertEqual(code, 2)
    self.assertEqual(err.count("\n"), 1, err)
    self.assertIn(message, err)
    self.assertIn("--principal NAME|CHECKPOINT", err)

  @parameterized.named_parameters(
      ("observation", {"observation": "LAYER"}, {}, "WORLD.RGB"),
      ("fps", {"fps": 0}, {}, "fps"),
      ("ballots", {}, {"ballots": "types"}, "ballots must be 'world'"),
  )
  def test_play_against_checks_before_it_builds(self, kwargs, options,
                                                message):
    game = _prepare(**options)
    with mock.patch.object(loop, "build_environment") as build:
      with self.assertRaisesRegex(ValueError, message):
        play.play_against(game, render=False, **kwargs)
      build.assert_not_called()


class CommandTest(absltest.TestCase):

  def test_flags_reach_the_game(self):
    with mock.patch.object(play, "play_against") as against:
      code = helpers.umd(
          "play", "--principal", "hand_rule", "--rule", "borda", "--seed",
          "5", "--delta", "0.05", "--bots", "greedy", "--rounds", "2",
          "--headless", "--observation", "WORLD.RGB")
    self.assertEqual(code, 0)
    (game,), kwargs = against.call_args
    self.assertEqual(game.config.principal, "hand_rule")
    self.assertEqual(game.config.seed, 5)
    self.assertEqual(game.mechanism.rule, "borda")
    self.assertEqual(game.mechanism.delta, 0.05)
    self.assertEqual(game.mechanism.ballot_source, "world")
    self.assertEqual(game.substrate_config.rounds, 2)
    self.assertEqual(game.bot_names, ("greedy",))
    self.assertEqual(kwargs, {"render": False, "verbose": False,
                              "observation": "WORLD.RGB"})

  def test_a_headless_game_runs_to_the_end(self):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
      code = helpers.umd("play", "--principal", "random", "--headless",
                         "--rounds", "2", "--steps", "5", "--vote-steps",
                         "2", "--bots", "random,greedy")
    self.assertEqual(code, 0)
    output = out.getvalue()
    self.assertIn("P2 random, P3 greedy, P4 random", output)
    self.assertIn("== Round 2/2 over: you earned", output)

  def test_a_checkpoint_plays_the_game_it_learnt(self):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
      code = helpers.umd(
          "play", "--principal", str(_CHECKPOINT), "--substrate",
          "umd_apple_harvest__unequal", "--headless", "--rounds", "2",
          "--steps", "5", "--delta", "0.2")
    self.assertEqual(code, 0)
    self.assertIn("== Round 2/2 over", out.getvalue())

  def test_a_checkpoint_of_another_game_is_one_line(self):
    code, err = helpers.umd_with_stderr(
        "play", "--principal", str(_CHECKPOINT), "--headless")
    self.assertEqual(code, 2)
    self.assertEqual(err.count("\n"), 1, err)
    self.assertIn("was trained on another game", err)

  def test_help_names_the_principal_and_the_game_options(self):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
      self.assertEqual(helpers.umd("play", "--help"), 0)
    for flag in ("--principal NAME|CHECKPOINT", "--rule", "--delta",
                 "--seed", "--bots", "against the principal"):
      self.assertIn(flag, out.getvalue())
    self.assertNotIn("--ballots", out.getvalue())
    self.assertNotIn("--video", out.getvalue())


if __name__ == "__main__":
  absltest.main()
