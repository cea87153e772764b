"""The round structure, observed through the real substrate."""

from absl.testing import absltest
import numpy as np

from umd_meltingpot import substrate
from umd_meltingpot.substrates import phases

# Python's codes: the tests below check that the Lua level observes the same.
VOTE, HARVEST, OVER = (phases.Phase.VOTE, phases.Phase.HARVEST,
                       phases.Phase.OVER)

# One isolated apple (no neighbours within radius 2): once eaten it is dead.
_LONE_APPLE_MAP = """
WWWWWWWW
WA     W
W      W
W  QQ  W
W PPPP W
WWWWWWWW
"""


def _config(**overrides):
  config = substrate.get_config("umd_apple_harvest__small")
  with config.unlocked():
    config.rounds = 3
    config.vote_steps = 4
    config.harvest_steps = 40
    config.debug_observations = True
    for key, value in overrides.items():
      config[key] = value
  return config


def _play(config, num_players=4, seed=1, vote_actions=True):
  """Plays one episode of random actions; returns per-step records."""
  rng = np.random.default_rng(seed)
  num_actions = 8 + len(config.objectives) if vote_actions else 8
  records = []
  with substrate.build_from_config(
      config, roles=["default"] * num_players, env_seed=seed) as env:
    timestep = env.reset()
    while not timestep.last():
      before = timestep.observation
      actions = rng.integers(0, num_actions, size=num_players)
      timestep = env.step(actions)
      records.append(dict(
          phase=int(before[0]["WORLD.PHASE"]),
          round=int(before[0]["WORLD.ROUND"]),
          actions=actions,
          before=before,
          after=timestep.observation,
          rewards=np.asarray(timestep.reward, dtype=float),
          last=timestep.last()))
  return records


class PhaseTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.config = _config()
    cls.records = _play(cls.config)

  def test_episode_ends_after_exactly_tau_rounds(self):
    c = self.config
    self.assertLen(self.records, c.rounds * (c.vote_steps + c.harvest_steps))
    self.assertTrue(self.records[-1]["last"])
    self.assertEqual(self.records[-1]["after"][0]["WORLD.PHASE"], OVER)
    self.assertEqual(self.records[-1]["after"][0]["WORLD.ROUND"], c.rounds)

  def test_phases_follow_the_schedule(self):
    c = self.config
    round_length = c.vote_steps + c.harvest_steps
    for t, record in enumerate(self.records):
      expected_round = t // round_length + 1
      expected_phase = VOTE if t % round_length < c.vote_steps else HARVEST
      self.assertEqual((record["round"], record["phase"]),
                       (expected_round, expected_phase), f"step {t}")
      self.assertEqual(record["before"][2]["PHASE"], expected_phase)

  def _vote_steps(self, first):
    """VOTE steps that open a round's vote (`first`) or follow another."""
    vote_length = self.config.vote_steps
    round_length = vote_length + self.config.harvest_steps
    return [r for t, r in enumerate(self.records)
            if r["phase"] == VOTE and (t % round_length == 0) == first]

  def test_no_reward_and_no_movement_during_vote(self):
    self.assertNotEmpty(self._vote_steps(first=False))
    for record in self._vote_steps(first=False):
      np.testing.assert_array_equal(record["rewards"], 0.0)
      for before, after in zip(record["before"], record["after"]):
        np.testing.assert_array_equal(before["POSITION"], after["POSITION"])
        self.assertEqual(before["ORIENTATION"], after["ORIENTATION"])

  def test_only_zapped_players_move_on_the_first_vote_step(self):
    # They respawn, on a spawn point (rows 6-7 of the small map).
    for record in self._vote_steps(first=True):
      np.testing.assert_array_equal(record["rewards"], 0.0)
      for before, after in zip(record["before"], record["after"]):
        if not np.array_equal(before["POSITION"], after["POSITION"]):
          self.assertLess(before["READY_TO_SHOOT"], 1.0)
          self.assertIn(after["POSITION"][1], (5, 6, 7))

  def test_players_move_during_harvest(self):
    moved = sum(
        not np.array_equal(b["POSITION"], a["POSITION"])
        for r in self.records if r["phase"] == HARVEST
        for b, a in zip(r["before"], r["after"]))
    self.assertGreater(moved, 10)

  def test_ballots_are_recorded_only_during_vote(self):
    num_objectives = len(self.config.objectives)
    for record in self.records:
      ballots = record["after"][0]["WORLD.BALLOTS"]
      before = record["before"][0]["WORLD.BALLOTS"]
      if record["phase"] == VOTE:
        for player, action in enumerate(record["actions"]):
          # VOTE_<objective k> ranks k next, unless it is ranked already.
          expected = before[player].copy()
          if action >= 8 and not expected[action - 8]:
            expected[action - 8] = np.count_nonzero(expected) + 1
          np.testing.assert_array_equal(ballots[player], expected)
      elif record["after"][0]["WORLD.PHASE"] == HARVEST:
        # Vote actions during the harvest change nothing.
        np.testing.assert_array_equal(ballots, before)
    after = self.records[0]["after"][0]
    for k in range(num_objectives):  # VOTING[k, r]: k ranked r + 1.
      np.testing.assert_array_equal(
          after["VOTING"][k],
          [np.sum(after["WORLD.BALLOTS"][:, k] == r + 1)
           for r in range(num_objectives)])

  def test_ballots_reset_between_rounds(self):
    c = self.config
    round_length = c.vote_steps + c.harvest_steps
    first_vote_of_round_2 = self.records[round_length]
    self.assertEqual(first_vote_of_round_2["phase"], VOTE)
    np.testing.assert_array_equal(
        first_vote_of_round_2["before"][0]["WORLD.BALLOTS"], 0.0)

  def test_nothing_changes_while_voting(self):
    for record in self._vote_steps(first=False):
      np.testing.assert_array_equal(record["before"][0]["WORLD.RGB"],
                                    record["after"][0]["WORLD.RGB"])
    for record in self.records:
      if record["phase"] == VOTE:
        self.assertEqual(record["before"][0]["WORLD.APPLES_ALIVE"],
                         record["after"][0]["WORLD.APPLES_ALIVE"])

  def test_round_totals_cover_the_whole_round(self):
    c = self.config
    round_length = c.vote_steps + c.harvest_steps
    for r in range(c.rounds):
      steps = self.records[r * round_length:(r + 1) * round_length]
      paid = sum(record["rewards"] for record in steps)
      end = steps[-1]["after"][0]
      np.testing.assert_allclose(
          paid, end["WORLD.ROUND_NET"] + end["WORLD.ROUND_TRANSFER"],
          rtol=0, atol=1e-9)


class DepletionTest(absltest.TestCase):

  def test_an_eaten_lone_apple_never_regrows_in_later_rounds(self):
    config = _config(ascii_map=_LONE_APPLE_MAP, rounds=4, harvest_steps=150,
                     vote_steps=2)
    for seed in range(1, 6):
      records = _play(config, num_players=2, seed=seed, vote_actions=False)
      alive = [int(r["after"][0]["WORLD.APPLES_ALIVE"]) for r in records]
      if 0 in alive:
        break
    else:
      self.fail("random play never ate the lone apple")
    eaten_at = alive.index(0)
    self.assertEqual(alive[eaten_at:], [0] * (len(alive) - eaten_at))
    rounds_after = {r["round"] for r in records[eaten_at:]}
    self.assertGreater(len(rounds_after), 1, "no later round was checked")


if __name__ == "__main__":
  absltest.main()
