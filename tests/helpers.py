"""Shared test helpers: the `umd` command in or out of process, and one
check that an error names every valid value."""

from collections.abc import Iterable, Mapping
import contextlib
import io
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from typing import Optional
import unittest


def umd(*args: str) -> int:
  """Runs `umd ARGS` in this process; returns its exit code.

  argparse's usage errors exit through `SystemExit`; its code is returned
  like the code `cli.main` returns.
  """
  # Imported here: the CLI loads the whole game, which the tests that only
  # use `assert_names_every_one` do not need.
  from umd_meltingpot.cli import commands as cli  # pylint: disable=g-import-not-at-top
  try:
    return cli.main(list(args))
  except SystemExit as exit_:
    return exit_.code


def umd_with_stderr(*args: str) -> tuple[int, str]:
  """Runs `umd ARGS` in this process; returns its exit code and stderr."""
  stderr = io.StringIO()
  with contextlib.redirect_stderr(stderr):
    code = umd(*args)
  return code, stderr.getvalue()


def umd_command(*args: str) -> list[str]:
  """The command line of `umd ARGS` as a user runs it: the console script."""
  return [str(pathlib.Path(sys.executable).parent / "umd"), *args]


def run_umd(*args: str, timeout: float,
            env: Optional[Mapping[str, str]] = None
            ) -> subprocess.CompletedProcess:
  """Runs `umd ARGS` in a child process; returns it with its text output.

  `env` replaces the child's environment (default: this process's).
  """
  return subprocess.run(umd_command(*args), capture_output=True, text=True,
                        timeout=timeout, check=False, env=env)


def assert_names_every_one(test: unittest.TestCase, error: BaseException,
                           names: Iterable[str]) -> None:
  """Asserts that `error`'s message lists each of `names` (a registry).

  Checked against the registry itself, so that adding an entry needs no
  change to the test.
  """
  message = str(error)
  for name in names:
    test.assertIn(repr(name), message)


def wait_past_a_checkpoint(header: pathlib.Path, counter: str,
                           at_least: int,
                           process: subprocess.Popen,
                           timeout: float = 300.0) -> None:
  """Waits until the checkpoint's JSON `header` counts >= `at_least` of
  `counter` and the run's metrics.jsonl has lines past it, so that killing
  `process` then leaves lines a resume must drop.

  Raises:
    AssertionError: the process exited, or no such checkpoint in time.
  """
  metrics = header.parent / "metrics.jsonl"
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    if process.poll() is not None:
      raise AssertionError(f"training exited early: {process.returncode}")
    try:
      saved = json.loads(header.read_text())["counters"][counter]
      lines = len(metrics.read_text().splitlines())
    except (OSError, ValueError, KeyError):
      saved = lines = 0
    if saved >= at_least and lines > saved:
      return
    time.sleep(0.05)
  raise AssertionError("no checkpoint in time")


def kill_9_past_a_checkpoint(command: list[str], header: pathlib.Path,
                             counter: str, at_least: int
                             ) -> subprocess.Popen:
  """Starts `command` in a session of its own, waits until its checkpoint
  `header` counts >= `at_least` of `counter` with metrics lines past it
  (`wait_past_a_checkpoint`), then kills the whole session with SIGKILL.

  Returns:
    The killed process (a session leader), already waited for.
  """
  process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL,
                             start_new_session=True)
  try:
    wait_past_a_checkpoint(header, counter, at_least, process)
  finally:
    os.killpg(process.pid, signal.SIGKILL)  # The trainer and its workers.
    process.wait()
  return process
