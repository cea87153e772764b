"""Followers conditioned on phi: their observation, the curriculum's tax cap,
the policy's dependence on phi after training, resume after kill -9, the
shipped `ppo_conditioned` follower, and followers that also read their SKILL
(`--observe-skill`, widened from a checkpoint without it)."""

import json
import os
import pathlib

os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

from absl.testing import absltest  # pylint: disable=g-import-not-at-top
from absl.testing import parameterized
import jax
import numpy as np

from tests import helpers
from tests import test_train
from umd_meltingpot import agents
from umd_meltingpot.game import loop as game
from umd_meltingpot.training import followers as train
from umd_meltingpot.agents import bots
from umd_meltingpot.ppo import checkpoint as checkpoint_lib
from umd_meltingpot.agents.ppo import features
from umd_meltingpot.agents.ppo import networks as networks_lib
from umd_meltingpot.agents.ppo import policy as policy_lib
from umd_meltingpot.principal import base
from umd_meltingpot.principal import random_schedule

_MECHANISM = features.Mechanism(max_rate=4.0, edges=(1.0, 2.0))
# The conditioned follower's game: fines up to 4, brackets at 1 and 2 apples.
_FINES = ["--principal", "random", "--delta", "inf", "--brackets", "1,2",
          "--max-rate", "4", "--condition-on-mechanism"]


def _observation(rates, marginal: float, income: float,
                 skill: float = 1.0) -> dict:
  """One player's substrate observation with an empty 11x11 view."""
  return {"RGB": np.zeros(features.RGB_SHAPE, np.uint8),
          "READY_TO_SHOOT": np.float64(1.0), "PHASE": np.float64(1.0),
          "TAX_RATES": np.asarray(rates, np.float64),
          "MARGINAL_RATE": np.float64(marginal),
          "PERIOD_INCOME": np.float64(income),
          "SKILL": np.float64(skill)}


def _probabilities(follower: policy_lib.TrainedFollower,
                   observation: dict) -> np.ndarray:
  encoded = features.encode(observation, 0, follower.observation,
                            follower.mechanism, follower.observe_skill)
  logits, _ = follower.networks.apply(
      follower.params, {k: v[None] for k, v in encoded.items()})
  return np.asarray(jax.nn.softmax(logits[0]))


class FeaturesTest(absltest.TestCase):

  def test_conditioned_vector_is_the_bracket_position(self):
    encoded = features.encode(_observation((0.0, 1.0, 4.0), 1.0, 3.0), 2,
                              "symbolic", _MECHANISM)
    np.testing.assert_allclose(
        encoded["vector"],
        # READY, PHASE one-hot (vote, harvest, over), rates / 4,
        # marginal / 4, income over each edge (3/1 clipped at 2, 3/2).
        [1, 0, 1, 0, 0, 0.25, 1, 0.25, 2, 1.5])
    self.assertLen(encoded["vector"], features.vector_size(3, True))

  def test_plain_vector_keeps_the_shipped_layout(self):
    encoded = features.encode(_observation((0.0, 1.0, 4.0), 1.0, 3.0), 2,
                              "symbolic")
    np.testing.assert_allclose(encoded["vector"], [1, 0, 1, 0, 0, 1, 4])

  def test_skill_is_last_and_equals_the_observation(self):
    observation = _observation((0.0, 1.0, 4.0), 1.0, 3.0, skill=0.37)
    conditioned = features.encode(observation, 2, "symbolic", _MECHANISM,
                                  skill=True)["vector"]
    self.assertLen(conditioned, features.vector_size(3, True, skill=True))
    self.assertEqual(conditioned[features.vector_size(3, True)],
                     np.float32(0.37))
    np.testing.assert_array_equal(  # The rest is the conditioned layout.
        conditioned[:-1], features.encode(observation, 2, "symbolic",
                                          _MECHANISM)["vector"])
    plain = features.encode(observation, 2, "symbolic", skill=True)["vector"]
    np.testing.assert_allclose(plain, [1, 0, 1, 0, 0, 1, 4, 0.37])
    players = features.encode_players(
        [_observation((0, 0, 0), 0, 0, skill=s) for s in (0.5, 2.5)],
        "symbolic", _MECHANISM, skill=True)["vector"]
    np.testing.assert_array_equal(players[:, -1], np.float32([0.5, 2.5]))

  def test_without_the_option_skill_is_ignored(self):
    low, high = (features.encode(_observation((0, 4, 4), 0, 0, skill=s), 0,
                                 "symbolic", _MECHANISM)["vector"]
                 for s in (0.2, 3.0))
    np.testing.assert_array_equal(low, high)
    self.assertLen(low, features.vector_size(3, True))

  def test_edges_must_match_the_rates(self):
    with self.assertRaisesRegex(ValueError, "2 bracket edges.*2 rates"):
      features.encode(_observation((0.0, 4.0), 0.0, 0.0), 0, "symbolic",
                      _MECHANISM)


