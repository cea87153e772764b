"""Tests for umd_meltingpot.principal.schedule."""

import dataclasses
import math
import re

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from umd_meltingpot.principal import schedule as schedule_lib

TaxSchedule = schedule_lib.TaxSchedule

# Three brackets: [0, 5) at 0.1, [5, 10) at 0.2, [10, inf) at 0.5.
_THREE = TaxSchedule(rates=(0.1, 0.2, 0.5), edges=(5.0, 10.0))


class TaxScheduleValidationTest(parameterized.TestCase):

  def test_accepts_lists_and_arrays_and_stores_float_tuples(self):
    schedule = TaxSchedule(rates=np.array([0, 1]), edges=[3])
    self.assertEqual(schedule.rates, (0.0, 1.0))
    self.assertEqual(schedule.edges, (3.0,))
    self.assertIsInstance(schedule.rates[0], float)

  def test_flat_schedule_needs_no_edges(self):
    self.assertEqual(TaxSchedule(rates=(0.3,)).num_brackets, 1)

  def test_is_frozen_and_hashable(self):
    with self.assertRaises(dataclasses.FrozenInstanceError):
      _THREE.rates = (0.0, 0.0, 0.0)  # pytype: disable=not-writable
    same = TaxSchedule(rates=[0.1, 0.2, 0.5], edges=[5, 10])
    self.assertEqual(hash(same), hash(_THREE))
    self.assertEqual(same, _THREE)

  @parameterized.named_parameters(
      dict(testcase_name="rate_above_one", rates=(0.1, 1.5), edges=(1.0,),
           message=r"rates\[1\] must be a finite number in \[0, 1\]"),
      dict(testcase_name="negative_rate", rates=(-0.1,), edges=(),
           message=r"rates\[0\] must be a finite number in \[0, 1\]"),
      dict(testcase_name="nan_rate", rates=(math.nan,), edges=(),
           message=r"rates\[0\] must be a finite number in \[0, 1\].*nan"),
      dict(testcase_name="inf_rate", rates=(math.inf,), edges=(),
           message=r"finite number in \[0, 1\]"),
      dict(testcase_name="text_rate", rates=("high",), edges=(),
           message=r"rates\[0\] must be a finite number in \[0, 1\]"),
      dict(testcase_name="no_rates", rates=(), edges=(),
           message="at least one rate"),
      dict(testcase_name="string_rates", rates="0.1,0.2", edges=(1.0,),
           message="parse_rates"),
      dict(testcase_name="scalar_rates", rates=0.1, edges=(),
           message="sequence of numbers"),
      dict(testcase_name="too_few_rates", rates=(0.1,), edges=(5.0,),
           message="needs 2 rates"),
      dict(testcase_name="too_many_rates", rates=(0.1, 0.2), edges=(),
           message="needs 1 rates"),
      dict(testcase_name="zero_edge", rates=(0.1, 0.2), edges=(0.0,),
           message=r"edges\[0\] must be a finite number > 0"),
      dict(testcase_name="inf_edge", rates=(0.1, 0.2), edges=(math.inf,),
           message=r"edges\[0\] must be a finite number > 0"),
      dict(testcase_name="nan_edge", rates=(0.1, 0.2), edges=(math.nan,),
           message=r"edges\[0\] must be a finite number > 0"),
      dict(testcase_name="equal_edges", rates=(0.1, 0.2, 0.3),
           edges=(5.0, 5.0), message="strictly increasing"),
      dict(testcase_name="decreasing_edges", rates=(0.1, 0.2, 0.3),
           edges=(5.0, 2.0), message="strictly increasing"),
  )
  def test_rejects_invalid(self, rates, edges, message):
    with self.assertRaisesRegex(ValueError, message):
      TaxSchedule(rates=rates, edges=edges)

  def test_rate_bounds_are_inclusive(self):
    self.assertEqual(TaxSchedule(rates=(0.0, 1.0), edges=(1.0,)).rates,
                     (0.0, 1.0))


