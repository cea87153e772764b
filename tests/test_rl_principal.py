"""Tests for the RL principal (principal/rl.py)."""

import copy
import json
import subprocess
import sys

from absl.testing import absltest
from absl.testing import parameterized
import hypothesis
from hypothesis import strategies as st
import jax
import numpy as np

from umd_meltingpot import principal as principal_lib
from umd_meltingpot.social_choice import welfare
from umd_meltingpot.ppo import algorithm
from umd_meltingpot.principal import base
from umd_meltingpot.principal import divergence
from umd_meltingpot.principal import rl

_SCHEDULE = principal_lib.TaxSchedule(rates=(0.1, 0.1, 0.1),
                                      edges=(5.0, 10.0))
_TARGET = np.array([0.3, 0.7, 0.5])
_TOLERANCE = 1e-9


def _observation(round_index: int, prev: np.ndarray, objective: str,
                 **fields) -> base.RoundObservation:
  edges = tuple(float(5 * (j + 1)) for j in range(len(prev) - 1))
  return base.RoundObservation(
      round_index=round_index, previous_rates=np.array(prev), edges=edges,
      objective=objective, **fields)


def _feedback(round_index: int, objective: str, value: float,
              rates: np.ndarray) -> base.RoundFeedback:
  return base.RoundFeedback(
      round_index=round_index, objective=objective, objective_value=value,
      rates=np.array(rates), returns=np.zeros(2))


def _numpy(tree):
  return jax.tree_util.tree_map(np.array, tree)


def _play_synthetic(principal: rl.RLPrincipal, rounds: int,
                    rounds_per_game: int = 10) -> np.ndarray:
  """Maximises -||φ - φ*||² through propose, projection and update.

  Returns:
    The distance ||φ - φ*|| of the rates applied in each round.
  """
  prev, distances = np.full(3, 0.1), []
  for step in range(rounds):
    round_index = step % rounds_per_game
    proposal = principal.propose(
        _observation(round_index, prev, "utilitarian"), "utilitarian")
    prev = divergence.project(prev, proposal, delta=np.inf)
    value = -float(np.sum((prev - _TARGET) ** 2))
    principal.update(_feedback(round_index, "utilitarian", value, prev))
    distances.append(float(np.linalg.norm(prev - _TARGET)))
  return np.array(distances)


class ConfigTest(parameterized.TestCase):

  def test_registered_as_rl_with_seed_and_options(self):
    principal = principal_lib.make_principal(
        "rl", schedule=_SCHEDULE, seed=7, learning_rate=0.01)
    self.assertIsInstance(principal, rl.RLPrincipal)
    self.assertEqual(principal.config.seed, 7)
    self.assertEqual(principal.config.learning_rate, 0.01)

  def test_unknown_option_lists_valid_options(self):
    with self.assertRaisesRegex(ValueError, r"'anneal_rounds'.*'discount'"):
      principal_lib.make_principal("rl", schedule=_SCHEDULE, speed=2)

  @parameterized.named_parameters(
      dict(testcase_name="cap", field="tax_cap_start", value=1.5,
           message="tax_cap_start must be a finite number in"),
      dict(testcase_name="rounds", field="anneal_rounds", value=-1,
           message="anneal_rounds must be an integer >= 0"),
      dict(testcase_name="hidden", field="hidden_sizes", value=(0,),
           message="hidden_sizes must be"),
      dict(testcase_name="log_std", field="max_log_std", value=-6.0,
           message="max_log_std must be a finite number > min_log_std"),
  )
  def test_bad_config_value_raises(self, field, value, message):
    with self.assertRaisesRegex(ValueError, message):
      rl.RLConfig(**{field: value})

  def test_unknown_objective_lists_valid_objectives(self):
    principal = rl.RLPrincipal(num_brackets=3)
    with self.assertRaisesRegex(ValueError, r"valid objectives: \['util"):
      principal.propose(_observation(0, np.zeros(3), "wealth"), "wealth")

  def test_curriculum_schedules_are_linear(self):
    config = rl.RLConfig(tax_cap_start=0.2, anneal_rounds=10,
                         entropy_start=0.5, entropy_end=0.1,
                         entropy_anneal_rounds=4)
    self.assertAlmostEqual(rl.tax_cap(config, 0), 0.2)
    self.assertAlmostEqual(rl.tax_cap(config, 5), 0.6)
    self.assertAlmostEqual(rl.tax_cap(config, 25), 1.0)
    self.assertAlmostEqual(rl.entropy_coefficient(config, 1), 0.4)
    self.assertAlmostEqual(rl.entropy_coefficient(config, 9), 0.1)
    self.assertEqual(rl.tax_cap(rl.RLConfig(anneal_rounds=0), 0), 1.0)


_PRINCIPALS = {k: rl.RLPrincipal(rl.RLConfig(seed=k), num_brackets=k)
               for k in range(1, 5)}


