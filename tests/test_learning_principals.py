"""Tests for the learning principals (the bandits, CMA-ES, RL) and for the
registry's claims about every principal."""

import dataclasses
import json
import math
import os

from absl.testing import absltest
from absl.testing import parameterized
import hypothesis
from hypothesis import strategies as st
import numpy as np

from tests import helpers
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.principal import bandit
from umd_meltingpot.principal import base
from umd_meltingpot.principal import cma_es
from umd_meltingpot.principal import divergence
from umd_meltingpot.principal import learning

# The principals whose proposals are already inside the δ-ball.
_FEASIBLE = tuple(name for name, spec in principal_lib.PRINCIPALS.items()
                  if spec.feasible)
# The feasible principals that learn round by round (bo, bo_dynamic learn
# game by game: tests/test_bayes_opt.py).
_PER_ROUND = tuple(name for name in _FEASIBLE
                   if name not in principal_lib.BATCHED)
_NOT_LEARNING = tuple(name for name in principal_lib.PRINCIPALS
                      if name not in principal_lib.LEARNING)
_DIVERGENCES = sorted(divergence.DIVERGENCES)
_TOLERANCE = 1e-9
_SCHEDULE = principal_lib.TaxSchedule(rates=(0.1, 0.1, 0.1),
                                      edges=(5.0, 10.0))
_SETTINGS = hypothesis.settings(max_examples=40, deadline=None)


def _make(name: str, delta: float = 0.1, divergence_name: str = "linf",
          seed: int = 0, **options) -> base.Principal:
  return principal_lib.make_principal(
      name, schedule=_SCHEDULE, delta=delta, divergence=divergence_name,
      seed=seed, **options)


def _observation(round_index: int, prev: np.ndarray,
                 objective: str) -> base.RoundObservation:
  edges = tuple(float(5 * (j + 1)) for j in range(len(prev) - 1))
  return base.RoundObservation(
      round_index=round_index, previous_rates=np.array(prev), edges=edges,
      objective=objective)


def _feedback(round_index: int, objective: str, value: float,
              rates: np.ndarray) -> base.RoundFeedback:
  return base.RoundFeedback(
      round_index=round_index, objective=objective, objective_value=value,
      rates=np.array(rates), returns=np.zeros(2))


def _play(
    principal: base.Principal,
    objective_of,
    prev: np.ndarray,
    rounds: range,
    delta: float,
    divergence_name: str,
    objective: str = "utilitarian",
) -> tuple[np.ndarray, list[np.ndarray]]:
  """Runs propose, the wrapper's projection and update for `rounds`.

  Returns:
    The last rates and the rates applied in each round.
  """
  applied = []
  for round_index in rounds:
    proposal = principal.propose(
        _observation(round_index, prev, objective), objective)
    prev = divergence.project(prev, proposal, delta, divergence_name)
    principal.update(_feedback(round_index, objective, objective_of(prev),
                               prev))
    applied.append(prev)
  return prev, applied


@st.composite
def _games(draw) -> tuple:
  """A bound, φ0, and rounds of (objective, value, new game?)."""
  k = draw(st.integers(1, 4))
  unit = st.floats(0.0, 1.0, allow_nan=False)
  prev = np.array(draw(st.lists(unit, min_size=k, max_size=k)))
  delta = draw(st.one_of(st.just(0.0), st.floats(1e-3, 0.6),
                         st.just(math.inf)))
  name = draw(st.sampled_from(_DIVERGENCES))
  rounds = draw(st.lists(
      st.tuples(st.sampled_from(("utilitarian", "egalitarian")),
                st.floats(-1e3, 1e3, allow_nan=False),
                st.booleans()),
      min_size=1, max_size=25))
  return prev, delta, name, rounds


