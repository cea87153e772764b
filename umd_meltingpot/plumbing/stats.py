"""Means, confidence intervals and bootstraps for reported results.

One implementation of each estimate that the evaluation, the benchmarks and
the experiments report, so that a figure means the same thing everywhere:

*   `finite_mean`: the mean of the values there are (None, NaN and inf are
    missing values, not numbers);
*   `mean_ci`: a mean and its 95% half-width from Student's t, for
    independent episodes or seeds;
*   `ratio_of_means`: mean(numerator) / mean(denominator) over paired
    samples (the same seeds), with a paired percentile-bootstrap 95% CI
    (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13);
*   `bootstrap_mean_ci`: a mean over values grouped by seed, with a 95%
    cluster-bootstrap CI that resamples whole seeds (values of one seed
    share its learners, so they are not independent);
*   `paired_ratios`: the ratio of each pair;
*   `bootstrap_mean`: a mean over independent values with a 95%
    percentile-bootstrap CI (`bootstrap_mean_ci`, one value per seed);
*   `normalised_score`: a mean placed between two baselines' means (0 at
    the low one, 1 at the high one), paired by seed, with the CI of
    `ratio_of_means`;
*   `grouped_mean_ci`: `mean_ci` of columns per group of rows.

A zero denominator, the one rule: a ratio is defined only where its
denominator is positive. Read as "a fraction of the baseline", a ratio to a
baseline of zero (or below) has no meaning, so it is NaN, never inf or a
sign-flipped number. A bootstrap resample whose denominator mean is not
positive counts as undefined and is left out of the percentiles.

Randomness comes only from the `rng` argument (a `np.random.Generator`, or
an int seed for a new one), never from global state, so a table reproduces
from its seed; `named_rng` gives each estimate of a table its own stream.
"""

import collections
import math
import zlib
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

RandomSource = Union[np.random.Generator, int]
"""A generator to draw from, or the seed of a new one."""

_PERCENTILES = (2.5, 97.5)  # A two-sided 95% interval.


def _finite(values: Iterable[Optional[float]]) -> np.ndarray:
  return np.asarray([v for v in values if v is not None and math.isfinite(v)],
                    dtype=float)


def finite_mean(values: Iterable[Optional[float]]) -> Optional[float]:
  """The mean of the finite values; None if there are none."""
  finite = _finite(values)
  return float(finite.mean()) if finite.size else None


def mean_ci(values: Iterable[Optional[float]]
            ) -> tuple[Optional[float], Optional[float]]:
  """The mean of `values` and the half-width of its 95% CI (Student's t).

  Args:
    values: independent samples; None, NaN and infinite values (an episode
      that has no value for a column) are left out.

  Returns:
    (mean, half-width): the interval is mean ± half-width. The mean is None
    with no finite value, the half-width None with fewer than two.
  """
  finite = _finite(values)
  if finite.size == 0:
    return None, None
  mean = float(finite.mean())
  if finite.size < 2:
    return mean, None
  # SciPy on first use: it takes a second to import, which every command
  # that imports this module (`umd train --help` too) would pay.
  from scipy import stats as scipy_stats  # pylint: disable=g-import-not-at-top
  sem = finite.std(ddof=1) / math.sqrt(finite.size)
  return mean, float(scipy_stats.t.ppf(0.975, finite.size - 1) * sem)


def paired_ratios(numerator: Sequence[float],
                  denominator: Sequence[float]) -> np.ndarray:
  """numerator[i] / denominator[i]; NaN where denominator[i] <= 0.

  Raises:
    ValueError: the sequences differ in length.
  """
  numerator, denominator = _paired(numerator, denominator)
  positive = denominator > 0
  return np.divide(numerator, denominator, out=np.full(len(numerator), np.nan),
                   where=positive)


def ratio_of_means(numerator: Sequence[float], denominator: Sequence[float],
                   *, rng: RandomSource, samples: int = 10_000
                   ) -> tuple[float, float, float]:
  """mean(numerator) / mean(denominator), with a paired bootstrap 95% CI.

  Each resample draws n pair indices with replacement (one draw of shape
  (samples, n)) and takes the ratio of the two resampled means; the CI is
  the 2.5th and 97.5th percentiles of those ratios.

  Args:
    numerator: one value per seed.
    denominator: the baseline's value on the same seeds, in the same order.
    rng: the generator (or seed) for the resampling.
    samples: the number of bootstrap resamples.

  Returns:
    (ratio, low, high); all NaN if mean(denominator) is not positive. Low
    and high are NaN too if no resample has a positive denominator mean.

  Raises:
    ValueError: the sequences are empty or differ in length, or `samples`
      is not positive.
  """
  numerator, denominator = _paired(numerator, denominator)
  if samples < 1:
    raise ValueError(f"samples must be >= 1, got {samples}")
  if not denominator.mean() > 0:
    return math.nan, math.nan, math.nan
  ratio = float(numerator.mean() / denominator.mean())
  rng = np.random.default_rng(rng)
  picks = rng.integers(len(numerator), size=(samples, len(numerator)))
  ratios = paired_ratios(numerator[picks].mean(axis=1),
                         denominator[picks].mean(axis=1))
  if np.isnan(ratios).all():
    return ratio, math.nan, math.nan
  low, high = np.nanpercentile(ratios, _PERCENTILES)
  return ratio, float(low), float(high)


