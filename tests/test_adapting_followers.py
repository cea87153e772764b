"""The report of benchmarks/adapting_followers.py (issue 13): each
population's best flat rate and the paired ratios, on made-up games; the
games themselves are played by the benchmark, not here."""

import contextlib
import io
import json
import pathlib

from absl.testing import absltest

from benchmarks import adapting_followers as benchmark

_SEEDS = (1000, 1001, 1002)


def _games(values_by_rate: dict[float, tuple[float, ...]]):
  return {rate: {seed: {"values": {"utilitarian": value},
                        "apples_alive_end": float(value > 5)}
                 for seed, value in zip(_SEEDS, values)}
          for rate, values in values_by_rate.items()}


class ReportTest(absltest.TestCase):

  def test_best_rates_and_ratios(self):
    original = _games({0.0: (2, 2, 2), 0.8: (6, 6, 6), 1.2: (4, 4, 4)})
    adapted = _games({0.0: (2, 2, 2), 0.8: (3, 3, 3), 1.2: (9, 9, 9)})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
      benchmark.report({"original": original, "adapted": adapted})
    lines = out.getvalue().splitlines()
    self.assertIn("| original at its best flat 0.8 ÷ no tax | 3.00 "
                  "[3.00, 3.00] |", lines)
    self.assertIn("| adapted at its best flat 1.2 ÷ no tax | 4.50 "
                  "[4.50, 4.50] |", lines)
    self.assertIn("| adapted ÷ original, both at flat 0.8 | 0.50 "
                  "[0.50, 0.50] |", lines)
    self.assertIn("| adapted at 1.2 ÷ original at 0.8 | 1.50 [1.50, 1.50] |",
                  lines)
    self.assertIn("| original | 2.00 [2.00, 2.00], alive 0% | 6.00 [6.00, "
                  "6.00], alive 100% | 4.00 [4.00, 4.00], alive 0% |", lines)

  def test_grid_reads_a_finished_folder_without_playing(self):
    out = pathlib.Path(self.create_tempdir().full_path)
    (out / "grid.json").write_text("{}")
    games = [{"schedule": [0.4, 0.4, 0.4], "seed": 7,
              "values": {"utilitarian": 1.5}, "apples_alive_end": 0.0}]
    (out / "games.jsonl").write_text(
        "".join(json.dumps(game) + "\n" for game in games))
    self.assertEqual(benchmark.grid(out, "random", "0.4", "7"),
                     {0.4: {7: games[0]}})


if __name__ == "__main__":
  absltest.main()