class RegistryAgreesWithBehaviourTest(parameterized.TestCase):
  """What the registry says of each principal is what the principal does."""

  @parameterized.parameters(*principal_lib.PRINCIPALS)
  def test_learns_iff_feedback_changes_its_proposals(self, name):
    # Two copies see the same rounds (8 games of 5); only the first is told
    # the values. Frozen afterwards, they propose the same iff feedback
    # taught nothing.
    told, untold = _make(name, seed=3), _make(name, seed=3)
    optimum = np.array([0.7, 0.3, 0.8])
    prev = np.full(3, 0.1)
    for step in range(40):
      round_index = step % 5
      observation = _observation(round_index, prev, "utilitarian")
      proposal = told.propose(observation, "utilitarian")
      untold.propose(observation, "utilitarian")
      prev = divergence.project(prev, proposal, 0.1, "linf")
      told.update(dataclasses.replace(
          _feedback(round_index, "utilitarian",
                    -float(np.sum((prev - optimum) ** 2)), prev),
          num_rounds=5))
    told.set_learning(False)
    untold.set_learning(False)
    # From the first rates, not the last: a principal that learns per game
    # (bo) may have found its last game the best, and frozen, keep it.
    observation = _observation(40, np.full(3, 0.1), "utilitarian")
    changed = not np.array_equal(told.propose(observation, "utilitarian"),
                                 untold.propose(observation, "utilitarian"))
    self.assertEqual(changed, principal_lib.PRINCIPALS[name].learns)

  @parameterized.parameters(*principal_lib.PRINCIPALS)
  def test_checkpointable_iff_its_state_round_trips(self, name):
    principal = _make(name, seed=3)
    checkpointable = principal_lib.PRINCIPALS[name].checkpointable
    self.assertEqual(hasattr(principal, "state_dict"), checkpointable)
    self.assertEqual(hasattr(principal, "load_state_dict"), checkpointable)
    if not checkpointable:
      return
    objective = lambda rates: -float(np.sum((rates - 0.6) ** 2))
    prev, _ = _play(principal, objective, np.full(3, 0.1), range(10), 0.1,
                    "linf")
    _play(principal, objective, prev, range(10), 0.1, "linf",
          objective="egalitarian")
    restored = _make(name, seed=3)
    restored.load_state_dict(principal.state_dict())
    saved, loaded = _flat_state(principal), _flat_state(restored)
    self.assertEqual(saved.keys(), loaded.keys())
    for key in saved:
      np.testing.assert_array_equal(saved[key], loaded[key], err_msg=key)
    for objective_name in ("utilitarian", "egalitarian"):
      observation = _observation(10, prev, objective_name)
      np.testing.assert_array_equal(
          restored.propose(observation, objective_name),
          principal.propose(observation, objective_name),
          err_msg=objective_name)


class RegistryTest(parameterized.TestCase):

  @parameterized.parameters(*_FEASIBLE)
  def test_feasible_principals_share_the_learning_base(self, name):
    principal = _make(name)
    self.assertIsInstance(principal, learning.LearningPrincipal)
    self.assertIsInstance(principal.config,
                          principal_lib.PRINCIPALS[name].config_class)

  def test_bandit_names_pick_the_algorithm(self):
    self.assertEqual(_make("bandit").config.algorithm, "ucb")
    self.assertEqual(_make("thompson").config.algorithm, "thompson")
    self.assertEqual(
        _make("bandit", algorithm="thompson").config.algorithm, "thompson")

  @parameterized.parameters(*_FEASIBLE)
  def test_seed_and_options_reach_the_config(self, name):
    option = {"cma": {"sigma0": 0.05}, "bo": {"batch": 2},
              "bo_dynamic": {"startup": 3}}.get(name, {"step": 0.05})
    principal = _make(name, seed=7, **option)
    self.assertEqual(principal.config.seed, 7)
    for key, value in option.items():
      self.assertEqual(getattr(principal.config, key), value)

  @parameterized.named_parameters(
      dict(testcase_name="bandit", name="bandit", message=r"'algorithm'"),
      dict(testcase_name="cma", name="cma", message=r"\['popsize', 'sigma0'\]"),
  )
  def test_unknown_option_lists_valid_options(self, name, message):
    with self.assertRaisesRegex(ValueError, message):
      _make(name, speed=2)

  def test_thompson_refuses_another_algorithm(self):
    with self.assertRaisesRegex(ValueError,
                                r"takes no option\(s\) \['algorithm'\]"):
      _make("thompson", algorithm="ucb")

  @parameterized.named_parameters(
      dict(testcase_name="algorithm", config=lambda: bandit.BanditConfig(
          algorithm="epsilon"), message=r"\['thompson', 'ucb'\]"),
      dict(testcase_name="step", config=lambda: bandit.BanditConfig(
          step=0.0), message="step must be a finite number > 0"),
      dict(testcase_name="discount", config=lambda: bandit.BanditConfig(
          discount=1.5),
           message=r"discount must be a finite number in \(0, 1\]"),
      dict(testcase_name="seed", config=lambda: bandit.BanditConfig(
          seed=-1), message="seed must be an integer >= 0"),
      dict(testcase_name="sigma0", config=lambda: cma_es.CMAConfig(
          sigma0=math.nan), message="sigma0 must be a finite number > 0"),
      dict(testcase_name="popsize", config=lambda: cma_es.CMAConfig(
          popsize=2), message="popsize must be None or an integer >= 3"),
  )
  def test_bad_config_names_valid_values(self, config, message):
    with self.assertRaisesRegex(ValueError, message):
      config()

  @parameterized.parameters(*principal_lib.LEARNING)
  def test_bad_bound_names_valid_values(self, name):
    with self.assertRaisesRegex(ValueError, "l3") as raised:
      _make(name, divergence_name="l3")
    helpers.assert_names_every_one(self, raised.exception,
                                   divergence.DIVERGENCES)
    with self.assertRaisesRegex(ValueError, "delta must be a number >= 0"):
      _make(name, delta=-0.1)

  @parameterized.parameters(*_NOT_LEARNING)
  def test_other_principals_ignore_the_game_parameters(self, name):
    principal = _make(name, delta=0.1, divergence_name="l1", seed=3)
    rates = principal.propose(
        _observation(0, np.full(3, 0.1), "egalitarian"), "egalitarian")
    self.assertEqual(rates.shape, (3,))


