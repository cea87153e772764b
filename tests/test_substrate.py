"""Tests of the substrate registry, specs, determinism and bad input."""

import re
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import dm_env
from meltingpot.testing import substrates as substrates_testing
import numpy as np

from umd_meltingpot import substrate
from umd_meltingpot.agents import bots
from umd_meltingpot.substrates import umd_apple_harvest
from umd_meltingpot.principal import schedule as schedule_lib
from umd_meltingpot.game import principal_wrapper as wrapper

_SUBSTRATES = sorted(substrate.SUBSTRATES)


def _short_config(name, **overrides):
  config = substrate.get_config(name)
  with config.unlocked():
    config.rounds = 2
    config.vote_steps = 2
    config.harvest_steps = 30
    for key, value in overrides.items():
      config[key] = value
  return config


@parameterized.named_parameters((name, name) for name in _SUBSTRATES)
class SubstrateTest(substrates_testing.SubstrateTestCase):

  def test_step_matches_specs(self, name):
    config = substrate.get_config(name)
    roles = config.default_player_roles
    with substrate.build(name, roles=roles, env_seed=1) as env:
      self.assert_step_matches_specs(env)

  def test_specs_equal_the_config(self, name):
    factory = substrate.get_factory(name)
    roles = factory.default_player_roles()
    with substrate.build(name, roles=roles, env_seed=1) as env:
      num_players = len(roles)
      with self.subTest("action_spec"):
        self.assertEqual(env.action_spec(),
                         (factory.action_spec(),) * num_players)
      with self.subTest("reward_spec"):
        self.assertSequenceEqual(
            env.reward_spec(),
            [factory.timestep_spec().reward] * num_players)
      with self.subTest("discount_spec"):
        self.assertEqual(env.discount_spec(),
                         factory.timestep_spec().discount)
      with self.subTest("observation_spec"):
        expected = dict(factory.timestep_spec().observation)
        expected["COLLECTIVE_REWARD"] = dm_env.specs.Array(
            shape=(), dtype=np.float64, name="COLLECTIVE_REWARD")
        self.assertSequenceEqual(env.observation_spec(),
                                 [expected] * num_players)

  def test_factory_builds_substrates_matching_its_specs(self, name):
    factory = substrate.get_factory(name)
    with factory.build(factory.default_player_roles()) as env:
      self.assert_step_matches_specs(env)
      self.assertEqual(env.observation_spec()[0]["RGB"],
                       factory.timestep_spec().observation["RGB"])

  def test_other_player_counts_match_their_specs(self, name):
    for num_players in (2, 16):
      with self.subTest(num_players=num_players):
        with substrate.build(
            name, roles=["default"] * num_players, env_seed=2) as env:
          self.assert_step_matches_specs(env)
          self.assertEqual(
              env.observation_spec()[0]["WORLD.BALLOTS"].shape,
              (num_players, 3))


