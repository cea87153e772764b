"""Helpers shared by the benchmarks: what they measure, timing,
interleaving, games, and the history of their ratios.

Every benchmark names in its own code what it measures (`Subject`: the
substrate, the player count, the bots or policy), so that a changed default
elsewhere cannot change it unseen; `Run` prints that, and appends the run's
ratios to `history.jsonl` beside this file (one JSON line a run: the date,
the commit, the command, the subject, the load average, the ratios), which
`history.py` prints as a table.

Heavy modules (Melting Pot, TensorFlow, scipy) load on first use, so that a
benchmark's `--help` is quick.
"""

import argparse
import dataclasses
import datetime
import os
import pathlib
import shlex
import subprocess
import sys
import time
from typing import Any, Callable, Mapping, Optional, Sequence

import _setup  # pylint: disable=unused-import  # First: the preamble.

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import dm_env
import numpy as np

from umd_meltingpot import agents
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.plumbing import lazy
from umd_meltingpot.plumbing import runs
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order

stats = lazy.module("umd_meltingpot.plumbing.stats")
wrapper_lib = lazy.module("umd_meltingpot.game.principal_wrapper")

_ROOT = pathlib.Path(_setup.ROOT)
HISTORY = _ROOT / "benchmarks" / "history.jsonl"
"""The ratios of every recorded run, one JSON line a run (committed)."""


@dataclasses.dataclass(frozen=True)
class Subject:
  """What a benchmark measures, named in its own code.

  Attributes:
    substrate: the substrate played (both, for a comparison of two).
    players: the number of players.
    bots: who chooses the actions: bots, a policy, random actions (both
      sides of the ratio).
    settings: anything else that the figure depends on (rounds, seeds,
      steps, repeats, workers).
  """
  substrate: str
  players: int
  bots: str
  settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)

  def describe(self) -> str:
    """One line for the output."""
    settings = "".join(f", {key} {value}"
                       for key, value in self.settings.items())
    return (f"substrate {self.substrate}, {self.players} players, "
            f"bots {self.bots}{settings}")


def add_history_flags(parser: argparse.ArgumentParser) -> None:
  """`--no-history` and `--history PATH`, for a benchmark that records."""
  parser.add_argument("--no-history", action="store_true",
                      help="do not append this run's ratios to the history")
  parser.add_argument("--history", default=str(HISTORY),
                      help="the history file (default: %(default)s)")


def load_average() -> list[float]:
  """The 1, 5 and 15 minute load averages, rounded."""
  return [round(load, 2) for load in os.getloadavg()]


def git_commit(root: os.PathLike = _ROOT) -> dict[str, Any]:
  """The checkout's short commit and whether tracked files differ from it
  (the history file aside, which every recorded run changes).

  Reads only: `--no-optional-locks` keeps `git status` from refreshing the
  index. Outside a checkout, or without git: commit None.
  """
  def git(*args: str) -> str:
    return subprocess.run(
        ["git", "--no-optional-locks", "-C", str(root), *args],
        capture_output=True, text=True, check=True, timeout=30).stdout
  try:
    commit = git("rev-parse", "--short", "HEAD").strip()
    changes = git("status", "--porcelain", "--untracked-files=no", "--",
                  ".", f":!{HISTORY.relative_to(_ROOT)}")
  except (OSError, subprocess.SubprocessError, ValueError):
    return {"commit": None, "dirty": None}
  return {"commit": commit, "dirty": bool(changes.strip())}


def command_line(argv: Optional[Sequence[str]] = None) -> str:
  """This process's command line, as typed from the repository root:
  the interpreter, the script, and `argv` (default: `sys.argv[1:]`)."""
  python = sys.executable
  if python.startswith(str(_ROOT) + os.sep):
    python = os.path.relpath(python, _ROOT)
  script = os.path.abspath(sys.argv[0]) if sys.argv[0] else ""
  if script.startswith(str(_ROOT) + os.sep):
    script = os.path.relpath(script, _ROOT)
  args = sys.argv[1:] if argv is None else list(argv)
  return shlex.join([python, script, *args])


