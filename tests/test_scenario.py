"""Tests of the scenarios: Melting Pot's scenario checks, then the mechanism."""

import dataclasses
from typing import Optional

from absl.testing import absltest
from absl.testing import parameterized
import dm_env
from meltingpot import scenario as mp_scenario
from meltingpot.testing import substrates as substrates_testing
from meltingpot.utils.scenarios import scenario_factory
import numpy as np

from tests import helpers
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.evaluation import scenario
from umd_meltingpot import substrate
from umd_meltingpot.social_choice import voting
from umd_meltingpot.game import principal_wrapper as wrapper

_SCENARIOS = sorted(scenario.SCENARIOS)
_NOOP = 0
_RANKING = ("nash", "utilitarian", "egalitarian")


@parameterized.named_parameters((name, name) for name in _SCENARIOS)
class ScenarioSpecTest(substrates_testing.SubstrateTestCase):
  """Melting Pot's `scenario_test.py`, over our SCENARIOS."""

  def test_scenario(self, name):
    factory = scenario.get_factory(name, seed=1)
    num_players = factory.num_focal_players()
    action_spec = [factory.action_spec()] * num_players
    reward_spec = [factory.timestep_spec().reward] * num_players
    discount_spec = factory.timestep_spec().discount
    observation_spec = dict(factory.timestep_spec().observation)
    observation_spec["COLLECTIVE_REWARD"] = dm_env.specs.Array(
        shape=(), dtype=np.float64, name="COLLECTIVE_REWARD")
    observation_spec = [observation_spec] * num_players
    with factory.build() as env:
      with self.subTest("step"):
        self.assert_step_matches_specs(env)
      with self.subTest("action_spec"):
        self.assertSequenceEqual(env.action_spec(), action_spec)
      with self.subTest("reward_spec"):
        self.assertSequenceEqual(env.reward_spec(), reward_spec)
      with self.subTest("discount_spec"):
        self.assertEqual(env.discount_spec(), discount_spec)
      with self.subTest("observation_spec"):
        self.assertSequenceEqual(env.observation_spec(), observation_spec)
      with self.subTest("only_permitted"):
        self.assertContainsSubset(factory.timestep_spec().observation,
                                  scenario.PERMITTED_OBSERVATIONS)

  def test_config_is_sane(self, name):
    config = scenario.get_config(name)
    self.assertIsInstance(config, mp_scenario.scenario_configs.ScenarioConfig)
    self.assertIn(config.substrate, substrate.SUBSTRATES)
    self.assertLen(config.is_focal, len(config.roles))
    self.assertBetween(sum(config.is_focal), 1, len(config.roles) - 1)
    self.assertTrue(config.description)
    # One bot per role keeps Melting Pot's name sampling deterministic.
    for role, bots in config.bots_by_role.items():
      with self.subTest(role=role):
        self.assertLen(bots, 1)


class ScenarioApiTest(parameterized.TestCase):

  def test_permitted_observations_add_only_the_mechanism(self):
    self.assertEqual(
        scenario.PERMITTED_OBSERVATIONS - mp_scenario.PERMITTED_OBSERVATIONS,
        {"PHASE", "TAX_RATES", "PERIOD_INCOME", "MARGINAL_RATE", "SKILL"})

  def test_focal_players_see_their_bracket_position_and_skill(self):
    # A conditioned follower reads these; a focal one must get them too.
    factory = scenario.get_factory("umd_apple_harvest__small_0")
    self.assertContainsSubset({"PERIOD_INCOME", "MARGINAL_RATE", "SKILL"},
                              factory.timestep_spec().observation)

  def test_factory_is_melting_pots(self):
    factory = scenario.get_factory("umd_apple_harvest__small_0")
    self.assertIsInstance(factory, scenario_factory.ScenarioFactory)

  def test_every_substrate_has_all_six_kinds(self):
    for name in substrate.SUBSTRATES:
      with self.subTest(substrate=name):
        self.assertEqual(scenario.SCENARIOS_BY_SUBSTRATE[name],
                         {f"{name}_{i}" for i in range(6)})

  def test_unknown_scenario_names_the_valid_ones(self):
    with self.assertRaisesRegex(ValueError, "commons_harvest") as raised:
      scenario.get_config("commons_harvest__open_0")
    helpers.assert_names_every_one(self, raised.exception, scenario.SCENARIOS)

  def test_selection_by_substrate_and_all(self):
    self.assertLen(scenario.scenarios_for("all"), len(_SCENARIOS))
    self.assertEqual(scenario.scenarios_for("umd_apple_harvest__small"),
                     [f"umd_apple_harvest__small_{i}" for i in range(6)])
    self.assertEqual(scenario.scenarios_for("umd_apple_harvest__open_2"),
                     ["umd_apple_harvest__open_2"])
    with self.assertRaisesRegex(ValueError, "'all'"):
      scenario.scenarios_for("nope")

  def test_bad_mechanism_names_the_valid_values(self):
    with self.assertRaisesRegex(ValueError, "learned") as raised:
      scenario.Mechanism(principal="learned", focal_ranking=_RANKING,
                         background_ranking=_RANKING,
                         principal_ranking=_RANKING)
    helpers.assert_names_every_one(self, raised.exception,
                                   principal_lib.PRINCIPALS)
    with self.assertRaisesRegex(ValueError, "dictator") as raised:
      scenario.Mechanism(principal="fixed", focal_ranking=_RANKING,
                         background_ranking=_RANKING,
                         principal_ranking=_RANKING, rule="dictator")
    helpers.assert_names_every_one(self, raised.exception, voting.RULES)

  def test_focal_types_rank_every_objective(self):
    # (utilitarian, egalitarian, nash) ranked egalitarian > nash > util.
    config = scenario.get_config("umd_apple_harvest__small_2")
    np.testing.assert_array_equal(scenario.focal_types(config), [0, 2, 1])
    self.assertEqual(config.mechanism.focal_favourite, "egalitarian")

  def test_a_ranking_that_leaves_out_an_objective_is_refused(self):
    mechanism = scenario.Mechanism(
        principal="fixed", focal_ranking=("nash", "utilitarian"),
        background_ranking=_RANKING, principal_ranking=_RANKING)
    with self.assertRaisesRegex(ValueError, "leaves out"):
      mechanism.types([True, False], ("utilitarian", "egalitarian", "nash"))

  @parameterized.parameters(("plurality", "utilitarian"),
                            ("instant_runoff", "utilitarian"),
                            ("copeland", "utilitarian"),
                            ("borda", "egalitarian"))
  def test_rules_differ_in_the_seven_player_minority_scenario(self, rule,
                                                             winner):
    # 4 background utilitarians (util > egal > nash) against 3 focal
    # egalitarians (egal > nash > util), every type's truthful ballot.
    config = scenario.get_config("umd_apple_harvest__open_2")
    objectives = scenario.objectives_of(config)
    types = config.mechanism.types(config.is_focal, objectives)
    profile = voting.Profile(
        alternatives=objectives, kind="ranking",
        ballots=[voting.truthful_ballot(u, rule) for u in types.players])
    outcome = voting.elect(rule, profile, rng=np.random.default_rng(0))
    self.assertEqual(outcome.tied, (objectives.index(winner),))

  def test_substrate_transform_sees_every_observation(self):
    seen = []

    def transform(env):
      seen.append(env)
      return env

    with scenario.build("umd_apple_harvest__small_0",
                        substrate_transform=transform, seed=1) as env:
      self.assertIsInstance(seen[0], wrapper.PrincipalWrapper)
      self.assertIn("WORLD.RGB", env.observation_spec()[0])