class RegistryTest(parameterized.TestCase):

  def test_default_player_counts(self):
    self.assertEqual(substrate.describe("umd_apple_harvest__open").num_players,
                     7)
    self.assertEqual(
        substrate.describe("umd_apple_harvest__small").num_players, 4)

  def test_build_returns_a_melting_pot_substrate(self):
    from meltingpot.utils.substrates import substrate as mp_substrate
    with substrate.build("umd_apple_harvest__small",
                         roles=["default"] * 4) as env:
      self.assertIsInstance(env, mp_substrate.Substrate)

  def test_unknown_substrate_lists_the_valid_ones(self):
    with self.assertRaisesRegex(ValueError, "umd_apple_harvest__small"):
      substrate.get_config("umd_apple_harvest__nope")

  def test_unknown_role_lists_the_valid_ones(self):
    with self.assertRaisesRegex(ValueError, "valid roles are .*default"):
      substrate.build("umd_apple_harvest__small", roles=["default", "bad"])

  @parameterized.parameters(1, 17)
  def test_player_count_out_of_range(self, num_players):
    with self.assertRaisesRegex(ValueError, "2 to 16 players"):
      substrate.build("umd_apple_harvest__small",
                      roles=["default"] * num_players)

  @parameterized.named_parameters(
      ("rounds", {"rounds": 0}, "rounds must be an integer >= 1"),
      ("harvest", {"harvest_steps": 0}, "harvest_steps"),
      ("vote", {"vote_steps": -1}, "vote_steps"),
      ("period", {"tax_period": 0}, "tax_period"),
      ("rate_count", {"initial_rates": (0.1, 0.2)}, "needs 3 rates"),
      ("rate_range", {"initial_rates": (0.1, 0.2, 1.5)}, r"\[0, 1\]"),
      ("rate_nan", {"initial_rates": (0.1, float("nan"), 0.2)}, r"\[0, 1\]"),
      ("edges", {"bracket_edges": (10.0, 5.0)}, "strictly increasing"),
      ("redistribution", {"redistribution": "all"}, "equal.*below_mean"),
      ("objectives", {"objectives": ("utilitarian", "wealth")},
       "egalitarian"),
      ("one_objective", {"objectives": ("nash",)},
       r"objectives must be at least 2 distinct names"),
      # A ranking of K objectives takes K - 1 VOTE steps.
      ("vote_too_short_to_rank", {"vote_steps": 1},
       r"vote_steps must be >= 2 \(K - 1 for the 3 objectives"),
      ("effort_negative", {"effort_cost": -0.5},
       r"effort_cost must be a finite number >= 0, got -0.5"),
      ("effort_nan", {"effort_cost": float("nan")}, r"effort_cost .* >= 0"),
      ("effort_inf", {"effort_cost": float("inf")}, r"effort_cost .* >= 0"),
      ("skills_count", {"skills": (1.0, 2.0)},
       r"skills must be empty \(every skill 1\) or have one value per "
       r"player \(4\), each a finite number > 0; got \(1.0, 2.0\)"),
      ("skills_zero", {"skills": (1.0, 0.0, 1.0, 1.0)}, r"skills .* > 0"),
      ("skills_nan", {"skills": (1.0, float("nan"), 1.0, 1.0)},
       r"skills .* finite"),
      ("skills_inf", {"skills": (1.0, float("inf"), 1.0, 1.0)},
       r"skills .* finite"),
  )
  def test_bad_config_names_the_valid_values(self, overrides, message):
    config = substrate.get_config("umd_apple_harvest__small")
    with config.unlocked():
      for key, value in overrides.items():
        config[key] = value
    with self.assertRaisesRegex(ValueError, message):
      substrate.build_from_config(config, roles=["default"] * 4)

  def test_config_is_locked_against_typos(self):
    config = substrate.get_config("umd_apple_harvest__small")
    with self.assertRaises(AttributeError):
      config.round = 3  # The field is `rounds`.

  def test_overrides_reach_the_game(self):
    config = _short_config("umd_apple_harvest__small",
                           initial_rates=(0.25, 0.5, 0.75),
                           bracket_edges=(1.0, 2.0),
                           objectives=("utilitarian", "nash"))
    with substrate.build_from_config(config, roles=["default"] * 3) as env:
      timestep = env.reset()
      obs = timestep.observation[0]
      np.testing.assert_array_equal(obs["TAX_RATES"], [0.25, 0.5, 0.75])
      self.assertEqual(obs["VOTING"].shape, (2, 2))  # Objective x rank.
      self.assertEqual(env.action_spec()[0].num_values, 8 + 2)
      steps = 0
      while not timestep.last():
        timestep = env.step([0] * 3)
        steps += 1
      self.assertEqual(steps, 2 * (2 + 30))


