"""Tests for umd_meltingpot.outputs.video:
HUD text, frame layout and atomic mp4s."""

import pathlib

from absl.testing import absltest
from absl.testing import parameterized
import imageio_ffmpeg
import numpy as np

from umd_meltingpot.outputs import video
from umd_meltingpot.social_choice import welfare

HEIGHT, WIDTH = 72, 104  # A small WORLD.RGB: 9 x 13 cells of 8 pixels.
OBJECTIVES = ("utilitarian", "egalitarian", "nash")


def _world(step: int) -> np.ndarray:
  """A synthetic WORLD.RGB: 8-pixel cells whose colours move with `step`."""
  rows = np.arange(HEIGHT)[:, None] // 8
  cols = np.arange(WIDTH)[None, :] // 8
  cells = (rows * 13 + cols + step) % 7
  palette = np.array(
      [
          [0, 0, 0],
          [200, 40, 40],
          [40, 200, 40],
          [40, 40, 200],
          [220, 220, 60],
          [240, 240, 240],
          [120, 60, 160],
      ],
      dtype=np.uint8,
  )
  return palette[cells]


def _hud(step: int) -> video.Hud:
  """A HUD that votes every 5 steps and harvests in between."""
  round_ = step // 5 + 1
  return video.Hud(
      round=round_,
      rounds=4,
      phase="vote" if step % 5 == 0 else "harvest",
      rates=[0.1 * round_, 0.2, 0.3],
      objectives=OBJECTIVES,
      tally=[3, round_, 0],
      objective=None if round_ == 1 else "utilitarian",
  )


def _read(path) -> tuple[dict, list[np.ndarray]]:
  """Decodes an mp4 into its metadata and (H, W, 3) frames."""
  reader = imageio_ffmpeg.read_frames(str(path))
  meta = next(reader)
  width, height = meta["size"]
  frames = [
      np.frombuffer(raw, np.uint8).reshape(height, width, 3) for raw in reader
  ]
  return meta, frames


