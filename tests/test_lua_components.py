"""Runs the Lua unit tests of the level's components from Python.

Each `*_test.lua` beside the level is loaded as a Lab2D level through
`dmlab2d.Lab2d`; dmlab2d's `testing/test_runner.lua` runs its `tests.*`
functions when the level is initialised and fails the init if any fails.
"""

import importlib.util
import pathlib
import re
import subprocess
import sys

from absl.testing import absltest
from absl.testing import parameterized

from umd_meltingpot.plumbing import paths

_LEVEL_DIR = paths.lua_root() / "levels" / "umd_apple_harvest"
_LUA_TESTS = sorted(_LEVEL_DIR.glob("*_test.lua"))

# Runs one Lua test file in a child process: the runner prints one line per
# test, and Lab2D raises if any failed.
_RUNNER = """
import sys
import dmlab2d
from dmlab2d import runfiles_helper
dmlab2d.Lab2d(runfiles_helper.find(),
              {"levelName": sys.argv[1], "levelDirectory": sys.argv[2]})
"""


def _meltingpot_root() -> str:
  # Without importing meltingpot, which would load TensorFlow.
  spec = importlib.util.find_spec("meltingpot")
  return str(pathlib.Path(spec.submodule_search_locations[0]).parent)


def _run(path: pathlib.Path) -> subprocess.CompletedProcess:
  return subprocess.run(
      [sys.executable, "-c", _RUNNER, str(path), _meltingpot_root()],
      capture_output=True, text=True, timeout=120)


class LuaComponentsTest(parameterized.TestCase):

  def test_lua_test_files_exist(self):
    self.assertTrue(_LUA_TESTS, f"no *_test.lua in {_LEVEL_DIR}")

  @parameterized.named_parameters((path.stem, path) for path in _LUA_TESTS)
  def test_lua_unit_tests_pass(self, path):
    result = _run(path)
    output = result.stdout + result.stderr
    passed = re.findall(r"PASSED .*? tests\.(\w+)", output)
    failed = re.findall(r"FAILED .*? tests\.(\w+)", output)
    self.assertEqual(result.returncode, 0, output)
    self.assertEmpty(failed, output)
    self.assertGreaterEqual(len(passed), 10, output)

  def test_a_failing_lua_test_fails_the_run(self):
    # The harness itself must be able to fail.
    failing = pathlib.Path(self.create_tempdir(), "failing_test.lua")
    failing.write_text(
        "local asserts = require 'testing.asserts'\n"
        "local test_runner = require 'testing.test_runner'\n"
        "local tests = {}\n"
        "function tests.fails() asserts.EQ(1, 2) end\n"
        "return test_runner.run(tests)\n")
    result = _run(failing)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("FAILED", result.stdout + result.stderr)


if __name__ == "__main__":
  absltest.main()