def paired_summary(numerator: Sequence[float],
                   denominator: Sequence[float]) -> dict[str, Any]:
  """The paired ratios' median, min, max and count (nan if a rate was 0)."""
  ratios = stats.paired_ratios(numerator, denominator)
  return {"median": float(np.median(ratios)), "min": float(ratios.min()),
          "max": float(ratios.max()), "repeats": len(ratios)}


def interval_summary(ratio: float, low: float, high: float,
                     seeds: int) -> dict[str, Any]:
  """A ratio of means with its bootstrap 95% CI over `seeds` paired
  seeds."""
  return {"ratio": float(ratio), "ci_low": float(low),
          "ci_high": float(high), "seeds": seeds}


def _number(value: Optional[float]) -> str:
  """`value` to 3 decimals; None (NaN, as the history stores it): nan."""
  return "nan" if value is None else f"{value:.3f}"


def summary_columns(summary: Mapping[str, Any]
                    ) -> tuple[Optional[float], str, int, str]:
  """Either summary as (ratio, its spread, the count, what was counted):
  the median, the range and the repeats, or the ratio of means, the CI and
  the seeds."""
  if "ratio" in summary:
    return (summary["ratio"], f"95% CI {_number(summary['ci_low'])} to "
            f"{_number(summary['ci_high'])}", summary["seeds"], "seeds")
  return (summary["median"], f"min {_number(summary['min'])}, max "
          f"{_number(summary['max'])}", summary["repeats"], "repeats")


def format_summary(summary: Mapping[str, Any]) -> str:
  """A summary as printed: `median 0.904 (min 0.846, max 0.990, 9 paired
  repeats)`, or `4.990 (95% CI 4.690 to 5.300, 8 paired seeds)`."""
  ratio, spread, count, counted = summary_columns(summary)
  median = "" if "ratio" in summary else "median "
  return f"{median}{_number(ratio)} ({spread}, {count} paired {counted})"


class Run:
  """One run of a benchmark: prints what it measures and, at the end,
  appends its ratios to the history.

  Usage:

    run = common.Run("game_speed", subject, args)  # Prints the subject.
    print(run.paired("umd run / bare", umd_rates, bare_rates))
    run.finish()  # Appends one line to args.history.
  """

  def __init__(self, benchmark: str, subject: Subject,
               args: argparse.Namespace,
               argv: Optional[Sequence[str]] = None):
    """Starts the run and prints its subject and the load average.

    Args:
      benchmark: the benchmark's name (its file's, without `.py`).
      subject: what it measures.
      args: its parsed flags; without `add_history_flags`' (a benchmark
        that prints no ratio) the run records nothing.
      argv: the flags it was given, when not `sys.argv[1:]` (a test).
    """
    self.benchmark = benchmark
    self.subject = subject
    self._history = (None if getattr(args, "no_history", True)
                     else args.history)
    self._command = command_line(argv)
    self._load_start = load_average()
    self.ratios: dict[str, dict[str, Any]] = {}
    print(f"{benchmark}: {subject.describe()}; load average "
          f"{' '.join(map(str, self._load_start))} on {os.cpu_count()} "
          "CPUs", flush=True)

  def paired(self, label: str, numerator: Sequence[float],
             denominator: Sequence[float]) -> str:
    """Keeps the summary of paired ratios; returns it as a line to print."""
    self.ratios[label] = paired_summary(numerator, denominator)
    return f"{label}: {format_summary(self.ratios[label])}"

  def interval(self, label: str, ratio: float, low: float, high: float,
               seeds: int) -> str:
    """Keeps a ratio of means with its CI; returns it as a line to print."""
    self.ratios[label] = interval_summary(ratio, low, high, seeds)
    return f"{label}: {format_summary(self.ratios[label])}"

  def record(self) -> dict[str, Any]:
    """The history line of the run so far."""
    return runs.json_ready({
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        **git_commit(),
        "benchmark": self.benchmark,
        "command": self._command,
        "substrate": self.subject.substrate,
        "players": self.subject.players,
        "bots": self.subject.bots,
        "settings": dict(self.subject.settings),
        "load_start": self._load_start,
        "load_end": load_average(),
        "ratios": self.ratios,
    })

  def finish(self) -> Optional[dict[str, Any]]:
    """Prints the load average; appends the run's line to the history
    (unless `--no-history`, or no ratio was kept) and returns it."""
    record = self.record()
    print(f"load average at end {' '.join(map(str, record['load_end']))}",
          end="")
    if self._history is None or not self.ratios:
      print()
      return None
    with runs.JsonLines(self._history) as history:
      history.write(record)
    print(f"; appended to {self._history}")
    return record

