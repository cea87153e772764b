"""`umd evaluate`: files and tables, bad input, baseline-normalised scores
and paired differences by hand, the report's files, checkpoint mismatches,
Ray = serial."""

import contextlib
import csv
import io
import json
import math
import os

from absl.testing import absltest
from absl.testing import parameterized

from tests import helpers
from umd_meltingpot.evaluation import evaluate
from umd_meltingpot.evaluation import report
from umd_meltingpot.plumbing import parallel
from umd_meltingpot.evaluation import scenario
from umd_meltingpot.plumbing import trained_game

_SMALL = "umd_apple_harvest__small"


class EvaluateCommandTest(parameterized.TestCase):

  def test_small_map_two_episodes_writes_files_and_a_table(self):
    out = self.create_tempdir().full_path + "/eval"
    code = helpers.umd("evaluate", "--population", "greedy", "--scenario",
                       _SMALL, "--episodes", "2", "--out", out, "--quiet")
    self.assertEqual(code, 0)
    self.assertEqual(
        sorted(os.listdir(out)),
        ["config.json", "episodes.csv", "episodes.jsonl", "evaluate.png",
         "scores.json", "summary.csv", "summary.txt"])
    self.assertGreater(os.path.getsize(f"{out}/evaluate.png"), 10_000)
    rows = [json.loads(line) for line in open(f"{out}/episodes.jsonl")]
    # greedy is a baseline itself; the random baseline is always run too.
    self.assertLen(rows, 2 * 6 * 2)
    self.assertEqual({row["population"] for row in rows},
                     {"greedy", "random"})
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
      self.assertLen(list(csv.DictReader(csv_file)), 24)
    with open(f"{out}/summary.csv") as csv_file:
      summary = list(csv.DictReader(csv_file))
    self.assertLen(summary, 12)
    self.assertEqual({row["episodes"] for row in summary}, {"2"})
    table = open(f"{out}/summary.txt").read()
    for name in scenario.scenarios_for(_SMALL):
      self.assertIn(name, table)
    self.assertIn("±", table)
    self.assertIn("random (baseline)", table)
    scores = json.load(open(f"{out}/scores.json"))
    # greedy is the top baseline: 1 wherever greedy beat random.
    per_scenario = scores["populations"]["greedy"]["per_scenario"]
    self.assertLen(per_scenario, 6)
    for entry in per_scenario.values():
      self.assertIn(entry["score"], (1.0, None))
    self.assertIn("(F - R) / (G - R)", scores["method"])
    self.assertEqual(scores["baselines"], ["random", "greedy"])
    differences = scores["paired_differences"]
    self.assertEqual({(d["a"], d["b"]) for d in differences},
                     {("greedy", "random")})
    self.assertEqual({d["episodes"] for d in differences
                      if d["scenario"] != "all"}, {2})

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

  def test_a_follower_on_scenarios_of_another_game_is_refused(self):
    out = self.create_tempdir().full_path + "/eval"
    code, stderr = helpers.umd_with_stderr(
        "evaluate", "--population", "ppo", "--scenario", "all", "--out", out)
    self.assertEqual(code, 2)
    self.assertLen(stderr.strip().splitlines(), 1)
    for expected in ("umd_apple_harvest__open_* (players 4, here 7; map "
                     "small, here open)", "umd_apple_harvest__closed_*",
                     "--allow-mismatch", "--scenario umd_apple_harvest__small"):
      self.assertIn(expected, stderr)
    self.assertNotIn("__small_", stderr)  # Those fit.
    self.assertFalse(os.path.exists(out))

  def test_allow_mismatch_evaluates_with_a_warning(self):
    trained_game._warned.clear()  # pylint: disable=protected-access
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
      prepared = evaluate.prepare(evaluate.EvaluateConfig(
          population="ppo", scenario="umd_apple_harvest__open_1",
          episodes=1, allow_mismatch=True))
    self.assertIn("warning: population ppo", stderr.getvalue())
    self.assertIn("umd_apple_harvest__open_1 (players 4, here 7",
                  stderr.getvalue())
    self.assertEqual([t.population for t in prepared.tasks],
                     ["ppo", "random", "greedy"])

  def test_umd_list_scenarios_lists_every_scenario(self):
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
      self.assertEqual(helpers.umd("list", "--scenarios"), 0)
    lines = stdout.getvalue().splitlines()
    self.assertEqual([line.split()[0] for line in lines[1:]],
                     sorted(scenario.SCENARIOS))
    self.assertIn(f"{_SMALL}_2", lines[15])
    self.assertIn(" 1/4 greedy      hand_rule  a focal minority", lines[15])

  @parameterized.named_parameters(
      ("no_episodes", {"episodes": 0}, "episodes must be >= 1, got 0"),
      ("bool_episodes", {"episodes": True},
       "episodes must be >= 1, got True"),
      ("negative_seed", {"seed": -1}, "seed must be >= 0, got -1"),
  )
  def test_bad_options_say_what_is_valid_in_one_line(self, options, message):
    config = evaluate.EvaluateConfig(population="greedy",
                                     scenario=f"{_SMALL}_0", **options)
    with self.assertRaises(ValueError) as raised:
      evaluate.prepare(config)
    self.assertEqual(str(raised.exception), message)

  def test_a_bad_population_is_reported_before_bad_options(self):
    with self.assertRaisesRegex(ValueError, "^Unknown population"):
      evaluate.prepare(evaluate.EvaluateConfig(population="x", episodes=0,
                                               seed=-1))

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


