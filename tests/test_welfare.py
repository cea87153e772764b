"""Tests for umd_meltingpot.welfare: hand-computed objectives and metrics."""

import math

import hypothesis
from hypothesis import given
from hypothesis import strategies as st
import numpy as np
import pytest

from umd_meltingpot import welfare

U = [1.0, 2.0, 3.0]

positive_returns = st.lists(
    st.floats(min_value=1e-3, max_value=1e3), min_size=1, max_size=12
)
non_negative_returns = st.lists(
    st.floats(min_value=0.0, max_value=1e3), min_size=1, max_size=12
)


def test_objectives_are_in_ballot_order():
  assert welfare.OBJECTIVES == (
      "utilitarian",
      "egalitarian",
      "nash",
      "power_mean",
      "eq_times_prod",
  )
  assert welfare.DEFAULT_OBJECTIVES == ("utilitarian", "egalitarian", "nash")
  assert set(welfare.DEFAULT_OBJECTIVES) <= set(welfare.OBJECTIVES)


def test_objectives_of_one_two_three():
  assert welfare.utilitarian(U) == 6.0
  assert welfare.egalitarian(U) == 1.0
  assert welfare.nash(U) == pytest.approx(6 ** (1 / 3), rel=1e-12)
  # Equality 1 - 3/2 · 2/9 = 2/3, times productivity 6.
  assert welfare.eq_times_prod(U) == pytest.approx(4.0)


@pytest.mark.parametrize("name", welfare.OBJECTIVES)
def test_objective_value_dispatches_to_the_named_function(name):
  direct = {
      "utilitarian": welfare.utilitarian(U),
      "egalitarian": welfare.egalitarian(U),
      "nash": welfare.nash(U, 1e-3),
      "power_mean": welfare.power_mean(U, -2.0, 1e-3),
      "eq_times_prod": welfare.eq_times_prod(U),
  }
  assert welfare.objective_value(
      name, np.array(U), p=-2.0, epsilon=1e-3
  ) == direct[name]


def test_unknown_objective_lists_the_valid_ones():
  with pytest.raises(ValueError, match="utilitarian.*eq_times_prod"):
    welfare.objective_value("happiness", U)


@pytest.mark.parametrize("bad", [[], [[1.0, 2.0]], [1.0, math.nan], [math.inf]])
def test_bad_returns_raise(bad):
  with pytest.raises(ValueError):
    welfare.utilitarian(bad)


def test_nash_clamps_zeros_to_epsilon():
  # sqrt(ε · 4) with ε = 1e-6.
  assert welfare.nash([0.0, 4.0]) == pytest.approx(2e-3, rel=1e-12)
  assert welfare.nash([0.0, 0.0]) == pytest.approx(1e-6, rel=1e-12)
  assert welfare.nash([0.0, 4.0], epsilon=1e-2) == pytest.approx(0.2)


def test_nash_with_a_zero_still_orders_by_the_others():
  assert welfare.nash([0.0, 4.0]) > welfare.nash([0.0, 1.0])
  assert welfare.nash([0.0, 1.0]) > welfare.nash([0.0, 0.0])


def test_nash_clamps_negatives_like_zeros():
  assert welfare.nash([-5.0, 4.0]) == welfare.nash([0.0, 4.0])


@pytest.mark.parametrize("epsilon", [0.0, -1.0, math.nan])
def test_nash_rejects_a_bad_epsilon(epsilon):
  with pytest.raises(ValueError, match="epsilon"):
    welfare.nash(U, epsilon=epsilon)


def test_power_mean_special_cases():
  assert welfare.power_mean(U, 1.0) == pytest.approx(2.0, rel=1e-12)
  # Harmonic mean 3 / (1 + 1/2 + 1/3) = 18/11.
  assert welfare.power_mean(U, -1.0) == pytest.approx(18 / 11, rel=1e-12)
  # Quadratic mean sqrt((1 + 4 + 9) / 3).
  assert welfare.power_mean(U, 2.0) == pytest.approx(math.sqrt(14 / 3))
  assert welfare.power_mean(U, -math.inf) == 1.0
  assert welfare.power_mean(U, math.inf) == pytest.approx(3.0, rel=1e-12)


