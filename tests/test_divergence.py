"""Tests for umd_meltingpot.principal.divergence."""

import math

from absl.testing import absltest
from absl.testing import parameterized
import hypothesis
from hypothesis import strategies as st
import numpy as np
from scipy import optimize

from tests import helpers
from umd_meltingpot.principal import divergence as div

_NAMES = sorted(div.DIVERGENCES)
_TOLERANCE = 1e-9
_SETTINGS = hypothesis.settings(max_examples=200, deadline=None)
# Each example runs an optimiser or a grid search, so fewer of them.
_SLOW_SETTINGS = hypothesis.settings(max_examples=60, deadline=None)


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
  return st.floats(low, high, allow_nan=False, allow_infinity=False)


@st.composite
def _problems(draw, min_k: int = 1, max_k: int = 5, names=tuple(_NAMES)):
  """Draws (prev, proposal, delta, divergence name)."""
  k = draw(st.integers(min_k, max_k))
  # Rates on the box's faces are where the projection is hardest.
  rate = st.one_of(_floats(0.0, 1.0), st.sampled_from([0.0, 1.0]))
  prev = np.array(draw(st.lists(rate, min_size=k, max_size=k)))
  proposal = np.array(
      draw(st.lists(_floats(-1.0, 2.0), min_size=k, max_size=k)))
  delta = draw(st.one_of(_floats(0.0, 1.5), st.just(0.0)))
  name = draw(st.sampled_from(names))
  return prev, proposal, delta, name


def _feasible_points(
    prev: np.ndarray, delta: float, name: str, around: np.ndarray,
    rng: np.random.Generator, count: int = 400,
) -> np.ndarray:
  """Random points of the feasible set, some spread out, some near `around`.

  A point z of the box is pulled toward prev until D(prev, z) <= delta; as D
  is a norm this scales D by the pull, and the box is convex.
  """
  k = prev.shape[0]
  spread = rng.uniform(0.0, 1.0, size=(count, k))
  near = np.clip(around + rng.normal(0.0, 1e-3, size=(count, k)), 0.0, 1.0)
  points = np.concatenate([spread, near])
  measure = div.DIVERGENCES[name]
  for z in points:
    distance = measure(prev, z)
    if distance > delta:
      z[:] = prev + (delta / distance) * (z - prev)
  return points


def _slsqp(prev, proposal, delta, name) -> np.ndarray:
  """A numerical reference projection for L1 and L2."""
  k = prev.shape[0]

  def objective(x):
    return float(np.sum((x[:k] - proposal) ** 2))

  if name == "l2":
    constraints = [
        {"type": "ineq", "fun": lambda x: delta**2 - np.sum((x - prev) ** 2)}]
    # Start inside the ball but off its centre, where the constraint's
    # gradient vanishes and SLSQP's linearisation degenerates.
    direction = np.clip(proposal, 0.0, 1.0) - prev
    norm = np.linalg.norm(direction)
    start = prev if norm == 0 else np.clip(
        prev + 0.5 * delta * direction / norm, 0.0, 1.0)
    bounds = [(0.0, 1.0)] * k
  else:
    # L1 as a smooth problem: x = prev + u - v, u, v >= 0, sum(u + v) <= δ.
    constraints = [
        {"type": "eq", "fun": lambda x: x[:k] - prev - x[k:2 * k] + x[2 * k:]},
        {"type": "ineq", "fun": lambda x: delta - np.sum(x[k:])},
    ]
    start = np.concatenate([prev, np.zeros(2 * k)])
    bounds = [(0.0, 1.0)] * k + [(0.0, None)] * (2 * k)
  result = optimize.minimize(
      objective, start, method="SLSQP", bounds=bounds,
      constraints=constraints, options={"ftol": 1e-14, "maxiter": 1000})
  hypothesis.assume(result.success)
  return result.x[:k]


