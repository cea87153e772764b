"""Tests for umd_meltingpot.agents: the view parser and the heuristic bots."""

from typing import Sequence

from absl.testing import absltest
from absl.testing import parameterized
import dm_env
from meltingpot.testing import bots as bots_testing
from meltingpot.utils.substrates import colors
import numpy as np
import tree

from tests import helpers
from umd_meltingpot import agents
from umd_meltingpot import substrate
from umd_meltingpot.agents import bots
from umd_meltingpot.agents import observation as obs_lib
from umd_meltingpot.substrates import phases
from umd_meltingpot.substrates import umd_apple_harvest

Cell = obs_lib.Cell
_SUBSTRATE = "umd_apple_harvest__small"
_FACTORY = substrate.get_factory(_SUBSTRATE)
_VOTE_0 = obs_lib.NUM_COMMONS_ACTIONS  # VOTE_UTILITARIAN.

# Colours for synthetic views.
_FLOOR = (220, 205, 185)
_APPLE = (214, 88, 88)
_WALL = (95, 95, 95)
_SELF = (50, 100, 200)
_RED_PLAYER = colors.human_readable[3]  # (245, 65, 65): red, not an apple.


def _small_config(**overrides):
  config = substrate.get_config(_SUBSTRATE)
  with config.unlocked():
    for field, value in overrides.items():
      config[field] = value
  return config.lock()


def _view(cells: dict[tuple[int, int], str]) -> np.ndarray:
  """An 88 x 88 floor view with some cells painted: apple, wall, etc."""
  rgb = np.zeros((88, 88, 3), dtype=np.uint8)
  rgb[...] = _FLOOR
  for (row, col), kind in cells.items():
    cell = rgb[row * 8:row * 8 + 8, col * 8:col * 8 + 8]
    if kind == "apple":
      cell[2:5, 2:6] = _APPLE  # 12 body pixels, like the apple sprite.
    elif kind == "wall":
      cell[...] = _WALL
    elif kind == "void":
      cell[...] = 0
    elif kind == "avatar":
      cell[1:6, 2:6] = _RED_PLAYER
    elif kind == "self":
      cell[1:6, 2:6] = _SELF
  return rgb


def _timestep(rgb: np.ndarray, phase: float,
              ready: float = 1.0) -> dm_env.TimeStep:
  """A single-player MID timestep with the given view and phase."""
  spec = _FACTORY.timestep_spec()
  observation = dict(tree.map_structure(lambda s: s.generate_value(),
                                        spec.observation))
  observation.update(RGB=rgb, PHASE=np.float64(phase),
                     READY_TO_SHOOT=np.float64(ready))
  return dm_env.transition(reward=0.0, observation=observation)


def _player(timestep: dm_env.TimeStep, index: int) -> dm_env.TimeStep:
  """Player `index`'s single-player timestep, as a Population sends it."""
  return timestep._replace(observation=timestep.observation[index],
                           reward=timestep.reward[index])


def _play(config, policies: Sequence, env_seed: int):
  """Plays one episode; returns per-player returns and (phase, action) logs."""
  roles = ["default"] * len(policies)
  with substrate.build_from_config(config, roles=roles,
                                   env_seed=env_seed) as env:
    states = [p.initial_state() for p in policies]
    timestep = env.reset()
    returns = np.zeros(len(policies))
    logs = [[] for _ in policies]
    while not timestep.last():
      actions = []
      for i, policy in enumerate(policies):
        action, states[i] = policy.step(_player(timestep, i), states[i])
        logs[i].append((int(timestep.observation[i]["PHASE"]), action))
        actions.append(action)
      timestep = env.step(actions)
      returns += np.asarray(timestep.reward)
  return returns, logs


class CompatibilityTest(bots_testing.BotTestCase):

  @parameterized.parameters(*sorted(agents.BOTS))
  def test_matches_substrate_specs(self, name):
    voter = bots.Voter.truthful((0.1, 0.7, 0.2), "borda")
    policy = agents.make_bot(name, seed=3, voter=voter)
    self.assert_compatible(policy, _FACTORY.timestep_spec(),
                           _FACTORY.action_spec())
    # The spec's zero timestep is a VOTE step; check a HARVEST step too.
    action, _ = policy.step(_timestep(_view({}), phase=1.0),
                            policy.initial_state())
    _FACTORY.action_spec().validate(action)

  def test_make_bot_names_valid_bots(self):
    with self.assertRaisesRegex(ValueError, "cautious") as raised:
      agents.make_bot("cautious")
    helpers.assert_names_every_one(self, raised.exception, agents.bot_names())