class CurriculumTest(parameterized.TestCase):

  @parameterized.parameters(
      (0, 0.0), (99, 0.0), (100, 0.0), (150, 2.0), (200, 4.0), (10**6, 4.0))
  def test_tax_cap(self, env_steps, cap):
    self.assertAlmostEqual(train.tax_cap(env_steps, 100, 100, 4.0), cap)

  def test_no_anneal_gives_the_whole_cap_after_pretraining(self):
    self.assertEqual(train.tax_cap(5, 10, 0, 4.0), 0.0)
    self.assertEqual(train.tax_cap(10, 10, 0, 4.0), 4.0)

  def test_random_principal_draws_under_its_cap(self):
    principal = random_schedule.RandomPrincipal(seed=1)
    observation = base.RoundObservation(
        round_index=0, previous_rates=np.zeros(3), edges=(1.0, 2.0),
        max_rate=4.0, objective="utilitarian", apples_alive=22)
    draws = np.array([principal.propose(observation, "utilitarian")
                      for _ in range(200)])
    self.assertGreater(draws.max(), 3.5)  # Uncapped: all of [0, max_rate].
    principal.set_cap(0.5)
    draws = np.array([principal.propose(observation, "utilitarian")
                      for _ in range(200)])
    self.assertLessEqual(draws.max(), 0.5)
    self.assertGreater(draws.max(), 0.4)
    principal.set_cap(0.0)
    self.assertEqual(principal.propose(observation, "x").max(), 0.0)
    for bad in (-1.0, float("nan")):
      with self.assertRaisesRegex(ValueError, "number >= 0"):
        principal.set_cap(bad)

  def test_tax_cap_is_the_top_of_the_curriculum(self):
    out = self.create_tempdir().full_path + "/run"
    prepared = train.prepare(
        train.TrainConfig(substrate="umd_apple_harvest__small", rounds=1,
                          steps=20, vote_steps=2, total_steps=120,
                          principal="random", anneal_steps=60, tax_cap=0.5,
                          out=out),
        train.PPOConfig(num_workers=0, envs_per_worker=1, unroll_length=10,
                        num_minibatches=1, num_epochs=1))
    train.train(prepared, progress=False)
    caps = [json.loads(line)["charts/tax_cap"] for line in
            pathlib.Path(out, "metrics.jsonl").read_text().splitlines()]
    self.assertEqual(caps[0], 0.0)  # The anneal starts from no tax...
    self.assertEqual(caps[-1], 0.5)  # ...and rises to the cap, not max_rate.
    self.assertEqual(caps, sorted(caps))

  def test_curriculum_needs_the_random_principal(self):
    code, stderr = helpers.umd_with_stderr(
        "train", "followers", "--principal", "fixed", "--pretrain-steps",
        "10", "--out", self.create_tempdir().full_path + "/run")
    self.assertEqual(code, 2)
    self.assertIn("need --principal random, got 'fixed'", stderr)
    self.assertLen(stderr.strip().splitlines(), 1)


class InitFromTest(absltest.TestCase):

  def test_starts_from_the_checkpoint_and_refuses_another_network(self):
    shipped = str(policy_lib.DEFAULT_CHECKPOINT)  # Plain, hidden size 128.
    out = self.create_tempdir().full_path + "/run"
    prepared = train.prepare(
        train.TrainConfig(substrate="umd_apple_harvest__small", rounds=1,
                          steps=20, vote_steps=2, total_steps=1,
                          init_from=shipped, out=out),
        train.PPOConfig(num_workers=0, envs_per_worker=1, unroll_length=10,
                        num_minibatches=1, num_epochs=1,
                        learning_rate=1e-9))
    train.train(prepared, progress=False)
    started = policy_lib.load(out + "/checkpoint.npz").params
    jax.tree_util.tree_map(
        lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5),
        dict(started), dict(policy_lib.load(shipped).params))
    code, stderr = helpers.umd_with_stderr(
        "train", "followers", *_FINES, "--init-from", shipped, "--out",
        self.create_tempdir().full_path + "/other")
    self.assertEqual(code, 2)
    self.assertIn("--init-from", stderr)
    self.assertLen(stderr.strip().splitlines(), 1)


