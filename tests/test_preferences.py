"""Tests for umd_meltingpot.social_choice.preferences:
types Θ and their generators."""

from absl.testing import absltest
from absl.testing import parameterized
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np

from umd_meltingpot.social_choice import preferences
from umd_meltingpot.social_choice import voting

OBJECTIVES = ("utilitarian", "egalitarian", "nash")

# Row 0 the principal; player 0 is indifferent between its top two.
MATRIX = [
    [0.0, 1.0, 2.0],
    [3.0, 3.0, 1.0],
    [0.5, 0.2, 0.9],
]

# Keyword arguments a generator needs beyond the shared ones.
GENERATOR_KWARGS = {
    "fixed": {"favourites": ["nash"]},
    "uniform": {},
    "impartial_culture": {},
    "mallows": {"phi": 0.5},
}


def _prefs(matrix=MATRIX):
  return preferences.Preferences(utilities=matrix, objectives=OBJECTIVES)


def _generate(name, num_players, seed):
  """Draws from generator `name`, given the arguments it needs."""
  return preferences.make(
      name, num_players=num_players, objectives=OBJECTIVES,
      rng=np.random.default_rng(seed), **GENERATOR_KWARGS[name],
  )


def _ranking_of_row(utilities, objectives):
  return preferences.Preferences(utilities=[utilities, utilities],
                                 objectives=objectives).rankings()[1]


def _spec(spec, seed=0, num_players=3):
  return preferences.from_spec(
      spec, num_players=num_players, objectives=OBJECTIVES,
      rng=np.random.default_rng(seed),
  )


