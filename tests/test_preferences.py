"""Tests for umd_meltingpot.preferences: types Θ and their generators."""

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest

from umd_meltingpot import preferences

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


def test_shape_accessors():
  prefs = _prefs()
  assert prefs.num_players == 2
  assert prefs.num_objectives == 3
  np.testing.assert_array_equal(prefs.principal, [0.0, 1.0, 2.0])
  np.testing.assert_array_equal(prefs.players, MATRIX[1:])


def test_rankings_are_best_first_with_ties_by_index():
  assert _prefs().rankings() == [(2, 1, 0), (0, 1, 2), (2, 0, 1)]


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=6),
        elements=st.floats(-10, 10),
    )
)
def test_rankings_sort_each_row(matrix):
  prefs = preferences.Preferences(
      utilities=matrix,
      objectives=tuple(f"o{j}" for j in range(matrix.shape[1])),
  )
  for row, ranking in enumerate(prefs.rankings()):
    assert sorted(ranking) == list(range(matrix.shape[1]))
    assert prefs.favourite(row) == ranking[0]
    assert np.all(np.diff(matrix[row, list(ranking)]) <= 0)


def test_favourite_of_each_row():
  prefs = _prefs()
  assert [prefs.favourite(row) for row in range(3)] == [2, 0, 2]


@pytest.mark.parametrize("row", [-1, 3])
def test_favourite_rejects_a_row_out_of_range(row):
  with pytest.raises(ValueError, match=r"row must be in \[0, 2\]"):
    _prefs().favourite(row)


def test_utilities_are_a_read_only_copy():
  matrix = np.array(MATRIX)
  prefs = _prefs(matrix)
  matrix[0, 0] = 99.0
  assert prefs.utilities[0, 0] == 0.0
  with pytest.raises(ValueError):
    prefs.utilities[0, 0] = 1.0


@pytest.mark.parametrize(
    "matrix",
    [
        [[1.0, 2.0, 3.0]],  # No player.
        [[1.0, 2.0], [3.0, 4.0]],  # Too few columns.
        [1.0, 2.0, 3.0],  # 1-D.
        [[1.0, 2.0, np.nan], [1.0, 2.0, 3.0]],  # Not finite.
    ],
)
def test_bad_utilities_raise(matrix):
  with pytest.raises(ValueError, match="utilities"):
    _prefs(matrix)


def test_duplicate_objectives_raise():
  with pytest.raises(ValueError, match="distinct"):
    preferences.Preferences(
        utilities=np.zeros((2, 2)), objectives=("nash", "nash")
    )


def test_truthful_report_is_the_agent_row():
  prefs = _prefs()
  report = preferences.truthful_report(prefs, 2)
  assert report.truthful
  np.testing.assert_array_equal(report.utilities, MATRIX[2])
  reports = preferences.truthful_reports(prefs)
  assert len(reports) == 2
  np.testing.assert_array_equal(reports[0].utilities, MATRIX[1])


def test_a_report_need_not_be_truthful():
  report = preferences.Report(utilities=[1.0, 0.0, 0.0])
  assert not report.truthful
  with pytest.raises(ValueError, match="finite"):
    preferences.Report(utilities=[1.0, np.inf])


@pytest.mark.parametrize("name", sorted(preferences.GENERATORS))
def test_generators_have_the_right_shape(name):
  prefs = preferences.make(
      name,
      num_players=4,
      objectives=OBJECTIVES,
      rng=np.random.default_rng(0),
      **GENERATOR_KWARGS[name],
  )
  assert prefs.utilities.shape == (5, 3)
  assert prefs.objectives == OBJECTIVES


@pytest.mark.parametrize("name", sorted(preferences.GENERATORS))
def test_generators_are_deterministic_under_a_seed(name):
  def draw(seed):
    return preferences.make(
        name,
        num_players=6,
        objectives=OBJECTIVES,
        rng=np.random.default_rng(seed),
        **GENERATOR_KWARGS[name],
    ).utilities

  np.testing.assert_array_equal(draw(7), draw(7))


@pytest.mark.parametrize("name", ["uniform", "impartial_culture", "mallows"])
def test_random_generators_depend_on_the_seed(name):
  def draw(seed):
    return preferences.make(
        name,
        num_players=10,
        objectives=OBJECTIVES,
        rng=np.random.default_rng(seed),
        **GENERATOR_KWARGS[name],
    ).utilities

  assert not np.array_equal(draw(0), draw(1))


def test_ordinal_generators_give_borda_utilities():
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
      assert sorted(row.tolist()) == [0.0, 1.0, 2.0]


def test_mallows_with_phi_zero_is_the_central_ranking():
  prefs = preferences.mallows(
      num_players=5,
      objectives=OBJECTIVES,
      rng=np.random.default_rng(0),
      phi=0.0,
      central=["nash", "utilitarian", "egalitarian"],
  )
  assert prefs.rankings() == [(2, 0, 1)] * 6