def clock() -> float:
  """CPU seconds of this process: the benchmarks run on shared machines,
  where other jobs distort wall-clock time far more than CPU time. Lab2D
  and the Python side here are single-threaded."""
  return time.process_time()


def steps_per_second(step: Callable[[], None], num_steps: int) -> float:
  """Calls `step` `num_steps` times; returns the rate."""
  start = clock()
  for _ in range(num_steps):
    step()
  return num_steps / (clock() - start)


def interleaved(runners: dict[str, Callable[[], float]],
                repeats: int) -> dict[str, list[float]]:
  """Runs each runner once per repeat, alternating, so that load on the
  machine hits both sides alike."""
  results = {name: [] for name in runners}
  for _ in range(repeats):
    for name, runner in runners.items():
      results[name].append(runner())
  return results


def play(config: game_lib.GameConfig,
         principal: Optional[principal_lib.Principal] = None,
         wrap_bots: Optional[Callable[[list[Any]], list[Any]]] = None,
         ) -> "list[wrapper_lib.RoundRecord]":
  """Plays one game, as `umd run` does without its run folder.

  Args:
    config: the game.
    principal: one to play with (it keeps learning across calls unless
      frozen); default: the game's own.
    wrap_bots: maps the game's bots to the policies that play.

  Returns:
    The game's round records.
  """
  game = game_lib.prepare(config, agents.FACTORY)
  bots = game_lib.build_bots(game)
  if wrap_bots is not None:
    bots = wrap_bots(bots)
  with game_lib.build_environment(game, principal=principal) as env:
    game_lib.play_episode(env, bots)
    return env.records


class RandomPlay:
  """A bare substrate stepped with uniformly random actions.

  The benchmarks' baseline. It only steps; each benchmark times it its own
  way (see `episode` and `step`).
  """

  def __init__(self, env: Any, seed: int):
    """Initialises the player.

    Args:
      env: a Melting Pot substrate, UMD or not; the caller closes it.
      seed: seeds the actions.
    """
    self.env = env
    specs = env.action_spec()
    self._num_players = len(specs)
    self._num_actions = specs[0].num_values
    self._rng = np.random.default_rng(seed)
    self._timestep: Optional[dm_env.TimeStep] = None

  def actions(self) -> np.ndarray:
    """One uniformly random action per player."""
    return self._rng.integers(0, self._num_actions, self._num_players)

  def reset_if_over(self) -> None:
    """Starts an episode if none has started or the last one ended."""
    if self._timestep is None or self._timestep.last():
      self._timestep = self.env.reset()

  def step(self, actions: np.ndarray) -> None:
    """One substrate step (call `reset_if_over` first)."""
    self._timestep = self.env.step(actions)

  def episode(self) -> int:
    """Plays one whole episode, reset included; returns its step count."""
    self._timestep, steps = self.env.reset(), 0
    while not self._timestep.last():
      self.step(self.actions())
      steps += 1
    return steps
