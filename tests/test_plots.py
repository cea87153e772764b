"""Tests for umd_meltingpot.outputs.plots: summary.png, written atomically."""

import pathlib
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
from matplotlib import figure as mpl_figure
import numpy as np
from PIL import Image

from umd_meltingpot.outputs import plots

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
    self.assertEqual(pixels.shape, (1100, 1200, 3))
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

  def test_welfare_panel_draws_the_declared_objectives(self):
    record = _record(1)
    # power_mean and eq_times_prod declare no marker: left out of (a).
    record["metrics"].update(power_mean=3.0, eq_times_prod=4.0)
    welfare_ax = plots.summary_figure([record]).axes[0]
    lines = [(line.get_label(), line.get_marker(), line.get_color())
             for line in welfare_ax.get_lines()]
    self.assertEqual(lines, [("utilitarian", "o", "C0"),
                             ("egalitarian", "s", "C1"),
                             ("nash", "^", "C2"),
                             ("productivity", "x", "C3")])
    self.assertEqual(plots.WELFARE_METRICS,
                     ("utilitarian", "egalitarian", "nash", "productivity",
                      "equality"))

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


def _dead(record: dict, *, equality=None) -> dict:
  """`record` with nobody eating: no income, equality as recorded."""
  record = dict(record, gross=[0.0] * 4, net=[0.0] * 4, tax=[0.0] * 4,
                transfer=[0.0] * 4, returns=[0.0] * 4, apples_alive=0.0)
  record["metrics"] = dict(record["metrics"], equality=equality,
                           utilitarian=0.0)
  return record


def _steps(rounds: int, per_round: int = 10) -> list[dict]:
  """steps.jsonl records: 2 VOTE then HARVEST steps; apples fall by one a
  step in round 1 and stay at 0 after."""
  steps, apples = [], 8
  for round_ in range(1, rounds + 1):
    for index in range(per_round):
      phase = "vote" if index < 2 else "harvest"
      if phase == "harvest" and apples > 0:
        apples -= 1
      steps.append({"step": len(steps), "round": round_, "phase": phase,
                    "apples_alive": apples, "pool": 0.0,
                    "gross": [float(8 - apples), 0.0], "tax": [0.0, 0.0],
                    "transfer": [0.0, 0.0]})
  return steps


