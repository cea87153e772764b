"""stats: hand-computed means, CIs and ratios; the zero-denominator rule."""

import math

from absl.testing import absltest
import numpy as np

from umd_meltingpot.plumbing import stats


class FiniteMeanTest(absltest.TestCase):

  def test_mean_of_the_finite_values_by_hand(self):
    self.assertEqual(stats.finite_mean([1.0, None, 5.0, math.nan, -math.inf]),
                     3.0)
    self.assertEqual(stats.finite_mean(v for v in (2.0, 4.0)), 3.0)

  def test_no_finite_value_has_no_mean(self):
    self.assertIsNone(stats.finite_mean([]))
    self.assertIsNone(stats.finite_mean([None, math.nan]))


class MeanCITest(absltest.TestCase):

  def test_mean_and_half_width_by_hand(self):
    # sd = 1, sem = 1/sqrt(3), t(0.975, 2) = 4.302653.
    mean, half = stats.mean_ci([1.0, 2.0, 3.0])
    self.assertEqual(mean, 2.0)
    self.assertAlmostEqual(half, 4.302653 / math.sqrt(3), places=5)

  def test_missing_and_non_finite_values_are_left_out(self):
    self.assertEqual(stats.mean_ci([1.0, None, 2.0, 3.0, math.nan, math.inf]),
                     stats.mean_ci([1.0, 2.0, 3.0]))

  def test_one_value_has_no_interval_and_none_has_no_mean(self):
    self.assertEqual(stats.mean_ci([4.0]), (4.0, None))
    self.assertEqual(stats.mean_ci([]), (None, None))
    self.assertEqual(stats.mean_ci([None, math.nan]), (None, None))


class PairedRatiosTest(absltest.TestCase):

  def test_ratios_by_hand_with_nan_for_zero_or_negative_denominators(self):
    ratios = stats.paired_ratios([1.0, 3.0, 5.0, 2.0], [2.0, 0.0, -1.0, 4.0])
    np.testing.assert_array_equal(ratios, [0.5, np.nan, np.nan, 0.5])

  def test_unpaired_lengths_raise(self):
    with self.assertRaisesRegex(ValueError, "one length"):
      stats.paired_ratios([1.0, 2.0], [1.0])


class RatioOfMeansTest(absltest.TestCase):

  def test_point_estimate_by_hand(self):
    # mean 2 / mean 4; every resample of a constant ratio is also 1/2.
    ratio, low, high = stats.ratio_of_means([1.0, 2.0, 3.0], [2.0, 4.0, 6.0],
                                            rng=0, samples=200)
    self.assertEqual((ratio, low, high), (0.5, 0.5, 0.5))

  def test_single_pair_resamples_to_itself(self):
    self.assertEqual(stats.ratio_of_means([3.0], [2.0], rng=0, samples=50),
                     (1.5, 1.5, 1.5))

  def test_interval_matches_a_hand_written_paired_bootstrap(self):
    numerator = np.array([1.0, 4.0, 2.0, 5.0])
    denominator = np.array([2.0, 3.0, 2.0, 6.0])
    picks = np.random.default_rng(7).integers(4, size=(500, 4))
    ratios = [numerator[p].mean() / denominator[p].mean() for p in picks]
    expected = np.percentile(ratios, [2.5, 97.5])
    ratio, low, high = stats.ratio_of_means(numerator, denominator,
                                            rng=np.random.default_rng(7),
                                            samples=500)
    self.assertAlmostEqual(ratio, 12.0 / 13.0)
    np.testing.assert_allclose([low, high], expected)
    self.assertLessEqual(low, ratio)
    self.assertGreaterEqual(high, ratio)

  def test_zero_denominator_mean_gives_nan(self):
    for denominator in ([0.0, 0.0], [1.0, -1.0], [-2.0, -1.0]):
      with self.subTest(denominator=denominator):
        result = stats.ratio_of_means([1.0, 2.0], denominator, rng=0)
        self.assertTrue(all(math.isnan(x) for x in result), result)

  def test_resamples_with_a_zero_denominator_are_left_out(self):
    # Denominator mean 1/2 > 0, but a resample of only the second pair has
    # a zero mean: it is undefined, not inf, and the other resamples are
    # 1/1 = 1 or 1/0.5 = 2, so the interval is [1, 2].
    ratio, low, high = stats.ratio_of_means([1.0, 1.0], [1.0, 0.0], rng=3,
                                            samples=1000)
    self.assertEqual((ratio, low, high), (2.0, 1.0, 2.0))

  def test_same_seed_same_interval_and_no_global_rng(self):
    values, base = [1.0, 4.0, 2.0, 5.0], [2.0, 3.0, 2.0, 6.0]
    np.random.seed(1)
    first = stats.ratio_of_means(values, base, rng=11)
    np.random.seed(2)
    self.assertEqual(stats.ratio_of_means(values, base, rng=11), first)

  def test_bad_input_raises(self):
    with self.assertRaisesRegex(ValueError, "at least one pair"):
      stats.ratio_of_means([], [], rng=0)
    with self.assertRaisesRegex(ValueError, "samples"):
      stats.ratio_of_means([1.0], [1.0], rng=0, samples=0)