class TaxScheduleHelpersTest(parameterized.TestCase):

  def test_as_array_is_a_float_copy(self):
    array = _THREE.as_array()
    np.testing.assert_array_equal(array, [0.1, 0.2, 0.5])
    self.assertEqual(array.dtype, np.float64)
    array[0] = 0.9
    self.assertEqual(_THREE.rates[0], 0.1)

  def test_with_rates_keeps_edges(self):
    changed = _THREE.with_rates([0.0, 0.3, 0.4])
    self.assertEqual(changed.rates, (0.0, 0.3, 0.4))
    self.assertEqual(changed.edges, (5.0, 10.0))
    self.assertEqual(_THREE.rates, (0.1, 0.2, 0.5))

  def test_with_rates_validates(self):
    with self.assertRaisesRegex(ValueError, r"\[0, 1\]"):
      _THREE.with_rates([0.0, 0.3, 1.4])
    with self.assertRaisesRegex(ValueError, "needs 3 rates"):
      _THREE.with_rates([0.0, 0.3])

  @parameterized.named_parameters(
      dict(testcase_name="zero", income=0.0, bracket=0),
      dict(testcase_name="inside_first", income=4.99, bracket=0),
      dict(testcase_name="on_first_edge", income=5.0, bracket=1),
      dict(testcase_name="inside_second", income=7.5, bracket=1),
      dict(testcase_name="on_second_edge", income=10.0, bracket=2),
      dict(testcase_name="far_above", income=1e9, bracket=2),
      dict(testcase_name="infinite", income=math.inf, bracket=2),
  )
  def test_bracket_includes_its_lower_edge(self, income, bracket):
    self.assertEqual(_THREE.bracket_of(income), bracket)
    self.assertEqual(_THREE.marginal_rate(income), _THREE.rates[bracket])

  @parameterized.named_parameters(
      # Float sums of apples that reach an edge exactly in decimals.
      dict(testcase_name="ten_at_0.1", skill=0.1, apples=10, edge=1.0),
      dict(testcase_name="three_at_a_third", skill=1 / 3, apples=3, edge=1.0),
      dict(testcase_name="six_at_a_third", skill=1 / 3, apples=6, edge=2.0),
      dict(testcase_name="three_at_0.3", skill=0.3, apples=3, edge=0.9),
  )
  def test_a_float_sum_reaching_an_edge_is_in_the_bracket_above(
      self, skill, apples, edge):
    schedule = TaxSchedule(rates=(0.0, 1.0), edges=(edge,))
    taxes = schedule.taxes_in_period([skill] * (apples + 1))
    self.assertEqual(taxes[:apples], [0.0] * apples)
    self.assertEqual(taxes[apples], skill)

  def test_edge_tolerance_is_one_part_in_a_billion(self):
    schedule = TaxSchedule(rates=(0.0, 1.0), edges=(2.0,))
    self.assertEqual(schedule_lib.EDGE_TOLERANCE, 1e-9)
    self.assertEqual(schedule.bracket_of(2.0 * (1 - 0.5e-9)), 1)
    self.assertEqual(schedule.bracket_of(2.0 * (1 - 2e-9)), 0)

  @parameterized.named_parameters(
      # Hand-computed: tax = value * rate of the bracket of income_before.
      dict(testcase_name="first_bracket", income=0.0, value=1.0, tax=0.1),
      dict(testcase_name="whole_apple_at_lower_rate_across_edge",
           income=4.5, value=2.0, tax=0.2),  # Crosses 5: still 2 * 0.1.
      dict(testcase_name="at_edge_uses_upper_bracket", income=5.0,
           value=1.0, tax=0.2),
      dict(testcase_name="second_bracket_big_apple", income=9.0, value=3.0,
           tax=0.6),  # Crosses 10: 3 * 0.2, not split.
      dict(testcase_name="top_bracket", income=12.0, value=4.0, tax=2.0),
      dict(testcase_name="zero_value", income=12.0, value=0.0, tax=0.0),
  )
  def test_tax_on_taxes_whole_apple_at_bracket_of_income_before(
      self, income, value, tax):
    self.assertAlmostEqual(_THREE.tax_on(income, value), tax, places=12)

  def test_tax_on_flat_schedule(self):
    flat = TaxSchedule(rates=(0.25,))
    self.assertEqual(flat.tax_on(0.0, 4.0), 1.0)
    self.assertEqual(flat.tax_on(1e6, 4.0), 1.0)

  def test_taxes_in_period_accumulates_gross_income(self):
    # Apples of 2 each: incomes before are 0, 2, 4, 6, 8, 10, so the rates
    # are 0.1, 0.1, 0.1, 0.2, 0.2, 0.5.
    taxes = _THREE.taxes_in_period([2.0] * 6)
    np.testing.assert_allclose(taxes, [0.2, 0.2, 0.2, 0.4, 0.4, 1.0])

  def test_taxes_in_period_from_a_starting_income(self):
    np.testing.assert_allclose(
        _THREE.taxes_in_period([1.0, 1.0], income_start=9.0), [0.2, 0.5])

  @parameterized.named_parameters(
      dict(testcase_name="negative_income", income=-1.0, value=1.0,
           message="income must be a number >= 0"),
      dict(testcase_name="nan_income", income=math.nan, value=1.0,
           message="income must be a number >= 0"),
      dict(testcase_name="negative_value", income=1.0, value=-1.0,
           message="value must be a number >= 0"),
      dict(testcase_name="nan_value", income=1.0, value=math.nan,
           message="value must be a number >= 0"),
      dict(testcase_name="text_value", income=1.0, value="one",
           message="value must be a number >= 0"),
  )
  def test_tax_on_rejects_invalid(self, income, value, message):
    with self.assertRaisesRegex(ValueError, message):
      _THREE.tax_on(income, value)