class ExplainsItselfTest(parameterized.TestCase):
  """What a reader needs without the code: the run, dead rounds, ties,
  equal rates and the steps inside a round."""

  def test_title_names_the_run_and_the_rule(self):
    title = "umd_apple_harvest__small · principal fixed · bots greedy · seed 3"
    figure = plots.summary_figure([_record(1)], title=title)
    self.assertEqual(figure.get_suptitle().splitlines(),
                     [title, "1 round(s) · voting rule plurality"])

  @parameterized.named_parameters(
      ("null_equality", None),  # welfare.equality: no income, no equality.
      ("older_record_with_equality_one", 1.0))
  def test_a_dead_economy_is_flagged_not_scored_as_equal(self, equality):
    records = [_record(1)] + [_dead(_record(r), equality=equality)
                              for r in (2, 3)]
    np.testing.assert_array_equal(plots.dead_rounds(records),
                                  [False, True, True])
    figure = plots.summary_figure(records)
    self.assertIn("no income in round(s) 2, 3", figure.get_suptitle())
    welfare, apples = figure.axes[0], figure.axes[3]
    for ax in (welfare, apples):
      self.assertEqual(
          [text.get_text() for text in ax.texts], ["no income"] * 2)
    # Equality has a gap in the dead rounds instead of a 1.0.
    (equality_line,) = [
        line for ax in figure.axes for line in ax.get_lines()
        if line.get_label() == "equality"]
    values = np.asarray(equality_line.get_ydata(), dtype=float)
    self.assertAlmostEqual(values[0], 0.6)
    self.assertTrue(np.isnan(values[1:]).all())

  def test_a_live_economy_is_not_flagged(self):
    records = [_record(r) for r in (1, 2)]
    self.assertFalse(plots.dead_rounds(records).any())
    figure = plots.summary_figure(records)
    self.assertNotIn("no income", figure.get_suptitle())
    self.assertEmpty(figure.axes[0].texts)

  def test_a_random_tie_break_is_marked_and_explained(self):
    records = [_record(r) for r in (1, 2, 3)]
    records[1]["tie_broken"] = True
    votes = plots.summary_figure(records).axes[2]
    ties = [text for text in votes.texts if text.get_text() == "tie"]
    self.assertLen(ties, 1)
    self.assertEqual(ties[0].get_position()[0], 2)
    legend = [text.get_text() for text in votes.get_legend().get_texts()]
    self.assertIn("tie broken at random", legend)

  def test_no_tie_no_tie_mark(self):
    votes = plots.summary_figure([_record(r) for r in (1, 2)]).axes[2]
    self.assertNotIn("tie", [text.get_text() for text in votes.texts])

  def test_equal_rates_stay_visible_and_are_named_equal(self):
    records = [_record(r, proposed_differs=False) for r in (1, 2)]
    for record in records:
      record["phi"] = record["phi_proposed"] = [0.7, 0.7, 0.7]
    rates = plots.summary_figure(records).axes[1]
    lines = rates.get_lines()
    self.assertEqual([line.get_label() for line in lines],
                     ["φ bracket 1", "φ bracket 2 (= 1)",
                      "φ bracket 3 (= 1)"])
    # Each bracket its own marker, size and line style: none hides another.
    for attribute in ("get_marker", "get_markersize", "get_linestyle"):
      values = [getattr(line, attribute)() for line in lines]
      self.assertLen(set(map(str, values)), 3, attribute)

  def test_equal_proposals_are_named_equal_too(self):
    records = [_record(r) for r in (1, 2)]  # Proposes 0.1, 0.5, 0.9.
    for record in records:
      record["phi_proposed"] = [0.0, 0.0, 0.9]
    rates = plots.summary_figure(records).axes[1]
    proposals = [line.get_label() for line in rates.get_lines()
                 if line.get_linestyle() == "--"]
    self.assertEqual(proposals,
                     ["proposed 1", "proposed 2 (= 1)", "proposed 3"])

  def test_apples_per_step_show_a_collapse_inside_a_round(self):
    steps = _steps(2)
    figure = plots.summary_figure([_record(1), _record(2)], steps=steps)
    panel = figure.axes[4]
    self.assertTrue(panel.get_title().startswith("(e) apples alive"))
    apples = panel.get_lines()[-1]
    self.assertEqual(apples.get_label(), "apples alive")
    np.testing.assert_array_equal(apples.get_ydata(),
                                  [s["apples_alive"] for s in steps])
    np.testing.assert_array_equal(apples.get_xdata(), np.arange(20))
    self.assertEqual(
        [t.get_text().strip() for t in panel.texts], ["round 1", "round 2"])

  def test_no_steps_says_so(self):
    panel = plots.summary_figure([_record(1)]).axes[4]
    self.assertEqual([t.get_text() for t in panel.texts],
                     ["no per-step record (steps.jsonl)"])



class EvaluationPlotTest(absltest.TestCase):
  """evaluate.png: bars for the populations, lines for the baselines."""

  def _summary(self):
    return [{"scenario": scenario, "population": population,
             "focal_per_capita_return/mean": mean,
             "focal_per_capita_return/ci95": ci}
            for scenario, population, mean, ci in (
                ("s0", "p", 3.0, 0.5), ("s0", "random", 1.0, None),
                ("s0", "greedy", 5.0, 0.2), ("s1", "p", 2.0, None),
                ("s1", "random", 0.5, 0.1), ("s1", "greedy", 4.0, None))]

  def test_bars_for_populations_and_lines_for_baselines(self):
    figure = plots.evaluation_figure(
        self._summary(), ["p", "random", "greedy"],
        labels={"p": "p#1", "random": "random", "greedy": "greedy"},
        baselines=("random", "greedy"))
    ax = figure.axes[0]
    self.assertEqual([patch.get_height() for patch in ax.patches],
                     [3.0, 2.0])
    self.assertEqual(ax.get_legend_handles_labels()[1],
                     ["random (baseline)", "greedy (baseline)", "p#1"])

  def test_only_baselines_are_drawn_as_bars(self):
    figure = plots.evaluation_figure(
        self._summary(), ["random", "greedy"],
        labels={"random": "random", "greedy": "greedy"},
        baselines=("random", "greedy"))
    self.assertLen(figure.axes[0].patches, 4)

  def test_write_evaluation_is_a_png(self):
    path = pathlib.Path(self.create_tempdir().full_path) / "evaluate.png"
    plots.write_evaluation(self._summary(), ["p", "random", "greedy"], path,
                           labels={"p": "p", "random": "random",
                                   "greedy": "greedy"},
                           baselines=("random", "greedy"))
    self.assertEqual(Image.open(path).format, "PNG")
    self.assertEqual(list(path.parent.iterdir()), [path])


if __name__ == "__main__":
  absltest.main()