@st.composite
def _observations(draw) -> tuple[base.RoundObservation, str]:
  k = draw(st.integers(1, 4))
  unit = st.floats(0.0, 1.0, allow_nan=False)
  n = draw(st.sampled_from((0, 2, 5)))
  income = st.floats(0.0, 1e6, allow_nan=False)
  objective = draw(st.sampled_from(welfare.OBJECTIVES))
  observation = _observation(
      draw(st.integers(0, 100)),
      np.array(draw(st.lists(unit, min_size=k, max_size=k))), objective,
      gross=np.array(draw(st.lists(income, min_size=n, max_size=n))),
      net=np.array(draw(st.lists(income, min_size=n, max_size=n))),
      apples_alive=draw(st.integers(0, 10_000)))
  return observation, objective


class ImportTest(absltest.TestCase):

  def test_imports_neither_melting_pot_nor_tensorflow(self):
    # The principal shares agents/ppo's PPO core, which must stay light.
    code = ("import sys; import umd_meltingpot.principal.rl; "
            "print(sorted({'tensorflow', 'meltingpot', 'acme'} & "
            "set(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], check=True,
                            capture_output=True, text=True).stdout.strip()
    self.assertEqual(loaded, "[]")


class ProposalTest(absltest.TestCase):

  @hypothesis.settings(max_examples=40, deadline=None)
  @hypothesis.given(_observations())
  def test_proposals_are_finite_rates_under_the_cap(self, drawn):
    observation, objective = drawn
    principal = _PRINCIPALS[observation.num_brackets]
    rates = principal.propose(observation, objective)
    self.assertEqual(rates.shape, (observation.num_brackets,))
    self.assertTrue(np.isfinite(rates).all())
    self.assertTrue(((rates >= 0.0) & (rates <= principal.tax_cap)).all())

  def test_cap_rises_with_rounds_played_and_bounds_every_proposal(self):
    principal = rl.RLPrincipal(
        rl.RLConfig(tax_cap_start=0.05, anneal_rounds=20, update_every=3),
        num_brackets=3)
    prev = np.full(3, 0.05)
    for round_index in range(25):
      cap = rl.tax_cap(principal.config, round_index)
      self.assertAlmostEqual(principal.tax_cap, cap)
      proposal = principal.propose(
          _observation(round_index, prev, "nash"), "nash")
      self.assertLessEqual(proposal.max(), cap + _TOLERANCE)
      prev = divergence.project(prev, proposal, delta=0.1)
      principal.update(_feedback(round_index, "nash", float(prev.sum()),
                                 prev))
    self.assertEqual(principal.tax_cap, 1.0)


