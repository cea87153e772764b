"""The PettingZoo adapter: PettingZoo's own API test, spaces and seeding."""

import warnings

from absl.testing import absltest
import numpy as np
from pettingzoo.test import parallel_api_test

from umd_meltingpot import pettingzoo

_SHORT = dict(rounds=2, steps=20, vote_steps=2)


class ParallelEnvTest(absltest.TestCase):

  def _play(self, env, seed: int, rng: np.random.Generator) -> np.ndarray:
    """Plays a whole game with random actions; returns the rewards."""
    observations, _ = env.reset(seed=seed)
    rewards = []
    while env.agents:
      for agent, observation in observations.items():
        self.assertTrue(env.observation_space(agent).contains(observation),
                        agent)
      actions = {agent: int(rng.integers(env.action_space(agent).n))
                 for agent in env.agents}
      observations, reward, _, _, _ = env.step(actions)
      rewards.append([reward[agent] for agent in sorted(reward)])
    return np.asarray(rewards)

  def test_passes_pettingzoos_parallel_api_test(self):
    env = pettingzoo.parallel_env("umd_apple_harvest__small",
                                  principal="hand_rule", **_SHORT)
    with warnings.catch_warnings():
      warnings.simplefilter("error")  # The test only warns on some faults.
      parallel_api_test(env, num_cycles=200)
    env.close()

  def test_observations_lie_in_their_spaces_and_the_game_terminates(self):
    env = pettingzoo.parallel_env("umd_apple_harvest__small", players=3,
                                  **_SHORT)
    self.assertEqual(env.possible_agents, ["player_0", "player_1",
                                           "player_2"])
    rewards = self._play(env, seed=3, rng=np.random.default_rng(0))
    self.assertLen(rewards, 2 * (20 + 2))
    self.assertEqual(env.agents, [])
    self.assertLen(env.records, 2)  # The principal wrapper ran each round.
    self.assertNotIn("WORLD.RGB", env.observation_space("player_0").spaces)
    self.assertEqual(env.state().ndim, 3)
    env.close()

  def test_same_seed_same_game(self):
    env = pettingzoo.parallel_env("umd_apple_harvest__small", **_SHORT)
    first = self._play(env, seed=5, rng=np.random.default_rng(1))
    second = self._play(env, seed=5, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(first, second)
    env.close()

  def test_bad_options_name_the_valid_ones(self):
    with self.assertRaisesRegex(ValueError, "principal"):
      pettingzoo.parallel_env("umd_apple_harvest__small", bots="greedy")
    with self.assertRaisesRegex(ValueError, "umd_apple_harvest__small"):
      pettingzoo.parallel_env("commons_harvest__open")
    with self.assertRaisesRegex(ValueError, "rgb_array"):
      pettingzoo.parallel_env("umd_apple_harvest__small", render_mode="human")


if __name__ == "__main__":
  absltest.main()