class ParserTest(parameterized.TestCase):

  def test_synthetic_view(self):
    rgb = _view({(8, 5): "apple", (0, 0): "wall", (0, 1): "void",
                 (7, 4): "avatar", (9, 5): "self"})
    expected = np.zeros((11, 11), dtype=np.int8)
    expected[8, 5] = Cell.APPLE
    expected[0, 0:2] = Cell.WALL
    expected[7, 4] = Cell.AVATAR
    np.testing.assert_array_equal(obs_lib.parse_cells(rgb), expected)

  def test_world_view_matches_the_map_and_lua(self):
    with substrate.build(_SUBSTRATE, roles=["default"] * 4,
                         env_seed=5) as env:
      observation = env.reset().observation[0]
    grid = obs_lib.parse_cells(observation["WORLD.RGB"])
    ascii_map = np.array([list(row) for row in umd_apple_harvest.MAPS[
        "small"].strip("\n").split("\n")])
    np.testing.assert_array_equal(grid == Cell.APPLE, ascii_map == "A")
    np.testing.assert_array_equal(grid == Cell.WALL, ascii_map == "W")
    self.assertEqual((grid == Cell.AVATAR).sum(), 4)
    self.assertEqual((grid == Cell.APPLE).sum(),
                     observation["WORLD.APPLES_ALIVE"])

  def test_own_avatar_reads_as_ground(self):
    with substrate.build(_SUBSTRATE, roles=["default"] * 4,
                         env_seed=5) as env:
      timestep = env.reset()
    for observation in timestep.observation:
      grid = obs_lib.parse_cells(observation["RGB"])
      self.assertEqual(grid[obs_lib.SELF_POSITION], Cell.EMPTY)

  def test_batch_of_views_parses_each_view(self):
    timesteps = []
    with substrate.build(_SUBSTRATE, roles=["default"] * 4,
                         env_seed=5) as env:
      timesteps.append(env.reset())
      rng = np.random.default_rng(0)
      for _ in range(30):
        timesteps.append(env.step(rng.integers(0, 8, 4)))
    views = np.array([[o["RGB"] for o in t.observation] for t in timesteps])
    batch = obs_lib.parse_cells(views)
    self.assertEqual(batch.shape, views.shape[:2] + obs_lib.VIEW_SHAPE)
    for index in np.ndindex(*views.shape[:2]):
      np.testing.assert_array_equal(batch[index],
                                    obs_lib.parse_cells(views[index]))
    # Views differ (avatars, apples), so a mix-up between views shows.
    self.assertGreater(len(np.unique(batch.reshape(-1, 121), axis=0)), 4)

  def test_rejects_bad_shape(self):
    with self.assertRaises(ValueError):
      obs_lib.parse_cells(np.zeros((88, 87, 3), dtype=np.uint8))
    with self.assertRaises(ValueError):
      obs_lib.parse_cells(np.zeros((88, 88), dtype=np.uint8))

  def test_neighbour_counts_use_euclidean_radius(self):
    mask = np.zeros((5, 5), dtype=bool)
    mask[2, 2] = mask[0, 2] = mask[0, 3] = True
    counts = obs_lib.neighbour_counts(mask, radius=2.0)
    self.assertEqual(counts[2, 2], 1)  # (0, 2) at 2; (0, 3) at sqrt(5).
    self.assertEqual(counts[0, 2], 2)
    self.assertEqual(counts[0, 3], 1)

  def test_nearest_path_goes_around_walls(self):
    targets = np.zeros((11, 11), dtype=bool)
    passable = np.ones((11, 11), dtype=bool)
    targets[6, 5] = True
    passable[8, 4:7] = False  # A wall ahead and ahead-left/right.
    path = obs_lib.nearest_path(targets, passable)
    self.assertEqual(path.target, (6, 5))
    self.assertEqual(path.length, 7)  # Two left, three up, two right.
    self.assertIn(path.first_step, ((0, -1), (0, 1)))
    passable[8, :] = False
    self.assertIsNone(obs_lib.nearest_path(targets, passable))

  @parameterized.parameters(
      ((-3, 1), obs_lib.FORWARD), ((2, 0), obs_lib.BACKWARD),
      ((0, -1), obs_lib.STEP_LEFT), ((-1, 4), obs_lib.STEP_RIGHT),
      ((-2, -2), obs_lib.FORWARD), ((0, 0), obs_lib.NOOP))
  def test_action_toward(self, offset, action):
    self.assertEqual(obs_lib.action_toward(offset), action)

  @parameterized.parameters(((8, 5), True), ((6, 4), True), ((7, 6), True),
                            ((5, 5), False), ((9, 6), False), ((8, 7), False))
  def test_in_beam(self, cell, expected):
    grid = np.zeros((11, 11), dtype=np.int8)
    grid[cell] = Cell.AVATAR
    self.assertEqual(obs_lib.in_beam(grid), expected)


class VoterTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ("truthful", bots.Voter.truthful((0.1, 0.2, 0.9), "borda"), (2, 1)),
      ("truthful_tie", bots.Voter.truthful((0.5, 0.5, 0.1), "borda"), (0, 1)),
      ("fixed", bots.Voter.fixed(1), (1,)),
      ("fixed_ranking", bots.Voter.fixed((2, 0)), (2, 0)),
      ("abstain", bots.Voter.abstain(), ()))
  def test_casts_its_ranking_one_press_per_vote_step(self, voter, ranking):
    # Then NOOP for the rest of the phase; the next phase starts over.
    expected = [bots.vote_action(k) for k in ranking]
    expected += [obs_lib.NOOP] * (3 - len(ranking))
    for name in agents.BOTS:
      policy = agents.make_bot(name, voter=voter)
      state = policy.initial_state()
      actions = []
      for phase in (0.0,) * 3 + (1.0,) + (0.0,) * 3:
        action, state = policy.step(_timestep(_view({}), phase=phase), state)
        actions.append(action)
      del actions[3]  # The harvest step.
      self.assertEqual(actions, expected * 2, msg=name)

  def test_does_nothing_when_over(self):
    policy = agents.make_bot("random", voter=bots.Voter.fixed(0))
    action, _ = policy.step(_timestep(_view({}), phase=2.0),
                            policy.initial_state())
    self.assertEqual(action, obs_lib.NOOP)

  @parameterized.named_parameters(
      ("short_type", bots.Voter.truthful((1.0, 2.0), "borda")),
      ("index_too_big", bots.Voter.fixed(3)),
      ("ranking_too_long", bots.Voter.fixed((0, 1, 3))))
  def test_rejects_voter_that_does_not_fit(self, voter):
    with self.assertRaises(ValueError):
      agents.make_bot("greedy", voter=voter, num_objectives=3)

  def test_rejects_bad_voters(self):
    with self.assertRaises(ValueError):
      bots.Voter(utilities=(1.0, 0.0), ranking=(0,))
    with self.assertRaises(ValueError):
      bots.Voter.fixed(-1)
    with self.assertRaisesRegex(ValueError, "distinct"):
      bots.Voter.fixed((1, 1))
    with self.assertRaisesRegex(ValueError, "ranking"):
      bots.Voter.fixed("a")
    with self.assertRaises(ValueError):
      bots.Voter.truthful((1.0, float("nan")), "borda")

  def test_votes_only_in_vote_phase_of_a_real_game(self):
    config = _small_config(rounds=2, vote_steps=2, harvest_steps=40)
    voters = [bots.Voter.fixed((k % 3, (k + 1) % 3)) for k in range(4)]
    policies = [agents.make_bot(name, seed=k, voter=voters[k])
                for k, name in enumerate(sorted(agents.BOTS))]
    _, logs = _play(config, policies, env_seed=2)
    for k, log in enumerate(logs):
      votes = [action for phase, action in log if phase == phases.Phase.VOTE]
      self.assertEqual(votes, [_VOTE_0 + k % 3, _VOTE_0 + (k + 1) % 3] * 2)
      for phase, action in log:
        if phase != phases.Phase.VOTE:
          self.assertLess(action, obs_lib.NUM_COMMONS_ACTIONS)