class PhiDependenceTest(absltest.TestCase):

  def test_same_view_two_phis_give_different_actions(self):
    out = self.create_tempdir().full_path + "/run"
    prepared = train.prepare(
        train.TrainConfig(
            substrate="umd_apple_harvest__small", rounds=2, steps=40,
            vote_steps=2, principal="random", delta=float("inf"),
            brackets=(1.0, 2.0), max_rate=4.0, total_steps=1500, seed=0,
            out=out, anneal_steps=500),
        train.PPOConfig(num_workers=0, envs_per_worker=2, unroll_length=20,
                        num_minibatches=2, hidden_size=32,
                        condition_on_mechanism=True))
    train.train(prepared, progress=False)
    follower = policy_lib.load(out + "/checkpoint.npz")
    self.assertEqual(follower.mechanism, _MECHANISM)
    untaxed = _probabilities(follower, _observation((0, 0, 0), 0.0, 0.0))
    fined = _probabilities(follower, _observation((4, 4, 4), 4.0, 0.0))
    # Total variation between the two action distributions.
    self.assertGreater(0.5 * np.abs(untaxed - fined).sum(), 1e-3)
    # The bracket position alone (same rates) moves it too.
    past_edge = _probabilities(follower, _observation((0, 4, 4), 4.0, 1.0))
    below = _probabilities(follower, _observation((0, 4, 4), 0.0, 0.0))
    self.assertGreater(0.5 * np.abs(past_edge - below).sum(), 1e-4)

  def test_the_plain_follower_ignores_the_bracket_position(self):
    follower = policy_lib.load(policy_lib.DEFAULT_CHECKPOINT)
    self.assertIsNone(follower.mechanism)
    np.testing.assert_array_equal(
        _probabilities(follower, _observation((0, 0, 0), 0.0, 0.0)),
        _probabilities(follower, _observation((0, 0, 0), 1.0, 7.0)))


class ResumeTest(absltest.TestCase):

  def test_curriculum_resumes_after_kill_9(self):
    out, records = test_train.check_resume_after_kill_9(
        self, [*_FINES, "--pretrain-steps", "300", "--anneal-steps", "2000",
               "--num-workers", "1"], past_updates=6, more_steps=300)
    # Each update's cap is the curriculum's at the env steps before it, on
    # both sides of the kill: the position came back from the counters.
    before = [0] + [r["env_steps"] for r in records[:-1]]
    for record, steps in zip(records, before):
      self.assertAlmostEqual(record["charts/tax_cap"],
                             train.tax_cap(steps, 300, 2000, 4.0))
    self.assertEqual(records[0]["charts/tax_cap"], 0.0)
    self.assertGreater(records[-1]["charts/tax_cap"], 0.0)
    follower = policy_lib.load(pathlib.Path(out, "checkpoint.npz"))
    self.assertEqual(follower.mechanism, _MECHANISM)


class ShippedConditionedTest(absltest.TestCase):

  _PATH = policy_lib.DEFAULT_CHECKPOINT.with_name(
      "ppo_conditioned_small.npz")

  def test_ships_loads_and_plays(self):
    self.assertTrue(self._PATH.is_file())
    self.assertLess(self._PATH.stat().st_size, 10_000_000)
    bot = agents.make_bot(agents.PPO_CONDITIONED, player=1,
                          voter=bots.Voter.truthful((0.5, 0.3, 0.2), "borda"))
    self.assertIsInstance(bot, policy_lib.PPOPolicy)
    out = self.create_tempdir().full_path + "/run"
    code, stderr = helpers.umd_with_stderr(
        "run", "--substrate", "umd_apple_harvest__small", "--bots",
        "ppo_conditioned", "--brackets", "1,2", "--max-rate", "4",
        "--phi0", "0,4,4", "--delta", "inf", "--rounds", "1", "--steps",
        "30", "--quiet", "--out", out)
    self.assertEqual(code, 0, stderr)
    rounds = pathlib.Path(out, "rounds.jsonl").read_text().splitlines()
    self.assertLen(rounds, 1)

  def test_refuses_other_brackets_with_one_line(self):
    code, stderr = helpers.umd_with_stderr(
        "run", "--substrate", "umd_apple_harvest__small", "--bots",
        "ppo_conditioned", "--brackets", "5,10", "--max-rate", "4",
        "--out", self.create_tempdir().full_path + "/run")
    self.assertEqual(code, 2)
    self.assertIn("bracket edges (1,2), here (5,10)", stderr)
    self.assertLen(stderr.strip().splitlines(), 1)

  def test_bot_names_list_it(self):
    self.assertIn("ppo_conditioned", agents.bot_names())
    self.assertTrue(game.prepare(game.GameConfig(
        bots="ppo_conditioned", brackets=(1.0, 2.0), max_rate=4.0,
        phi0=(0.0, 4.0, 4.0)), agents.FACTORY).bot_names)



