"""Outputs that explain themselves, as a user gets them: `umd run`'s
steps.jsonl, dead rounds and title, and `umd evaluate --video`'s mp4."""

import contextlib
import io
import json
import pathlib
import shutil
import tempfile

from absl.testing import absltest
import imageio_ffmpeg
import numpy as np

from tests import helpers
from umd_meltingpot import agents
from umd_meltingpot.game import loop as game
from umd_meltingpot.outputs import plots


def _lines(path: pathlib.Path) -> list[dict]:
  return [json.loads(line) for line in path.read_text().splitlines()]


class RunOutputsTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # Untaxed, the best-response followers eat the commons in round 1: one
    # live round, one dead one.
    # A fresh folder per run: absl's default test folder outlives the run,
    # and umd run refuses a folder that is not empty.
    folder = tempfile.mkdtemp(prefix="umd-outputs-")
    cls.addClassCleanup(shutil.rmtree, folder, ignore_errors=True)
    cls.out = pathlib.Path(folder) / "untaxed"
    cls.code, cls.stdout = _run_with_stdout(
        "run", "--phi0", "0", "--rounds", "2", "--quiet", "--out",
        str(cls.out))
    cls.rounds = _lines(cls.out / "rounds.jsonl")
    cls.steps = _lines(cls.out / "steps.jsonl")

  def test_steps_jsonl_has_every_step_and_the_rounds_totals(self):
    self.assertEqual(self.code, 0)
    config = json.loads((self.out / "config.json").read_text())
    substrate = config["substrate_config"]
    per_round = substrate["vote_steps"] + substrate["harvest_steps"]
    self.assertEqual([s["step"] for s in self.steps],
                     list(range(2 * per_round + 1)))
    for record in self.rounds:
      of_round = [s for s in self.steps if s["round"] == record["round"]]
      self.assertEqual(
          [s["phase"] for s in of_round if s["step"] > 0],
          ["vote"] * substrate["vote_steps"]
          + ["harvest"] * substrate["harvest_steps"])
      last = of_round[-1]
      for key in ("gross", "tax", "transfer"):
        np.testing.assert_allclose(last[key], record[key], err_msg=key)
      self.assertEqual(last["apples_alive"], record["apples_alive"])
      # Cumulative within the round: never falls.
      gross = np.array([s["gross"] for s in of_round])
      self.assertTrue(np.all(np.diff(gross, axis=0) >= 0))

  def test_the_collapse_inside_round_1_is_in_the_steps(self):
    apples = [s["apples_alive"] for s in self.steps if s["round"] == 1]
    self.assertGreater(apples[0], 10)
    self.assertEqual(apples[-1], 0)
    # It dies well before the round ends, which round-end counts hide.
    self.assertLess(apples.index(0), len(apples) // 2)

  def test_the_dead_round_is_flagged_not_scored_as_equal(self):
    self.assertEqual(sum(self.rounds[1]["gross"]), 0)
    self.assertIsNone(self.rounds[1]["metrics"]["equality"])
    self.assertIsNotNone(self.rounds[0]["metrics"]["equality"])
    self.assertEqual(list(plots.dead_rounds(self.rounds)), [False, True])
    row_2 = [line for line in self.stdout.splitlines()
             if line.strip().startswith("2 ")]
    self.assertLen(row_2, 1)
    self.assertIn("  -  ", row_2[0])
    self.assertNotIn("1.00", row_2[0])

  def test_title_names_substrate_principal_bots_and_seed(self):
    prepared = game.prepare(game.GameConfig(seed=7, bots="greedy,random",
                                            principal="hand_rule"),
                                            agents.FACTORY)
    self.assertEqual(
        game.run_title(prepared),
        "umd_apple_harvest__small · principal hand_rule · "
        "bots greedy ×2, random ×2 · seed 7")


def _run_with_stdout(*args: str) -> tuple[int, str]:
  """Runs `umd ARGS` in this process; returns its exit code and stdout."""
  stdout = io.StringIO()
  with contextlib.redirect_stdout(stdout):
    code = helpers.umd(*args)
  return code, stdout.getvalue()


class EvaluationVideoTest(absltest.TestCase):

  def test_evaluation_video_is_an_mp4_with_the_hud_and_no_codec_warning(self):
    out = pathlib.Path(self.create_tempdir().full_path) / "eval"
    # A child process: OpenCV and ffmpeg warn on the C-level stderr.
    result = helpers.run_umd(
        "evaluate", "--population", "greedy", "--scenario",
        "umd_apple_harvest__small_0", "--episodes", "1", "--video",
        "--out", str(out), timeout=600)
    self.assertEqual(result.returncode, 0, result.stderr)
    for word in ("OpenCV", "codec", "FFMPEG", "tag 0x"):
      self.assertNotIn(word, result.stderr)
    videos = sorted((out / "videos").iterdir())
    self.assertNotEmpty(videos)
    self.assertTrue(all(path.suffix == ".mp4" for path in videos), videos)
    rows = _lines(out / "episodes.jsonl")
    self.assertIn(f"videos/{videos[0].name}", [row["video"] for row in rows])
    reader = imageio_ffmpeg.read_frames(str(videos[0]))
    meta = next(reader)
    frames = sum(1 for _ in reader)
    self.assertEqual(meta["codec"], "h264")
    # Not the bare 104 x 72 map: scaled, over the HUD strip.
    width, height = meta["size"]
    self.assertGreaterEqual(width, 480)
    self.assertGreater(height, 72 * width // 104 + 100)
    # Every step of the episode and its first observation.
    self.assertEqual(frames, 5 * (5 + 100) + 1)


if __name__ == "__main__":
  absltest.main()
