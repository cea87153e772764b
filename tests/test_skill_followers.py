"""Followers trained with skills drawn per game (issue 22): the draw itself,
a tiny seeded run whose policy comes to depend on SKILL, and checkpoints
that record the draw and play only the games whose skills it covers."""

import json
import os
import pathlib
import shutil
import tempfile

os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

from absl.testing import absltest  # pylint: disable=g-import-not-at-top
import numpy as np

from tests import helpers
from umd_meltingpot.agents.ppo import policy
from umd_meltingpot.training import follower_env
from umd_meltingpot.training import followers as train

# A tiny game where skill decides everything: with effort 1 an apple costs
# the 0.25-skilled 0.75 and gains the 4-skilled 3, untaxed.
_LOW, _HIGH = 0.25, 4.0
_GAME = dict(substrate="umd_apple_harvest__small", rounds=1, steps=40,
             vote_steps=2, skills=(_LOW, _LOW, _HIGH, _HIGH),
             effort_cost=1.0, principal="none", seed=0)
_GAME_FLAGS = ("--substrate", "umd_apple_harvest__small", "--rounds", "1",
               "--steps", "40", "--vote-steps", "2", "--effort-cost", "1",
               "--quiet")
_PPO = train.PPOConfig(num_workers=0, envs_per_worker=4, unroll_length=40,
                       num_minibatches=4, learning_rate=3e-3, hidden_size=64,
                       observe_skill=True)
_STEPS = 3000


def _observations() -> dict[str, np.ndarray]:
  """Every player's observations over one game of random play."""
  env = follower_env.HarvestEnv(train.TrainConfig(**_GAME).game_config(123),
                                "symbolic", observe_skill=True)
  observations = [env.reset()]
  rng = np.random.default_rng(0)
  for _ in range(30):
    observation, *_ = env.step(rng.integers(0, 8, size=4))
    observations.append(observation)
  env.close()
  return {key: np.concatenate([o[key] for o in observations])
          for key in observations[0]}


def _action_probabilities(follower, observations, skill: float):
  """The follower's action distribution on `observations` with every
  player's SKILL input set to `skill` (nothing else changed)."""
  import jax  # pylint: disable=g-import-not-at-top
  vector = observations["vector"].copy()
  vector[:, -1] = skill
  logits, _ = follower.networks.apply(follower.params,
                                      dict(observations, vector=vector))
  return np.asarray(jax.nn.softmax(logits))


def _skill_effect(follower, observations) -> float:
  """Mean total-variation distance between the action distributions of the
  least and the most skilled on the same views and phi."""
  low = _action_probabilities(follower, observations, _LOW)
  high = _action_probabilities(follower, observations, _HIGH)
  return float(0.5 * np.abs(low - high).sum(axis=1).mean())


class DrawTest(absltest.TestCase):

  def test_each_game_gets_a_seeded_permutation_of_the_skills(self):
    config = train.TrainConfig(**_GAME).game_config(7)

    def skills_per_game(seed_config):
      env = follower_env.HarvestEnv(seed_config, "symbolic",
                                    observe_skill=True,
                                    skill_draw="permute")
      drawn = [tuple(env.reset()["vector"][:, -1]) for _ in range(6)]
      env.close()
      return drawn

    drawn = skills_per_game(config)
    for skills in drawn:
      self.assertEqual(sorted(skills), [_LOW, _LOW, _HIGH, _HIGH])
    self.assertGreater(len(set(drawn)), 1)  # Not the same every game.
    self.assertEqual(drawn, skills_per_game(config))  # Seeded.


class TrainedWithDrawnSkillsTest(absltest.TestCase):
  """One tiny seeded run, shared by the tests below."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp()
    cls.run_folder = str(pathlib.Path(cls.folder, "run"))
    config = train.TrainConfig(skill_draw="permute", total_steps=200,
                               out=cls.run_folder, checkpoint_every=1000,
                               **_GAME)
    train.train(train.prepare(config, _PPO), progress=False)
    # The policy after its first update, before it could learn much.
    cls.first = str(pathlib.Path(cls.folder, "first.npz"))
    shutil.copy(pathlib.Path(cls.run_folder, "checkpoint.npz"), cls.first)
    train.train(train.prepare_resume(cls.run_folder, total_steps=_STEPS),
                progress=False)
    cls.checkpoint = str(pathlib.Path(cls.run_folder, "checkpoint.npz"))

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.folder, ignore_errors=True)
    super().tearDownClass()

  def test_the_policy_comes_to_depend_on_skill(self):
    observations = _observations()
    before = _skill_effect(policy.load(self.first), observations)
    after = _skill_effect(policy.load(self.checkpoint), observations)
    # Measured: 0.009 after one update, 0.06 after 2000 env steps and 0.12
    # after 4000; a run with the skills fixed per slot reached 0.055 at
    # 2000, as the agent id tells the players apart.
    self.assertGreater(after, 4 * before, (before, after))
    self.assertGreater(after, 0.05, (before, after))

  def test_the_checkpoint_records_the_draw(self):
    saved = json.loads(
        pathlib.Path(self.run_folder, "checkpoint.json").read_text())
    self.assertEqual(saved["config"]["substrate_config"]["skill_draw"],
                     "permute")
    self.assertEqual(saved["config"]["train"]["skill_draw"], "permute")

  def test_it_plays_any_order_of_its_skills_and_refuses_others(self):
    out = self.create_tempdir().full_path
    bots = ("--bots", "ppo:" + self.checkpoint)
    code, stderr = helpers.umd_with_stderr(
        "run", *_GAME_FLAGS, *bots, "--skills", "4,0.25,0.25,4", "--out",
        out + "/permuted")
    self.assertEqual(code, 0, stderr)
    self.assertNotIn("warning", stderr)
    code, stderr = helpers.umd_with_stderr(
        "run", *_GAME_FLAGS, *bots, "--skills", "1,1,1,1", "--out",
        out + "/other")
    self.assertEqual(code, 2, stderr)
    self.assertIn("(skills (0.25,0.25,4,4) in any order, here (1,1,1,1)); "
                  "pass --allow-mismatch", stderr)
    self.assertLen(stderr.strip().splitlines(), 1)
    code, stderr = helpers.umd_with_stderr(
        "run", *_GAME_FLAGS, *bots, "--skills", "1,1,1,1",
        "--allow-mismatch", "--out", out + "/allowed")
    self.assertEqual(code, 0, stderr)
    self.assertIn("used anyway (--allow-mismatch)", stderr)


if __name__ == "__main__":
  absltest.main()