class BoundTest(parameterized.TestCase):

  @parameterized.parameters(*_FEASIBLE)
  @_SETTINGS
  @hypothesis.given(game=_games(), seed=st.integers(0, 2**31 - 1))
  def test_every_proposal_is_in_the_box_and_the_bound(self, name, game,
                                                      seed):
    prev, delta, divergence_name, rounds = game
    principal = _make(name, delta=delta, divergence_name=divergence_name,
                      seed=seed)
    round_index = 0
    for objective, value, new_game in rounds:
      round_index = 0 if new_game else round_index + 1
      proposal = principal.propose(
          _observation(round_index, prev, objective), objective)
      self.assertEqual(proposal.shape, prev.shape)
      self.assertTrue(((proposal >= 0.0) & (proposal <= 1.0)).all())
      self.assertLessEqual(
          divergence.DIVERGENCES[divergence_name](prev, proposal),
          delta + _TOLERANCE)
      # The wrapper's projection then leaves it (all but) unchanged.
      np.testing.assert_allclose(
          divergence.project(prev, proposal, delta, divergence_name),
          proposal, atol=_TOLERANCE)
      principal.update(_feedback(round_index, objective, value, proposal))
      prev = proposal


class ConvergenceTest(parameterized.TestCase):
  """Each principal climbs -||φ - φ*||² + noise, with no substrate."""

  _OPTIMUM = np.array([0.7, 0.3, 0.8])
  _START = np.full(3, 0.1)

  @parameterized.product(name=_PER_ROUND, divergence_name=_DIVERGENCES,
                         seed=(0, 1))
  def test_approaches_the_optimum_of_a_concave_objective(
      self, name, divergence_name, seed):
    delta = {"l1": 0.2}.get(divergence_name, 0.1)
    noise = np.random.default_rng(seed + 100)

    def objective(rates: np.ndarray) -> float:
      return (-float(np.sum((rates - self._OPTIMUM) ** 2)) +
              0.02 * noise.standard_normal())

    principal = _make(name, delta=delta, divergence_name=divergence_name,
                      seed=seed)
    _, applied = _play(principal, objective, self._START, range(300), delta,
                       divergence_name)
    start = np.linalg.norm(self._START - self._OPTIMUM)  # 0.94
    final = np.mean([np.linalg.norm(rates - self._OPTIMUM)
                     for rates in applied[-25:]])
    self.assertLess(final, 0.45 * start)