class ParseTest(parameterized.TestCase):

  @parameterized.named_parameters(
      dict(testcase_name="three", text="0.1,0.2,0.3", rates=(0.1, 0.2, 0.3)),
      dict(testcase_name="spaces", text=" 0 , 1 ", rates=(0.0, 1.0)),
      dict(testcase_name="one", text="0.5", rates=(0.5,)),
      dict(testcase_name="exponent", text="1e-2", rates=(0.01,)),
  )
  def test_parse_rates(self, text, rates):
    self.assertEqual(schedule_lib.parse_rates(text), rates)

  @parameterized.named_parameters(
      dict(testcase_name="empty", text="", message="at least one"),
      dict(testcase_name="blank", text="  ", message="at least one"),
      dict(testcase_name="empty_item", text="0.1,,0.2",
           message="no empty item"),
      dict(testcase_name="trailing_comma", text="0.1,",
           message="no empty item"),
      dict(testcase_name="word", text="0.1,abc",
           message=r"rates\[1\] must be a finite number in \[0, 1\]"),
      dict(testcase_name="above_one", text="0.1,2",
           message=r"rates\[1\] must be a finite number in \[0, 1\]"),
      dict(testcase_name="nan", text="nan",
           message=r"rates\[0\] must be a finite number in \[0, 1\]"),
      dict(testcase_name="not_a_string", text=None,
           message="comma-separated string"),
  )
  def test_parse_rates_rejects(self, text, message):
    with self.assertRaisesRegex(ValueError, message):
      schedule_lib.parse_rates(text)

  @parameterized.named_parameters(
      dict(testcase_name="two", text="5,10", edges=(5.0, 10.0)),
      dict(testcase_name="spaces", text=" 2.5 ", edges=(2.5,)),
      dict(testcase_name="empty_is_flat", text="", edges=()),
      dict(testcase_name="blank_is_flat", text="  ", edges=()),
  )
  def test_parse_edges(self, text, edges):
    self.assertEqual(schedule_lib.parse_edges(text), edges)

  @parameterized.named_parameters(
      dict(testcase_name="zero", text="0,5",
           message=r"edges\[0\] must be a finite number > 0"),
      dict(testcase_name="decreasing", text="5,1",
           message="strictly increasing"),
      dict(testcase_name="word", text="five",
           message=r"edges\[0\] must be a finite number > 0"),
      dict(testcase_name="empty_item", text="1,,2",
           message="no empty item"),
  )
  def test_parse_edges_rejects(self, text, message):
    with self.assertRaisesRegex(ValueError, message):
      schedule_lib.parse_edges(text)

  def test_parsed_values_build_a_schedule(self):
    schedule = TaxSchedule(
        rates=schedule_lib.parse_rates("0,0.2"),
        edges=schedule_lib.parse_edges("4"))
    self.assertEqual(schedule.tax_on(4.0, 1.0), 0.2)