class HudAndFrameTest(parameterized.TestCase):

  def test_hud_lines_show_round_phase_rates_tally_and_objective(self):
    hud = video.Hud(2, 5, "vote", [0.1, 0.2, 0.3], OBJECTIVES, [3, 1, 0])
    self.assertEqual(hud.lines(), (
        "Round 2/5 · VOTE",
        "rates 0.10 0.20 0.30",
        "1st prefs util 3 · egal 1 · nash 0",
        "rule: counted when the vote closes",
        "objective none yet",
    ))

  def test_hud_shows_weighted_votes_and_objective_in_force(self):
    hud = video.Hud(3, 5, "harvest", [0.5], OBJECTIVES, [2.5, 1, 0.25], "nash")
    self.assertEqual(hud.lines()[1:], (
        "rates 0.50",
        "1st prefs util 2.5 · egal 1 · nash 0.25",
        "rule: counted when the vote closes",
        "objective nash",
    ))

  def test_hud_shows_the_rules_scores_and_a_random_tie_break(self):
    hud = video.Hud(1, 5, "harvest", [0.5], OBJECTIVES, [2, 2, 1], "util",
                    rule="borda", scores=[6, 6, 3], tie_broken=True)
    self.assertEqual(hud.lines()[2:], (
        "1st prefs util 2 · egal 2 · nash 1",
        "borda: util 6 · egal 6 · nash 3",
        "objective util (tie broken at random)",
    ))
    with self.assertRaisesRegex(ValueError, "scores has 2 entries"):
      video.Hud(1, 5, "harvest", [0.5], OBJECTIVES, [2, 2, 1], scores=[1, 2])

  @parameterized.parameters(*video.PHASES)
  def test_hud_first_line_names_the_phase(self, phase):
    hud = video.Hud(1, 2, phase, [0.0], OBJECTIVES, [0, 0, 0])
    self.assertEqual(hud.lines()[0], f"Round 1/2 · {phase.upper()}")

  @parameterized.parameters(*welfare.OBJECTIVES)
  def test_every_objective_has_a_short_hud_name(self, objective):
    self.assertIn(objective, video.SHORT_NAMES)
    self.assertLessEqual(len(video.short_name(objective)), 8)

  @parameterized.parameters(*welfare.OBJECTIVES)
  def test_short_hud_name_is_the_declared_one(self, objective):
    self.assertEqual(video.short_name(objective),
                     welfare.OBJECTIVE_SPECS[objective].short_name)

  def test_an_undeclared_objective_is_cut_to_six_characters(self):
    self.assertEqual(video.short_name("leximin_min"), "leximi")

  def test_hud_rejects_unknown_phase(self):
    with self.assertRaisesRegex(ValueError, "phase must be one of"):
      video.Hud(1, 2, "tagging", [0.0], OBJECTIVES, [0, 0, 0])

  def test_hud_rejects_tally_not_aligned_with_objectives(self):
    with self.assertRaisesRegex(ValueError, "tally has 2 entries"):
      video.Hud(1, 2, "vote", [0.0], OBJECTIVES, [1, 2])

  def test_hud_is_detached_from_the_callers_arrays(self):
    rates = np.array([0.1, 0.2])
    hud = video.Hud(1, 2, "vote", rates, OBJECTIVES, np.zeros(3))
    rates[0] = 0.9
    self.assertEqual(hud.rates, (0.1, 0.2))
    same = video.Hud(1, 2, "vote", [0.1, 0.2], OBJECTIVES, [0, 0, 0])
    self.assertEqual(hud, same)
    self.assertEqual(hash(hud), hash(same))

  def test_hud_strip_differs_between_states_and_is_cached(self):
    vote = video.render_hud(_hud(0), 208, 80)
    harvest = video.render_hud(_hud(6), 208, 80)
    self.assertEqual(vote.shape, (80, 208, 3))
    self.assertEqual(harvest.shape, (80, 208, 3))
    self.assertEqual(vote.dtype, np.uint8)
    self.assertTrue(np.any(vote != harvest))
    # Text was drawn: the strip is not one flat background colour.
    self.assertGreater(len(np.unique(vote.reshape(-1, 3), axis=0)), 2)
    self.assertIs(video.render_hud(_hud(0), 208, 80), vote)
    self.assertFalse(vote.flags.writeable)

  def test_frame_is_the_scaled_world_over_the_hud(self):
    world = _world(0)
    frame = video.compose_frame(world, _hud(0), scale=2)
    # 208 is already a multiple of 16.
    self.assertEqual(frame.shape[1], 2 * WIDTH)
    self.assertEqual(frame.shape[0] % 16, 0)
    self.assertGreater(frame.shape[0], 2 * HEIGHT)
    # Nearest neighbour: each world pixel becomes a 2 x 2 block.
    for dy in range(2):
      for dx in range(2):
        np.testing.assert_array_equal(
            frame[dy : 2 * HEIGHT : 2, dx : 2 * WIDTH : 2], world
        )
    other = video.compose_frame(world, _hud(6), scale=2)
    np.testing.assert_array_equal(other[: 2 * HEIGHT], frame[: 2 * HEIGHT])
    self.assertTrue(np.any(other[2 * HEIGHT :] != frame[2 * HEIGHT :]))

  def test_frame_width_is_padded_to_the_macro_block(self):
    world = np.full((72, 100, 3), 255, dtype=np.uint8)
    frame = video.compose_frame(world, _hud(0), scale=1)
    self.assertEqual(frame.shape[1], 112)
    self.assertEqual(frame.shape[0] % 16, 0)
    # Black padding right of the world.
    self.assertTrue(np.all(frame[:72, 100:] == 0))



COLOURS = ((45, 110, 220), (125, 50, 200), (205, 5, 165))


def _full_hud() -> video.Hud:
  """A HUD with everything `umd run --video` shows."""
  players = [video.PlayerFlow(name, colour, income, 0.7 * income,
                              0.7 * 12 / 3)
             for name, colour, income in zip(
                 ("greedy", "sustainable", "best_response"), COLOURS,
                 (5, 4, 3))]
  return video.Hud(1, 5, "harvest", [0.7, 0.7, 0.7], OBJECTIVES, [2, 1, 0],
                   "utilitarian", rule="plurality", scores=[2, 1, 0],
                   step=40, steps=525, apples_alive=9, pool=2.1,
                   players=players)


