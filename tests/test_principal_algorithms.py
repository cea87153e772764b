"""Tests for the principal interface and its algorithms."""

import math
import re

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from tests import fakes
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.social_choice import welfare
from umd_meltingpot.principal import base
from umd_meltingpot.principal import hand_rule
from umd_meltingpot.principal import registry

_EDGES = (5.0, 10.0, 20.0)
_SCHEDULE = principal_lib.TaxSchedule(
    rates=(0.1, 0.1, 0.1, 0.1), edges=_EDGES)


def _observation(
    objective: str = "egalitarian",
    edges: tuple[float, ...] = _EDGES,
    round_index: int = 0,
) -> base.RoundObservation:
  """A round-0 observation: no round has been played yet."""
  return base.RoundObservation(
      round_index=round_index,
      previous_rates=np.full(len(edges) + 1, 0.1),
      edges=edges,
      objective=objective,
  )


def _feedback(rates: np.ndarray) -> base.RoundFeedback:
  return base.RoundFeedback(
      round_index=0, objective="egalitarian", objective_value=1.5,
      rates=rates, returns=np.array([1.5, 3.0]))


class InterfaceTest(absltest.TestCase):

  def test_principal_is_abstract(self):
    with self.assertRaises(TypeError):
      base.Principal()  # pytype: disable=not-instantiable

  def test_round_zero_observation_has_empty_per_player_data(self):
    observation = _observation()
    for name in ("gross", "net", "tax", "transfer"):
      with self.subTest(name):
        self.assertEqual(getattr(observation, name).shape, (0,))
    self.assertEqual(observation.num_brackets, 4)
    self.assertEqual(observation.ballots, {})
    self.assertEqual(observation.extra, {})

  def test_observation_fields_are_keyword_only(self):
    with self.assertRaises(TypeError):
      base.RoundObservation(  # pylint: disable=too-many-function-args
          0, np.zeros(1), (), "utilitarian")

  def test_propose_and_update_are_the_whole_interface(self):
    self.assertEqual(base.Principal.__abstractmethods__,
                     {"propose", "update"})
    # A principal with only those two is complete: it instantiates, and the
    # base class's switch for learning is a no-op it need not override.
    principal = fakes.ScriptedPrincipal([[0.3, 0.4]])
    self.assertIsNone(principal.set_learning(False))


class RandomPrincipalTest(absltest.TestCase):

  def test_draws_differ_by_round_and_repeat_by_seed(self):
    first = principal_lib.make_principal("random", schedule=_SCHEDULE, seed=3)
    again = principal_lib.make_principal("random", schedule=_SCHEDULE, seed=3)
    draws = [first.propose(_observation("nash"), "nash") for _ in range(3)]
    np.testing.assert_array_equal(
        draws[0], again.propose(_observation("nash"), "nash"))
    self.assertFalse(np.array_equal(draws[0], draws[1]))
    spread = np.ptp(np.stack(draws + [first.propose(_observation("nash"),
                                                    "nash")
                                      for _ in range(50)]), axis=0)
    self.assertTrue((spread > 0.5).all())