def test_power_mean_at_zero_is_the_geometric_mean():
  assert welfare.power_mean(U, 0.0) == welfare.nash(U)
  assert welfare.power_mean([0.0, 4.0], 0.0) == welfare.nash([0.0, 4.0])


@pytest.mark.parametrize("p", [1e-9, -1e-9, 1e-6])
def test_power_mean_tends_to_the_geometric_mean_as_p_tends_to_zero(p):
  assert welfare.power_mean(U, p) == pytest.approx(6 ** (1 / 3), rel=1e-6)


def test_power_mean_does_not_overflow_for_large_p():
  big = [1e200, 2e200]
  assert welfare.power_mean(big, 50.0) == pytest.approx(
      2e200 * (0.5 * (0.5**50 + 1)) ** (1 / 50)
  )


def test_power_mean_rejects_nan_p():
  with pytest.raises(ValueError, match="p must"):
    welfare.power_mean(U, math.nan)


@given(positive_returns, st.floats(min_value=-10.0, max_value=1.0))
@hypothesis.example(u=[2.0], p=5e-324)  # Subnormal p once returned e.
def test_power_mean_lies_between_min_and_mean(u, p):
  value = welfare.power_mean(u, p)
  slack = 1e-9 * max(u)
  assert welfare.egalitarian(u) - slack <= value
  assert value <= welfare.utilitarian(u) / len(u) + slack


@given(
    positive_returns,
    st.floats(min_value=-20.0, max_value=20.0),
    st.floats(min_value=-20.0, max_value=20.0),
)
def test_power_mean_is_non_decreasing_in_p(u, p, q):
  low, high = sorted((p, q))
  assert welfare.power_mean(u, low) <= welfare.power_mean(u, high) * (
      1 + 1e-9
  )


def test_gini_hand_computed():
  assert welfare.gini([0.0, 0.0, 1.0]) == pytest.approx(2 / 3)
  # Σ_ij |x_i - x_j| = 8, divided by 2 · 3 · 6.
  assert welfare.gini(U) == pytest.approx(2 / 9)
  assert welfare.gini([5.0, 5.0, 5.0]) == 0.0
  assert welfare.gini([0.0, 0.0]) == 0.0
  assert welfare.gini([7.0]) == 0.0


def test_gini_rejects_negative_incomes():
  with pytest.raises(ValueError, match="non-negative"):
    welfare.gini([1.0, -1.0])


@given(non_negative_returns)
def test_gini_and_equality_stay_in_range(u):
  n = len(u)
  assert -1e-12 <= welfare.gini(u) <= (n - 1) / n + 1e-12
  assert -1e-9 <= welfare.equality(u) <= 1.0 + 1e-12


def test_ai_economist_equality_of_equal_and_maximally_unequal_incomes():
  assert welfare.equality([4.0, 4.0, 4.0, 4.0]) == pytest.approx(1.0)
  assert welfare.equality([0.0, 0.0, 0.0, 9.0]) == pytest.approx(0.0)
  assert welfare.equality([0.0, 0.0]) == 1.0
  assert welfare.equality([3.0]) == 1.0
  assert welfare.equality(U) == pytest.approx(2 / 3)


def test_ai_economist_productivity_and_product():
  assert welfare.productivity([0.5, 1.5]) == 2.0
  assert welfare.eq_times_prod([0.0, 0.0, 9.0]) == pytest.approx(0.0)
  assert welfare.eq_times_prod([3.0, 3.0]) == pytest.approx(6.0)


# T = 4 steps, n = 2 players; totals R = [2, 1].
REWARDS = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
TAGGED = np.array(
    [[False, False], [False, True], [False, True], [False, False]]
)


