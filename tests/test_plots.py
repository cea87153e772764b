"""Tests for umd_meltingpot.plots: summary.png, written atomically."""

import pathlib
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
from matplotlib import figure as mpl_figure
import numpy as np
from PIL import Image

from umd_meltingpot import plots

OBJECTIVES = ["utilitarian", "egalitarian", "nash"]


def _record(
    round_: int, rounds: int = 5, *, proposed_differs: bool = True
) -> dict:
  """A synthetic rounds.jsonl record: the winner cycles through OBJECTIVES."""
  tally = [[3.0, 1.0, 0.0], [1.0, 3.0, 0.0], [1.0, 1.0, 2.0]][round_ % 3]
  phi = [0.1, min(0.2 * round_, 0.5), min(0.2 * round_, 0.9)]
  proposed = [0.1, 0.5, 0.9] if proposed_differs else list(phi)
  utilitarian = 12.0 + round_
  return {
      "round": round_,
      "rounds": rounds,
      "objectives": OBJECTIVES,
      "rule": "plurality",
      "ballots": [[1, 0, 0]] * 4,
      "tally": tally,
      "vote_shares": [v / sum(tally) for v in tally],
      "objective": OBJECTIVES[int(np.argmax(tally))],
      "objective_value": utilitarian,
      "phi_prev": [0.0, 0.0, 0.0],
      "phi_proposed": proposed,
      "phi": phi,
      "divergence": 0.2,
      "projection_changed": proposed_differs,
      "metrics": {
          "utilitarian": utilitarian,
          "egalitarian": 1.0,
          "nash": 2.3,
          "equality": 0.6,
          "productivity": utilitarian,
          "gini": 0.3,
          "perolat_U": 0.1,
      },
      "gross": [4.0, 4.0, 3.0, 2.0],
      "net": [3.0, 3.5, 3.0, 2.0],
      "tax": [1.0, 0.5, 0.0, 0.0],
      "transfer": [0.375] * 4,
      "returns": [3.375, 3.875, 3.375, 2.375],
      "apples_alive": 17.0 - round_,
  }


class SummaryPlotTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.folder = pathlib.Path(self.create_tempdir())

  def _check_png(self, path) -> None:
    """Asserts `path` is a non-blank PNG of the summary's size."""
    with Image.open(path) as image:
      self.assertEqual(image.format, "PNG")
      pixels = np.asarray(image.convert("RGB"))
    self.assertEqual(pixels.shape, (800, 1200, 3))
    # Axes, lines and text, not a blank canvas.
    self.assertGreater(pixels.std(), 10)

  @parameterized.parameters(1, 5)
  def test_summary_is_a_png_and_leaves_no_temporary_file(self, rounds):
    records = [_record(r, rounds) for r in range(1, rounds + 1)]
    path = plots.write_summary(records, self.folder / "summary.png")
    self.assertEqual(path, self.folder / "summary.png")
    self._check_png(path)
    self.assertEqual([p.name for p in self.folder.iterdir()], ["summary.png"])

  def test_summary_without_metrics_is_still_written(self):
    record = _record(1)
    record["metrics"] = {}
    self._check_png(plots.write_summary([record], self.folder / "summary.png"))

  def test_summary_of_a_run_folder_is_summary_png(self):
    self.assertEqual(plots.write_summary([_record(1)], self.folder),
                     self.folder / plots.SUMMARY_NAME)

  def test_summary_of_no_rounds_is_rejected(self):
    with self.assertRaisesRegex(ValueError, "at least one round"):
      plots.write_summary([], self.folder / "summary.png")

  def test_failed_save_keeps_the_previous_summary(self):
    path = self.folder / "summary.png"
    plots.write_summary([_record(1)], path)
    before = path.read_bytes()

    def broken_savefig(figure, fname, **kwargs):
      del figure, kwargs
      with open(fname, "wb") as partial:
        partial.write(b"\x89PNG half")
      raise OSError("disk full")

    with mock.patch.object(mpl_figure.Figure, "savefig", broken_savefig):
      with self.assertRaisesRegex(OSError, "disk full"):
        plots.write_summary([_record(r) for r in range(1, 4)], path)
    self.assertEqual(path.read_bytes(), before)
    self.assertEqual([p.name for p in self.folder.iterdir()], ["summary.png"])

  @parameterized.parameters((False, 3), (True, 6))
  def test_proposal_is_drawn_only_when_the_projection_changed_it(
      self, differs, lines):
    records = [_record(r, proposed_differs=differs) for r in range(1, 4)]
    rates = plots.summary_figure(records).axes[1]
    self.assertLen(rates.get_lines(), lines)
    dashed = [line for line in rates.get_lines()
              if line.get_linestyle() == "--"]
    self.assertLen(dashed, lines - 3)

  def test_every_round_marks_its_winner(self):
    records = [_record(r) for r in range(1, 6)]
    votes = plots.summary_figure(records).axes[2]
    (winners,) = votes.collections
    self.assertEqual([x for x, _ in winners.get_offsets()], [1, 2, 3, 4, 5])
    # Bar edges are transparent except on the winning segment of each round.
    outlined = [bar for bar in votes.patches if bar.get_edgecolor()[3] > 0]
    self.assertLen(outlined, len(records))


if __name__ == "__main__":
  absltest.main()
