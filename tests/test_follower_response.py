"""The response test of benchmarks/follower_response.py (issue 22), on
made-up games: apples eaten by skill, judged only where the marginal value
of an apple changes sign across skills."""

import io
from unittest import mock

from absl.testing import absltest
import numpy as np

from benchmarks import follower_response

_SKILLS = (0.629, 0.745, 0.961, 1.665)


def _summary(apples_by_player):
  """A population's games whose players ate these apples (one row a seed)."""
  return {"player_gross": (np.array(apples_by_player)
                           * np.array(_SKILLS)).tolist()}


class SkillResponseTest(absltest.TestCase):

  def _report(self, table):
    run = mock.Mock()
    with mock.patch("sys.stdout", new=io.StringIO()):
      return follower_response.skill_response(
          run, table, [], _SKILLS, 0.3, np.random.default_rng(0))

  def test_judged_only_where_the_marginal_value_changes_sign(self):
    rising = _summary([[2, 3, 5, 9], [1, 4, 4, 8], [2, 2, 6, 10]])
    report = self._report({"ppo | 1,1,1": rising, "ppo | 0,0,0": rising,
                           "ppo | 4,4,4": rising})
    self.assertTrue(report["ppo | 1,1,1"]["goal_met"])
    self.assertAlmostEqual(report["ppo | 1,1,1"]["spearman"], 1.0)
    self.assertAlmostEqual(report["ppo | 1,1,1"]["most_over_least"][0],
                           27 / 5)
    # Every skill gains (no tax) or loses (a fine of 4): not judged.
    self.assertIsNone(report["ppo | 0,0,0"]["goal_met"])
    self.assertIsNone(report["ppo | 4,4,4"]["goal_met"])

  def test_skill_blind_play_fails(self):
    # Issue 13's follower under flat 1: 20 / 9 / 15 / 16 apples.
    blind = _summary([[20, 9, 15, 16], [21, 8, 14, 17]])
    report = self._report({"ppo | 1,1,1": blind})
    self.assertFalse(report["ppo | 1,1,1"]["goal_met"])

  def test_the_sign_change_per_bracket(self):
    values = follower_response._values((0.0, 1.0, 4.0), _SKILLS, 0.3)
    self.assertEqual([min(row) < 0 < max(row) for row in values],
                     [False, True, False])


if __name__ == "__main__":
  absltest.main()
