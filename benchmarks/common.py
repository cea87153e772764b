"""Helpers shared by the benchmarks: timing, interleaving, reporting."""

import time
from typing import Callable, Sequence

import numpy as np

from umd_meltingpot import stats


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