class ShippedUnequalTest(parameterized.TestCase):
  """The shipped followers of the unequal economy: they read their SKILL
  and play it; `ppo_skilled_unequal` was trained with skills drawn per game
  and plays any order of the economy's skills."""

  @parameterized.parameters(
      (agents.PPO_CONDITIONED_UNEQUAL, "ppo_conditioned_unequal.npz", None),
      (agents.PPO_SKILLED_UNEQUAL, "ppo_skilled_unequal.npz", "permute"),
      (agents.PPO_SKILLED_UNIFORM, "ppo_skilled_uniform.npz",
       "uniform:0.4,2.5", "umd_apple_harvest__unequal_wide"))
  def test_ships_loads_and_plays_the_unequal_game(
      self, name, file_name, draw, substrate="umd_apple_harvest__unequal"):
    path = policy_lib.DEFAULT_CHECKPOINT.with_name(file_name)
    self.assertTrue(path.is_file())
    self.assertLess(path.stat().st_size, 10_000_000)
    follower = policy_lib.load(path)
    self.assertTrue(follower.observe_skill)
    self.assertEqual(follower.mechanism, _MECHANISM)
    self.assertIn("SKILL", policy_lib.observations_read(follower))
    self.assertEqual(follower.game.get("skill_draw"), draw)
    bot = agents.make_bot(name, player=0,
                          voter=bots.Voter.truthful((0.5, 0.3, 0.2), "borda"))
    self.assertIsInstance(bot, policy_lib.PPOPolicy)
    self.assertIn(name, agents.bot_names())
    out = self.create_tempdir().full_path + "/run"
    skills = () if draw != "permute" else (
        "--skills", "1.6649127243307686,0.629277860458036,"
        "0.9612378095696024,0.7445716056415933")
    code, stderr = helpers.umd_with_stderr(
        "run", "--substrate", substrate, "--bots",
        name, "--phi0", "0,4,4", "--delta", "inf", *skills,
        "--rounds", "1", "--steps", "30", "--quiet", "--out", out)
    self.assertEqual(code, 0, stderr)
    self.assertNotIn("warning", stderr)
    rounds = pathlib.Path(out, "rounds.jsonl").read_text().splitlines()
    self.assertLen(rounds, 1)


