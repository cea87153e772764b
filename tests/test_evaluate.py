"""`umd evaluate`: files and tables, bad input, statistics, Ray = serial."""

import csv
import json
import os

from absl.testing import absltest
from absl.testing import parameterized

from tests import helpers
from umd_meltingpot import evaluate
from umd_meltingpot import scenario

_SMALL = "umd_apple_harvest__small"


class EvaluateCommandTest(parameterized.TestCase):

  def test_small_map_two_episodes_writes_files_and_a_table(self):
    out = self.create_tempdir().full_path + "/eval"
    code = helpers.umd("evaluate", "--population", "greedy", "--scenario",
                       _SMALL, "--episodes", "2", "--out", out, "--quiet")
    self.assertEqual(code, 0)
    self.assertEqual(
        sorted(os.listdir(out)),
        ["config.json", "episodes.csv", "episodes.jsonl", "scores.json",
         "summary.csv", "summary.txt"])
    rows = [json.loads(line) for line in open(f"{out}/episodes.jsonl")]
    self.assertLen(rows, 6 * 2)
    self.assertEqual({row["scenario"] for row in rows},
                     set(scenario.scenarios_for(_SMALL)))
    for row in rows:
      config = scenario.get_config(row["scenario"])
      self.assertLen(row["focal_player_returns"], sum(config.is_focal))
      self.assertAlmostEqual(
          row["focal_per_capita_return"],
          sum(row["focal_player_returns"]) / sum(config.is_focal))
      self.assertEqual(row["rounds"], 5)
      self.assertContainsSubset(
          {"welfare/utilitarian", "welfare/equality", "vote/focal_won",
           "vote/share.egalitarian", "objective/value", "tax/mean_rate"},
          row)
    with open(f"{out}/episodes.csv") as csv_file:
      self.assertLen(list(csv.DictReader(csv_file)), 12)
    with open(f"{out}/summary.csv") as csv_file:
      summary = list(csv.DictReader(csv_file))
    self.assertLen(summary, 6)
    self.assertEqual({row["episodes"] for row in summary}, {"2"})
    table = open(f"{out}/summary.txt").read()
    for name in scenario.scenarios_for(_SMALL):
      self.assertIn(name, table)
    self.assertIn("±", table)
    scores = json.load(open(f"{out}/scores.json"))
    # One population: min = max in every scenario, so no score.
    self.assertIsNone(scores["populations"]["greedy"]["score"])
    self.assertIn("min-max", scores["method"])

  def test_video_is_written_per_episode(self):
    out = self.create_tempdir().full_path + "/eval"
    code = helpers.umd("evaluate", "--population", "random", "--scenario",
                       f"{_SMALL}_0", "--episodes", "1", "--video", "--out",
                       out, "--quiet")
    self.assertEqual(code, 0)
    row = json.loads(open(f"{out}/episodes.jsonl").readline())
    self.assertEqual(row["video"], f"videos/{_SMALL}_0__random__0.mp4")
    self.assertGreater(os.path.getsize(f"{out}/{row['video']}"), 10_000)

  @parameterized.named_parameters(
      ("not_a_bot", ["--population", "runs/train/ckpt.npz"], "greedy"),
      ("missing_checkpoint", ["--population", "ppo:runs/none.npz"],
       "runs/none.npz"),
      ("unknown_scenario", ["--population", "greedy", "--scenario", "x"],
       "'all'"),
      ("no_episodes", ["--population", "greedy", "--episodes", "0"],
       "episodes"),
      ("negative_workers", ["--population", "greedy", "--workers", "-1"],
       "workers"),
  )
  def test_bad_input_exits_2_and_writes_nothing(self, flags, message):
    out = self.create_tempdir().full_path + "/eval"
    code, stderr = helpers.umd_with_stderr("evaluate", *flags, "--out", out)
    self.assertEqual(code, 2)
    self.assertIn(message, stderr)
    self.assertFalse(os.path.exists(out))

  def test_a_trained_follower_is_a_population(self):
    out = self.create_tempdir().full_path + "/eval"
    code = helpers.umd("evaluate", "--population", "ppo", "--scenario",
                       f"{_SMALL}_0", "--episodes", "1", "--out", out,
                       "--quiet")
    self.assertEqual(code, 0)
    row = json.loads(open(f"{out}/episodes.jsonl").readline())
    self.assertEqual(row["population"], "ppo")

  def test_non_empty_out_folder_is_refused(self):
    out = self.create_tempdir()
    out.create_file("keep.txt")
    self.assertEqual(helpers.umd("evaluate", "--population", "greedy", "--out",
                                 out.full_path), 2)
    self.assertEqual(os.listdir(out.full_path), ["keep.txt"])


class SeedTest(absltest.TestCase):

  def test_seeds_pair_populations_and_differ_across_episodes(self):
    prepared = evaluate.prepare(evaluate.EvaluateConfig(
        population="greedy,sustainable", scenario=_SMALL, episodes=3))
    seeds = {}
    for task in prepared.tasks:
      seeds.setdefault((task.scenario, task.episode), set()).add(task.seed)
    self.assertLen(seeds, 6 * 3)
    self.assertTrue(all(len(s) == 1 for s in seeds.values()))
    self.assertLen({s.pop() for s in seeds.values()}, 18)
    self.assertEqual(evaluate.episode_seed(0, f"{_SMALL}_0", 1),
                     evaluate.episode_seed(0, f"{_SMALL}_0", 1))
    self.assertNotEqual(evaluate.episode_seed(0, f"{_SMALL}_0", 1),
                        evaluate.episode_seed(1, f"{_SMALL}_0", 1))


class StatisticsTest(absltest.TestCase):

  def test_min_max_scores_by_hand(self):
    def entry(scenario_name, population, value):
      return {"scenario": scenario_name, "population": population,
              "focal_per_capita_return/mean": value}

    scores = evaluate.normalised_scores([
        entry("a", "p", 1.0), entry("a", "q", 3.0), entry("a", "r", 2.0),
        entry("b", "p", 4.0), entry("b", "q", 0.0), entry("b", "r", 1.0),
        entry("c", "p", 5.0), entry("c", "q", 5.0), entry("c", "r", 5.0),
    ])["populations"]
    self.assertEqual(scores["p"]["per_scenario"], {"a": 0.0, "b": 1.0,
                                                   "c": None})
    self.assertAlmostEqual(scores["p"]["score"], 0.5)
    self.assertAlmostEqual(scores["q"]["score"], 0.5)
    self.assertAlmostEqual(scores["r"]["score"], (0.5 + 0.25) / 2)


class RayTest(absltest.TestCase):

  def test_ray_rows_equal_serial_rows(self):
    import ray  # pylint: disable=g-import-not-at-top
    tasks = evaluate.prepare(evaluate.EvaluateConfig(
        population="zapper", scenario=f"{_SMALL}_2", episodes=2)).tasks
    serial, on_ray = {}, {}
    evaluate.run_tasks(
        tasks, lambda r: serial.__setitem__(r.index, r.row))
    evaluate.run_tasks(
        tasks, lambda r: on_ray.__setitem__(r.index, r.row), workers=2)
    self.assertFalse(ray.is_initialized())  # Shut down after the run.
    self.assertLen(serial, 2)
    self.assertEqual(serial, on_ray)
    # Different seeds, different episodes: the comparison is not vacuous.
    self.assertNotEqual(serial[0]["focal_player_returns"] +
                        serial[0]["background_player_returns"],
                        serial[1]["focal_player_returns"] +
                        serial[1]["background_player_returns"])


if __name__ == "__main__":
  absltest.main()