class EvaluationModeTest(parameterized.TestCase):
  """set_learning(False): no exploration, no learning; on again resumes."""

  @parameterized.parameters(*principal_lib.LEARNING)
  def test_frozen_principal_is_deterministic_and_learns_nothing(self, name):
    optimum = ConvergenceTest._OPTIMUM

    def objective(rates: np.ndarray) -> float:
      return -float(np.sum((rates - optimum) ** 2))

    principal = _make(name, delta=0.1)
    prev, _ = _play(principal, objective, np.full(3, 0.1), range(60), 0.1,
                    "linf")
    before = _flat_state(principal)
    principal.set_learning(False)
    proposals = [principal.propose(_observation(60 + i, prev, "utilitarian"),
                                   "utilitarian") for i in range(3)]
    for proposal in proposals:
      np.testing.assert_array_equal(proposal, proposals[0])
      self.assertLessEqual(np.max(np.abs(proposal - prev)), 0.1 + _TOLERANCE)
      principal.update(_feedback(60, "utilitarian", objective(proposal),
                                 proposal))
    after = _flat_state(principal)
    self.assertEqual(before.keys(), after.keys())
    for key in before:
      np.testing.assert_array_equal(before[key], after[key], err_msg=key)
    principal.set_learning(True)
    _play(principal, objective, prev, range(61, 80), 0.1, "linf")
    self.assertFalse(all(np.array_equal(before[key], value)
                         for key, value in _flat_state(principal).items()
                         if key in before))

  def test_frozen_cma_proposes_its_mean(self):
    principal = _make("cma", delta=math.inf)
    _play(principal, lambda r: -float(np.sum((r - 0.6) ** 2)),
          np.full(3, 0.1), range(120), math.inf, "linf")
    principal.set_learning(False)
    proposal = principal.propose(_observation(0, np.zeros(3), "utilitarian"),
                                 "utilitarian")
    np.testing.assert_allclose(proposal, principal.mean("utilitarian"))
    self.assertLess(np.linalg.norm(proposal - 0.6), 0.1)


def _flat_state(principal: base.Principal) -> dict[str, np.ndarray]:
  """The principal's checkpoint state, flattened to arrays by key."""
  flat = {}

  def visit(prefix: str, value) -> None:
    if isinstance(value, dict):
      for key, item in value.items():
        visit(f"{prefix}/{key}", item)
    elif isinstance(value, (list, tuple)) and value and isinstance(
        value[0], (dict, list, tuple)):
      for index, item in enumerate(value):
        visit(f"{prefix}/{index}", item)
    else:
      flat[prefix] = np.asarray(
          json.dumps(value, sort_keys=True, default=str)
          if isinstance(value, (str, type(None))) else value)

  visit("", principal.state_dict())
  return flat


class PerObjectiveTest(parameterized.TestCase):

  def _blocks(self, principal, first, second):
    """Plays 6 rounds of `first`, then 6 of `second` from a fixed φ."""
    values = {"utilitarian": lambda r: 100.0 * r.sum(),
              "egalitarian": lambda r: 0.01 * r.min()}
    if first is not None:
      _play(principal, values[first], np.full(2, 0.5), range(6), 0.1,
            "linf", objective=first)
    return _play(principal, values[second], np.full(2, 0.2), range(6, 12),
                 0.1, "linf", objective=second)

  @parameterized.parameters(*_PER_ROUND)
  def test_an_objective_learns_as_if_alone(self, name):
    # The egalitarian rounds go the same way whether or not utilitarian
    # rounds came first: separate statistics and separate generators.
    after, applied = self._blocks(_make(name), "utilitarian", "egalitarian")
    alone, applied_alone = self._blocks(_make(name), None, "egalitarian")
    np.testing.assert_array_equal(np.stack(applied),
                                  np.stack(applied_alone))
    np.testing.assert_array_equal(after, alone)

  def test_bandit_keeps_statistics_apart(self):
    principal = _make("bandit")
    _play(principal, lambda r: 100.0 * r.sum(), np.full(2, 0.5), range(6),
          0.1, "linf", objective="utilitarian")
    before = principal.statistics("utilitarian")
    self.assertIsNone(principal.statistics("egalitarian"))
    _play(principal, lambda r: 0.01 * r.min(), np.full(2, 0.5),
          range(6, 12), 0.1, "linf", objective="egalitarian")
    after = principal.statistics("utilitarian")
    for field in ("pulls", "reward_sums", "improvements", "last_value"):
      np.testing.assert_array_equal(getattr(after, field),
                                    getattr(before, field), err_msg=field)
    # The first round of a block has no baseline, so 5 of 6 are credited.
    self.assertLen(before.improvements, 5)
    self.assertLen(principal.statistics("egalitarian").improvements, 5)
    self.assertEqual(principal.objectives, ("utilitarian", "egalitarian"))

  def test_cma_keeps_searches_apart(self):
    principal = _make("cma", popsize=3)
    _play(principal, lambda r: -np.sum((r - 0.9) ** 2), np.full(2, 0.5),
          range(6), 0.1, "linf", objective="utilitarian")
    mean, sigma = principal.mean("utilitarian"), principal.sigma("utilitarian")
    self.assertIsNone(principal.mean("egalitarian"))
    _play(principal, lambda r: r.min(), np.full(2, 0.2), range(6, 12), 0.1,
          "linf", objective="egalitarian")
    np.testing.assert_array_equal(principal.mean("utilitarian"), mean)
    self.assertEqual(principal.sigma("utilitarian"), sigma)
    self.assertEqual(principal.evaluations("utilitarian"), 6)
    self.assertEqual(principal.evaluations("egalitarian"), 6)


