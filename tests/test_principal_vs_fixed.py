"""The pure pieces of benchmarks/principal_vs_fixed.py (issue 13).

The trailing mean of the sample-efficiency curves, the scheduled vote of
the mixed-votes section, the training runs' folders and the refusal of bad
flags; the games themselves are played by the benchmark, not here (its
task cache is `parallel.TaskCache`, tested in test_parallel.py).
"""

import dataclasses
import io
import math
import pathlib
from unittest import mock

from absl.testing import absltest
import numpy as np

from benchmarks import principal_vs_fixed as experiment


class PiecesTest(absltest.TestCase):

  def test_smoothed_is_the_trailing_mean(self):
    values = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 0.0, 6.0, 0.0, 3.0]])
    expected = np.array([[np.mean(row[max(0, g - 2):g + 1])
                          for g in range(5)] for row in values])
    np.testing.assert_allclose(experiment._smoothed(values, 3), expected)
    np.testing.assert_allclose(experiment._smoothed(values, 1), values)

  def test_scheduled_vote_switches_after_the_switch_round(self):
    vote = experiment.ScheduledVote(first=0, second=1, switch_round=2)
    self.assertEqual([vote(r) for r in range(5)], [0, 0, 1, 1, 1])

  def test_rules_that_elect_alike_do_not_differ(self):
    # Three rules on four electorates: borda elects egalitarian where
    # plurality elects utilitarian, with lower utilitarian welfare; copeland
    # elects as plurality does.
    def game(objective, values):
      return {"values": dict(zip(("utilitarian", "egalitarian", "nash"),
                                 values)),
              "rounds": [{"objective": objective}]}
    plurality = [game("utilitarian", (10.0 + i, 1.0, 2.0)) for i in range(4)]
    borda = [game("egalitarian", (5.0 + i, 1.0, 2.0)) for i in range(4)]
    experiment_ = mock.Mock(eval_seeds=range(4), bootstrap=200)
    with mock.patch("sys.stdout", new=io.StringIO()) as out:
      table = experiment._print_rule_comparison(
          experiment_, {"plurality": plurality, "borda": borda,
                        "copeland": plurality})
    self.assertEqual(table["borda"]["elected"], {"egalitarian": 4})
    difference = table["borda"]["differences"]["utilitarian"]
    self.assertAlmostEqual(difference[0], -5.0)
    self.assertLess(difference[2], 0.0)
    self.assertEqual(table["copeland"]["differences"]["utilitarian"],
                     (0.0, 0.0, 0.0))
    self.assertIn("borda on utilitarian", out.getvalue().splitlines()[-1])
    self.assertNotIn("copeland", out.getvalue().splitlines()[-1])

  def test_a_training_folder_names_every_field_but_the_games(self):
    run = experiment.Experiment(
        setting=experiment.Setting("umd_apple_harvest__small",
                                   "best_response"),
        objectives=("utilitarian",), principals=("cma",), tune_seeds=(100,),
        eval_seeds=(1000,), train_seeds=(0,), train_games=3,
        learning=experiment.Learning(phi0=(0.0,), delta=math.inf,
                                     options={"cma": {"sigma0": 1.0}}),
        grid=((0.0,),), num_rates=1, out=pathlib.Path("out"), bootstrap=10)
    task = run.train_task("cma", ["fixed:utilitarian"], 0, label="u")
    self.assertEqual(task.options, (("sigma0", 1.0),))
    self.assertRegex(task.folder, r"^out/train/u-cma-seed0-[0-9a-f]{8}$")
    longer = dataclasses.replace(run, train_games=30)
    self.assertEqual(longer.train_task("cma", ["fixed:utilitarian"], 0,
                                       label="u").folder, task.folder)
    other = run.train_task("cma", ["fixed:utilitarian"], 0, delta=1.0,
                           label="u")
    self.assertNotEqual(other.folder, task.folder)


class FlagsTest(absltest.TestCase):

  def _exit_code(self, *argv: str) -> tuple[int, str]:
    stderr = io.StringIO()
    with mock.patch("sys.stderr", stderr), \
        self.assertRaises(SystemExit) as raised:
      experiment.main(list(argv))
    return raised.exception.code, stderr.getvalue()

  def test_unknown_section(self):
    code, message = self._exit_code("--sections", "matrix,bogus")
    self.assertEqual(code, 2)
    self.assertIn("--sections must come from", message)

  def test_bad_principal_option(self):
    code, message = self._exit_code("--sections", "matrix", "--option",
                                    "cma:no_such_field=1")
    self.assertEqual(code, 2)
    self.assertIn("no_such_field", message)
    code, message = self._exit_code("--sections", "matrix", "--option",
                                    "cma=1")
    self.assertEqual(code, 2)
    self.assertIn("PRINCIPAL:FIELD=VALUE", message)

  def test_retired_sections_name_the_commit_that_has_them(self):
    code, message = self._exit_code("--sections", "matrix,dynamic,compare")
    self.assertEqual(code, 2)
    self.assertIn("compare,dynamic (issue 5's) are retired", message)
    self.assertIn(f"at commit {experiment.RETIRED_AT}", message)


if __name__ == "__main__":
  absltest.main()
