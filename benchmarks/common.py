"""Helpers shared by the benchmarks: games, timing, interleaving, reporting."""

import time
from typing import Any, Callable, Optional, Sequence

import dm_env
import numpy as np

from umd_meltingpot import agents

from umd_meltingpot.game import loop as game_lib
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.plumbing import stats
from umd_meltingpot.game import principal_wrapper as wrapper_lib


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


def ratio_summary(numerator: Sequence[float],
                  denominator: Sequence[float]) -> str:
  """Median of the paired ratios, with their range (nan if a rate was 0)."""
  ratios = stats.paired_ratios(numerator, denominator)
  return (f"median {np.median(ratios):.3f} "
          f"(min {ratios.min():.3f}, max {ratios.max():.3f}, "
          f"{len(ratios)} paired repeats)")


def play(config: game_lib.GameConfig,
         principal: Optional[principal_lib.Principal] = None,
         wrap_bots: Optional[Callable[[list[Any]], list[Any]]] = None,
         ) -> list[wrapper_lib.RoundRecord]:
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