class BootstrapMeanCITest(absltest.TestCase):

  def test_pooled_mean_by_hand(self):
    # Five values in all: (1 + 2 + 3 + 10 + 4) / 5 = 4, not the mean of the
    # seed means.
    mean, low, high = stats.bootstrap_mean_ci([[1.0, 2.0, 3.0], [10.0], [4.0]],
                                              rng=0, samples=100)
    self.assertEqual(mean, 4.0)
    self.assertLessEqual(low, high)

  def test_interval_matches_a_hand_written_cluster_bootstrap(self):
    groups = [[1.0, 2.0], [5.0], [0.0, 0.0, 3.0]]
    rng = np.random.default_rng(0)
    means = []
    for _ in range(300):
      picks = rng.integers(3, size=3)
      means.append(np.concatenate([groups[p] for p in picks]).mean())
    _, low, high = stats.bootstrap_mean_ci(groups, rng=0, samples=300)
    np.testing.assert_allclose([low, high], np.percentile(means, [2.5, 97.5]))

  def test_constant_values_give_a_point_interval(self):
    self.assertEqual(stats.bootstrap_mean_ci([[2.0, 2.0], [2.0]], rng=1),
                     (2.0, 2.0, 2.0))

  def test_bad_input_raises(self):
    with self.assertRaisesRegex(ValueError, "at least one seed"):
      stats.bootstrap_mean_ci([], rng=0)
    with self.assertRaisesRegex(ValueError, "at least one value"):
      stats.bootstrap_mean_ci([[1.0], []], rng=0)



class BootstrapMeanTest(absltest.TestCase):

  def test_each_value_is_its_own_seed(self):
    self.assertEqual(stats.bootstrap_mean([1.0, 4.0, 7.0], rng=3, samples=50),
                     stats.bootstrap_mean_ci([[1.0], [4.0], [7.0]], rng=3,
                                             samples=50))


class NormalisedScoreTest(absltest.TestCase):

  def test_score_between_the_baselines_by_hand(self):
    # (mean 3 - mean 1) / (mean 5 - mean 1) = 0.5; every pair gives 0.5.
    score, low, high = stats.normalised_score(
        [2.0, 4.0], [0.0, 2.0], [4.0, 6.0], rng=0, samples=100)
    self.assertEqual((score, low, high), (0.5, 0.5, 0.5))

  def test_high_not_above_low_has_no_score(self):
    self.assertTrue(all(math.isnan(x) for x in stats.normalised_score(
        [3.0], [1.0], [1.0], rng=0)))

  def test_unpaired_lengths_raise(self):
    with self.assertRaisesRegex(ValueError, "one length"):
      stats.normalised_score([1.0, 2.0], [0.0, 0.0], [1.0], rng=0)


class NamedRngTest(absltest.TestCase):

  def test_names_and_seed_fix_the_stream(self):
    draw = lambda *key: stats.named_rng(*key).integers(1 << 30)
    self.assertEqual(draw(0, "a", "b"), draw(0, "a", "b"))
    self.assertNotEqual(draw(0, "a", "b"), draw(0, "b", "a"))
    self.assertNotEqual(draw(0, "a"), draw(1, "a"))

  def test_interval_is_none_with_a_nan_bound(self):
    self.assertEqual(stats.interval(0.5, 1.5), [0.5, 1.5])
    self.assertIsNone(stats.interval(math.nan, 1.0))


class SpearmanTest(absltest.TestCase):

  def test_ranks_with_ties_and_constants(self):
    self.assertAlmostEqual(stats.spearman([1, 2, 3, 4], [10, 20, 30, 40]),
                           1.0)
    self.assertAlmostEqual(stats.spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1.0)
    # One adjacent swap of four: 1 - 6 * 2 / (4 * 15) = 0.8.
    self.assertAlmostEqual(stats.spearman([1, 2, 3, 4], [1, 3, 2, 4]), 0.8)
    # Nobody eats: no order, so no agreement with skill.
    self.assertEqual(stats.spearman([1, 2, 3, 4], [0, 0, 0, 0]), 0.0)


class GroupedMeanCITest(absltest.TestCase):

  def test_groups_sorted_with_count_and_mean_ci(self):
    rows = [{"g": "b", "x": 1.0}, {"g": "a", "x": 2.0},
            {"g": "b", "x": 3.0, "y": 5.0}]
    self.assertEqual(
        stats.grouped_mean_ci(rows, ("g",), ("x", "y"), count="n"),
        [{"g": "a", "n": 1, "x/mean": 2.0, "x/ci95": None,
          "y/mean": None, "y/ci95": None},
         {"g": "b", "n": 2, "x/mean": 2.0,
          "x/ci95": stats.mean_ci([1.0, 3.0])[1],
          "y/mean": 5.0, "y/ci95": None}])


if __name__ == "__main__":
  absltest.main()
