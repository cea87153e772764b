"""A fast, quiet `umd`: no Melting Pot for help and listings, no
TensorFlow start-up messages, and a clear `umd play` without a display."""

import json
import os
import subprocess
import sys

from absl.testing import absltest
from absl.testing import parameterized

from umd_meltingpot.plumbing import quiet
from tests import helpers

# What a command must not load to answer quickly.
_HEAVY = ("tensorflow", "meltingpot", "jax", "pref_voting.c1_methods")


def _loaded_by(*args: str) -> list[str]:
  """The `_HEAVY` modules that `umd ARGS` loads, run in a fresh process."""
  script = (
      "import contextlib, io, json, sys\n"
      "from umd_meltingpot.cli import commands as cli\n"
      "with contextlib.redirect_stdout(io.StringIO()):\n"
      "  try:\n"
      f"    cli.main({list(args)!r})\n"
      "  except SystemExit:\n"
      "    pass\n"
      f"print(json.dumps([m for m in {_HEAVY!r} if m in sys.modules]))\n")
  result = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, timeout=120, check=True)
  return json.loads(result.stdout)


class StartupTest(parameterized.TestCase):

  @parameterized.parameters(["--help"], ["list"], ["run", "--help"],
                            ["play", "--help"], ["grid", "--help"],
                            ["train", "--help"],
                            ["train", "followers", "--help"],
                            ["train", "principal", "--help"],
                            ["evaluate", "--help"])
  def test_help_and_list_load_no_melting_pot(self, *args):
    self.assertEqual(_loaded_by(*args), [])

  def test_a_run_prints_no_startup_messages_unless_verbose(self):
    stderr = {}
    for verbose in (False, True):
      out = os.path.join(self.create_tempdir().full_path, "run")
      env = {key: value for key, value in os.environ.items()
             if key not in (quiet.VERBOSE, "TF_CPP_MIN_LOG_LEVEL")}
      result = helpers.run_umd(
          "run", "--rounds", "1", "--steps", "10", "--vote-steps", "2",
          "--quiet", *(["--verbose"] if verbose else []), "--out", out,
          timeout=300, env=env)
      self.assertEqual(result.returncode, 0, result.stderr)
      stderr[verbose] = result.stderr
    self.assertEqual(stderr[False], "")
    # The lines are there to hide: --verbose shows them.
    self.assertNotEqual(quiet.filter_startup(stderr[True]), stderr[True])

  def test_the_filter_keeps_every_other_line(self):
    text = (
        "WARNING: All log messages before absl::InitializeLog() is called "
        "are written to STDERR\n"
        "I0000 00:00:1796103123.278457    5691 port.cc:153] oneDNN custom "
        "operations are on.\n"
        "W0000 00:00:1796103123.278727    5691 cudart_stub.cc:31] Could not "
        "find cuda drivers on your machine, GPU will not be used.\n"
        "E0000 00:00:1796103123.278727    5691 x.cc:1] a real error\n"
        "Traceback (most recent call last):\n")
    self.assertEqual(quiet.filter_startup(text),
                     "E0000 00:00:1796103123.278727    5691 x.cc:1] a real "
                     "error\nTraceback (most recent call last):\n")

  def test_play_without_a_display_says_how_to_run_headless(self):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    result = helpers.run_umd("play", timeout=300, env=env)
    self.assertEqual(result.returncode, 2, result.stderr)
    self.assertRegex(result.stderr, r"^umd play: error: no display .*"
                     r"umd play --headless")
    self.assertLen(result.stderr.strip().splitlines(), 1)


if __name__ == "__main__":
  absltest.main()
