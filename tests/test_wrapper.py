"""PrincipalWrapper: delta bound, phi in Lua, resets, Melting Pot's harness."""

import math

from absl.testing import absltest
import hypothesis
from hypothesis import strategies as st
from meltingpot.utils.evaluation import evaluation
from meltingpot.utils.scenarios import population as population_lib
import numpy as np

from tests import fakes
from tests import helpers
from umd_meltingpot import agents
from umd_meltingpot import substrate
from umd_meltingpot.social_choice import voting
from umd_meltingpot.principal import divergence
from umd_meltingpot.principal import schedule as schedule_lib
from umd_meltingpot.game import principal_wrapper as wrapper


def _wrapped(principal, rounds=3, delta=0.2, name="linf", phi0=(0.0, 0.0),
             edges=(2.0,), seed=1):
  config = substrate.get_config("umd_apple_harvest__small")
  with config.unlocked():
    config.rounds = rounds
    config.vote_steps = 2
    config.harvest_steps = 3
    config.bracket_edges = edges
    config.initial_rates = phi0
  env = substrate.build_from_config(config, roles=["default"] * 2,
                                    env_seed=seed)
  return wrapper.PrincipalWrapper(
      env, principal=principal,
      schedule=schedule_lib.TaxSchedule(phi0, edges),
      objectives=config.objectives, rounds=rounds,
      mechanism=wrapper.MechanismConfig(delta=delta, divergence=name))


def _play(env):
  timestep = env.reset()
  while not timestep.last():
    timestep = env.step([0, 0])
  return env.records


_proposal = st.lists(st.floats(-3.0, 3.0, allow_nan=False), min_size=2,
                     max_size=2)


class WrapperTest(absltest.TestCase):

  @hypothesis.settings(max_examples=15, deadline=None, derandomize=True)
  @hypothesis.given(
      proposals=st.lists(_proposal, min_size=3, max_size=3),
      delta=st.floats(0.0, 1.0, allow_nan=False),
      name=st.sampled_from(sorted(divergence.DIVERGENCES)))
  def test_every_round_respects_the_bound_and_the_box(self, proposals, delta,
                                                      name):
    principal = fakes.ScriptedPrincipal(proposals)
    with _wrapped(principal, delta=delta, name=name) as env:
      records = _play(env)
      applied = wrapper.read_schedule(env)
    self.assertLen(records, 3)
    previous = np.zeros(2)
    for record, proposal in zip(records, proposals):
      phi = np.asarray(record.phi)
      self.assertTrue(np.all((phi >= 0) & (phi <= 1)))
      self.assertLessEqual(divergence.DIVERGENCES[name](previous, phi),
                           delta + 1e-9)
      np.testing.assert_allclose(record.phi_proposed, proposal)
      np.testing.assert_allclose(record.phi_prev, previous)
      previous = phi
    np.testing.assert_allclose(applied, previous, rtol=0, atol=1e-15)
    self.assertEqual([f.round_index for f in principal.feedback], [0, 1, 2])

  def test_feedback_is_the_objective_on_the_round_returns(self):
    principal = fakes.ScriptedPrincipal([[0.5, 0.5]] * 3)
    with _wrapped(principal, delta=math.inf) as env:
      records = _play(env)
    for record, feedback in zip(records, principal.feedback):
      self.assertEqual(feedback.objective, record.objective)
      self.assertAlmostEqual(feedback.objective_value, record.objective_value)
      np.testing.assert_allclose(feedback.returns, record.returns)
      np.testing.assert_allclose(
          record.returns, np.add(record.net, record.transfer))

  def test_phi0_is_applied_again_after_every_reset(self):
    principal = fakes.ScriptedPrincipal([[1.0, 1.0]] * 3)
    with _wrapped(principal, delta=math.inf, phi0=(0.25, 0.5)) as env:
      _play(env)
      np.testing.assert_array_equal(wrapper.read_schedule(env), [1.0, 1.0])
      env.reset()
      np.testing.assert_array_equal(wrapper.read_schedule(env), [0.25, 0.5])

  def test_apply_schedule_explains_a_refusal(self):
    with _wrapped(fakes.ScriptedPrincipal([])) as env:
      env.reset()
      with self.assertRaisesRegex(ValueError, "2 rates"):
        wrapper.apply_schedule(env, [0.1, 0.2, 0.3])
      with self.assertRaisesRegex(ValueError, r"\[0, 1\]"):
        wrapper.apply_schedule(env, [0.1, 1.2])
      np.testing.assert_array_equal(wrapper.read_schedule(env), [0.0, 0.0])

  def test_mechanism_config_names_valid_values(self):
    with self.assertRaisesRegex(ValueError, "rule must be one of") as raised:
      wrapper.MechanismConfig(rule="sortition")
    helpers.assert_names_every_one(self, raised.exception, voting.RULES)
    with self.assertRaisesRegex(ValueError, "delta must be a number >= 0"):
      wrapper.MechanismConfig(delta=-1.0)
    with self.assertRaisesRegex(ValueError, "l3") as raised:
      wrapper.MechanismConfig(divergence="l3")
    helpers.assert_names_every_one(self, raised.exception,
                                   divergence.DIVERGENCES)
    with self.assertRaisesRegex(ValueError,
                                "principal_weight must be a finite number"):
      wrapper.MechanismConfig(principal_weight=math.nan)
    with self.assertRaisesRegex(ValueError,
                                "ballot_source must be one of .*world"):
      wrapper.MechanismConfig(ballot_source="polls")

  def test_melting_pot_evaluation_runs_on_the_wrapper(self):
    principal = fakes.ScriptedPrincipal([[0.1, 0.2]] * 3)
    env = _wrapped(principal)
    bot = agents.make_bot("greedy", seed=1)
    population = population_lib.Population(
        policies={"greedy": bot}, names_by_role={"default": ["greedy"]},
        roles=["default", "default"])
    results = evaluation.run_and_observe_episodes(
        population=population, substrate=env, num_episodes=1)
    self.assertLen(results, 1)
    self.assertLen(results["focal_player_returns"][0], 2)
    self.assertLen(env.records, 3)
    env.close()


if __name__ == "__main__":
  absltest.main()