class BanditTest(parameterized.TestCase):

  def test_arms_are_stay_each_bracket_and_all(self):
    self.assertEqual(
        bandit.arm_names(2),
        ("stay", "up0", "down0", "up1", "down1", "all_up", "all_down"))
    np.testing.assert_array_equal(
        bandit.arm_moves(2),
        [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [-1, -1]])

  @parameterized.named_parameters(
      # A move is min(step, δ) on each bracket it touches.
      dict(testcase_name="linf_step", name="linf", delta=0.25,
           all_up=[0.6, 0.6]),
      dict(testcase_name="linf_delta", name="linf", delta=0.05,
           all_up=[0.55, 0.55]),
      # "all up" by 0.1 on both is 0.2 in L1: shrunk onto the ball.
      dict(testcase_name="l1", name="l1", delta=0.1, all_up=[0.55, 0.55]),
  )
  def test_candidates_are_moves_of_step_capped_by_delta(self, name, delta,
                                                       all_up):
    principal = bandit.BanditPrincipal(
        bandit.BanditConfig(step=0.1), delta=delta, divergence=name)
    candidates = principal.candidates(np.array([0.5, 0.5]))
    np.testing.assert_allclose(candidates[0], [0.5, 0.5])
    np.testing.assert_allclose(candidates[5], all_up)
    move = min(0.1, delta)
    np.testing.assert_allclose(candidates[1], [0.5 + move, 0.5])

  def test_reward_is_the_normalised_improvement(self):
    principal = _make("bandit")
    prev = np.full(2, 0.5)
    for round_index, value in enumerate((10.0, 14.0, 13.0)):
      proposal = principal.propose(
          _observation(round_index, prev, "nash"), "nash")
      principal.update(_feedback(round_index, "nash", value, proposal))
      prev = proposal
    statistics = principal.statistics("nash")
    self.assertEqual(statistics.improvements, (4.0, -1.0))
    # Round 1: the scale of (4,) is its mean |x|, 4, so the reward is 1,
    # then discounted by 0.9 at round 2. Round 2: the scale of (4, -1) is
    # 1.4826 × its median absolute deviation, 2.5. UCB1 pulls an untried
    # arm, so the two rewards sit on two arms.
    scale = 1.4826 * 2.5
    np.testing.assert_allclose(
        sorted(statistics.reward_sums[statistics.pulls > 0]),
        sorted([0.9 * 4.0 / 4.0, -1.0 / scale]))
    self.assertEqual(statistics.last_value, 13.0)

  def test_no_credit_across_a_new_game_or_an_objective_change(self):
    principal = _make("bandit")
    prev = np.full(2, 0.5)
    for round_index, objective in ((0, "nash"), (1, "nash"), (0, "nash"),
                                   (1, "egalitarian"), (2, "nash")):
      proposal = principal.propose(
          _observation(round_index, prev, objective), objective)
      principal.update(_feedback(round_index, objective, 1.0, proposal))
    # Only round 1 of the first game followed a round under its objective.
    self.assertLen(principal.statistics("nash").improvements, 1)
    self.assertEqual(principal.statistics("egalitarian").improvements, ())

  def test_ucb_pulls_every_arm_before_repeating_one(self):
    principal = _make("bandit", delta=math.inf, step=0.01)
    prev = np.full(2, 0.5)
    pulled = set()
    for round_index in range(8):  # 7 arms, and one round with no credit.
      proposal = principal.propose(
          _observation(round_index, prev, "nash"), "nash")
      principal.update(_feedback(round_index, "nash", 0.0, proposal))
      pulled.add(tuple(np.round((proposal - prev) / 0.01).astype(int)))
      prev = proposal
    self.assertLen(pulled, 7)

  def test_robust_scale_ignores_an_outlier(self):
    values = np.array([1.0, -1.0, 1.0, -1.0, 1e6])
    self.assertAlmostEqual(bandit.robust_scale(values), 1.4826 * 2.0)
    self.assertEqual(bandit.robust_scale(np.array([])), 1.0)
    self.assertEqual(bandit.robust_scale(np.zeros(3)), 1.0)

  def test_non_finite_value_is_ignored(self):
    principal = _make("bandit")
    proposal = principal.propose(_observation(0, np.full(2, 0.5), "nash"),
                                 "nash")
    principal.update(_feedback(0, "nash", math.nan, proposal))
    self.assertIsNone(principal.statistics("nash").last_value)