class PreferencesTest(parameterized.TestCase):

  def test_shape_accessors(self):
    prefs = _prefs()
    self.assertEqual(prefs.num_players, 2)
    self.assertEqual(prefs.num_objectives, 3)
    np.testing.assert_array_equal(prefs.principal, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(prefs.players, MATRIX[1:])

  def test_rankings_are_best_first_with_ties_by_index(self):
    self.assertEqual(_prefs().rankings(), [(2, 1, 0), (0, 1, 2), (2, 0, 1)])

  @given(
      hnp.arrays(
          np.float64,
          hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=6),
          elements=st.floats(-10, 10),
      )
  )
  def test_rankings_sort_each_row(self, matrix):
    prefs = preferences.Preferences(
        utilities=matrix,
        objectives=tuple(f"o{j}" for j in range(matrix.shape[1])),
    )
    for row, ranking in enumerate(prefs.rankings()):
      self.assertEqual(sorted(ranking), list(range(matrix.shape[1])))
      self.assertEqual(prefs.favourite(row), ranking[0])
      self.assertTrue(np.all(np.diff(matrix[row, list(ranking)]) <= 0))

  def test_favourite_of_each_row(self):
    prefs = _prefs()
    self.assertEqual([prefs.favourite(row) for row in range(3)], [2, 0, 2])

  @parameterized.parameters(-1, 3)
  def test_favourite_rejects_a_row_out_of_range(self, row):
    with self.assertRaisesRegex(ValueError, r"row must be in \[0, 2\]"):
      _prefs().favourite(row)

  def test_utilities_are_a_read_only_copy(self):
    matrix = np.array(MATRIX)
    prefs = _prefs(matrix)
    matrix[0, 0] = 99.0
    self.assertEqual(prefs.utilities[0, 0], 0.0)
    with self.assertRaises(ValueError):
      prefs.utilities[0, 0] = 1.0

  @parameterized.named_parameters(
      ("no_player", [[1.0, 2.0, 3.0]]),
      ("too_few_columns", [[1.0, 2.0], [3.0, 4.0]]),
      ("one_dimensional", [1.0, 2.0, 3.0]),
      ("not_finite", [[1.0, 2.0, np.nan], [1.0, 2.0, 3.0]]),
  )
  def test_bad_utilities_raise(self, matrix):
    with self.assertRaisesRegex(ValueError, "utilities"):
      _prefs(matrix)

  def test_duplicate_objectives_raise(self):
    with self.assertRaisesRegex(ValueError, "distinct"):
      preferences.Preferences(
          utilities=np.zeros((2, 2)), objectives=("nash", "nash")
      )

  def test_truthful_report_is_the_agent_row(self):
    prefs = _prefs()
    report = preferences.truthful_report(prefs, 2)
    self.assertTrue(report.truthful)
    np.testing.assert_array_equal(report.utilities, MATRIX[2])
    reports = preferences.truthful_reports(prefs)
    self.assertLen(reports, 2)
    np.testing.assert_array_equal(reports[0].utilities, MATRIX[1])

  def test_a_report_need_not_be_truthful(self):
    report = preferences.Report(utilities=[1.0, 0.0, 0.0])
    self.assertFalse(report.truthful)
    with self.assertRaisesRegex(ValueError, "finite"):
      preferences.Report(utilities=[1.0, np.inf])

  @parameterized.parameters(sorted(preferences.GENERATORS))
  def test_generators_have_the_right_shape(self, name):
    prefs = _generate(name, num_players=4, seed=0)
    self.assertEqual(prefs.utilities.shape, (5, 3))
    self.assertEqual(prefs.objectives, OBJECTIVES)

  @parameterized.parameters(sorted(preferences.GENERATORS))
  def test_generators_are_deterministic_under_a_seed(self, name):
    np.testing.assert_array_equal(
        _generate(name, num_players=6, seed=7).utilities,
        _generate(name, num_players=6, seed=7).utilities)

  # Every generator but `fixed`, which takes no randomness.
  @parameterized.parameters(sorted(set(preferences.GENERATORS) - {"fixed"}))
  def test_random_generators_depend_on_the_seed(self, name):
    self.assertFalse(np.array_equal(
        _generate(name, num_players=10, seed=0).utilities,
        _generate(name, num_players=10, seed=1).utilities))

  def test_ordinal_generators_give_borda_utilities(self):
    rng = np.random.default_rng(3)
    for prefs in (
        preferences.impartial_culture(
            num_players=8, objectives=OBJECTIVES, rng=rng
        ),
        preferences.mallows(
            num_players=8, objectives=OBJECTIVES, rng=rng, phi=0.7
        ),
    ):
      for row in prefs.utilities:
        self.assertEqual(sorted(row.tolist()), [0.0, 1.0, 2.0])

  def test_mallows_with_phi_zero_is_the_central_ranking(self):
    prefs = preferences.mallows(
        num_players=5,
        objectives=OBJECTIVES,
        rng=np.random.default_rng(0),
        phi=0.0,
        central=["nash", "utilitarian", "egalitarian"],
    )
    self.assertEqual(prefs.rankings(), [(2, 0, 1)] * 6)

  def test_mallows_defaults_to_the_objective_order(self):
    prefs = preferences.mallows(
        num_players=2, objectives=OBJECTIVES, rng=np.random.default_rng(0),
        phi=0.0,
    )
    self.assertEqual(prefs.rankings(), [(0, 1, 2)] * 3)

  @parameterized.parameters(
      ({"phi": 1.5}, "phi"),
      ({"phi": -0.1}, "phi"),
      ({"phi": 0.5, "central": ["nash", "nash", "egalitarian"]}, "central"),
      ({"phi": 0.5, "central": ["nash"]}, "central"),
      ({"phi": 0.5, "central": ["nash", "x", "egalitarian"]}, "objective"),
  )
  def test_mallows_rejects_bad_arguments(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      preferences.mallows(
          num_players=2,
          objectives=OBJECTIVES,
          rng=np.random.default_rng(0),
          **kwargs,
      )

  def test_uniform_utilities_are_in_the_unit_interval(self):
    prefs = preferences.uniform(
        num_players=20, objectives=OBJECTIVES, rng=np.random.default_rng(0)
    )
    self.assertTrue(np.all((prefs.utilities >= 0) & (prefs.utilities < 1)))

  def test_fixed_from_a_single_favourite(self):
    prefs = preferences.fixed(
        num_players=3, objectives=OBJECTIVES, rng=np.random.default_rng(0),
        favourites=["egalitarian"],
    )
    np.testing.assert_array_equal(prefs.utilities, [[0.0, 1.0, 0.0]] * 4)

  def test_fixed_from_one_favourite_per_agent(self):
    prefs = preferences.fixed(
        num_players=2, objectives=OBJECTIVES, rng=np.random.default_rng(0),
        favourites=["nash", "utilitarian", "egalitarian"],
    )
    self.assertEqual([prefs.favourite(row) for row in range(3)], [2, 0, 1])

  def test_fixed_from_a_matrix(self):
    prefs = preferences.fixed(
        num_players=2, objectives=OBJECTIVES, rng=np.random.default_rng(0),
        utilities=MATRIX,
    )
    np.testing.assert_array_equal(prefs.utilities, MATRIX)

  @parameterized.parameters(
      ({}, "exactly one"),
      ({"favourites": ["nash"], "utilities": MATRIX}, "exactly one"),
      ({"favourites": ["nash", "nash"]}, "1 or 3 names"),
      ({"favourites": ["happiness"]}, "Unknown objective"),
      ({"utilities": MATRIX[:2]}, "3 rows"),
  )
  def test_fixed_rejects_bad_arguments(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      preferences.fixed(
          num_players=2, objectives=OBJECTIVES, rng=np.random.default_rng(0),
          **kwargs,
      )

  @parameterized.parameters(0, -1, 1.5, True)
  def test_bad_num_players_raise(self, num_players):
    with self.assertRaisesRegex(ValueError, "num_players"):
      preferences.uniform(
          num_players=num_players, objectives=OBJECTIVES,
          rng=np.random.default_rng(0),
      )

  def test_make_rejects_an_unknown_generator(self):
    with self.assertRaisesRegex(ValueError, "impartial_culture.*mallows"):
      preferences.make(
          "dirichlet", num_players=2, objectives=OBJECTIVES,
          rng=np.random.default_rng(0),
      )

  @parameterized.parameters(
      ("uniform", "uniform", {}),
      ("impartial_culture", "impartial_culture", {}),
      ("mallows:0.5", "mallows", {"phi": 0.5}),
      (
          "mallows:0.2:nash,egalitarian,utilitarian",
          "mallows",
          {"phi": 0.2, "central": ["nash", "egalitarian", "utilitarian"]},
      ),
      (" fixed:nash ", "fixed", {"favourites": ["nash"]}),
  )
  def test_from_spec_matches_make(self, spec, name, kwargs):
    expected = preferences.make(
        name, num_players=3, objectives=OBJECTIVES,
        rng=np.random.default_rng(5), **kwargs,
    )
    np.testing.assert_array_equal(_spec(spec, seed=5).utilities,
                                  expected.utilities)

  def test_from_spec_fixed_principal_first(self):
    prefs = _spec("fixed:nash, utilitarian,egalitarian,nash")
    self.assertEqual([prefs.favourite(row) for row in range(4)], [2, 0, 1, 2])

  def test_from_spec_rankings_by_groups(self):
    prefs = _spec("fixed:2*nash>utilitarian>egalitarian; egalitarian > nash "
                  "> utilitarian", num_players=3)
    # K - 1 - position in objective order; the principal (row 0) takes the
    # first group's ranking.
    np.testing.assert_array_equal(prefs.utilities, [
        [1, 0, 2], [1, 0, 2], [1, 0, 2], [0, 2, 1]])

  def test_from_spec_rankings_with_the_principals_own(self):
    prefs = _spec("fixed:3*nash>utilitarian>egalitarian;"
                  "principal*utilitarian>egalitarian>nash")
    self.assertEqual(prefs.rankings(), [(0, 1, 2)] + [(2, 0, 1)] * 3)

  def test_from_spec_rankings_match_fixed(self):
    groups = [(1, ["egalitarian", "nash", "utilitarian"]),
              (2, ["utilitarian", "nash", "egalitarian"])]
    expected = preferences.fixed(
        num_players=3, objectives=OBJECTIVES, rng=np.random.default_rng(0),
        rankings=groups)
    prefs = _spec("fixed:egalitarian>nash>utilitarian;"
                  "2*utilitarian>nash>egalitarian")
    np.testing.assert_array_equal(prefs.utilities, expected.utilities)

  @given(st.permutations(("utilitarian", "egalitarian", "nash", "power_mean",
                          "eq_times_prod")).flatmap(
                              lambda names: st.tuples(
                                  st.integers(2, len(names)),
                                  st.just(names))))
  def test_ranking_utilities_are_read_as_that_ranking(self, sized):
    size, names = sized
    ranking = names[:size]
    objectives = tuple(sorted(ranking))  # The ballot's own order.
    utilities = preferences.ranking_utilities(ranking, objectives)
    order = tuple(objectives.index(name) for name in ranking)
    self.assertEqual(
        _ranking_of_row(utilities, objectives), order)
    # Approval reads the top floor(K / 2), the objectives above the mean.
    self.assertEqual(voting.ballot_from_utilities(utilities, "approval"),
                     frozenset(order[:size // 2]))
    self.assertEqual(voting.ballot_from_utilities(utilities, "choice"),
                     order[0])

  @parameterized.parameters(
      ("fixed:3*nash>utilitarian", r"leaves out \['egalitarian'\]"),
      ("fixed:3*nash>nash>utilitarian>egalitarian", r"names \['nash'\] twice"),
      ("fixed:3*nash>utilitarian>wealth", "Unknown objective 'wealth'"),
      ("fixed:2*nash>utilitarian>egalitarian",
       "add up to 2 players, but the game has 3"),
      ("fixed:2*nash>utilitarian>egalitarian;2*nash>utilitarian>egalitarian",
       r"add up to 2 \+ 2 = 4 players, but the game has 3"),
      ("fixed:0*nash>utilitarian>egalitarian", "counts '0' players"),
      ("fixed:two*nash>utilitarian>egalitarian", "counts 'two' players"),
      ("fixed:3*nash>utilitarian>egalitarian;", "group 2 .* is ''"),
      ("fixed:*nash>utilitarian>egalitarian", "group 1 .* is '\\*nash"),
      ("fixed:3*nash>>utilitarian>egalitarian", "group 1"),
      ("fixed:principal*nash>utilitarian>egalitarian", "no players' group"),
      ("fixed:principal*nash>utilitarian>egalitarian;"
       "principal*nash>utilitarian>egalitarian;3*nash>utilitarian>egalitarian",
       "principal's ranking twice"),
  )
  def test_from_spec_ranking_errors(self, spec, message):
    with self.assertRaisesRegex(ValueError, message):
      _spec(spec)

  @parameterized.parameters(
      ({"rankings": [(1, OBJECTIVES)], "favourites": ["nash"]},
       "exactly one"),
      ({"favourites": ["nash"], "principal_ranking": OBJECTIVES},
       "only with rankings"),
      ({"rankings": [(True, OBJECTIVES), (1, OBJECTIVES)]}, "integer >= 1"),
      ({"rankings": []}, "at least one group"),
  )
  def test_fixed_rejects_bad_rankings(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      preferences.fixed(num_players=2, objectives=OBJECTIVES,
                        rng=np.random.default_rng(0), **kwargs)

  @parameterized.parameters(
      ("", "valid forms"),
      ("dirichlet", "valid forms"),
      ("uniform:3", "takes no arguments"),
      ("mallows", "mallows needs a number"),
      ("mallows:x", "mallows needs a number"),
      ("mallows:2", "phi must be in"),
      ("mallows:0.5:nash", "central"),
      ("fixed", "fixed needs favourite"),
      ("fixed:nash,", "Empty objective name"),
      ("fixed:nash,nash", "1 or 4 names"),
      ("fixed:happiness", "Unknown objective"),
  )
  def test_from_spec_errors(self, spec, message):
    with self.assertRaisesRegex(ValueError, message):
      _spec(spec)


if __name__ == "__main__":
  absltest.main()