class DivergenceTest(parameterized.TestCase):

  def test_hand_computed_values(self):
    prev, rates = [0.2, 0.5], [0.5, 0.4]
    self.assertAlmostEqual(div.linf(prev, rates), 0.3)
    self.assertAlmostEqual(div.l1(prev, rates), 0.4)
    self.assertAlmostEqual(div.l2(prev, rates), math.sqrt(0.1))

  @parameterized.parameters(*_NAMES)
  def test_registered_divergence_is_zero_on_itself_and_symmetric(self, name):
    measure = div.divergence(name)
    self.assertIs(measure, div.DIVERGENCES[name])
    prev, rates = np.array([0.1, 0.9, 0.4]), np.array([0.3, 0.2, 0.4])
    self.assertEqual(measure(prev, prev), 0.0)
    self.assertAlmostEqual(measure(prev, rates), measure(rates, prev))
    self.assertIsInstance(measure(prev, rates), float)

  def test_unknown_name_lists_valid_names(self):
    with self.assertRaisesRegex(ValueError, "divergence 'kl'") as raised:
      div.divergence("kl")
    helpers.assert_names_every_one(self, raised.exception, div.DIVERGENCES)

  def test_registry_is_read_only(self):
    with self.assertRaises(TypeError):
      div.DIVERGENCES["kl"] = div.l1  # pytype: disable=unsupported-operands

  @parameterized.parameters(*_NAMES)
  def test_rejects_mismatched_shapes(self, name):
    with self.assertRaisesRegex(ValueError, "same length"):
      div.divergence(name)([0.1, 0.2], [0.1])


class ProjectExamplesTest(parameterized.TestCase):

  @parameterized.named_parameters(
      dict(testcase_name="linf_clips_each_rate", name="linf",
           prev=[0.5, 0.5], proposal=[1.0, 0.0], delta=0.1,
           expected=[0.6, 0.4]),
      dict(testcase_name="linf_clips_to_box", name="linf",
           prev=[0.95, 0.05], proposal=[1.5, -0.5], delta=0.2,
           expected=[1.0, 0.0]),
      dict(testcase_name="l2_scales_the_step", name="l2",
           prev=[0.0, 0.0], proposal=[1.0, 1.0], delta=1.0,
           expected=[1 / math.sqrt(2), 1 / math.sqrt(2)]),
      # Rate 0 hits the box at t = 0.1; then 0.1**2 + t**2 = 0.5**2.
      dict(testcase_name="l2_with_a_rate_at_the_box", name="l2",
           prev=[0.9, 0.5], proposal=[1.9, 1.5], delta=0.5,
           expected=[1.0, 0.5 + math.sqrt(0.24)]),
      # Soft threshold λ = 0.2: (0.5 - λ) + (0.2 - λ) = 0.3.
      dict(testcase_name="l1_soft_thresholds_both", name="l1",
           prev=[0.5, 0.5], proposal=[1.0, 0.7], delta=0.5,
           expected=[0.9, 0.6]),
      dict(testcase_name="l1_moves_only_the_largest", name="l1",
           prev=[0.5, 0.5], proposal=[1.0, 0.7], delta=0.3,
           expected=[0.8, 0.5]),
      # Rate 0 can move 0.1 at most; rate 1 takes the remaining 0.3.
      dict(testcase_name="l1_with_a_rate_at_the_box", name="l1",
           prev=[0.9, 0.5], proposal=[2.0, 1.0], delta=0.4,
           expected=[1.0, 0.8]),
  )
  def test_hand_computed_projection(self, name, prev, proposal, delta,
                                    expected):
    np.testing.assert_allclose(
        div.project(prev, proposal, delta, name), expected, atol=1e-12)

  @parameterized.parameters(*_NAMES)
  def test_zero_delta_keeps_prev(self, name):
    prev = np.array([0.2, 1.0, 0.0])
    np.testing.assert_allclose(
        div.project(prev, [0.9, -1.0, 2.0], 0.0, name), prev, atol=1e-15)

  @parameterized.parameters(*_NAMES)
  def test_infinite_delta_only_clips_to_box(self, name):
    np.testing.assert_array_equal(
        div.project([0.5, 0.5], [1.5, 0.3], math.inf, name), [1.0, 0.3])

  def test_default_divergence_is_linf(self):
    np.testing.assert_allclose(
        div.project([0.5, 0.5], [1.0, 0.0], 0.1), [0.6, 0.4])

  @parameterized.named_parameters(
      dict(testcase_name="nan_proposal", prev=[0.5], proposal=[math.nan],
           delta=0.1, name="linf", message="NaN"),
      dict(testcase_name="inf_proposal", prev=[0.5], proposal=[math.inf],
           delta=0.1, name="l2", message="finite"),
      dict(testcase_name="negative_delta", prev=[0.5], proposal=[0.5],
           delta=-0.1, name="l1", message="delta must be a number >= 0"),
      dict(testcase_name="nan_delta", prev=[0.5], proposal=[0.5],
           delta=math.nan, name="l1", message="delta must be a number >= 0"),
      dict(testcase_name="text_delta", prev=[0.5], proposal=[0.5],
           delta="big", name="l1", message="delta must be a number >= 0"),
      dict(testcase_name="prev_outside_box", prev=[1.2], proposal=[0.5],
           delta=0.1, name="linf", message=r"prev must lie in \[0, 1\]\^k"),
      dict(testcase_name="nan_prev", prev=[math.nan], proposal=[0.5],
           delta=0.1, name="linf", message=r"prev must lie in \[0, 1\]\^k"),
      dict(testcase_name="shape_mismatch", prev=[0.5, 0.5], proposal=[0.5],
           delta=0.1, name="linf", message="same length"),
      dict(testcase_name="two_dimensional", prev=[[0.5]], proposal=[[0.5]],
           delta=0.1, name="linf", message="1-D"),
      dict(testcase_name="unknown_divergence", prev=[0.5], proposal=[0.5],
           delta=0.1, name="kl", message="divergence 'kl'; valid names"),
  )
  def test_rejects_invalid(self, prev, proposal, delta, name, message):
    with self.assertRaisesRegex(ValueError, message):
      div.project(prev, proposal, delta, name)

  def test_does_not_modify_its_inputs(self):
    prev, proposal = np.array([0.5, 0.5]), np.array([2.0, -1.0])
    div.project(prev, proposal, 0.1, "l2")
    np.testing.assert_array_equal(prev, [0.5, 0.5])
    np.testing.assert_array_equal(proposal, [2.0, -1.0])