class HudFlowsTest(parameterized.TestCase):
  """The step, apples, pool and per-player flows, with a colour legend."""

  def test_hud_shows_step_apples_and_pool(self):
    lines = _full_hud().lines()
    self.assertEqual(lines[0], "Round 1/5 · HARVEST · step 40/525")
    self.assertEqual(lines[1], "apples 9 · pool 2.1 · rates 0.70 0.70 0.70")

  def test_hud_table_has_a_row_per_player_with_its_flows(self):
    self.assertEqual(_full_hud().table(), (
        ("player (this round)", "income", "tax", "transfer"),
        ("P1 greedy", "5.0", "3.5", "2.8"),
        ("P2 sustainable", "4.0", "2.8", "2.8"),
        ("P3 best_response", "3.0", "2.1", "2.8"),
    ))
    self.assertEqual(_full_hud().rows, 5 + 4)

  def test_legend_swatches_are_the_avatars_colours_in_player_order(self):
    hud = _full_hud()
    strip = video.render_hud(hud, 528, video.strip_height(hud))
    self.assertEqual(strip.shape, (video.strip_height(hud), 528, 3))
    tops = []
    for colour in COLOURS:
      rows, cols = np.nonzero(np.all(strip == colour, axis=-1))
      # A filled swatch at the left margin, not a stray pixel of text.
      self.assertGreater(rows.size, 40, colour)
      self.assertLess(cols.max(), 20)
      tops.append(rows.min())
    self.assertEqual(tops, sorted(tops))
    self.assertGreater(tops[0], video.strip_height(hud) // 2)

  def test_frame_fits_the_table_below_the_world(self):
    hud = _full_hud()
    frame = video.compose_frame(_world(0), hud, scale=5)
    self.assertEqual(frame.shape[1], 528)  # 520 padded to 16.
    self.assertGreaterEqual(frame.shape[0],
                            5 * HEIGHT + video.strip_height(hud))
    # The last player's row is drawn: its swatch is in the frame.
    self.assertTrue(np.all(frame == COLOURS[-1], axis=-1).any())

  def test_default_scale_makes_room_for_the_table(self):
    self.assertEqual(video.default_scale(WIDTH), 5)   # The small map.
    self.assertEqual(video.default_scale(1000), 2)
    path = pathlib.Path(self.create_tempdir()) / "episode.mp4"
    with video.EpisodeVideo(path) as episode:
      episode.add_frame(_world(0), _full_hud())
    self.assertGreaterEqual(episode.frame_size[0], 480)

  def test_a_non_finite_flow_shows_a_dash(self):
    flow = video.PlayerFlow("greedy", COLOURS[0], float("nan"), 1, 2)
    self.assertEqual(flow.cells(), ("-", "1.0", "2.0"))


class EpisodeVideoTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.folder = pathlib.Path(self.create_tempdir())

  def test_video_is_a_readable_mp4_with_every_frame(self):
    path = self.folder / "run" / "episode.mp4"
    with video.EpisodeVideo(path, fps=8, scale=2) as episode:
      for step in range(20):
        episode.add_frame(_world(step), _hud(step))
    self.assertEqual(episode.frames, 20)
    self.assertEqual(sorted(p.name for p in path.parent.iterdir()),
                     ["episode.mp4"])
    meta, frames = _read(path)
    self.assertEqual(meta["codec"], "h264")
    self.assertEqual(meta["size"], episode.frame_size)
    self.assertEqual(meta["size"][0], 2 * WIDTH)
    self.assertLen(frames, 20)
    # Lossy, but the world is still the scaled WORLD.RGB.
    expected = video.compose_frame(_world(3), _hud(3), scale=2)
    error = np.abs(frames[3].astype(int) - expected.astype(int))
    self.assertLess(error[: 2 * HEIGHT].mean(), 8)

  def test_close_returns_the_path_and_is_idempotent(self):
    path = self.folder / "episode.mp4"
    episode = video.EpisodeVideo(path)
    episode.add_frame(_world(0), _hud(0))
    self.assertEqual(episode.close(), path)
    self.assertEqual(episode.close(), path)
    with self.assertRaisesRegex(RuntimeError, "already closed"):
      episode.add_frame(_world(1), _hud(1))

  def test_exception_inside_context_leaves_no_file(self):
    path = self.folder / "episode.mp4"
    with self.assertRaises(KeyError):
      with video.EpisodeVideo(path) as episode:
        for step in range(3):
          episode.add_frame(_world(step), _hud(step))
        raise KeyError("agent crashed")
    self.assertEqual(list(self.folder.iterdir()), [])

  def test_video_without_frames_is_an_error_and_leaves_no_file(self):
    with self.assertRaisesRegex(RuntimeError, "no frames"):
      with video.EpisodeVideo(self.folder / "episode.mp4"):
        pass
    self.assertEqual(list(self.folder.iterdir()), [])

  def test_frame_of_another_shape_is_rejected(self):
    with video.EpisodeVideo(self.folder / "episode.mp4") as episode:
      episode.add_frame(_world(0), _hud(0))
      with self.assertRaisesRegex(ValueError, "differs from the first"):
        episode.add_frame(np.zeros((80, 104, 3), np.uint8), _hud(1))

  @parameterized.named_parameters(
      ("grey", np.zeros((72, 104), np.uint8)),
      ("float", np.zeros((72, 104, 3), np.float32)),
  )
  def test_non_rgb_uint8_world_is_rejected(self, world):
    with self.assertRaisesRegex(ValueError, "WORLD.RGB"):
      video.compose_frame(world, _hud(0), scale=2)

  @parameterized.parameters(({"fps": 0},), ({"scale": 0},), ({"scale": 1.5},))
  def test_bad_fps_or_scale_is_rejected(self, kwargs):
    with self.assertRaisesRegex(ValueError, "positive integer"):
      video.EpisodeVideo(self.folder / "episode.mp4", **kwargs)


if __name__ == "__main__":
  absltest.main()
