"""The benchmarks' shared pieces (issue 20): the preamble every benchmark
imports first, the history of their ratios and its table, and a quick,
quiet `--help` for every benchmark."""

import argparse
import contextlib
import io
import json
import os
import pathlib
import re
import subprocess
import sys

from absl.testing import absltest
from absl.testing import parameterized

from benchmarks import common
from benchmarks import history
from umd_meltingpot.plumbing import quiet

_FOLDER = pathlib.Path(common.__file__).parent
# Every script in benchmarks/ (common, _setup and __init__ are modules).
_SCRIPTS = sorted(path.name for path in _FOLDER.glob("*.py")
                  if path.name not in ("common.py", "_setup.py",
                                       "__init__.py"))


def _quiet_env() -> dict[str, str]:
  """This environment without what would hide or show TensorFlow's lines
  for another reason than the preamble (conftest sets the log level)."""
  env = dict(os.environ)
  for name in ("TF_CPP_MIN_LOG_LEVEL", quiet.VERBOSE):
    env.pop(name, None)
  return env


def _run(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, *args], capture_output=True,
                        text=True, timeout=120, cwd=_FOLDER.parent,
                        env=_quiet_env())


class PreambleTest(absltest.TestCase):

  def test_every_script_imports_the_preamble_before_anything_else(self):
    # The first import that is not the standard library's is `_setup`, and
    # no script sets TF/XLA variables or sys.path itself.
    imports = re.compile(r"^(?:import|from) ([\w.]+)", re.MULTILINE)
    for name in [*_SCRIPTS, "common.py"]:
      text = (_FOLDER / name).read_text(encoding="utf-8")
      self.assertNotRegex(text, r"os\.environ\.setdefault|sys\.path\.insert",
                          name)
      first = next(module for module in imports.findall(text)
                   if module.split(".")[0] not in sys.stdlib_module_names)
      self.assertEqual(first, "_setup", name)

  def test_the_preamble_keeps_tensorflow_quiet(self):
    result = _run("-c", "import sys; sys.path.insert(0, 'benchmarks')\n"
                  "import _setup, os, tensorflow\n"
                  "print(os.environ['XLA_FLAGS'])\n"
                  "print(_setup.ROOT in sys.path)")
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertEqual(result.stderr, "")
    self.assertIn("intra_op_parallelism_threads=1", result.stdout)
    self.assertTrue(result.stdout.strip().endswith("True"))


class HelpTest(parameterized.TestCase):

  @parameterized.named_parameters((script[:-3], script)
                                  for script in _SCRIPTS)
  def test_help_runs_quietly(self, script):
    result = _run(f"benchmarks/{script}", "--help")
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertEqual(result.stderr, "")
    self.assertIn("usage:", result.stdout)


def _args(path, no_history=False) -> argparse.Namespace:
  return argparse.Namespace(history=str(path), no_history=no_history)


def _finished(run: common.Run):
  with contextlib.redirect_stdout(io.StringIO()):
    return run.finish()


class HistoryTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.path = pathlib.Path(self.create_tempdir().full_path) / "h.jsonl"
    self.subject = common.Subject(
        substrate="umd_apple_harvest__open", players=7, bots="random",
        settings={"repeats": 3})

  def _run(self, no_history=False) -> common.Run:
    with contextlib.redirect_stdout(io.StringIO()) as out:
      run = common.Run("game_speed", self.subject,
                       _args(self.path, no_history), ["--repeats", "3"])
    self.assertIn("substrate umd_apple_harvest__open, 7 players, bots "
                  "random, repeats 3", out.getvalue())
    return run

  def test_a_run_appends_one_line_with_its_ratios(self):
    run = self._run()
    self.assertEqual(run.paired("a / b", [2.0, 3.0, 1.0], [2.0, 2.0, 0.0]),
                     "a / b: median nan (min nan, max nan, 3 paired "
                     "repeats)")
    line = run.interval("c / d", 2.0, 1.5, 2.5, seeds=8)
    self.assertEqual(line, "c / d: 2.000 (95% CI 1.500 to 2.500, 8 paired "
                     "seeds)")
    _finished(run)
    run = self._run()
    run.paired("a / b", [2.0, 3.0], [2.0, 2.0])
    _finished(run)
    first, second = [json.loads(line)
                     for line in self.path.read_text().splitlines()]
    # NaN (a zero rate) is stored as null: standard JSON.
    self.assertEqual(first["ratios"]["a / b"],
                     {"median": None, "min": None, "max": None,
                      "repeats": 3})
    self.assertEqual(first["ratios"]["c / d"],
                     {"ratio": 2.0, "ci_low": 1.5, "ci_high": 2.5,
                      "seeds": 8})
    self.assertEqual(second["ratios"]["a / b"],
                     {"median": 1.25, "min": 1.0, "max": 1.5, "repeats": 2})
    self.assertEqual(first["benchmark"], "game_speed")
    self.assertEqual((first["substrate"], first["players"], first["bots"],
                      first["settings"]),
                     ("umd_apple_harvest__open", 7, "random",
                      {"repeats": 3}))
    self.assertRegex(first["date"], r"^\d{4}-\d\d-\d\dT[\d:]{8}\+00:00$")
    self.assertRegex(first["command"], r"python .* --repeats 3$")
    self.assertLen(first["load_start"], 3)
    self.assertLen(first["load_end"], 3)
    self.assertIn("commit", first)
    self.assertIn("dirty", first)

  def test_no_history_and_no_ratio_write_nothing(self):
    run = self._run(no_history=True)
    run.paired("a / b", [1.0], [1.0])
    self.assertIsNone(_finished(run))
    self.assertIsNone(_finished(self._run()))
    self.assertFalse(self.path.exists())

  def test_commit_outside_a_checkout_is_unknown(self):
    self.assertEqual(common.git_commit(self.create_tempdir().full_path),
                     {"commit": None, "dirty": None})

  def test_commit_of_this_checkout(self):
    commit = common.git_commit()
    if commit["commit"] is None:
      self.skipTest("not a git checkout")
    self.assertRegex(commit["commit"], r"^[0-9a-f]{4,}$")
    self.assertIsInstance(commit["dirty"], bool)

  def test_the_table_shows_a_drop(self):
    for median in (0.95, 0.86):
      run = self._run()
      run.paired("umd / commons", [median], [1.0])
      _finished(run)
    with self.path.open("a") as log:
      log.write('{"benchmark": "game_sp')  # A line cut by a kill.
    records = history.read(self.path)
    self.assertLen(records, 2)
    rows = history.table(records, "game_speed").splitlines()
    self.assertLen(rows, 4)
    self.assertIn("| umd / commons | 0.950 | min 0.950, max 0.950 | 1 |  |",
                  rows[2])
    self.assertIn("| umd / commons | 0.860 | min 0.860, max 0.860 | 1 | "
                  "-9.5% |", rows[3])
    with contextlib.redirect_stdout(io.StringIO()) as out:
      self.assertEqual(history.main(["--history", str(self.path)]), 0)
    self.assertEqual(out.getvalue(), "game_speed: 2 run(s)\n")


if __name__ == "__main__":
  absltest.main()