class ProjectPropertiesTest(parameterized.TestCase):

  @_SETTINGS
  @hypothesis.given(_problems())
  def test_output_is_in_box_and_within_bound(self, problem):
    prev, proposal, delta, name = problem
    projected = div.project(prev, proposal, delta, name)
    self.assertEqual(projected.shape, prev.shape)
    self.assertTrue(((projected >= 0.0) & (projected <= 1.0)).all())
    self.assertLessEqual(
        div.DIVERGENCES[name](prev, projected), delta + _TOLERANCE)

  @_SETTINGS
  @hypothesis.given(_problems(), _floats(0.0, 0.5))
  def test_feasible_proposal_is_returned_unchanged(self, problem, slack):
    prev, proposal, _, name = problem
    proposal = np.clip(proposal, 0.0, 1.0)
    delta = div.DIVERGENCES[name](prev, proposal) + slack
    projected = div.project(prev, proposal, delta, name)
    np.testing.assert_array_equal(projected, proposal)
    self.assertIsNot(projected, proposal)

  @_SETTINGS
  @hypothesis.given(_problems())
  def test_projection_is_idempotent(self, problem):
    prev, proposal, delta, name = problem
    once = div.project(prev, proposal, delta, name)
    np.testing.assert_allclose(
        div.project(prev, once, delta + _TOLERANCE, name), once, atol=1e-12)

  @_SETTINGS
  @hypothesis.given(_problems(names=("linf",)))
  def test_linf_is_the_closed_form_clip(self, problem):
    prev, proposal, delta, _ = problem
    expected = np.clip(
        proposal, np.maximum(prev - delta, 0.0), np.minimum(prev + delta, 1.0))
    np.testing.assert_array_equal(
        div.project(prev, proposal, delta, "linf"), expected)

  @_SETTINGS
  @hypothesis.given(_problems(), st.integers(0, 2**32 - 1))
  def test_no_random_feasible_point_is_closer(self, problem, seed):
    # x is the projection of y onto a convex set C iff (y - x)·(z - x) <= 0
    # for every z in C; this also gives ||y - x|| <= ||y - z||.
    prev, proposal, delta, name = problem
    projected = div.project(prev, proposal, delta, name)
    points = _feasible_points(
        prev, delta, name, projected, np.random.default_rng(seed))
    inner = (points - projected) @ (proposal - projected)
    self.assertLessEqual(float(inner.max()), 1e-9)
    own = np.linalg.norm(proposal - projected)
    others = np.linalg.norm(points - proposal, axis=1)
    self.assertLessEqual(own, float(others.min()) + 1e-9)

  @_SLOW_SETTINGS
  @hypothesis.given(_problems(names=("l1", "l2")))
  def test_matches_slsqp(self, problem):
    prev, proposal, delta, name = problem
    # SLSQP meets the constraint only to ~1e-8, which for the squared L2
    # constraint moves its answer by ~1e-8/δ; tiny δ is checked elsewhere.
    hypothesis.assume(delta >= 1e-3)
    projected = div.project(prev, proposal, delta, name)
    reference = _slsqp(prev, proposal, delta, name)
    # Ours is at least as close to the proposal as the optimiser's answer
    # (up to its constraint tolerance), and, the optimum being unique, the
    # two points agree.
    self.assertLessEqual(
        np.sum((projected - proposal) ** 2),
        np.sum((reference - proposal) ** 2) + 1e-7)
    np.testing.assert_allclose(projected, reference, atol=1e-4)

  @_SLOW_SETTINGS
  @hypothesis.given(_problems(min_k=2, max_k=2))
  def test_beats_every_feasible_point_of_a_fine_2d_grid(self, problem):
    prev, proposal, delta, name = problem
    projected = div.project(prev, proposal, delta, name)
    step = 1.0 / 400
    axis = np.linspace(0.0, 1.0, 401)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    offsets = np.abs(grid - prev)
    distance = {
        "l1": offsets.sum(axis=1),
        "l2": np.linalg.norm(offsets, axis=1),
        "linf": offsets.max(axis=1),
    }[name]
    feasible = grid[distance <= delta]
    hypothesis.assume(len(feasible) > 0)
    costs = np.sum((feasible - proposal) ** 2, axis=1)
    own = float(np.sum((projected - proposal) ** 2))
    self.assertLessEqual(own, float(costs.min()) + 1e-12)
    # Strong convexity: the best grid point is near the optimum. It lies
    # within a cell or so of it, whose cost exceeds the optimum's by at most
    # 2·||y - x||·h·√2 + 2h².
    best = feasible[np.argmin(costs)]
    slack = 2 * math.sqrt(own) * step * math.sqrt(2) + 2 * step**2
    self.assertLessEqual(
        float(np.sum((best - projected) ** 2)), slack + 1e-12)