def bootstrap_mean_ci(values_by_seed: Sequence[Sequence[float]], *,
                      rng: RandomSource, samples: int = 2000
                      ) -> tuple[float, float, float]:
  """The mean over all values and a 95% cluster-bootstrap CI over seeds.

  Each resample draws as many seeds as there are, with replacement, and
  pools their values (a seed with more values weighs more, as in the pooled
  mean); the CI is the 2.5th and 97.5th percentiles of the resampled means.

  Args:
    values_by_seed: the values of each seed (e.g. its evaluated rounds).
    rng: the generator (or seed) for the resampling.
    samples: the number of bootstrap resamples.

  Returns:
    (mean, low, high).

  Raises:
    ValueError: no seeds, a seed without values, or `samples` < 1.
  """
  groups = [np.asarray(v, dtype=np.float64) for v in values_by_seed]
  if not groups or any(g.size == 0 for g in groups):
    raise ValueError("bootstrap_mean_ci needs at least one seed, each with "
                     "at least one value")
  if samples < 1:
    raise ValueError(f"samples must be >= 1, got {samples}")
  sums = np.array([g.sum() for g in groups])
  counts = np.array([g.size for g in groups])
  rng = np.random.default_rng(rng)
  picks = rng.integers(len(groups), size=(samples, len(groups)))
  means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
  low, high = np.percentile(means, _PERCENTILES)
  return float(sums.sum() / counts.sum()), float(low), float(high)


def named_rng(seed: int, *names: str) -> np.random.Generator:
  """A generator fixed by `seed` and the names of what it resamples.

  Each estimate gets its own stream, so its interval does not depend on
  which other estimates were computed beside it, or in what order.
  """
  return np.random.default_rng(
      [seed, *(zlib.crc32(name.encode()) for name in names)])


def interval(low: float, high: float) -> Optional[list[float]]:
  """[low, high], or None where either bound is NaN (no interval)."""
  return None if math.isnan(low) or math.isnan(high) else [low, high]


def bootstrap_mean(values: Sequence[float], *, rng: RandomSource,
                   samples: int = 2000) -> tuple[float, float, float]:
  """The mean of independent values and its 95% percentile-bootstrap CI.

  `bootstrap_mean_ci` with each value its own seed: a paired difference
  per episode is resampled whole.

  Returns:
    (mean, low, high).

  Raises:
    ValueError: no values, or `samples` < 1.
  """
  return bootstrap_mean_ci([[value] for value in values], rng=rng,
                           samples=samples)


def normalised_score(values: Sequence[float], low: Sequence[float],
                     high: Sequence[float], *, rng: RandomSource,
                     samples: int = 10_000) -> tuple[float, float, float]:
  """(mean(values) - mean(low)) / (mean(high) - mean(low)), with a 95% CI.

  0 is the low baseline's level and 1 the high one's. The three sequences
  are paired (the same seeds, in the same order); the CI is
  `ratio_of_means` of values - low over high - low, so it resamples
  seeds, not values.

  Returns:
    (score, low, high); all NaN where high does not beat low on average.

  Raises:
    ValueError: the sequences are empty or differ in length.
  """
  values, low = _paired(values, low)
  _, high = _paired(values, high)
  return ratio_of_means(values - low, high - low, rng=rng, samples=samples)


def grouped_mean_ci(rows: Iterable[Mapping[str, Any]], by: Sequence[str],
                    columns: Sequence[str], *, count: str = "count"
                    ) -> list[dict[str, Any]]:
  """`mean_ci` of each column, per group of rows with equal `by` fields.

  Args:
    rows: the rows; a row without a column is a missing value there.
    by: the fields that make a group.
    columns: the columns to summarise, in output order.
    count: the key of the number of rows in a group.

  Returns:
    One entry per group, sorted by its `by` values: those fields, `count`,
    then `<column>/mean` and `<column>/ci95` (the half-width) per column.
  """
  groups = collections.defaultdict(list)
  for row in rows:
    groups[tuple(row[key] for key in by)].append(row)
  entries = []
  for key, group in sorted(groups.items()):
    entry = {**dict(zip(by, key)), count: len(group)}
    for column in columns:
      mean, ci = mean_ci([row.get(column) for row in group])
      entry[f"{column}/mean"] = mean
      entry[f"{column}/ci95"] = ci
    entries.append(entry)
  return entries


def _paired(numerator: Sequence[float], denominator: Sequence[float]
            ) -> tuple[np.ndarray, np.ndarray]:
  numerator = np.asarray(numerator, dtype=np.float64)
  denominator = np.asarray(denominator, dtype=np.float64)
  if numerator.shape != denominator.shape or numerator.ndim != 1:
    raise ValueError(f"paired values need two sequences of one length, got "
                     f"shapes {numerator.shape} and {denominator.shape}")
  if numerator.size == 0:
    raise ValueError("paired values need at least one pair")
  return numerator, denominator


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
  """Spearman's rank correlation of x and y (ties share their mean rank);
  0 when either is constant, where it is undefined: no order at all is no
  agreement with one."""
  from scipy import stats as scipy_stats  # pylint: disable=g-import-not-at-top
  if np.ptp(np.asarray(x, float)) == 0 or np.ptp(np.asarray(y, float)) == 0:
    return 0.0
  return float(scipy_stats.spearmanr(x, y).statistic)
