"""Ranked ballots end to end: what Lua records is what the rule counts.

`--ballots world` counts the rankings the bots cast with VOTE presses;
`--ballots types` counts the truthful rankings of the types. With truthful
bots the two count the same ballots, and in both the rounds' records hold
the ballots, tally and scores that the rule counted.
"""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from umd_meltingpot import agents

from umd_meltingpot.game import loop as game
from umd_meltingpot.social_choice import voting


def _records(**options):
  prepared = game.prepare(game.GameConfig(
      substrate="umd_apple_harvest__small", rounds=2, steps=3, **options),
      agents.FACTORY)
  with game.build_environment(prepared) as env:
    game.play_episode(env, game.build_bots(prepared))
    return prepared, env.records


class RankedBallotsTest(parameterized.TestCase):

  @parameterized.parameters("borda", "instant_runoff", "approval", "median",
                            "random_dictator")
  def test_world_ballots_of_truthful_bots_equal_the_typed_ballots(self, rule):
    _, world = _records(rule=rule, ballots="world", seed=19)
    prepared, types = _records(rule=rule, ballots="types", seed=19)
    truthful = [voting.truthful_ballot(u, rule)
                for u in prepared.preferences.players]
    for from_world, from_types in zip(world, types):
      self.assertEqual(from_world.ballots, from_types.ballots)
      self.assertEqual(from_world.scores, from_types.scores)
      self.assertEqual(from_world.objective, from_types.objective)
      counted = voting.profile_from_world_ballots(
          np.array(from_world.ballots), prepared.preferences.objectives)
      self.assertEqual(list(counted.ballots), truthful)

  @parameterized.parameters("world", "types")
  def test_records_hold_the_ballots_the_rule_counted(self, ballots):
    # Recount each record's ballots: its scores, winners and tally must be
    # what the rule made of them.
    for rule in ("borda", "copeland", "plurality"):
      prepared, records = _records(rule=rule, ballots=ballots, seed=4,
                                   bots="random,greedy")
      objectives = prepared.preferences.objectives
      for record in records:
        profile = voting.profile_from_world_ballots(
            np.array(record.ballots), objectives)
        outcome = voting.elect(rule, profile, rng=np.random.default_rng(0))
        self.assertEqual(list(outcome.scores), record.scores)
        self.assertEqual([objectives[a] for a in outcome.tied],
                         record.winners)
        self.assertIn(record.objective, record.winners)
        self.assertEqual(record.tie_broken, len(record.winners) > 1)
        np.testing.assert_array_equal(voting.first_preferences(profile),
                                      record.tally)

  def test_borda_and_instant_runoff_elect_differently_in_game(self):
    # Seed 19's four types rank (nash, egal), (util, egal), (egal, util),
    # (nash, egal): nash has the most first places, egalitarian the most
    # Borda points. The README's pair of `umd run` commands.
    elected = {}
    for rule in ("borda", "instant_runoff"):
      _, records = _records(rule=rule, ballots="world", seed=19)
      elected[rule] = {r.objective for r in records}
      self.assertFalse(any(r.tie_broken for r in records))
    self.assertEqual(elected, {"borda": {"egalitarian"},
                               "instant_runoff": {"nash"}})

  @parameterized.parameters("world", "types")
  def test_approval_counts_each_types_above_mean_set(self, ballots):
    # Truthful voters approve the objectives above their mean utility, so
    # the approvals per objective are how many types hold it above their
    # mean: not K - 1 per voter, which made approval a veto (issue 23).
    # Seed 1's four types approve 1, 1, 2 and 1 objectives.
    prepared, records = _records(rule="approval", ballots=ballots, seed=1)
    types = prepared.preferences.players
    above_mean = types > types.mean(axis=1, keepdims=True)
    for record in records:
      np.testing.assert_array_equal(record.scores, above_mean.sum(axis=0))
      # The records show what each voter approved: the ranked objectives.
      np.testing.assert_array_equal(np.array(record.ballots) > 0, above_mean)
    self.assertLess(above_mean.sum(), types.shape[0] * (types.shape[1] - 1))

  @parameterized.parameters("plurality", "random_dictator")
  def test_choice_rules_count_the_favourite_alone(self, rule):
    prepared, records = _records(rule=rule, ballots="world", seed=3)
    favourites = np.argmax(prepared.preferences.players, axis=1)
    for record in records:
      ranks = np.array(record.ballots)
      np.testing.assert_array_equal(ranks.sum(axis=1), 1)
      np.testing.assert_array_equal(np.argmax(ranks, axis=1), favourites)


if __name__ == "__main__":
  absltest.main()