class ProjectLoggedTest(absltest.TestCase):

  def test_reports_and_logs_a_change(self):
    with self.assertLogs(div.__name__, level="INFO") as logs:
      result = div.project_logged([0.5, 0.5], [1.0, 0.0], 0.1, "linf")
    self.assertTrue(result.changed)
    np.testing.assert_allclose(result.projected, [0.6, 0.4])
    np.testing.assert_array_equal(result.proposal, [1.0, 0.0])
    self.assertAlmostEqual(result.distance_before, 0.5)
    self.assertAlmostEqual(result.distance_after, 0.1)
    self.assertIn("linf", logs.output[0])

  def test_feasible_proposal_is_unchanged_and_not_logged(self):
    with self.assertNoLogs(div.__name__, level="INFO"):
      result = div.project_logged([0.5, 0.5], [0.55, 0.45], 0.1, "l2")
    self.assertFalse(result.changed)
    np.testing.assert_array_equal(result.projected, [0.55, 0.45])
    self.assertAlmostEqual(result.distance_before, math.sqrt(0.005))
    self.assertEqual(result.distance_before, result.distance_after)

  def test_rejects_like_project(self):
    with self.assertRaisesRegex(ValueError, "NaN"):
      div.project_logged([0.5], [math.nan], 0.1)


if __name__ == "__main__":
  absltest.main()
