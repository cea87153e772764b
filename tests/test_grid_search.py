"""`umd grid`: the Ray grid equals the serial one, schedule generation, the
run folder, and bad input (exit 2, one error line, nothing written)."""

import dataclasses
import json
import math
import os
import subprocess
import sys

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from tests import helpers
from umd_meltingpot.game import loop as game
from umd_meltingpot.training import grid_search

# A tiny game: the small map, 2 rounds of 2 VOTE and 30 HARVEST steps.
_TINY_GAME = game.GameConfig(rounds=2, steps=30, vote_steps=2)
_TINY_FLAGS = ("--rounds", "2", "--steps", "30", "--vote-steps", "2",
               "--quiet")


class ScheduleGridTest(absltest.TestCase):

  def test_flats_then_bracket_levels_each_once(self):
    self.assertEqual(
        grid_search.schedule_grid(0.5, (0.0, 1.0)),
        [(0.0, 0.0, 0.0), (0.5, 0.5, 0.5), (1.0, 1.0, 1.0),
         (0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (0.0, 1.0, 1.0),
         (1.0, 0.0, 0.0), (1.0, 0.0, 1.0), (1.0, 1.0, 0.0)])

  def test_flats_reach_max_rate_with_k_rates(self):
    self.assertEqual(grid_search.schedule_grid(1.5, num_rates=2, max_rate=4),
                     [(0.0, 0.0), (1.5, 1.5), (3.0, 3.0)])
    self.assertEqual(grid_search.schedule_grid(None, (0.0, 2.0), num_rates=1,
                                               max_rate=4),
                     [(0.0,), (2.0,)])

  def test_given_rates_come_first_flat_ones_expanded_duplicates_dropped(self):
    prepared = grid_search.prepare(grid_search.GridConfig(
        game=dataclasses.replace(_TINY_GAME, max_rate=2.0),
        rates=((0.5,), (0.0, 0.5, 2.0)), flat_step=0.5, seeds=(3, 4)))
    self.assertEqual(prepared.schedules, (
        (0.5, 0.5, 0.5), (0.0, 0.5, 2.0), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0),
        (1.5, 1.5, 1.5), (2.0, 2.0, 2.0)))
    self.assertLen(prepared.tasks, 12)
    task = prepared.tasks[3]  # The second schedule's second seed.
    self.assertEqual((task.schedule, task.game.seed), ((0.0, 0.5, 2.0), 4))
    self.assertEqual((task.game.principal, task.game.delta),
                     ("fixed", math.inf))

  def test_game_value_is_the_mean_over_rounds_of_the_objective(self):
    records = [_Record([1.0, 3.0]), _Record([2.0, 2.0])]
    self.assertAlmostEqual(grid_search.game_value(records, "utilitarian"),
                           (4.0 + 4.0) / 2)
    self.assertAlmostEqual(grid_search.game_value(records, "egalitarian"),
                           (1.0 + 2.0) / 2)


@dataclasses.dataclass
class _Record:
  returns: list[float]


class RayGridTest(absltest.TestCase):

  def test_ray_grid_is_the_serial_grid(self):
    import ray  # pylint: disable=g-import-not-at-top
    config = grid_search.GridConfig(
        game=dataclasses.replace(_TINY_GAME, max_rate=4.0),
        rates=((0.0,), (0.7,), (0.0, 0.0, 4.0)), seeds=(100, 101))
    serial = grid_search.grid_search(config)
    finished = []  # Task positions, as the Ray tasks finish.
    on_ray = grid_search.play(
        grid_search.prepare(dataclasses.replace(config, workers=2)),
        on_game=lambda index, _: finished.append(index))
    self.assertFalse(ray.is_initialized())  # Shut down after the grid.
    self.assertEqual(serial, on_ray)
    self.assertEqual(serial.format(), on_ray.format())
    self.assertCountEqual(finished, range(6))
    self.assertEqual([(g.schedule, g.seed) for g in on_ray.games],
                     [(s, seed) for s in ((0.0,) * 3, (0.7,) * 3,
                                          (0.0, 0.0, 4.0))
                      for seed in (100, 101)])
    # Not vacuous: the seeds and the schedules change the games.
    by_game = {(g.schedule, g.seed): g for g in serial.games}
    self.assertNotEqual(by_game[((0.7,) * 3, 100)].values,
                        by_game[((0.7,) * 3, 101)].values)
    self.assertNotEqual(by_game[((0.0,) * 3, 100)].values,
                        by_game[((0.7,) * 3, 100)].values)
    # Each row is the mean of its games; each objective's best is a max.
    for row in serial.rows:
      games = [g for g in serial.games if g.schedule == row.schedule]
      self.assertAlmostEqual(
          row.values["nash"], np.mean([g.values["nash"] for g in games]))
      self.assertAlmostEqual(row.apples_alive_end,
                             np.mean([g.apples_alive_end for g in games]))
    for objective, best in serial.best.items():
      self.assertEqual(
          max(r.values[objective] for r in serial.rows),
          next(r for r in serial.rows if r.schedule == best).values[
              objective])