def test_mallows_defaults_to_the_objective_order():
  prefs = preferences.mallows(
      num_players=2, objectives=OBJECTIVES, rng=np.random.default_rng(0),
      phi=0.0,
  )
  assert prefs.rankings() == [(0, 1, 2)] * 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"phi": 1.5}, "phi"),
        ({"phi": -0.1}, "phi"),
        ({"phi": 0.5, "central": ["nash", "nash", "egalitarian"]}, "central"),
        ({"phi": 0.5, "central": ["nash"]}, "central"),
        ({"phi": 0.5, "central": ["nash", "x", "egalitarian"]}, "objective"),
    ],
)
def test_mallows_rejects_bad_arguments(kwargs, message):
  with pytest.raises(ValueError, match=message):
    preferences.mallows(
        num_players=2,
        objectives=OBJECTIVES,
        rng=np.random.default_rng(0),
        **kwargs,
    )


def test_uniform_utilities_are_in_the_unit_interval():
  prefs = preferences.uniform(
      num_players=20, objectives=OBJECTIVES, rng=np.random.default_rng(0)
  )
  assert np.all((prefs.utilities >= 0) & (prefs.utilities < 1))


def test_fixed_from_a_single_favourite():
  prefs = preferences.fixed(
      num_players=3, objectives=OBJECTIVES, rng=np.random.default_rng(0),
      favourites=["egalitarian"],
  )
  np.testing.assert_array_equal(prefs.utilities, [[0.0, 1.0, 0.0]] * 4)


def test_fixed_from_one_favourite_per_agent():
  prefs = preferences.fixed(
      num_players=2, objectives=OBJECTIVES, rng=np.random.default_rng(0),
      favourites=["nash", "utilitarian", "egalitarian"],
  )
  assert [prefs.favourite(row) for row in range(3)] == [2, 0, 1]


def test_fixed_from_a_matrix():
  prefs = preferences.fixed(
      num_players=2, objectives=OBJECTIVES, rng=np.random.default_rng(0),
      utilities=MATRIX,
  )
  np.testing.assert_array_equal(prefs.utilities, MATRIX)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one"),
        ({"favourites": ["nash"], "utilities": MATRIX}, "exactly one"),
        ({"favourites": ["nash", "nash"]}, "1 or 3 names"),
        ({"favourites": ["happiness"]}, "Unknown objective"),
        ({"utilities": MATRIX[:2]}, "3 rows"),
    ],
)
def test_fixed_rejects_bad_arguments(kwargs, message):
  with pytest.raises(ValueError, match=message):
    preferences.fixed(
        num_players=2, objectives=OBJECTIVES, rng=np.random.default_rng(0),
        **kwargs,
    )


@pytest.mark.parametrize("num_players", [0, -1, 1.5, True])
def test_bad_num_players_raise(num_players):
  with pytest.raises(ValueError, match="num_players"):
    preferences.uniform(
        num_players=num_players, objectives=OBJECTIVES,
        rng=np.random.default_rng(0),
    )


def test_make_rejects_an_unknown_generator():
  with pytest.raises(ValueError, match="impartial_culture.*mallows"):
    preferences.make(
        "dirichlet", num_players=2, objectives=OBJECTIVES,
        rng=np.random.default_rng(0),
    )


def _spec(spec, seed=0, num_players=3):
  return preferences.from_spec(
      spec, num_players=num_players, objectives=OBJECTIVES,
      rng=np.random.default_rng(seed),
  )


@pytest.mark.parametrize(
    "spec, name, kwargs",
    [
        ("uniform", "uniform", {}),
        ("impartial_culture", "impartial_culture", {}),
        ("mallows:0.5", "mallows", {"phi": 0.5}),
        (
            "mallows:0.2:nash,egalitarian,utilitarian",
            "mallows",
            {"phi": 0.2, "central": ["nash", "egalitarian", "utilitarian"]},
        ),
        (" fixed:nash ", "fixed", {"favourites": ["nash"]}),
    ],
)
def test_from_spec_matches_make(spec, name, kwargs):
  expected = preferences.make(
      name, num_players=3, objectives=OBJECTIVES,
      rng=np.random.default_rng(5), **kwargs,
  )
  np.testing.assert_array_equal(_spec(spec, seed=5).utilities,
                                expected.utilities)


def test_from_spec_fixed_principal_first():
  prefs = _spec("fixed:nash, utilitarian,egalitarian,nash")
  assert [prefs.favourite(row) for row in range(4)] == [2, 0, 1, 2]


@pytest.mark.parametrize(
    "spec, message",
    [
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
    ],
)
def test_from_spec_errors(spec, message):
  with pytest.raises(ValueError, match=message):
    _spec(spec)
