"""The PettingZoo adapter: PettingZoo's own API tests (parallel and AEC),
exact spaces, round records in infos, and seeding."""

import warnings

from absl.testing import absltest
import gymnasium
import numpy as np
from pettingzoo.test import api_test
from pettingzoo.test import parallel_api_test

from umd_meltingpot.game import pettingzoo
from umd_meltingpot.substrates import phases

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

  def test_spaces_are_exact(self):
    env = pettingzoo.parallel_env("umd_apple_harvest__small", players=3,
                                  max_rate=2.0, **_SHORT)
    space = env.observation_space("player_0").spaces
    self.assertEqual(space["PHASE"], gymnasium.spaces.Discrete(3))
    self.assertEqual(space["PHASE"].n, len(phases.Phase))
    for key, high, shape in (("TAX_RATES", 2.0, (3,)),
                             ("MARGINAL_RATE", 2.0, ()),
                             ("PERIOD_INCOME", np.inf, ()),
                             ("SKILL", np.inf, ()),
                             ("VOTING", 3.0, (3, 3)),
                             ("READY_TO_SHOOT", 1.0, ())):
      self.assertIsInstance(space[key], gymnasium.spaces.Box, key)
      self.assertEqual(space[key].shape, shape, key)
      np.testing.assert_array_equal(space[key].low, 0.0, key)
      np.testing.assert_array_equal(space[key].high, high, key)
    # A rate above the cap, a phase code out of range: outside the spaces.
    self.assertFalse(space["TAX_RATES"].contains(np.array([0, 0, 2.5])))
    self.assertFalse(space["PHASE"].contains(np.int64(3)))
    env.close()

  def test_phases_and_rates_are_observed_within_their_spaces(self):
    env = pettingzoo.parallel_env("umd_apple_harvest__small",
                                  principal="random", max_rate=3.0,
                                  delta=float("inf"), **_SHORT)
    observations, _ = env.reset(seed=2)
    seen = set()
    rng = np.random.default_rng(0)
    while env.agents:
      observation = observations["player_0"]
      seen.add(int(observation["PHASE"]))
      self.assertTrue(env.observation_space("player_0").contains(
          observation))
      observations, *_ = env.step({
          agent: int(rng.integers(env.action_space(agent).n))
          for agent in env.agents})
    seen.add(int(observations["player_0"]["PHASE"]))  # The last one.
    self.assertEqual(seen, {phases.Phase.VOTE, phases.Phase.HARVEST,
                            phases.Phase.OVER})
    self.assertTrue(any(max(r.phi) > 1.0 for r in env.records))
    env.close()

  def test_infos_carry_the_round_records_at_round_ends(self):
    env = pettingzoo.parallel_env("umd_apple_harvest__small", **_SHORT)
    env.reset(seed=4)
    ends = []
    step = 0
    while env.agents:
      _, _, _, _, infos = env.step({agent: 1 for agent in env.agents})
      step += 1
      with_record = [agent for agent, info in infos.items() if info]
      if with_record:
        self.assertEqual(with_record, list(infos))  # Every agent gets it.
        ends.append((step, infos["player_0"]["round"]))
    self.assertEqual([s for s, _ in ends], [22, 44])  # V + T = 22 steps.
    self.assertEqual([r["round"] for _, r in ends], [1, 2])
    env.close()
    # close() does not lose them.
    self.assertEqual([r.to_json() for r in env.records],
                     [r for _, r in ends])

  def test_the_aec_env_passes_pettingzoos_api_test(self):
    env = pettingzoo.env("umd_apple_harvest__small", principal="hand_rule",
                         **_SHORT)
    with warnings.catch_warnings(record=True) as caught:
      warnings.simplefilter("always")
      api_test(env, num_cycles=60)
    # api_test advises these of every Dict observation space but those of
    # PettingZoo's own envs (its `env_obs_dicts`, `env_obs_space` lists);
    # Melting Pot's observations are dicts. Any other warning is a fault.
    dict_advice = {
        "Observation is not a NumPy array",
        "Observation space for each agent probably should be "
        "gymnasium.spaces.box or gymnasium.spaces.discrete"}
    self.assertContainsSubset({str(w.message) for w in caught}, dict_advice)
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