class UnequalVariantTest(absltest.TestCase):
  """`umd_apple_harvest__unequal`: its overrides, for any player count."""

  def test_skills_are_pareto_quantiles_with_mean_one(self):
    config = substrate.get_config("umd_apple_harvest__unequal")
    # Pareto(2) at (i + 0.5) / 4 is (1 - p)^(-1/2), then over the mean.
    quantiles = np.array([(1 - (i + 0.5) / 4) ** -0.5 for i in range(4)])
    np.testing.assert_allclose(config.skills, quantiles / quantiles.mean(),
                               rtol=1e-12)
    np.testing.assert_allclose(config.skills,
                               [0.6293, 0.7446, 0.9612, 1.6649], atol=1e-4)
    self.assertEqual(config.effort_cost, 0.3)
    self.assertEqual(config.bracket_edges, (1.0, 2.0))
    self.assertEqual(config.max_rate, 4.0)
    self.assertEqual(config.initial_rates, (0.0, 0.0, 0.0))
    info = substrate.describe("umd_apple_harvest__unequal")
    self.assertEqual((info.num_players, info.rounds, info.harvest_steps,
                      info.vote_steps, info.tax_period), (4, 5, 100, 5, 25))
    self.assertEqual(config.map_name, "small")

  def test_skills_are_drawn_for_the_player_count(self):
    for num_players in (2, 7, 16):
      config = substrate.get_config("umd_apple_harvest__unequal",
                                    num_players=num_players)
      skills = np.array(config.skills)
      self.assertLen(skills, num_players)
      self.assertAlmostEqual(skills.mean(), 1.0)
      self.assertTrue(np.all(np.diff(skills) > 0), skills)
      self.assertLen(config.default_player_roles, num_players)

  def test_other_variants_keep_their_game(self):
    for name in ("umd_apple_harvest__small", "umd_apple_harvest__open",
                 "umd_apple_harvest__closed"):
      config = substrate.get_config(name)
      self.assertEqual(config.skills, ())
      self.assertEqual(config.effort_cost, 0.0)

  def test_player_count_out_of_range_is_named(self):
    with self.assertRaisesRegex(ValueError, "2 to 16 players, got 1"):
      substrate.get_config("umd_apple_harvest__unequal", num_players=1)


class SkillAndEffortTest(absltest.TestCase):
  """SKILL, and what one untaxed apple pays, on a scripted episode."""

  def _first_apples(self, config, num_players=4):
    """Steps every player forward until some eat; returns, per eater, its
    reward on that step, and each step's SKILL observations."""
    forward = 1
    skills_seen = []
    with substrate.build_from_config(config, roles=["default"] * num_players,
                                     env_seed=3) as env:
      timestep = env.reset()
      while not timestep.last():
        skills_seen.append([float(o["SKILL"]) for o in timestep.observation])
        before = np.array(timestep.observation[0]["WORLD.ROUND_GROSS"])
        timestep = env.step([forward] * num_players)
        ate = np.flatnonzero(
            timestep.observation[0]["WORLD.ROUND_GROSS"] > before)
        if ate.size:
          return ({int(i): float(timestep.reward[i]) for i in ate},
                  skills_seen)
    self.fail("nobody ate an apple")

  def test_an_untaxed_apple_pays_skill_less_effort(self):
    config = substrate.get_config("umd_apple_harvest__unequal")
    with config.unlocked():
      config.skills = (0.5, 1.25, 2.0, 0.75)
      config.effort_cost = 0.375
      config.tax_period = 100
    paid, skills_seen = self._first_apples(config)
    for skills in skills_seen:
      self.assertEqual(skills, [0.5, 1.25, 2.0, 0.75])
    for player, reward in paid.items():
      self.assertEqual(reward, config.skills[player] - 0.375)

  def test_the_variant_shows_its_skills(self):
    config = substrate.get_config("umd_apple_harvest__unequal")
    _, skills_seen = self._first_apples(config)
    np.testing.assert_array_equal(skills_seen[0], config.skills)

  def test_without_skills_every_skill_is_one_and_an_apple_pays_one(self):
    config = substrate.get_config("umd_apple_harvest__small")
    paid, skills_seen = self._first_apples(config)
    self.assertEqual(skills_seen[-1], [1.0] * 4)
    self.assertEqual(set(paid.values()), {1.0})


class SpeedDesignTest(absltest.TestCase):

  def test_lua_declares_no_per_name_mechanism_or_layer_observations(self):
    # Each observation asked for is a call into Lua at every step: the
    # level packs the mechanism into one and drops the unused LAYER views.
    with substrate.build("umd_apple_harvest__small",
                         roles=["default"] * 2) as env:
      raw = env
      while hasattr(raw, "_env"):
        raw = raw._env
      names = set(raw.observation_names())
    self.assertIn("WORLD.MECHANISM", names)
    self.assertFalse({n for n in names if n.endswith(".LAYER")}, names)
    self.assertNotIn("WORLD.ROUND", names)