def _rows(returns):
  """Episode rows from {(scenario, population): [return per seed 0, 1..]}."""
  return [{"scenario": scenario_name, "population": population, "seed": seed,
           "episode": seed, "focal_per_capita_return": value}
          for (scenario_name, population), values in returns.items()
          for seed, value in enumerate(values)]


class StatisticsTest(absltest.TestCase):

  def test_scores_against_the_baselines_by_hand(self):
    rows = _rows({
        # a: R = 1, G = 5, p = 4: (4 - 1) / (5 - 1) = 0.75.
        ("a", "random"): [0.0, 2.0], ("a", "greedy"): [4.0, 6.0],
        ("a", "p"): [3.0, 5.0, 100.0],  # Seed 2: no baselines, left out.
        # b: G = R, no score.
        ("b", "random"): [1.0, 1.0], ("b", "greedy"): [1.0, 1.0],
        ("b", "p"): [9.0, 9.0],
        # c: R = 0, G = 2, p = 2: 1.0.
        ("c", "random"): [0.0, 0.0], ("c", "greedy"): [2.0, 2.0],
        ("c", "p"): [3.0, 1.0],
    })
    scores = evaluate.normalised_scores(rows, ["p"])
    p = scores["populations"]["p"]
    self.assertAlmostEqual(p["per_scenario"]["a"]["score"], 0.75)
    self.assertEqual(p["per_scenario"]["a"]["episodes"], 2)
    self.assertIsNone(p["per_scenario"]["b"]["score"])
    self.assertAlmostEqual(p["per_scenario"]["c"]["score"], 1.0)
    self.assertAlmostEqual(p["score"], (0.75 + 1.0) / 2)
    # c's resamples: ratios (3+3)/4, (3+1)/4, (1+1)/4 = 1.5, 1.0, 0.5.
    low, high = p["per_scenario"]["c"]["ci95"]
    self.assertEqual((low, high), (0.5, 1.5))
    # The same rows with other populations beside them: the same scores.
    more = rows + _rows({("a", "q"): [0.0, 50.0], ("c", "q"): [7.0, 7.0]})
    self.assertEqual(evaluate.normalised_scores(more, ["p", "q"])[
        "populations"]["p"], p)

  def test_paired_differences_by_hand(self):
    rows = _rows({("a", "p"): [3.0, 5.0], ("a", "q"): [1.0, 2.0],
                  ("b", "p"): [1.0], ("b", "q"): [2.0, 8.0]})
    differences = evaluate.paired_differences(rows, [("p", "q")])
    by_scenario = {d["scenario"]: d for d in differences}
    self.assertEqual(set(by_scenario), {"a", "b", "all"})
    self.assertAlmostEqual(by_scenario["a"]["mean"], (2.0 + 3.0) / 2)
    self.assertEqual(by_scenario["a"]["ci95"], [2.0, 3.0])
    self.assertEqual(by_scenario["b"]["episodes"], 1)  # Seed 1: q only.
    self.assertAlmostEqual(by_scenario["b"]["mean"], -1.0)
    self.assertAlmostEqual(by_scenario["all"]["mean"], (2 + 3 - 1) / 3)
    self.assertEqual(by_scenario["all"]["episodes"], 3)
    # Each pair once: p - greedy and greedy - q are the populations' own.
    self.assertEqual(evaluate.comparison_pairs(["p", "greedy", "q"]), [
        ("p", "greedy"), ("p", "q"), ("greedy", "q"), ("p", "random"),
        ("greedy", "random"), ("q", "random")])

  def test_columns_align_with_a_long_population_name(self):
    long_name = "ppo:runs/some/very/long/folder/checkpoint.npz"
    name = f"{_SMALL}_0"
    rows = _rows({(name, long_name): [3.0, 5.0], (name, "random"): [0.0, 2.0],
                  (name, "greedy"): [4.0, 6.0]})
    populations = (long_name, "random", "greedy")
    summary = evaluate.summarise(rows)
    scores = evaluate.normalised_scores(rows, [long_name])
    differences = evaluate.paired_differences(
        rows, evaluate.comparison_pairs([long_name]))
    table = report.format_table(summary, scores, differences, populations)
    lines = table.splitlines()
    start = lines.index(next(line for line in lines if line.startswith(name)))
    block = lines[start + 1:start + 5]  # The header and three rows.
    self.assertEqual([line.split()[0] for line in block],
                     ["population", "ppo#1", "random", "greedy"])
    self.assertLen({len(line) for line in block}, 1, "\n".join(block))
    self.assertIn(f"  ppo#1 = {long_name}", lines)
    self.assertNotIn(long_name, "\n".join(lines[:-1]))
    self.assertEqual(report.labels([long_name, "ppo:b/c.npz", "greedy"]),
                     {long_name: "ppo#1", "ppo:b/c.npz": "ppo:b/c.npz",
                      "greedy": "greedy"})