def _play(name: str, seed: int, rule: Optional[str] = None
          ) -> list[wrapper.RoundRecord]:
  """Plays one whole episode with abstaining, idle focal players (under
  `rule` instead of the scenario's, if given)."""
  records = []
  config = scenario.get_config(name)
  if rule is not None:
    config = dataclasses.replace(config, mechanism=dataclasses.replace(
        config.mechanism, rule=rule))
  factory = scenario.get_factory_from_config(
      config, seed=seed, on_round_end=records.append)
  with factory.build() as env:
    timestep = env.reset()
    while not timestep.last():
      timestep = env.step([_NOOP] * factory.num_focal_players())
  return records


class ScenarioMechanismTest(parameterized.TestCase):
  """The mechanism runs inside the scenario; focal players here abstain."""

  def test_background_majority_carries_the_vote(self):
    records = _play("umd_apple_harvest__small_2", seed=1)
    self.assertLen(records, 5)
    for record in records:
      # Three greedy bots vote utilitarian; the idle focal player abstains.
      self.assertEqual(record.tally, [3.0, 0.0, 0.0])
      self.assertEqual(record.objective, "utilitarian")
      # The hand rule does not tax under a utilitarian vote.
      self.assertEqual(record.phi, [0.0, 0.0, 0.0])

  def test_background_bots_cast_their_full_ranking_under_borda(self):
    records = _play("umd_apple_harvest__small_2", seed=1, rule="borda")
    for record in records:
      # Rank positions of (util, egal, nash): util first, egal second, nash
      # left last; the idle focal player (slot 0) abstains.
      self.assertEqual(record.ballots,
                       [[0, 0, 0]] + [[1, 2, 0]] * 3)
      self.assertEqual(record.scores, [6.0, 3.0, 0.0])

    hand_rule = _play("umd_apple_harvest__small_3", seed=1)
    fixed = _play("umd_apple_harvest__small_4", seed=1)
    # Two greedy bots vote egalitarian; the hand rule moves the top brackets
    # to its high rate by steps of delta = 0.25.
    self.assertEqual([r.objective for r in hand_rule], ["egalitarian"] * 5)
    self.assertEqual(hand_rule[0].phi, [0.0, 0.25, 0.25])
    self.assertEqual(hand_rule[-1].phi, [0.0, 0.5, 0.5])
    self.assertEqual([r.phi for r in fixed], [[0.0, 0.0, 0.0]] * 5)

  def test_bandit_principal_learns_within_delta(self):
    records = _play("umd_apple_harvest__small_5", seed=1)
    self.assertEqual([r.objective for r in records], ["egalitarian"] * 5)
    for record in records:
      self.assertLessEqual(record.divergence, 0.25 + 1e-12)
    # It explores: some round's schedule differs from phi_0.
    self.assertTrue(any(any(record.phi) for record in records))
    self.assertEqual([r.phi for r in records],
                     [r.phi for r in _play("umd_apple_harvest__small_5",
                                           seed=1)])

  def test_same_seed_same_episode(self):
    first = _play("umd_apple_harvest__small_0", seed=7)
    second = _play("umd_apple_harvest__small_0", seed=7)
    self.assertEqual([r.to_json() for r in first],
                     [r.to_json() for r in second])


if __name__ == "__main__":
  absltest.main()