class MechanismFieldsTest(parameterized.TestCase):
  """`umd_apple_harvest.MECHANISM_FIELDS` drives Lua, unpacking and specs."""

  def test_layout_packs_the_fields_back_to_back_in_their_order(self):
    config = substrate.get_config("umd_apple_harvest__small")
    layout = umd_apple_harvest.mechanism_layout(config, 4)
    fields = umd_apple_harvest.MECHANISM_FIELDS
    self.assertEqual(list(layout), [field.name for field in fields])
    stops = [0] + [stop for _, stop, _ in layout.values()]
    for (start, stop, shape), previous in zip(layout.values(), stops):
      self.assertEqual(start, previous)
      self.assertEqual(stop - start, int(np.prod(shape, dtype=int)))
    # 4 numbers, 3 rates, 4 x 3 ballots and 9 per-player fields.
    self.assertEqual(stops[-1], 4 + 3 + 4 * 3 + 9 * 4)
    self.assertEqual(layout["WORLD.BALLOTS"][2], (4, 3))

  def test_observation_names_and_specs_follow_the_fields(self):
    config = substrate.get_config("umd_apple_harvest__small", num_players=5)
    fields = umd_apple_harvest.MECHANISM_FIELDS
    self.assertEqual(config.global_observation_names,
                     ["WORLD.RGB"] + [field.name for field in fields])
    self.assertEqual(
        config.individual_observation_names,
        ["RGB", "READY_TO_SHOOT", "PHASE", "TAX_RATES", "VOTING",
         "PERIOD_INCOME", "MARGINAL_RATE", "SKILL"])
    spec = config.timestep_spec.observation
    expected_shapes = {
        "PHASE": (), "TAX_RATES": (3,), "VOTING": (3, 3),
        "PERIOD_INCOME": (), "MARGINAL_RATE": (), "SKILL": (),
        "WORLD.ROUND": (), "WORLD.BALLOTS": (5, 3), "WORLD.TAX_RATES": (3,),
        "WORLD.SKILL": (5,), "WORLD.APPLES_ALIVE": ()}
    for name, shape in expected_shapes.items():
      with self.subTest(name=name):
        self.assertEqual(spec[name].shape, shape)
        self.assertEqual(spec[name].dtype, np.float64)
    for field in fields:
      with self.subTest(field=field.name):
        self.assertContainsSubset(field.shape, ("n", "k", "K"))
        if field.own:
          self.assertIn(field.own[1], umd_apple_harvest.VIEWS)

  def test_lua_packs_the_size_python_declares(self):
    config = substrate.get_config("umd_apple_harvest__small", num_players=3)
    with substrate.build_from_config(config, roles=["default"] * 3,
                                     env_seed=1) as env:
      unpacker = env
      while not isinstance(unpacker, substrate.MechanismWrapper):
        unpacker = unpacker._env
      packed = unpacker._env.observation_spec()["WORLD.MECHANISM"]
    layout = umd_apple_harvest.mechanism_layout(config, 3)
    self.assertEqual(packed.shape, (max(stop for _, stop, _ in
                                        layout.values()),))

  def test_each_player_sees_its_view_of_the_world(self):
    config = substrate.get_config("umd_apple_harvest__unequal")
    with substrate.build_from_config(config, roles=["default"] * 4,
                                     env_seed=2) as env:
      env.reset()
      # Everyone ranks objective 3, then 2 (actions VOTE_<3rd>, VOTE_<2nd>).
      for action in ([8 + 2] * 4, [8 + 1] * 4, [0] * 4):
        timestep = env.step(action)
    for player, own in enumerate(timestep.observation):
      self.assertEqual(own["PHASE"], own["WORLD.PHASE"])
      np.testing.assert_array_equal(own["TAX_RATES"], own["WORLD.TAX_RATES"])
      for name in ("PERIOD_INCOME", "MARGINAL_RATE", "SKILL"):
        self.assertEqual(own[name], own[f"WORLD.{name}"][player])
      np.testing.assert_array_equal(
          own["VOTING"], substrate.voting_tally(own["WORLD.BALLOTS"]))
      np.testing.assert_array_equal(own["VOTING"][:, :2],
                                    [[0, 0], [0, 4], [4, 0]])

  def test_a_field_lua_cannot_pack_fails_the_build_naming_it(self):
    fields = umd_apple_harvest.MECHANISM_FIELDS + (
        umd_apple_harvest.MechanismField("WORLD.NOPE"),)
    with mock.patch.object(umd_apple_harvest, "MECHANISM_FIELDS", fields):
      with self.assertRaisesRegex(
          ValueError, r'"fields".*"WORLD.NOPE" does not match any of'):
        substrate.build("umd_apple_harvest__small", roles=["default"] * 2)

  def test_bad_map_name_lists_the_maps(self):
    with self.assertRaisesRegex(
        ValueError, r"^map_name must be one of \['closed', 'open', 'small'\], "
        r"got 'tiny'$"):
      umd_apple_harvest.get_config("tiny")