class MaxRateTest(parameterized.TestCase):
  """Fines: rates above 1 under a game's max_rate, and strict parsing."""

  def test_rates_above_one_need_a_max_rate(self):
    with self.assertRaisesRegex(ValueError, r"rates\[0\].*\[0, 1\]"):
      schedule_lib.TaxSchedule((2.0,))
    schedule = schedule_lib.TaxSchedule((0.0, 2.0), (1.0,), max_rate=4.0)
    self.assertEqual(schedule.tax_on(1.0, 1.0), 2.0)  # Net -1: a fine.
    self.assertEqual(schedule.with_rates((4.0, 4.0)).max_rate, 4.0)
    with self.assertRaisesRegex(ValueError, r"\[0, 4\]"):
      schedule.with_rates((4.5, 0.0))

  @parameterized.parameters(0.5, math.nan, math.inf, 101.0, True, "x")
  def test_bad_max_rate_is_refused(self, max_rate):
    with self.assertRaisesRegex(ValueError, r"max_rate must be.*\[1, 100\]"):
      schedule_lib.TaxSchedule((0.0,), max_rate=max_rate)

  @parameterized.parameters("0x1", "inf", "nan", "1_0", "1e", ".", "+", "0 0")
  def test_parse_rates_accepts_only_decimal_numbers(self, item):
    with self.assertRaisesRegex(ValueError, re.escape(f"got '{item}'")):
      schedule_lib.parse_rates(f"0,{item}", max_rate=100)

  def test_parse_rates_takes_the_max_rate(self):
    self.assertEqual(schedule_lib.parse_rates(" 4 ,.5,1e-1", max_rate=4),
                     (4.0, 0.5, 0.1))
    with self.assertRaisesRegex(ValueError, r"rates\[0\].*\[0, 4\], got '5'"):
      schedule_lib.parse_rates("5", max_rate=4)


class NoTaxTest(parameterized.TestCase):

  def test_all_rates_zero(self):
    schedule = schedule_lib.no_tax(3, (5.0, 10.0))
    self.assertEqual(schedule, TaxSchedule(rates=(0.0,) * 3, edges=(5, 10)))
    self.assertEqual(schedule.tax_on(100.0, 7.0), 0.0)

  def test_flat_default(self):
    self.assertEqual(schedule_lib.no_tax(1), TaxSchedule(rates=(0.0,)))

  @parameterized.named_parameters(
      dict(testcase_name="zero_brackets", k=0, edges=(),
           message="integer >= 1"),
      dict(testcase_name="float_k", k=2.0, edges=(1.0,),
           message="integer >= 1"),
      dict(testcase_name="mismatch", k=2, edges=(),
           message=r"len\(edges\) \+ 1 = 1"),
      dict(testcase_name="bad_edges", k=2, edges=(-1.0,),
           message="finite number > 0"),
  )
  def test_rejects(self, k, edges, message):
    with self.assertRaisesRegex(ValueError, message):
      schedule_lib.no_tax(k, edges)



class MarginalValueTest(absltest.TestCase):

  def test_the_readme_table_of_the_unequal_economy(self):
    # README, "Effort and skills": effort 0.3, 4 players, equal shares.
    def value(rate, skill):
      return schedule_lib.marginal_value(rate, skill, 0.3, 4)
    self.assertAlmostEqual(value(0.0, 0.629), 0.329)
    self.assertAlmostEqual(value(1.0, 0.629), -0.14275)
    self.assertAlmostEqual(value(1.0, 1.665), 0.11625)
    # The break-even flat rate (s - c) / (s (1 - 1/n)) is worth nothing.
    skill = 0.961
    self.assertAlmostEqual(value((skill - 0.3) / (skill * 0.75), skill), 0.0)


if __name__ == "__main__":
  absltest.main()
