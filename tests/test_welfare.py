"""Tests for umd_meltingpot.social_choice.welfare:
hand-computed objectives and metrics."""

import math

from absl.testing import absltest
from absl.testing import parameterized
import hypothesis
from hypothesis import given
from hypothesis import strategies as st
import numpy as np

from tests import helpers
from umd_meltingpot.social_choice import welfare

U = [1.0, 2.0, 3.0]

positive_returns = st.lists(
    st.floats(min_value=1e-3, max_value=1e3), min_size=1, max_size=12
)
non_negative_returns = st.lists(
    st.floats(min_value=0.0, max_value=1e3), min_size=1, max_size=12
)


# T = 4 steps, n = 2 players; totals R = [2, 1].
REWARDS = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
TAGGED = np.array(
    [[False, False], [False, True], [False, True], [False, False]]
)


class WelfareTest(parameterized.TestCase):

  def test_default_objectives_are_in_ballot_order(self):
    self.assertEqual(welfare.DEFAULT_OBJECTIVES,
                     ("utilitarian", "egalitarian", "nash"))
    self.assertLessEqual(set(welfare.DEFAULT_OBJECTIVES),
                         set(welfare.OBJECTIVES))
    # The defaults keep the registry's order, which is the ballot order.
    self.assertEqual(
        list(welfare.DEFAULT_OBJECTIVES),
        [o for o in welfare.OBJECTIVES if o in welfare.DEFAULT_OBJECTIVES])

  def test_names_and_default_ballot_are_read_from_the_specs(self):
    specs = welfare.OBJECTIVE_SPECS
    self.assertEqual(welfare.OBJECTIVES, tuple(specs))
    self.assertEqual(welfare.DEFAULT_OBJECTIVES,
                     tuple(n for n, s in specs.items() if s.default_ballot))
    for name, spec in specs.items():
      self.assertEqual(spec.name, name)
    with self.assertRaises(TypeError):
      specs["leximin"] = specs["egalitarian"]  # Read-only.

  def test_output_tables_unchanged(self):
    # The labels and markers that runs' videos and plots have always shown.
    self.assertEqual(
        {n: s.short_name for n, s in welfare.OBJECTIVE_SPECS.items()},
        {"utilitarian": "util", "egalitarian": "egal", "nash": "nash",
         "power_mean": "pmean", "eq_times_prod": "eq·prod"})
    self.assertEqual(
        {n: s.summary_marker for n, s in welfare.OBJECTIVE_SPECS.items()},
        {"utilitarian": "o", "egalitarian": "s", "nash": "^",
         "power_mean": None, "eq_times_prod": None})
    self.assertEqual(
        [n for n, s in welfare.OBJECTIVE_SPECS.items() if s.rewards_equality],
        ["egalitarian", "nash", "power_mean", "eq_times_prod"])

  @parameterized.parameters(*welfare.OBJECTIVES)
  def test_spec_value_is_objective_value(self, name):
    spec = welfare.OBJECTIVE_SPECS[name]
    self.assertEqual(spec.value(U, p=-2.0, epsilon=1e-3),
                     welfare.objective_value(name, U, p=-2.0, epsilon=1e-3))
    self.assertEqual(spec.value(U), welfare.objective_value(name, U))

  def test_a_spec_takes_only_p_and_epsilon(self):
    with self.assertRaises(AssertionError):
      welfare.ObjectiveSpec(name="x", function=welfare.utilitarian,
                            params=("q",), short_name="x",
                            rewards_equality=False)

  def test_objectives_of_one_two_three(self):
    self.assertEqual(welfare.utilitarian(U), 6.0)
    self.assertEqual(welfare.egalitarian(U), 1.0)
    np.testing.assert_allclose(welfare.nash(U), 6 ** (1 / 3), rtol=1e-12)
    # Equality 1 - 3/2 · 2/9 = 2/3, times productivity 6.
    self.assertAlmostEqual(welfare.eq_times_prod(U), 4.0)

  @parameterized.parameters(*welfare.OBJECTIVES)
  def test_objective_value_dispatches_to_the_named_function(self, name):
    direct = {
        "utilitarian": welfare.utilitarian(U),
        "egalitarian": welfare.egalitarian(U),
        "nash": welfare.nash(U, 1e-3),
        "power_mean": welfare.power_mean(U, -2.0, 1e-3),
        "eq_times_prod": welfare.eq_times_prod(U),
    }
    self.assertEqual(
        welfare.objective_value(name, np.array(U), p=-2.0, epsilon=1e-3),
        direct[name])

  def test_unknown_objective_lists_the_valid_ones(self):
    with self.assertRaisesRegex(ValueError, "happiness") as raised:
      welfare.objective_value("happiness", U)
    helpers.assert_names_every_one(self, raised.exception, welfare.OBJECTIVES)

  @parameterized.named_parameters(
      ("empty", []), ("two_dimensional", [[1.0, 2.0]]),
      ("nan", [1.0, math.nan]), ("inf", [math.inf]))
  def test_bad_returns_raise(self, bad):
    with self.assertRaises(ValueError):
      welfare.utilitarian(bad)

  def test_nash_clamps_zeros_to_epsilon(self):
    # sqrt(ε · 4) with ε = 1e-6.
    np.testing.assert_allclose(welfare.nash([0.0, 4.0]), 2e-3, rtol=1e-12)
    np.testing.assert_allclose(welfare.nash([0.0, 0.0]), 1e-6, rtol=1e-12)
    self.assertAlmostEqual(welfare.nash([0.0, 4.0], epsilon=1e-2), 0.2)

  def test_nash_with_a_zero_still_orders_by_the_others(self):
    self.assertGreater(welfare.nash([0.0, 4.0]), welfare.nash([0.0, 1.0]))
    self.assertGreater(welfare.nash([0.0, 1.0]), welfare.nash([0.0, 0.0]))

  def test_nash_clamps_negatives_like_zeros(self):
    self.assertEqual(welfare.nash([-5.0, 4.0]), welfare.nash([0.0, 4.0]))

  @parameterized.parameters(0.0, -1.0, math.nan)
  def test_nash_rejects_a_bad_epsilon(self, epsilon):
    with self.assertRaisesRegex(ValueError, "epsilon"):
      welfare.nash(U, epsilon=epsilon)

  def test_power_mean_special_cases(self):
    np.testing.assert_allclose(welfare.power_mean(U, 1.0), 2.0, rtol=1e-12)
    # Harmonic mean 3 / (1 + 1/2 + 1/3) = 18/11.
    np.testing.assert_allclose(welfare.power_mean(U, -1.0), 18 / 11, rtol=1e-12)
    # Quadratic mean sqrt((1 + 4 + 9) / 3).
    self.assertAlmostEqual(welfare.power_mean(U, 2.0), math.sqrt(14 / 3))
    self.assertEqual(welfare.power_mean(U, -math.inf), 1.0)
    np.testing.assert_allclose(welfare.power_mean(U, math.inf), 3.0, rtol=1e-12)

  def test_power_mean_at_zero_is_the_geometric_mean(self):
    self.assertEqual(welfare.power_mean(U, 0.0), welfare.nash(U))
    self.assertEqual(welfare.power_mean([0.0, 4.0], 0.0),
                     welfare.nash([0.0, 4.0]))

  @parameterized.parameters(1e-9, -1e-9, 1e-6)
  def test_power_mean_tends_to_the_geometric_mean_as_p_tends_to_zero(self, p):
    np.testing.assert_allclose(welfare.power_mean(U, p), 6 ** (1 / 3),
                               rtol=1e-6)

  def test_power_mean_does_not_overflow_for_large_p(self):
    big = [1e200, 2e200]
    np.testing.assert_allclose(welfare.power_mean(big, 50.0),
                               2e200 * (0.5 * (0.5**50 + 1)) ** (1 / 50),
                               rtol=1e-6)

  def test_power_mean_rejects_nan_p(self):
    with self.assertRaisesRegex(ValueError, "p must"):
      welfare.power_mean(U, math.nan)

  @given(positive_returns, st.floats(min_value=-10.0, max_value=1.0))
  @hypothesis.example(u=[2.0], p=5e-324)  # Subnormal p once returned e.
  def test_power_mean_lies_between_min_and_mean(self, u, p):
    value = welfare.power_mean(u, p)
    slack = 1e-9 * max(u)
    self.assertLessEqual(welfare.egalitarian(u) - slack, value)
    self.assertLessEqual(value, welfare.utilitarian(u) / len(u) + slack)

  @given(
      positive_returns,
      st.floats(min_value=-20.0, max_value=20.0),
      st.floats(min_value=-20.0, max_value=20.0),
  )
  def test_power_mean_is_non_decreasing_in_p(self, u, p, q):
    low, high = sorted((p, q))
    self.assertLessEqual(welfare.power_mean(u, low),
                         welfare.power_mean(u, high) * (1 + 1e-9))

  def test_gini_hand_computed(self):
    self.assertAlmostEqual(welfare.gini([0.0, 0.0, 1.0]), 2 / 3)
    # Σ_ij |x_i - x_j| = 8, divided by 2 · 3 · 6.
    self.assertAlmostEqual(welfare.gini(U), 2 / 9)
    self.assertEqual(welfare.gini([5.0, 5.0, 5.0]), 0.0)
    self.assertEqual(welfare.gini([0.0, 0.0]), 0.0)
    self.assertEqual(welfare.gini([7.0]), 0.0)

  def test_gini_rejects_negative_incomes(self):
    with self.assertRaisesRegex(ValueError, "non-negative"):
      welfare.gini([1.0, -1.0])

  @given(non_negative_returns)
  def test_gini_and_equality_stay_in_range(self, u):
    n = len(u)
    self.assertBetween(welfare.gini(u), -1e-12, (n - 1) / n + 1e-12)
    if n > 1 and not any(value > 0 for value in u):
      self.assertTrue(math.isnan(welfare.equality(u)))
    else:
      self.assertBetween(welfare.equality(u), -1e-9, 1.0 + 1e-12)

  def test_ai_economist_equality_of_equal_and_maximally_unequal_incomes(self):
    self.assertAlmostEqual(welfare.equality([4.0, 4.0, 4.0, 4.0]), 1.0)
    self.assertAlmostEqual(welfare.equality([0.0, 0.0, 0.0, 9.0]), 0.0,
                           delta=1e-12)
    self.assertEqual(welfare.equality([3.0]), 1.0)
    self.assertAlmostEqual(welfare.equality(U), 2 / 3)

  @parameterized.named_parameters(
      ("nobody_ate", [0.0, 0.0, 0.0]), ("fined_into_debt", [-1.0, 0.0]))
  def test_no_income_has_no_equality_rather_than_perfect_equality(self, u):
    # A dead commons is flagged (NaN, null in rounds.jsonl), not scored 1.
    self.assertTrue(math.isnan(welfare.equality(u)))
    metrics = welfare.round_metrics(u)
    self.assertTrue(math.isnan(metrics["equality"]))
    self.assertTrue(math.isnan(metrics["gini"]))
    # The objective stays finite for the principal: the productivity.
    self.assertEqual(welfare.eq_times_prod(u), sum(u))
    self.assertEqual(metrics["eq_times_prod"], sum(u))

  def test_ai_economist_productivity_and_product(self):
    self.assertEqual(welfare.productivity([0.5, 1.5]), 2.0)
    self.assertAlmostEqual(welfare.eq_times_prod([0.0, 0.0, 9.0]), 0.0,
                           delta=1e-12)
    self.assertAlmostEqual(welfare.eq_times_prod([3.0, 3.0]), 6.0)

  def test_perolat_metrics_hand_computed(self):
    self.assertAlmostEqual(welfare.perolat_efficiency(REWARDS), 3 / 4)
    # Gini([2, 1]) = 2 / (2 · 2 · 3) = 1/6.
    self.assertAlmostEqual(welfare.perolat_equality(REWARDS), 5 / 6)
    # Player 0 collects at steps 1 and 3 (mean 2), player 1 at step 3.
    self.assertAlmostEqual(welfare.perolat_sustainability(REWARDS), 2.5)
    # 8 agent-steps, 2 tagged: 6 / 4.
    self.assertAlmostEqual(welfare.perolat_peacefulness(REWARDS, TAGGED), 1.5)

  def test_perolat_sustainability_skips_players_who_never_collect(self):
    rewards = np.array([[0.0, 0.0], [1.0, 0.0]])
    self.assertEqual(welfare.perolat_sustainability(rewards), 2.0)

  def test_perolat_sustainability_ignores_non_positive_rewards(self):
    rewards = np.array([[-1.0], [0.0], [2.0]])
    self.assertEqual(welfare.perolat_sustainability(rewards), 3.0)

  def test_perolat_sustainability_is_zero_when_nobody_collects(self):
    self.assertEqual(welfare.perolat_sustainability(np.zeros((5, 3))), 0.0)

  def test_perolat_equality_is_undefined_when_nobody_collects(self):
    self.assertTrue(math.isnan(welfare.perolat_equality(np.zeros((5, 3)))))

  def test_perolat_peacefulness_bounds(self):
    self.assertEqual(
        welfare.perolat_peacefulness(REWARDS, np.zeros((4, 2), bool)), 2.0)
    self.assertEqual(
        welfare.perolat_peacefulness(REWARDS, np.ones((4, 2), bool)), 0.0)

  @parameterized.named_parameters(
      ("one_dimensional", np.zeros(3)), ("no_steps", np.zeros((0, 2))),
      ("nan", [[np.nan]]))
  def test_perolat_rejects_bad_rewards(self, rewards):
    with self.assertRaisesRegex(ValueError, "rewards"):
      welfare.perolat_efficiency(rewards)

  @parameterized.named_parameters(
      ("wrong_shape", np.zeros((4, 3), bool)),
      ("not_boolean", np.zeros((4, 2), int)))
  def test_perolat_rejects_bad_tagged(self, tagged):
    with self.assertRaisesRegex(ValueError, "tagged"):
      welfare.perolat_peacefulness(REWARDS, tagged)

  def test_round_metrics_keys_and_values_without_rewards(self):
    metrics = welfare.round_metrics(U)
    self.assertEqual(set(metrics),
                     set(welfare.OBJECTIVES)
                     | {"productivity", "equality", "gini"})
    self.assertEqual(metrics["utilitarian"], 6.0)
    self.assertEqual(metrics["egalitarian"], 1.0)
    self.assertAlmostEqual(metrics["nash"], 6 ** (1 / 3))
    self.assertEqual(metrics["power_mean"], welfare.power_mean(U, 0.5))
    self.assertAlmostEqual(metrics["eq_times_prod"], 4.0)
    self.assertEqual(metrics["productivity"], 6.0)
    self.assertAlmostEqual(metrics["equality"], 2 / 3)
    self.assertAlmostEqual(metrics["gini"], 2 / 9)

  def test_round_metrics_with_rewards_and_tags(self):
    metrics = welfare.round_metrics([2.0, 1.0], REWARDS, TAGGED)
    self.assertAlmostEqual(metrics["perolat_U"], 3 / 4)
    self.assertAlmostEqual(metrics["perolat_E"], 5 / 6)
    self.assertAlmostEqual(metrics["perolat_S"], 2.5)
    self.assertAlmostEqual(metrics["perolat_P"], 1.5)

  def test_round_metrics_peacefulness_is_nan_without_tags(self):
    metrics = welfare.round_metrics([2.0, 1.0], REWARDS)
    self.assertTrue(math.isnan(metrics["perolat_P"]))
    self.assertAlmostEqual(metrics["perolat_U"], 3 / 4)

  def test_round_metrics_rejects_tags_without_rewards(self):
    with self.assertRaisesRegex(ValueError, "tagged"):
      welfare.round_metrics(U, tagged=TAGGED)


if __name__ == "__main__":
  absltest.main()