class DeterminismTest(absltest.TestCase):

  def _rollout(self, env_seed, episodes=2):
    """Every observation of every player, and the rewards, step by step."""
    config = _short_config("umd_apple_harvest__small")
    rng = np.random.default_rng(0)
    frames = []

    def record(timestep):
      frames.append(np.concatenate(
          [np.asarray(value, dtype=np.float64).ravel()
           for observation in timestep.observation
           for _, value in sorted(observation.items())] +
          [np.asarray(timestep.reward, dtype=np.float64).ravel()]))

    with substrate.build_from_config(
        config, roles=["default"] * 4, env_seed=env_seed) as env:
      for _ in range(episodes):
        timestep = env.reset()
        record(timestep)
        while not timestep.last():
          timestep = env.step(rng.integers(0, 11, size=4))
          record(timestep)
    return frames

  def test_same_seed_same_game(self):
    first, second = self._rollout(7), self._rollout(7)
    self.assertEqual(len(first), len(second))
    for a, b in zip(first, second):
      np.testing.assert_array_equal(a, b)

  def test_different_seeds_differ(self):
    first, second = self._rollout(7, 1), self._rollout(8, 1)
    self.assertFalse(all(
        np.array_equal(a, b) for a, b in zip(first, second)))


class TaxRatePropertyTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.env = substrate.build("umd_apple_harvest__small",
                               roles=["default"] * 4, env_seed=1)
    self.env.reset()
    self.env.write_property("principal.schedule", "0.1,0.2,0.3")

  def tearDown(self):
    self.env.close()
    super().tearDown()

  def _rates(self):
    return self.env.read_property("principal.schedule")

  def test_writes_are_seen_by_the_next_step(self):
    self.env.write_property("principal.rates.2", "0.5")
    self.assertEqual(self.env.read_property("principal.rates.2"), "0.5")
    timestep = self.env.step([0] * 4)
    np.testing.assert_array_equal(
        timestep.observation[0]["WORLD.TAX_RATES"], [0.1, 0.5, 0.3])

  @parameterized.parameters("1.5", "-0.1", "nan", "inf", "abc", "")
  def test_bad_rate_is_rejected_and_old_rates_stay(self, value):
    with self.assertRaisesRegex(ValueError,
                                r"must be a finite number in \[0, 1\]"):
      self.env.write_property("principal.rates.1", value)
    self.assertEqual(self._rates(), "0.1,0.2,0.3")
    self.assertIn("[0, 1]", self.env.read_property("principal.lastError"))
    self.env.step([0] * 4)  # The Lua VM is still alive.
    self.assertEqual(self._rates(), "0.1,0.2,0.3")

  @parameterized.parameters("0.5,0.5", "0.1,0.2,2", "0.1,0.2,0.3,0.4")
  def test_bad_schedule_changes_nothing(self, value):
    with self.assertRaises(ValueError):
      self.env.write_property("principal.schedule", value)
    self.assertEqual(self._rates(), "0.1,0.2,0.3")

  def test_skills_written_are_observed_until_the_reset(self):
    self.env.write_property(substrate.SKILLS_PROPERTY, "2,0.5,1.25,1")
    self.assertEqual(self.env.read_property(substrate.SKILLS_PROPERTY),
                     "2,0.5,1.25,1")
    timestep = self.env.step([0] * 4)
    self.assertEqual([float(o["SKILL"]) for o in timestep.observation],
                     [2.0, 0.5, 1.25, 1.0])
    self.env.reset()  # Melting Pot rebuilds the level: the config's again.
    self.assertEqual(self.env.read_property(substrate.SKILLS_PROPERTY),
                     "1,1,1,1")

  @parameterized.parameters(("1,1,1", "4 comma-separated numbers > 0"),
                            ("1,1,1,0", "skills[3] must be a finite number"),
                            ("1,nan,1,1", "skills[1]"), ("", "got ''"))
  def test_bad_skills_are_refused_and_the_old_stay(self, value, message):
    with self.assertRaisesRegex(ValueError, re.escape(message)):
      self.env.write_property(substrate.SKILLS_PROPERTY, value)
    self.assertEqual(self.env.read_property(substrate.SKILLS_PROPERTY),
                     "1,1,1,1")
    self.env.step([0] * 4)  # The Lua VM is still alive.

  @parameterized.parameters("principal.rates.0", "principal.rates.4")
  def test_missing_bracket_is_not_found(self, key):
    with self.assertRaisesRegex(KeyError, "principal.rates.3"):
      self.env.write_property(key, "0.1")
    self.assertEqual(self._rates(), "0.1,0.2,0.3")

  @parameterized.parameters(
      "0.5,,0.6", ",0.1,0.2,0.3,", "0x1,0,0", "0,inf,0", "0,1_0,0", "  ",
      "0,1e,0", "0,1.5,0", "0,0,-0.1", "0,0,+.", "0,0,0 0")
  def test_schedule_is_refused_as_parse_rates_refuses_it(self, value):
    with self.assertRaises(ValueError) as python:
      schedule_lib.parse_rates(value)
    with self.assertRaises(ValueError):
      self.env.write_property("principal.schedule", value)
    self.assertEqual(self.env.read_property("principal.lastError"),
                     str(python.exception))
    self.assertEqual(self._rates(), "0.1,0.2,0.3")

  @parameterized.parameters(" 0.5 ,1e-1,\t1 ", "+.5,1.,1E0", "0,-0,5e-1")
  def test_schedule_is_accepted_as_parse_rates_accepts_it(self, value):
    self.env.write_property("principal.schedule", value)
    np.testing.assert_array_equal(
        wrapper.read_schedule(self.env), schedule_lib.parse_rates(value))

  def test_rates_reset_with_the_episode(self):
    self.env.reset()
    self.assertEqual(self._rates(), "0,0,0")