class GridCommandTest(parameterized.TestCase):

  def test_writes_the_run_folder_and_prints_the_table(self):
    out = self.create_tempdir().full_path + "/grid"
    code, stderr = helpers.umd_with_stderr(
        "grid", *_TINY_FLAGS, "--rates", "0;0.7", "--seeds", "5-6",
        "--objectives", "utilitarian,nash", "--out", out)
    self.assertEqual(code, 0, stderr)
    self.assertEqual(sorted(os.listdir(out)),
                     ["config.json", "games.jsonl", "grid.json", "table.txt"])
    with open(f"{out}/grid.json") as file:
      table = json.load(file)
    self.assertEqual(table["seeds"], [5, 6])
    self.assertEqual([row["schedule"] for row in table["rows"]],
                     [[0.0] * 3, [0.7] * 3])
    self.assertEqual(set(table["best"]), {"utilitarian", "nash"})
    with open(f"{out}/games.jsonl") as file:
      self.assertLen(file.readlines(), 4)
    with open(f"{out}/table.txt") as file:
      self.assertIn("best for nash:", file.read())

  @parameterized.named_parameters(
      ("rates_item", ["--rates", "0,x"], "--rates"),
      ("rates_empty_schedule", ["--rates", "0;;1"], "--rates"),
      ("rates_above_max_rate", ["--rates", "2"], "max_rate 1"),
      ("rates_wrong_count", ["--rates", "0,0"], "needs 3 rates"),
      ("seeds_range", ["--rates", "0", "--seeds", "3-1"], "--seeds"),
      ("seeds_twice", ["--rates", "0", "--seeds", "1,1"], "none twice"),
      ("objective", ["--rates", "0", "--objectives", "wealth"],
       "'utilitarian'"),
      ("workers", ["--rates", "0", "--workers", "-1"], "workers"),
      ("flat_step", ["--flat-step", "0"], "flat_step"),
      ("no_schedules", [], "--rates, --flat-step, --levels"),
      ("a_run_flag", ["--rates", "0", "--phi0", "0.5"], "--phi0"),
  )
  def test_bad_input_exits_2_with_one_error_line(self, flags, message):
    out = self.create_tempdir().full_path + "/grid"
    code, stderr = helpers.umd_with_stderr("grid", *_TINY_FLAGS, *flags,
                                           "--out", out)
    self.assertEqual(code, 2, stderr)
    errors = [line for line in stderr.splitlines()
              if line.startswith("umd grid: error: ")]
    self.assertLen(errors, 1, stderr)
    self.assertIn(message, errors[0])
    self.assertNotIn("Traceback", stderr)
    self.assertFalse(os.path.exists(out))

  def test_help_loads_neither_melting_pot_nor_ray(self):
    script = ("import contextlib, io, sys\n"
              "from umd_meltingpot.cli import commands as cli\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              "  try:\n"
              "    cli.main(['grid', '--help'])\n"
              "  except SystemExit:\n"
              "    pass\n"
              "print(sorted({'tensorflow', 'meltingpot', 'ray', 'jax'} & "
              "set(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", script], text=True,
                            capture_output=True, timeout=120, check=True)
    self.assertEqual(result.stdout.strip(), "[]", result.stderr)

  def test_a_per_game_field_in_the_library_config_is_refused(self):
    with self.assertRaisesRegex(ValueError, r"^game.seed must be left at"):
      grid_search.GridConfig(game=dataclasses.replace(_TINY_GAME, seed=3),
                             rates=((0.0,),))


if __name__ == "__main__":
  absltest.main()
