"""A checkpoint used on a game it was not trained on: refused, naming the
difference, or allowed with `--allow-mismatch` and a warning (issue 14)."""

import contextlib
import io
import os
import pathlib
import re

os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

from absl.testing import absltest  # pylint: disable=g-import-not-at-top
from absl.testing import parameterized

from tests import helpers
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.plumbing import trained_game
from umd_meltingpot.principal import checkpoint

_GAME = {"players": 4, "map_name": "small", "bracket_edges": (5.0, 10.0),
         "max_rate": 1.0, "bracket_window": 0, "effort_cost": 0.0,
         "skills": ()}
_TINY = ("--substrate", "umd_apple_harvest__small", "--rounds", "1",
         "--steps", "5", "--vote-steps", "2", "--quiet")
# One flag per compared field: the shipped ppo_small follower and the
# principal below learnt the small map with 4 players, edges 5,10, max_rate
# 1 and no window; each of these changes exactly one of them.
_CHANGES = (
    ("players", ("--players", "5"), "players 4, here 5"),
    ("map", ("--substrate", "umd_apple_harvest__open", "--players", "4"),
     "map small, here open"),
    ("brackets", ("--brackets", "4,8"), "bracket edges (5,10), here (4,8)"),
    ("max_rate", ("--max-rate", "2"), "max_rate 1, here 2"),
    ("bracket_window", ("--bracket-window", "10"),
     "bracket_window 0, here 10"),
    ("effort_cost", ("--effort-cost", "0.3"), "effort_cost 0, here 0.3"),
    ("skills", ("--skills", "1,1,1,2"), "skills all 1, here (1,1,1,2)"),
)


def _lines(text: str) -> list[str]:
  return [line for line in text.splitlines() if line.strip()]


class DifferencesTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    trained_game._warned.clear()  # pylint: disable=protected-access

  @parameterized.named_parameters(
      ("players", "players", 7, "players 4, here 7"),
      ("map", "map_name", "open", "map small, here open"),
      ("edges", "bracket_edges", (5.0,), "bracket edges (5,10), here (5)"),
      ("max_rate", "max_rate", 4.0, "max_rate 1, here 4"),
      ("window", "bracket_window", 20, "bracket_window 0, here 20"),
      ("effort", "effort_cost", 0.3, "effort_cost 0, here 0.3"),
      ("skills", "skills", (0.5, 1.5), "skills all 1, here (0.5,1.5)"))
  def test_each_field_is_named(self, key, value, expected):
    game = dict(_GAME, **{key: value})
    self.assertEqual(trained_game.differences(_GAME, game), [expected])
    with self.assertRaisesRegex(ValueError, "^" + re.escape(
        f"x.npz was trained on another game ({expected}); pass "
        "--allow-mismatch")):
      trained_game.check("x.npz", _GAME, game, allow=False)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
      found = trained_game.check("x.npz", _GAME, game, allow=True)
    self.assertEqual(found, [expected])
    self.assertLen(_lines(stderr.getvalue()), 1)
    self.assertIn(expected, stderr.getvalue())

  def test_the_same_game_passes_silently(self):
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
      self.assertEqual(trained_game.check(
          "x.npz", _GAME, dict(_GAME, bracket_edges=(5, 10)), allow=False),
          [])
    self.assertEqual(stderr.getvalue(), "")

  @parameterized.named_parameters(
      ("permuted", "permute", (2.0, 0.5, 1.0, 1.0), []),
      ("not_a_permutation", "permute", (2.0, 0.5, 1.0, 1.5),
       ["skills (0.5,1,1,2) in any order, here (2,0.5,1,1.5)"]),
      ("within_the_range", "uniform:0.5,2", (0.5, 2.0, 1.2, 0.7), []),
      ("outside_the_range", "uniform:0.5,2", (0.4, 2.0, 1.2, 0.7),
       ["skills drawn from [0.5, 2], here (0.4,2,1.2,0.7)"]),
      ("every_skill_1_within", "uniform:0.5,2", (), []),
      ("fixed_needs_the_same", "fixed", (2.0, 0.5, 1.0, 1.0),
       ["skills (0.5,1,1,2), here (2,0.5,1,1)"]))
  def test_a_skill_draw_covers_the_skills_it_met(self, draw, skills,
                                                  expected):
    summary = {"map_name": "small", "bracket_edges": [5.0, 10.0],
               "players": 4, "skills": [0.5, 1.0, 1.0, 2.0],
               "skill_draw": draw}
    trained = trained_game.of_summary(summary)
    self.assertEqual(trained_game.differences(
        trained, dict(_GAME, skills=skills)), expected)

  def test_a_bad_skill_draw_is_a_corrupt_summary(self):
    with self.assertRaisesRegex(ValueError, "skill draw must be fixed, "
                                "permute or uniform:LO,HI"):
      trained_game.of_summary({"map_name": "small", "bracket_edges": [],
                               "players": 2, "skill_draw": "shuffle"})

  def test_older_summaries_read_the_then_only_max_rate_and_window(self):
    summary = {"map_name": "small", "bracket_edges": [5.0, 10.0]}
    self.assertEqual(trained_game.of_summary(summary, players=4), _GAME)