class ReportTest(absltest.TestCase):

  def test_non_finite_values_are_null_and_lists_json_in_csv(self):
    rows = [{"a": 1.5, "b": [1.0, math.nan]},
            {"a": math.inf, "c": (2, 3), "b": None}]
    self.assertEqual(report.jsonl(rows),
                     '{"a": 1.5, "b": [1.0, null]}\n'
                     '{"a": null, "b": null, "c": [2, 3]}\n')
    self.assertEqual(report.csv_text(rows),
                     'a,b,c\n1.5,"[1.0, null]",\n,,"[2, 3]"\n')

  def test_write_results_writes_the_five_files(self):
    out = self.create_tempdir().full_path
    rows = _rows({("s", "random"): [0.0, math.nan]})
    scores = {"method": "m", "baselines": ["random"], "populations": {},
              "x": math.nan}
    report.write_results(out, rows=rows, summary=evaluate.summarise(rows),
                         table="table", scores=scores)
    self.assertEqual(sorted(os.listdir(out)),
                     ["episodes.csv", "episodes.jsonl", "scores.json",
                      "summary.csv", "summary.txt"])
    self.assertEqual(open(f"{out}/summary.txt").read(), "table\n")
    self.assertIsNone(json.load(open(f"{out}/scores.json"))["x"])
    lines = open(f"{out}/episodes.jsonl").read().splitlines()
    self.assertIsNone(json.loads(lines[1])["focal_per_capita_return"])


class RayTest(absltest.TestCase):

  def test_ray_rows_equal_serial_rows(self):
    import ray  # pylint: disable=g-import-not-at-top
    tasks = [task for task in evaluate.prepare(evaluate.EvaluateConfig(
        population="zapper", scenario=f"{_SMALL}_2", episodes=2)).tasks
             if task.population == "zapper"]
    serial = [r.row for r in parallel.run_tasks(evaluate.run_episode, tasks)]
    finished = []  # Positions as the Ray tasks finish.
    on_ray = [r.row for r in parallel.run_tasks(
        evaluate.run_episode, tasks,
        lambda index, _: finished.append(index), workers=2)]
    self.assertFalse(ray.is_initialized())  # Shut down after the run.
    self.assertLen(serial, 2)
    self.assertEqual(serial, on_ray)
    self.assertCountEqual(finished, [0, 1])
    # Different seeds, different episodes: the comparison is not vacuous.
    self.assertNotEqual(serial[0]["focal_player_returns"] +
                        serial[0]["background_player_returns"],
                        serial[1]["focal_player_returns"] +
                        serial[1]["background_player_returns"])


if __name__ == "__main__":
  absltest.main()