class ObserveSkillTest(absltest.TestCase):
  """--observe-skill: the option recorded, old checkpoints unchanged, and the
  widening --init-from of a follower trained without it."""

  _CONDITIONED = policy_lib.DEFAULT_CHECKPOINT.with_name(
      "ppo_conditioned_small.npz")

  def _skill_config(self, **changes) -> train.PPOConfig:
    saved = checkpoint_lib.load(self._CONDITIONED).config["ppo"]
    return train.PPOConfig(**{**saved, "observe_skill": True, **changes})

  def test_old_checkpoints_read_no_skill(self):
    follower = policy_lib.load(self._CONDITIONED)
    self.assertFalse(follower.observe_skill)
    self.assertNotIn("SKILL", policy_lib.observations_read(follower))
    # It plays an unequal economy as before: SKILL changes nothing.
    np.testing.assert_array_equal(
        _probabilities(follower, _observation((0, 4, 4), 4.0, 1.0, 0.3)),
        _probabilities(follower, _observation((0, 4, 4), 4.0, 1.0, 2.9)))

  def test_widened_init_is_exactly_the_old_policy(self):
    old = policy_lib.load(self._CONDITIONED)
    ppo = self._skill_config()
    params = train._initial_params(str(self._CONDITIONED), ppo, 4, 3)  # pylint: disable=protected-access
    widened = old._replace(
        params=params, observe_skill=True,
        networks=networks_lib.make_networks_from_config(ppo, 3))
    rng = np.random.default_rng(0)
    for _ in range(5):
      observation = _observation(rng.uniform(0, 4, 3), rng.uniform(0, 4),
                                 rng.uniform(0, 3), rng.uniform(0.1, 3))
      observation["RGB"] = rng.integers(0, 256, features.RGB_SHAPE,
                                        dtype=np.uint8)
      np.testing.assert_array_equal(_probabilities(widened, observation),
                                    _probabilities(old, observation))
      # Its value too: the critic is widened the same way.
      encoded = {k: v[None] for k, v in features.encode(
          observation, 0, "symbolic", old.mechanism, True).items()}
      narrow = {k: v[None] for k, v in features.encode(
          observation, 0, "symbolic", old.mechanism).items()}
      np.testing.assert_array_equal(
          widened.networks.apply(params, encoded)[1],
          old.networks.apply(old.params, narrow)[1])
    # The skill's weights start at zero and nowhere else.
    row = features.vector_size(3, True)
    for mlp in ("actor", "critic"):
      w = np.asarray(params[mlp]["hidden_0"]["w"])
      offset = w.shape[0] - features.vector_size(3, True, True) - 16 + row
      np.testing.assert_array_equal(w[offset], 0.0)
      np.testing.assert_array_equal(
          np.delete(w, offset, axis=0),
          np.asarray(old.params[mlp]["hidden_0"]["w"]))

  def test_other_shape_differences_are_refused_naming_the_entry(self):
    with self.assertRaisesRegex(
        ValueError, r"--init-from .*does not match the network: "
        r"params/actor/\S+ has shape"):
      train._initial_params(str(self._CONDITIONED),  # pylint: disable=protected-access
                            self._skill_config(hidden_size=64), 4, 3)
    with self.assertRaisesRegex(ValueError, "does not match the network"):
      train._initial_params(  # Plain ppo_small: no mechanism inputs.  # pylint: disable=protected-access
          str(policy_lib.DEFAULT_CHECKPOINT), self._skill_config(), 4, 3)

  def test_the_input_and_a_fresh_policy_depend_on_skill(self):
    ppo = self._skill_config(hidden_size=32)
    networks = networks_lib.make_networks_from_config(ppo, 3)
    follower = policy_lib.load(self._CONDITIONED)._replace(
        params=networks.init(jax.random.PRNGKey(1)), networks=networks,
        observe_skill=True)
    self.assertIn("SKILL", policy_lib.observations_read(follower))
    low = _probabilities(follower, _observation((0, 4, 4), 4.0, 1.0, 0.3))
    high = _probabilities(follower, _observation((0, 4, 4), 4.0, 1.0, 2.9))
    self.assertGreater(0.5 * np.abs(low - high).sum(), 1e-6)


class SkillTrainingTest(absltest.TestCase):
  """Through `umd train followers` on the unequal economy: a follower trained
  without SKILL, widened with --observe-skill, starts as itself and learns to
  use its skill."""

  _UNEQUAL = dict(substrate="umd_apple_harvest__unequal", rounds=1,
                  steps=40, vote_steps=2, principal="random",
                  delta=float("inf"))
  _TINY_PPO = dict(num_workers=0, envs_per_worker=2, unroll_length=20,
                   num_minibatches=2, hidden_size=32,
                   condition_on_mechanism=True)

  def _train(self, total_steps: int, init_from=None, **ppo) -> str:
    out = self.create_tempdir().full_path + "/run"
    train.train(train.prepare(
        train.TrainConfig(**self._UNEQUAL, total_steps=total_steps, seed=3,
                          init_from=init_from, out=out),
        train.PPOConfig(**{**self._TINY_PPO, **ppo})), progress=False)
    return out + "/checkpoint.npz"

  def test_widened_start_is_the_old_policy_then_skill_matters(self):
    narrow_path = self._train(400)
    narrow = policy_lib.load(narrow_path)
    self.assertFalse(narrow.observe_skill)
    started = policy_lib.load(self._train(
        1, narrow_path, observe_skill=True, learning_rate=1e-9))
    self.assertTrue(started.observe_skill)
    low_skill = _observation((0, 4, 4), 4.0, 1.0, skill=0.63)
    high_skill = _observation((0, 4, 4), 4.0, 1.0, skill=1.66)
    for observation in (low_skill, high_skill):
      np.testing.assert_allclose(_probabilities(started, observation),
                                 _probabilities(narrow, observation),
                                 atol=1e-5)
    trained = policy_lib.load(self._train(
        800, narrow_path, observe_skill=True, learning_rate=3e-3))
    low, high = (_probabilities(trained, o) for o in (low_skill, high_skill))
    self.assertGreater(0.5 * np.abs(low - high).sum(), 1e-4)


if __name__ == "__main__":
  absltest.main()