class MechanismObservationTest(absltest.TestCase):
  """PERIOD_INCOME and MARGINAL_RATE on a scripted episode with fines."""

  def test_observations_follow_the_eaters_income(self):
    config = substrate.get_config("umd_apple_harvest__small")
    with config.unlocked():
      config.max_rate = 4.0
      config.bracket_edges = (1.0, 2.0)
      config.initial_rates = (0.0, 0.5, 2.0)
      config.tax_period = 100
      config.debug_observations = True
    forward = 1
    with substrate.build_from_config(config, roles=["default"] * 4,
                                     env_seed=3) as env:
      timestep = env.reset()
      # Every player walks forward: those facing the apples eat some.
      while int(timestep.observation[0]["WORLD.PHASE"]) == 0:
        timestep = env.step([0] * 4)
      fined = False
      for _ in range(config.harvest_steps - 1):
        timestep = env.step([forward] * 4)
        for player, own in enumerate(timestep.observation):
          gross = own["WORLD.ROUND_GROSS"][player]  # One period per round.
          self.assertEqual(float(own["PERIOD_INCOME"]), gross)
          expected = 0.0 if gross < 1 else 0.5 if gross < 2 else 2.0
          self.assertEqual(float(own["MARGINAL_RATE"]), expected)
          fined |= own["WORLD.ROUND_NET"][player] < gross - 1.5
      self.assertTrue(fined, "nobody ate past the top edge")