class RegistryTest(parameterized.TestCase):

  def test_table_is_sorted_and_keyed_by_name(self):
    self.assertEqual(list(principal_lib.PRINCIPALS),
                     sorted(principal_lib.PRINCIPALS))
    for name, spec in principal_lib.PRINCIPALS.items():
      with self.subTest(name):
        self.assertEqual(spec.name, name)
        self.assertTrue(spec.description)
        self.assertNotIn("\n", spec.description)
        self.assertIn(f"{name} ({spec.description})", registry.help_names())

  def test_derived_lists_follow_the_table(self):
    specs = principal_lib.PRINCIPALS.values()
    self.assertEqual(principal_lib.LEARNING,
                     tuple(spec.name for spec in specs if spec.learns))
    self.assertEqual(principal_lib.CHECKPOINTABLE,
                     tuple(spec.name for spec in specs if spec.checkpointable))

  @parameterized.parameters(*sorted(principal_lib.PRINCIPALS))
  def test_every_principal_proposes_valid_rates_for_every_objective(
      self, name):
    principal = principal_lib.make_principal(name, schedule=_SCHEDULE)
    self.assertIsInstance(principal, base.Principal)
    for objective in welfare.OBJECTIVES:
      with self.subTest(objective):
        rates = principal.propose(_observation(objective), objective)
        self.assertEqual(rates.shape, (4,))
        self.assertTrue(np.isfinite(rates).all())
        self.assertTrue(((rates >= 0.0) & (rates <= 1.0)).all())
        self.assertIsNone(principal.update(_feedback(rates)))

  def test_unknown_name_lists_valid_names(self):
    with self.assertRaisesRegex(
        ValueError,
        "valid names: " + re.escape(str(sorted(principal_lib.PRINCIPALS)))):
      principal_lib.make_principal("oracle", schedule=_SCHEDULE)

  @parameterized.named_parameters(
      dict(testcase_name="fixed", name="fixed", message=r"\['rates'\]"),
      dict(testcase_name="none", name="none", message=r"options: \[\]"),
      dict(testcase_name="hand_rule", name="hand_rule",
           message=r"\['flat_rate', 'high_rate'"),
  )
  def test_unknown_option_lists_valid_options(self, name, message):
    with self.assertRaisesRegex(ValueError, message):
      principal_lib.make_principal(name, schedule=_SCHEDULE, speed=2)

  def test_schedule_must_be_a_tax_schedule(self):
    with self.assertRaisesRegex(ValueError, "TaxSchedule"):
      principal_lib.make_principal("none", schedule=(0.0, 0.1))

  def test_none_proposes_zero_in_every_bracket(self):
    principal = principal_lib.make_principal("none", schedule=_SCHEDULE)
    np.testing.assert_array_equal(
        principal.propose(_observation(), "egalitarian"), np.zeros(4))

  def test_fixed_keeps_the_initial_schedule_by_default(self):
    principal = principal_lib.make_principal("fixed", schedule=_SCHEDULE)
    np.testing.assert_array_equal(
        principal.propose(_observation(), "utilitarian"), _SCHEDULE.rates)

  def test_fixed_takes_rates_checked_against_the_schedule(self):
    principal = principal_lib.make_principal(
        "fixed", schedule=_SCHEDULE, rates=(0.0, 0.2, 0.4, 0.6))
    np.testing.assert_array_equal(
        principal.propose(_observation(), "nash"), [0.0, 0.2, 0.4, 0.6])
    with self.assertRaisesRegex(ValueError, "needs 4 rates"):
      principal_lib.make_principal(
          "fixed", schedule=_SCHEDULE, rates=(0.0, 0.2))

  def test_hand_rule_options_reach_its_config(self):
    principal = principal_lib.make_principal(
        "hand_rule", schedule=_SCHEDULE, high_rate=0.9, threshold=10.0)
    np.testing.assert_array_equal(
        principal.propose(_observation(), "egalitarian"),
        [0.0, 0.0, 0.9, 0.9])


class FixedPrincipalTest(parameterized.TestCase):

  def test_proposes_the_same_copy_every_round(self):
    principal = principal_lib.FixedPrincipal([0.2, 0.3])
    first = principal.propose(_observation("nash", (1.0,)), "nash")
    first[0] = 0.9  # The caller may mutate its proposal.
    later = principal.propose(
        _observation("utilitarian", (1.0,), round_index=7), "utilitarian")
    np.testing.assert_array_equal(later, [0.2, 0.3])
    self.assertEqual(principal.rates, (0.2, 0.3))

  @parameterized.named_parameters(
      dict(testcase_name="above_one", rates=[0.2, 1.2]),
      dict(testcase_name="nan", rates=[math.nan]),
      dict(testcase_name="empty", rates=[]),
  )
  def test_rejects_invalid_rates(self, rates):
    with self.assertRaisesRegex(ValueError, "rate"):
      principal_lib.FixedPrincipal(rates)

  def test_rejects_a_game_with_other_brackets(self):
    principal = principal_lib.FixedPrincipal([0.2, 0.3])
    with self.assertRaisesRegex(ValueError, "2 rates but the game has 4"):
      principal.propose(_observation(), "nash")