class FollowerCheckpointTest(parameterized.TestCase):
  """`umd run --bots ppo` (the shipped 4-player small-map follower)."""

  def setUp(self):
    super().setUp()
    trained_game._warned.clear()  # pylint: disable=protected-access

  @parameterized.named_parameters(*_CHANGES)
  def test_refused_naming_the_field_before_any_folder(self, flags, expected):
    out = pathlib.Path(self.create_tempdir().full_path, "run")
    code, stderr = helpers.umd_with_stderr("run", "--bots", "ppo", *_TINY,
                                           *flags, "--out", str(out))
    self.assertEqual(code, 2, stderr)
    self.assertLen(_lines(stderr), 1, stderr)
    self.assertIn(f"ppo_small.npz was trained on another game ({expected})",
                  stderr)
    self.assertIn("--allow-mismatch", stderr)
    self.assertFalse(out.exists())

  @parameterized.named_parameters(*_CHANGES)
  def test_allowed_with_one_warning(self, flags, expected):
    out = pathlib.Path(self.create_tempdir().full_path, "run")
    code, stderr = helpers.umd_with_stderr(
        "run", "--bots", "ppo", *_TINY, *flags, "--allow-mismatch", "--out",
        str(out))
    self.assertEqual(code, 0, stderr)
    warnings = [line for line in _lines(stderr) if "warning" in line]
    self.assertLen(warnings, 1, stderr)
    self.assertIn(f"({expected}); used anyway (--allow-mismatch)",
                  warnings[0])
    self.assertTrue((out / "rounds.jsonl").exists())

  def test_umd_train_principal_checks_its_followers(self):
    out = pathlib.Path(self.create_tempdir().full_path, "train")
    flags = ("train", "principal", "--principal", "bandit", "--games", "1",
             "--bots", "ppo", *_TINY, "--players", "5", "--out", str(out))
    code, stderr = helpers.umd_with_stderr(*flags)
    self.assertEqual(code, 2, stderr)
    self.assertIn("(players 4, here 5); pass --allow-mismatch", stderr)
    self.assertFalse(out.exists())
    code, stderr = helpers.umd_with_stderr(*flags, "--allow-mismatch")
    self.assertEqual(code, 0, stderr)
    self.assertEqual(stderr.count("warning: "), 1, stderr)

  def test_the_training_game_runs_without_a_warning(self):
    out = pathlib.Path(self.create_tempdir().full_path, "run")
    code, stderr = helpers.umd_with_stderr("run", "--bots", "ppo", *_TINY,
                                           "--out", str(out))
    self.assertEqual(code, 0, stderr)
    self.assertNotIn("warning", stderr)

  def test_a_follower_needs_the_observations_it_reads(self):
    from umd_meltingpot.agents.ppo import policy  # pylint: disable=g-import-not-at-top
    from umd_meltingpot import substrate  # pylint: disable=g-import-not-at-top
    follower = policy.load(policy.DEFAULT_CHECKPOINT)
    config = substrate.get_config("umd_apple_harvest__small")
    with self.assertRaisesRegex(ValueError, r"reads observations \['PHASE', "
                                r"'TAX_RATES'\], which this game does not"):
      policy.check_game(follower, config, 4, allow_mismatch=True,
                        observations=("RGB", "READY_TO_SHOOT"))


class PrincipalCheckpointTest(parameterized.TestCase):
  """`umd run --principal PATH` with a bandit learnt on the small map."""

  def setUp(self):
    super().setUp()
    trained_game._warned.clear()  # pylint: disable=protected-access
    folder = pathlib.Path(self.create_tempdir().full_path)
    schedule = principal_lib.TaxSchedule((0.0, 0.1, 0.2), (5.0, 10.0))
    principal = principal_lib.make_principal("bandit", schedule=schedule,
                                             delta=0.1, seed=2)
    self.path = folder / "principal.npz"
    checkpoint.save(self.path, "bandit", principal, schedule,
                    game=_GAME)
    self.old = folder / "old.npz"
    checkpoint.save(self.old, "bandit", principal, schedule)
    self.out = folder / "run"

  def test_the_header_records_the_game(self):
    self.assertEqual(checkpoint.load(self.path).game, _GAME)
    self.assertIsNone(checkpoint.load(self.old).game)

  @parameterized.named_parameters(*_CHANGES)
  def test_refused_naming_the_field(self, flags, expected):
    code, stderr = helpers.umd_with_stderr(
        "run", "--principal", str(self.path), "--bots", "greedy", *_TINY,
        *flags, "--out", str(self.out))
    self.assertEqual(code, 2, stderr)
    self.assertLen(_lines(stderr), 1, stderr)
    self.assertIn(f"principal.npz was trained on another game ({expected})",
                  stderr)
    self.assertFalse(self.out.exists())

  def test_allowed_with_one_warning(self):
    code, stderr = helpers.umd_with_stderr(
        "run", "--principal", str(self.path), "--bots", "greedy", *_TINY,
        "--players", "5", "--allow-mismatch", "--out", str(self.out))
    self.assertEqual(code, 0, stderr)
    self.assertIn("warning: ", stderr)
    self.assertIn("(players 4, here 5); used anyway", stderr)
    self.assertTrue((self.out / "rounds.jsonl").exists())

  def test_an_old_checkpoint_loads_with_a_warning(self):
    code, stderr = helpers.umd_with_stderr(
        "run", "--principal", str(self.old), "--bots", "greedy", *_TINY,
        "--out", str(self.out))
    self.assertEqual(code, 0, stderr)
    self.assertIn("cannot be checked", stderr)

  def test_umd_train_principal_records_its_game(self):
    run = self.out.parent / "train"
    self.assertEqual(helpers.umd(
        "train", "principal", "--principal", "bandit", "--games", "1",
        "--bots", "greedy", "--substrate", "umd_apple_harvest__small",
        "--players", "3", "--rounds", "1", "--steps", "5", "--vote-steps",
        "2", "--max-rate", "2", "--out", str(run), "--quiet"), 0)
    self.assertEqual(checkpoint.load(run / "principal.npz").game,
                     dict(_GAME, players=3, max_rate=2.0))


if __name__ == "__main__":
  absltest.main()