class UpdateTest(absltest.TestCase):

  def _batch(self, size: int) -> algorithm.Rollout:
    rng = np.random.default_rng(0)
    k = 3
    x = rng.uniform(size=(size, rl.num_features(k))).astype(np.float32)
    return algorithm.Rollout(
        observation=x, action=rng.normal(size=(size, k)).astype(np.float32),
        log_prob=np.full(size, -3.0, np.float32),
        value=np.zeros(size, np.float32),
        reward=rng.normal(size=size).astype(np.float32),
        next_value=np.zeros(size, np.float32),
        discount=np.full(size, 0.9, np.float32),
        continues=np.ones(size, np.float32))

  def test_update_changes_only_the_principals_params(self):
    principal = rl.RLPrincipal(rl.RLConfig(seed=3), num_brackets=3)
    before = _numpy(principal.training_state)
    batch = self._batch(8)
    batch_before = _numpy(batch)
    advantages, _ = algorithm.gae(
        batch.reward, batch.value, batch.next_value, batch.discount,
        batch.continues, principal.config.gae_lambda)
    self.assertGreater(float(np.abs(np.asarray(advantages)).max()), 0.0)
    followers = {"actor": {"w": np.ones((4, 2))}, "critic": np.zeros(3)}
    followers_before = copy.deepcopy(followers)

    principal.learn(batch)

    after = principal.training_state
    paths = jax.tree_util.tree_flatten_with_path(before.params)[0]
    for (path, old), new in zip(paths,
                                jax.tree_util.tree_leaves(after.params)):
      with self.subTest(jax.tree_util.keystr(path)):
        self.assertTrue(np.any(old != np.asarray(new)))
    self.assertEqual(int(after.num_updates), int(before.num_updates) + 1)
    # The update takes no randomness: the key is the one rates are sampled
    # with, so proposals do not depend on when updates happen.
    np.testing.assert_array_equal(after.random_key, before.random_key)
    jax.tree_util.tree_map(np.testing.assert_array_equal, _numpy(batch),
                           batch_before)
    jax.tree_util.tree_map(np.testing.assert_array_equal, followers,
                           followers_before)

  def test_optimiser_state_is_over_the_principals_params(self):
    principal = rl.RLPrincipal(num_brackets=3)
    state = principal.training_state
    adam = [s for s in jax.tree_util.tree_leaves(
        state.opt_state, is_leaf=lambda s: hasattr(s, "mu")) if
            hasattr(s, "mu")]
    self.assertLen(adam, 1)
    structure = jax.tree_util.tree_structure(state.params)
    self.assertEqual(jax.tree_util.tree_structure(adam[0].mu), structure)
    self.assertEqual(jax.tree_util.tree_structure(adam[0].nu), structure)

  def test_game_loop_leaves_its_inputs_unchanged(self):
    principal = rl.RLPrincipal(rl.RLConfig(update_every=2), num_brackets=3)
    params_before = _numpy(principal.training_state.params)
    followers = {"actor": {"w": np.arange(6.0).reshape(3, 2)}}
    gross, net = np.array([3.0, 1.0, 0.0]), np.array([2.0, 1.0, 0.0])
    prev = np.array([0.1, 0.2, 0.3])
    for round_index in range(5):
      observation = _observation(
          round_index, prev, "egalitarian", gross=gross, net=net,
          apples_alive=40, extra={"followers": followers})
      inputs = copy.deepcopy((prev, gross, net, followers))
      proposal = principal.propose(observation, "egalitarian")
      rates = divergence.project(prev, proposal, delta=0.1)
      feedback = _feedback(round_index, "egalitarian", round_index % 3,
                           rates)
      principal.update(feedback)
      jax.tree_util.tree_map(np.testing.assert_array_equal,
                             (prev, gross, net, followers), inputs)
      np.testing.assert_array_equal(feedback.rates, rates)
      prev = rates
    self.assertGreater(int(principal.training_state.num_updates), 0)
    moved = jax.tree_util.tree_map(
        lambda a, b: bool(np.any(a != np.asarray(b))), params_before,
        principal.training_state.params)
    self.assertTrue(moved["log_std"])
    self.assertTrue(any(jax.tree_util.tree_leaves(moved["policy"])))
    self.assertTrue(any(jax.tree_util.tree_leaves(moved["value"])))


class LearningTest(parameterized.TestCase):

  @parameterized.parameters(0, 1)
  def test_approaches_the_optimum_of_a_concave_objective(self, seed):
    # The objective has no memory, so γ = 0; no cap, so that φ* is reachable.
    principal = rl.RLPrincipal(
        rl.RLConfig(seed=seed, discount=0.0, learning_rate=0.01,
                    anneal_rounds=0),
        num_brackets=3)
    distances = _play_synthetic(principal, rounds=400)
    start, end = distances[:40].mean(), distances[-80:].mean()
    self.assertLess(end, 0.5 * start)


class CheckpointTest(absltest.TestCase):

  def test_state_dict_round_trip_gives_identical_proposals(self):
    config = rl.RLConfig(seed=5, update_every=2)
    principal = rl.RLPrincipal(config, num_brackets=3)
    _play_synthetic(principal, rounds=7)
    self.assertGreater(int(principal.training_state.num_updates), 0)
    state = principal.state_dict()
    json.dumps(state["config"])
    for key, value in state.items():
      if key != "config":
        self.assertIsInstance(value, (np.ndarray, int), key)
    restored = rl.RLPrincipal(config, num_brackets=3)
    restored.load_state_dict(state)
    self.assertEqual(restored.rounds_played, principal.rounds_played)
    prev = np.array([0.2, 0.4, 0.6])
    for round_index in range(3):
      observation = _observation(round_index, prev, "nash")
      np.testing.assert_array_equal(restored.propose(observation, "nash"),
                                    principal.propose(observation, "nash"))

  def test_parameter_paths_are_those_of_earlier_checkpoints(self):
    state = rl.RLPrincipal(rl.RLConfig(hidden_sizes=(8, 8)),
                           num_brackets=3).state_dict()
    params = sorted(key for key in state if key.startswith("params/"))
    self.assertEqual(params, [
        "params/log_std",
        *[f"params/{net}/{layer}/{part}" for net in ("policy", "value")
          for layer in ("head", "hidden_0", "hidden_1")
          for part in ("b", "w")]])
    self.assertEqual(state["params/policy/hidden_0/w"].shape,
                     (rl.num_features(3), 8))
    self.assertEqual(state["params/value/head/w"].shape, (8, 1))

  def test_load_rejects_another_config(self):
    state = rl.RLPrincipal(rl.RLConfig(seed=1), num_brackets=3).state_dict()
    with self.assertRaisesRegex(ValueError, "the checkpoint is for"):
      rl.RLPrincipal(rl.RLConfig(seed=2), num_brackets=3).load_state_dict(
          state)


if __name__ == "__main__":
  absltest.main()