def _greedy_harvest(env_seed: int = 1, **overrides):
  """Plays one small game, player 0 greedy and player 1 idle.

  Returns one record per HARVEST step: `ate` and `tax` (each player's apples
  and tax in the step) and `seen` (each player's own observations after it).
  """
  config = substrate.get_config("umd_apple_harvest__small")
  with config.unlocked():
    config.vote_steps = 2
    for key, value in overrides.items():
      config[key] = value
  greedy = bots.GreedyBot(num_objectives=len(config.objectives))
  state = greedy.initial_state()
  records = []
  with substrate.build_from_config(config, roles=["default"] * 2,
                                   env_seed=env_seed) as env:
    timestep = env.reset()
    gross, tax = np.zeros(2), np.zeros(2)
    while not timestep.last():
      harvest = int(timestep.observation[0]["WORLD.PHASE"]) == 1
      action, state = greedy.step(
          timestep._replace(observation=timestep.observation[0],
                            reward=timestep.reward[0]), state)
      timestep = env.step([action, 0])
      world = timestep.observation[0]
      new_gross = np.asarray(world["WORLD.ROUND_GROSS"], dtype=float)
      new_tax = np.asarray(world["WORLD.ROUND_TAX"], dtype=float)
      if harvest:
        records.append(dict(
            ate=np.rint((new_gross - gross) / config.skills[:2]
                        if config.skills else new_gross - gross),
            tax=new_tax - tax,
            seen=[{key: float(own[key]) for key in
                   ("PERIOD_INCOME", "MARGINAL_RATE")}
                  for own in timestep.observation]))
      gross, tax = new_gross, new_tax
  return records


class BracketEdgeTest(absltest.TestCase):
  """Brackets at their edges, windows and round ends, played end to end."""

  def test_ten_apples_at_skill_a_tenth_reach_edge_one(self):
    # Issue 23: the 11th apple saw period income 0.9999999999999999 and was
    # taxed 0, but 10 x 0.1 = 1 is bracket 2's lower edge.
    records = _greedy_harvest(
        rounds=1, harvest_steps=100, tax_period=100, skills=(0.1, 1.0),
        bracket_edges=(1.0,), initial_rates=(0.0, 1.0))
    apples = 0
    for record in records:
      if record["ate"][0]:
        self.assertAlmostEqual(record["tax"][0], 0.1 if apples >= 10 else 0.0,
                               places=12, msg=f"apple {apples + 1}")
        apples += 1
        if apples == 10:
          self.assertEqual(record["seen"][0]["MARGINAL_RATE"], 1.0)
    self.assertGreater(apples, 10, "player 0 never went past the edge")

  def test_a_window_of_one_step_is_the_previous_step(self):
    records = _greedy_harvest(
        rounds=1, harvest_steps=100, tax_period=100, bracket_window=1,
        bracket_edges=(1.0,), initial_rates=(0.0, 0.5))
    ate_before, taxed, untaxed = 0, 0, 0
    for step, record in enumerate(records):
      if record["ate"][0]:
        self.assertEqual(record["tax"][0], 0.5 if ate_before else 0.0,
                         f"step {step + 1}")
        taxed += bool(ate_before)
        untaxed += not ate_before
      ate_before = record["ate"][0]
      if step + 1 < len(records):
        self.assertEqual(record["seen"][0],
                         {"PERIOD_INCOME": ate_before,
                          "MARGINAL_RATE": 0.5 if ate_before else 0.0})
    self.assertGreater(taxed, 0, "never ate two steps running")
    self.assertGreater(untaxed, 0, "never ate after a step without")

  def test_a_rounds_end_shows_the_next_rounds_brackets(self):
    for window in (0, 20):
      with self.subTest(bracket_window=window):
        records = _greedy_harvest(
            rounds=2, harvest_steps=20, tax_period=20, bracket_window=window,
            bracket_edges=(1.0,), initial_rates=(0.25, 0.5))
        last, before_last = records[19]["seen"][0], records[18]["seen"][0]
        self.assertGreaterEqual(before_last["PERIOD_INCOME"], 1.0)
        self.assertEqual(before_last["MARGINAL_RATE"], 0.5)
        self.assertEqual(last, {"PERIOD_INCOME": 0.0, "MARGINAL_RATE": 0.25})
        first = next(r for r in records[20:] if r["ate"][0])
        self.assertEqual(first["tax"][0], 0.25)


if __name__ == "__main__":
  absltest.main()