class CMATest(absltest.TestCase):

  def test_tells_the_projected_points(self):
    # With δ = 0 every applied point is φ_prev, the search's start: told
    # those, the mean stays put; told the raw candidates, it would move.
    principal = _make("cma", delta=0.0, popsize=4)
    prev = np.array([0.3, 0.6])
    _play(principal, lambda r: float(np.sum(r)), prev, range(4), 0.0, "linf")
    np.testing.assert_allclose(principal.mean("utilitarian"), prev,
                               atol=1e-12)

  def test_an_unanswered_candidate_is_offered_again(self):
    principal = _make("cma", delta=math.inf)
    observation = _observation(0, np.full(2, 0.5), "nash")
    first = principal.propose(observation, "nash")
    np.testing.assert_array_equal(principal.propose(observation, "nash"),
                                  first)

  def test_writes_no_files_and_leaves_global_numpy_alone(self):
    folder = self.create_tempdir().full_path
    cwd = os.getcwd()
    state = np.random.get_state()[1].copy()
    os.chdir(folder)
    try:
      principal = _make("cma")
      _play(principal, lambda r: -float(np.sum(r ** 2)), np.full(3, 0.5),
            range(15), 0.1, "linf")
    finally:
      os.chdir(cwd)
    self.assertEqual(os.listdir(folder), [])
    np.testing.assert_array_equal(np.random.get_state()[1], state)


class RunTest(parameterized.TestCase):

  # The others propose raw rates, which the wrapper projects.
  @parameterized.parameters(*principal_lib.PRINCIPALS)
  def test_umd_run_respects_delta(self, name):
    out = self.create_tempdir().full_path + "/run"
    code = helpers.umd(
        "run", "--substrate", "umd_apple_harvest__small", "--rounds", "3",
        "--steps", "20", "--vote-steps", "2", "--principal", name,
        "--delta", "0.1", "--quiet", "--out", out)
    self.assertEqual(code, 0)
    with open(f"{out}/rounds.jsonl") as lines:
      records = [json.loads(line) for line in lines]
    self.assertLen(records, 3)
    for record in records:
      phi, phi_prev = np.array(record["phi"]), np.array(record["phi_prev"])
      self.assertTrue(((phi >= 0.0) & (phi <= 1.0)).all())
      self.assertLessEqual(divergence.linf(phi_prev, phi), 0.1 + _TOLERANCE)
      self.assertLessEqual(record["divergence"], 0.1 + _TOLERANCE)
      if principal_lib.PRINCIPALS[name].feasible:
        # The proposal was already feasible: the wrapper changed nothing.
        self.assertFalse(record["projection_changed"])
    with open(f"{out}/config.json") as config:
      self.assertEqual(json.load(config)["options"]["principal"], name)


if __name__ == "__main__":
  absltest.main()