class HandRuleTest(parameterized.TestCase):

  @parameterized.named_parameters(
      # Default threshold is the first edge: all but the lowest bracket.
      dict(testcase_name="utilitarian_untaxed", objective="utilitarian",
           expected=[0.0, 0.0, 0.0, 0.0]),
      dict(testcase_name="egalitarian_taxes_above_first_edge",
           objective="egalitarian", expected=[0.0, 0.5, 0.5, 0.5]),
      dict(testcase_name="nash_like_egalitarian", objective="nash",
           expected=[0.0, 0.5, 0.5, 0.5]),
      dict(testcase_name="power_mean_like_egalitarian",
           objective="power_mean", expected=[0.0, 0.5, 0.5, 0.5]),
      dict(testcase_name="eq_times_prod_like_egalitarian",
           objective="eq_times_prod", expected=[0.0, 0.5, 0.5, 0.5]),
  )
  def test_default_rule_for_each_objective(self, objective, expected):
    principal = principal_lib.HandRulePrincipal()
    np.testing.assert_array_equal(
        principal.propose(_observation(objective), objective), expected)

  @parameterized.named_parameters(
      dict(testcase_name="between_edges", threshold=7.0,
           expected=[0.0, 0.0, 0.8, 0.8]),
      dict(testcase_name="on_an_edge_taxes_that_bracket", threshold=10.0,
           expected=[0.0, 0.0, 0.8, 0.8]),
      dict(testcase_name="top_bracket_only", threshold=20.0,
           expected=[0.0, 0.0, 0.0, 0.8]),
      dict(testcase_name="zero_taxes_everyone", threshold=0.0,
           expected=[0.8, 0.8, 0.8, 0.8]),
      dict(testcase_name="above_every_edge_taxes_no_one", threshold=50.0,
           expected=[0.0, 0.0, 0.0, 0.0]),
      dict(testcase_name="infinite_taxes_no_one", threshold=math.inf,
           expected=[0.0, 0.0, 0.0, 0.0]),
  )
  def test_threshold_picks_brackets_by_lower_edge(self, threshold, expected):
    config = hand_rule.HandRuleConfig(threshold=threshold, high_rate=0.8)
    np.testing.assert_array_equal(
        hand_rule.hand_rule_rates("egalitarian", _EDGES, config), expected)

  def test_single_bracket_uses_flat_rate(self):
    config = hand_rule.HandRuleConfig(flat_rate=0.25, high_rate=0.9)
    principal = principal_lib.HandRulePrincipal(config)
    self.assertIs(principal.config, config)
    np.testing.assert_array_equal(
        principal.propose(_observation("egalitarian", ()), "egalitarian"),
        [0.25])
    np.testing.assert_array_equal(
        principal.propose(_observation("utilitarian", ()), "utilitarian"),
        [0.0])

  def test_default_lists_follow_the_objective_specs(self):
    config = hand_rule.HandRuleConfig()
    specs = welfare.OBJECTIVE_SPECS
    self.assertEqual(config.taxed_objectives,
                     tuple(n for n, s in specs.items() if s.rewards_equality))
    self.assertEqual(
        config.untaxed_objectives,
        tuple(n for n, s in specs.items() if not s.rewards_equality))
    self.assertEqual(config.taxed_objectives,
                     ("egalitarian", "nash", "power_mean", "eq_times_prod"))
    self.assertEqual(config.untaxed_objectives, ("utilitarian",))

  def test_objective_lists_are_configurable(self):
    config = hand_rule.HandRuleConfig(
        taxed_objectives=("utilitarian",), untaxed_objectives=("nash",))
    self.assertEqual(
        hand_rule.hand_rule_rates("utilitarian", (), config).tolist(), [0.3])
    self.assertEqual(
        hand_rule.hand_rule_rates("nash", (), config).tolist(), [0.0])

  def test_unknown_objective_lists_valid_objectives(self):
    with self.assertRaisesRegex(
        ValueError, r"valid objectives: \['egalitarian', 'eq_times_prod'"):
      principal_lib.HandRulePrincipal().propose(_observation(), "leximin")

  def test_ignores_feedback(self):
    principal = principal_lib.HandRulePrincipal()
    before = principal.propose(_observation(), "egalitarian")
    principal.update(_feedback(np.ones(4)))
    np.testing.assert_array_equal(
        principal.propose(_observation(), "egalitarian"), before)

  @parameterized.named_parameters(
      dict(testcase_name="negative_threshold", kwargs={"threshold": -1.0},
           message="threshold must be None or a number >= 0"),
      dict(testcase_name="nan_threshold", kwargs={"threshold": math.nan},
           message="threshold must be None or a number >= 0"),
      dict(testcase_name="high_rate_above_one", kwargs={"high_rate": 1.5},
           message=r"high_rate must be a finite number in \[0, 1\]"),
      dict(testcase_name="nan_flat_rate", kwargs={"flat_rate": math.nan},
           message=r"flat_rate must be a finite number in \[0, 1\]"),
      dict(testcase_name="text_high_rate", kwargs={"high_rate": "lots"},
           message=r"high_rate must be a finite number in \[0, 1\]"),
      dict(testcase_name="string_objectives",
           kwargs={"taxed_objectives": "nash"},
           message="taxed_objectives must be a sequence of objective names"),
      dict(testcase_name="overlapping_objectives",
           kwargs={"taxed_objectives": ("nash",),
                   "untaxed_objectives": ("nash",)},
           message=(r"untaxed_objectives must be disjoint from "
                    r"taxed_objectives \(both hold \['nash'\]\)")),
  )
  def test_config_rejects_invalid(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      hand_rule.HandRuleConfig(**kwargs)


if __name__ == "__main__":
  absltest.main()