def test_perolat_metrics_hand_computed():
  assert welfare.perolat_efficiency(REWARDS) == pytest.approx(3 / 4)
  # Gini([2, 1]) = 2 / (2 · 2 · 3) = 1/6.
  assert welfare.perolat_equality(REWARDS) == pytest.approx(5 / 6)
  # Player 0 collects at steps 1 and 3 (mean 2), player 1 at step 3.
  assert welfare.perolat_sustainability(REWARDS) == pytest.approx(2.5)
  # 8 agent-steps, 2 tagged: 6 / 4.
  assert welfare.perolat_peacefulness(REWARDS, TAGGED) == pytest.approx(1.5)


def test_perolat_sustainability_skips_players_who_never_collect():
  rewards = np.array([[0.0, 0.0], [1.0, 0.0]])
  assert welfare.perolat_sustainability(rewards) == 2.0


def test_perolat_sustainability_ignores_non_positive_rewards():
  rewards = np.array([[-1.0], [0.0], [2.0]])
  assert welfare.perolat_sustainability(rewards) == 3.0


def test_perolat_sustainability_is_zero_when_nobody_collects():
  assert welfare.perolat_sustainability(np.zeros((5, 3))) == 0.0


def test_perolat_equality_is_one_when_nobody_collects():
  assert welfare.perolat_equality(np.zeros((5, 3))) == 1.0


def test_perolat_peacefulness_bounds():
  assert welfare.perolat_peacefulness(REWARDS, np.zeros((4, 2), bool)) == 2.0
  assert welfare.perolat_peacefulness(REWARDS, np.ones((4, 2), bool)) == 0.0


@pytest.mark.parametrize("rewards", [np.zeros(3), np.zeros((0, 2)), [[np.nan]]])
def test_perolat_rejects_bad_rewards(rewards):
  with pytest.raises(ValueError, match="rewards"):
    welfare.perolat_efficiency(rewards)


@pytest.mark.parametrize(
    "tagged", [np.zeros((4, 3), bool), np.zeros((4, 2), int)]
)
def test_perolat_rejects_bad_tagged(tagged):
  with pytest.raises(ValueError, match="tagged"):
    welfare.perolat_peacefulness(REWARDS, tagged)


def test_round_metrics_keys_and_values_without_rewards():
  metrics = welfare.round_metrics(U)
  assert set(metrics) == set(welfare.OBJECTIVES) | {
      "productivity",
      "equality",
      "gini",
  }
  assert metrics["utilitarian"] == 6.0
  assert metrics["egalitarian"] == 1.0
  assert metrics["nash"] == pytest.approx(6 ** (1 / 3))
  assert metrics["power_mean"] == welfare.power_mean(U, 0.5)
  assert metrics["eq_times_prod"] == pytest.approx(4.0)
  assert metrics["productivity"] == 6.0
  assert metrics["equality"] == pytest.approx(2 / 3)
  assert metrics["gini"] == pytest.approx(2 / 9)


def test_round_metrics_with_rewards_and_tags():
  metrics = welfare.round_metrics([2.0, 1.0], REWARDS, TAGGED)
  assert metrics["perolat_U"] == pytest.approx(3 / 4)
  assert metrics["perolat_E"] == pytest.approx(5 / 6)
  assert metrics["perolat_S"] == pytest.approx(2.5)
  assert metrics["perolat_P"] == pytest.approx(1.5)


def test_round_metrics_peacefulness_is_nan_without_tags():
  metrics = welfare.round_metrics([2.0, 1.0], REWARDS)
  assert math.isnan(metrics["perolat_P"])
  assert metrics["perolat_U"] == pytest.approx(3 / 4)


def test_round_metrics_rejects_tags_without_rewards():
  with pytest.raises(ValueError, match="tagged"):
    welfare.round_metrics(U, tagged=TAGGED)