class BehaviourTest(parameterized.TestCase):

  def test_sustainable_spares_a_lone_apple(self):
    lone = _timestep(_view({(8, 5): "apple"}), phase=1.0)
    greedy, sustainable = bots.GreedyBot(), bots.SustainableBot()
    self.assertEqual(greedy.step(lone, greedy.initial_state())[0],
                     obs_lib.FORWARD)
    for _ in range(20):  # Exploring never steps onto the lone apple.
      action, state = sustainable.step(lone, sustainable.initial_state())
      self.assertNotEqual(action, obs_lib.FORWARD)
    pair = _timestep(_view({(8, 5): "apple", (7, 5): "apple"}), phase=1.0)
    self.assertEqual(sustainable.step(pair, state)[0], obs_lib.FORWARD)

  def test_zapper_fires_only_when_ready_and_in_reach(self):
    zapper = bots.ZapperBot()
    view = _view({(7, 6): "avatar", (5, 5): "apple"})
    ready = zapper.step(_timestep(view, 1.0, ready=1.0),
                        zapper.initial_state())
    self.assertEqual(ready[0], obs_lib.FIRE_ZAP)
    cooling = zapper.step(_timestep(view, 1.0, ready=0.0),
                          zapper.initial_state())
    self.assertEqual(cooling[0], obs_lib.FORWARD)


class StateTest(parameterized.TestCase):

  def _recorded_timesteps(self, num_steps: int = 40):
    """Players 0 and 1's timesteps from a game driven by random bots."""
    config = _small_config(rounds=1, vote_steps=2, harvest_steps=num_steps)
    driver = bots.RandomBot(seed=9)
    recorded = ([], [])
    with substrate.build_from_config(config, roles=["default"] * 4,
                                     env_seed=4) as env:
      timestep = env.reset()
      states = [driver.initial_state() for _ in range(4)]
      while not timestep.last():
        for i in range(2):
          recorded[i].append(_player(timestep, i))
        actions = []
        for i in range(4):
          action, states[i] = driver.step(_player(timestep, i), states[i])
          actions.append(action)
        timestep = env.step(actions)
    return recorded

  def _run(self, policy, timesteps) -> list[int]:
    state, actions = policy.initial_state(), []
    for timestep in timesteps:
      action, state = policy.step(timestep, state)
      actions.append(action)
    return actions

  @parameterized.parameters(*sorted(agents.BOTS))
  def test_interleaved_slots_match_separate_runs(self, name):
    slot_a, slot_b = self._recorded_timesteps()
    alone_a = self._run(agents.make_bot(name, seed=1), slot_a)
    alone_b = self._run(agents.make_bot(name, seed=1), slot_b)
    shared = agents.make_bot(name, seed=1)
    states = [shared.initial_state(), shared.initial_state()]
    together = ([], [])
    for timesteps in zip(slot_a, slot_b):
      for i, timestep in enumerate(timesteps):
        action, states[i] = shared.step(timestep, states[i])
        together[i].append(action)
    self.assertEqual(together[0], alone_a)
    self.assertEqual(together[1], alone_b)
    if name == "random":  # Slots sharing a policy draw their own streams.
      self.assertNotEqual(alone_a, alone_b)


class GreedyBeatsRandomTest(parameterized.TestCase):
  """Head to head on the small map: 2 greedy and 2 random players.

  Homogeneous populations are no good test here: four greedy players clear
  the small map's 22 apples for good, so within 150 steps their per-capita
  return is no higher than that of four random players, whose commons
  survives. In a shared game the greedy players get the apples.
  """

  @parameterized.parameters(0, 1, 2)
  def test_greedy_per_capita_return_is_clearly_higher(self, env_seed):
    config = _small_config(rounds=1, harvest_steps=150, vote_steps=2)
    greedy = agents.make_bot("greedy", seed=env_seed)
    random = agents.make_bot("random", seed=env_seed)
    # Both seatings, since the first two players spawn next to the apples.
    for seating in ((greedy, random) * 2, (random, greedy) * 2):
      returns, _ = _play(config, seating, env_seed=env_seed)
      is_greedy = np.array([policy is greedy for policy in seating])
      greedy_mean = returns[is_greedy].mean()
      random_mean = returns[~is_greedy].mean()
      self.assertGreaterEqual(greedy_mean, random_mean + 5.0,
                              msg=f"returns {returns}, greedy {is_greedy}")


if __name__ == "__main__":
  absltest.main()
