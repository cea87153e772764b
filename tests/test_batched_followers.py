"""PPO followers of one network act in one call per step, as one by one.

`agents.FACTORY` puts the `PPOPolicy`s of a game that share a network in a
`PPOTeam`, which `game.loop.play_episode` steps in one jitted call. The
actions and states must be those of each policy's own `step`, to the bit.
"""

import os

os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

from typing import Any, Sequence  # pylint: disable=g-import-not-at-top

from absl.testing import absltest
from absl.testing import parameterized
import dm_env
import numpy as np

from umd_meltingpot import agents
from umd_meltingpot.agents.ppo import policy as policy_lib
from umd_meltingpot.game import loop as game
from umd_meltingpot.substrates import phases

_CONDITIONED = dict(
    substrate="umd_apple_harvest__small", players=4, bots="ppo_conditioned",
    brackets=(1.0, 2.0), max_rate=4.0, phi0=(0.0, 4.0, 4.0),
    principal="fixed", delta=float("inf"))


def _prepare(**overrides: Any) -> game.PreparedGame:
  return game.prepare(game.GameConfig(**{**_CONDITIONED, **overrides}),
                      agents.FACTORY)


def _assert_same_steps(test: absltest.TestCase, one: Sequence[Any],
                       batched: Sequence[Any]) -> None:
  """Equal (action, state) pairs, the states' keys bit for bit."""
  test.assertEqual([action for action, _ in one],
                   [action for action, _ in batched])
  for (_, expected), (_, state) in zip(one, batched):
    test.assertEqual(expected.vote_step, state.vote_step)
    np.testing.assert_array_equal(expected.key, state.key)
    test.assertEqual(np.asarray(expected.key).dtype,
                     np.asarray(state.key).dtype)


class _ActionLog:
  """An environment that records the actions it is stepped with."""

  def __init__(self, env: Any):
    self._env = env
    self.actions: list[list[int]] = []

  def __getattr__(self, name: str) -> Any:
    return getattr(self._env, name)

  def step(self, actions: Sequence[int]) -> dm_env.TimeStep:
    self.actions.append(list(actions))
    return self._env.step(actions)


def _play(prepared: game.PreparedGame, bots: Sequence[Any]
          ) -> tuple[list[list[int]], list[Any]]:
  """Every step's actions and the round records of one game."""
  with game.build_environment(prepared) as env:
    log = _ActionLog(env)
    game.play_episode(log, bots)
    return log.actions, [record.to_json() for record in env.records]


class BatchedFollowersTest(parameterized.TestCase):

  def test_the_factory_puts_one_networks_followers_in_one_team(self):
    bots = game.build_bots(_prepare(bots="ppo_conditioned,greedy"))
    ppo = [bot for bot in bots if isinstance(bot, policy_lib.PPOPolicy)]
    self.assertLen(ppo, 2)
    self.assertIsNotNone(ppo[0].team)
    self.assertIs(ppo[0].team, ppo[1].team)
    self.assertIsNone(getattr(bots[1], "team", None))

  def test_other_networks_and_greediness_get_other_teams(self):
    follower = policy_lib.load(agents.ppo_checkpoint("ppo_conditioned"))
    other = policy_lib.load(agents.ppo_checkpoint("ppo"))
    bots = [policy_lib.PPOPolicy(follower, agent_id=0),
            policy_lib.PPOPolicy(follower, agent_id=1, greedy=True),
            policy_lib.PPOPolicy(other, agent_id=2),
            policy_lib.PPOPolicy(follower, agent_id=3)]
    self.assertIsNone(bots[0].team)  # A policy alone has none.
    policy_lib.form_teams(bots)
    self.assertLen({id(bot.team) for bot in bots}, 3)
    self.assertIs(bots[0].team, bots[3].team)

  @parameterized.named_parameters(("seed1000", 1000), ("seed7", 7))
  def test_step_all_is_step_one_by_one_over_a_whole_game(self, seed):
    # Both step every player on the same timesteps, a whole game long (its
    # VOTE steps, the first step's seeding and 500 HARVEST steps).
    prepared = _prepare(seed=seed)
    bots = game.build_bots(prepared)
    team = bots[0].team
    states = [bot.initial_state() for bot in bots]
    harvest_steps = 0
    with game.build_environment(prepared) as env:
      timestep = env.reset()
      while not timestep.last():
        timesteps = [game.player_timestep(timestep, player)
                     for player in range(len(bots))]
        one = [bot.step(own, state)
               for bot, own, state in zip(bots, timesteps, states)]
        batched = list(zip(*team.step_all(bots, timesteps, states)))
        _assert_same_steps(self, one, batched)
        harvest_steps += int(timesteps[0].observation["PHASE"]) == int(
            phases.Phase.HARVEST)
        states = [state for _, state in one]
        timestep = env.step([action for action, _ in one])
    self.assertEqual(harvest_steps, 500)

  @parameterized.parameters(False, True)
  def test_step_all_is_step_on_many_random_harvest_views(self, greedy):
    # Random cells, incomes, ids and keys: many more logits than a game's,
    # any of whose last bits could flip a sample if batching changed it.
    follower = policy_lib.load(agents.ppo_checkpoint("ppo_conditioned"))
    bots = [policy_lib.PPOPolicy(follower, agent_id=player, greedy=greedy)
            for player in range(8)]
    policy_lib.form_teams(bots)
    rng = np.random.default_rng(0)
    for _ in range(40):
      timesteps = [dm_env.transition(0.0, {
          "GRID": rng.integers(0, 4, (11, 11)).astype(np.int8),
          "READY_TO_SHOOT": np.float64(rng.integers(0, 2)),
          "PHASE": np.float64(rng.choice([0.0, 1.0, 1.0, 1.0, 2.0])),
          "TAX_RATES": rng.uniform(0, 4, 3),
          "MARGINAL_RATE": np.float64(rng.uniform(0, 4)),
          "PERIOD_INCOME": np.float64(rng.uniform(0, 5)),
          "FIRST_RGB_CRC32": np.float64(rng.integers(0, 2**32)),
      }) for _ in bots]
      states = [policy_lib.PolicyState(
          key=rng.integers(0, 2**32, 2, dtype=np.uint32),
          vote_step=int(rng.integers(0, 3))) for _ in bots]
      one = [bot.step(own, state)
             for bot, own, state in zip(bots, timesteps, states)]
      batched = list(zip(*bots[0].team.step_all(bots, timesteps, states)))
      _assert_same_steps(self, one, batched)

  def test_play_episode_batched_plays_the_game_one_by_one_plays(self):
    prepared = _prepare(seed=3)
    alone = game.build_bots(prepared)
    for bot in alone:
      bot.team = None  # Each steps on its own.
    batched_actions, batched_records = _play(prepared,
                                             game.build_bots(prepared))
    actions, records = _play(prepared, alone)
    self.assertEqual(batched_actions, actions)
    self.assertEqual(batched_records, records)

  def test_a_team_and_bots_alone_share_a_game(self):
    # Heuristic bots step one by one between the team's players.
    prepared = _prepare(bots="ppo_conditioned,greedy", seed=4, rounds=2)
    alone = game.build_bots(prepared)
    for bot in alone:
      if isinstance(bot, policy_lib.PPOPolicy):
        bot.team = None
    self.assertEqual(_play(prepared, game.build_bots(prepared)),
                     _play(prepared, alone))


if __name__ == "__main__":
  absltest.main()
