"""Followers conditioned on phi: their observation, the curriculum's tax cap,
the policy's dependence on phi after training, resume after kill -9, and the
shipped `ppo_conditioned` follower."""

import json
import os
import pathlib
import signal
import subprocess

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
from umd_meltingpot import game
from umd_meltingpot import train
from umd_meltingpot.agents import bots
from umd_meltingpot.agents.ppo import features
from umd_meltingpot.agents.ppo import policy as policy_lib
from umd_meltingpot.principal import base
from umd_meltingpot.principal import random_schedule

_MECHANISM = features.Mechanism(max_rate=4.0, edges=(1.0, 2.0))
# The conditioned follower's game: fines up to 4, brackets at 1 and 2 apples.
_FINES = ["--principal", "random", "--delta", "inf", "--brackets", "1,2",
          "--max-rate", "4", "--condition-on-mechanism"]


def _observation(rates, marginal: float, income: float) -> dict:
  """One player's substrate observation with an empty 11x11 view."""
  return {"RGB": np.zeros(features.RGB_SHAPE, np.uint8),
          "READY_TO_SHOOT": np.float64(1.0), "PHASE": np.float64(1.0),
          "TAX_RATES": np.asarray(rates, np.float64),
          "MARGINAL_RATE": np.float64(marginal),
          "PERIOD_INCOME": np.float64(income)}


def _probabilities(follower: policy_lib.TrainedFollower,
                   observation: dict) -> np.ndarray:
  encoded = features.encode(observation, 0, follower.observation,
                            follower.mechanism)
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
    out = self.create_tempdir().full_path + "/run"
    command = helpers.umd_command(
        "train", "followers", *test_train._TINY, *test_train._TINY_PPO,
        *_FINES, "--pretrain-steps", "300", "--anneal-steps", "2000",
        "--num-workers", "1", "--total-steps", "100000",
        "--checkpoint-every", "3", "--seed", "4", "--quiet", "--out", out)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
      test_train._wait_past_a_checkpoint(out, 6, process)
    finally:
      os.killpg(process.pid, signal.SIGKILL)  # The trainer and its worker.
      process.wait()
    saved = json.loads(pathlib.Path(out, "checkpoint.json").read_text())
    updates = saved["counters"]["updates"]
    env_steps = saved["counters"]["env_steps"]
    resumed = helpers.run_umd("train", "followers", "--resume", out,
                              "--total-steps", str(env_steps + 300),
                              "--quiet", timeout=150)
    self.assertEqual(resumed.returncode, 0, resumed.stderr[-2000:])
    records = test_train._metrics(out)
    self.assertEqual([r["updates"] for r in records],
                     list(range(1, len(records) + 1)))
    self.assertGreater(len(records), updates + 1)
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
                          voter=bots.Voter.truthful((0.5, 0.3, 0.2)))
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
        phi0=(0.0, 4.0, 4.0))).bot_names)


if __name__ == "__main__":
  absltest.main()
