"""The rules differ on ranked ballots: every profile of 5 voters, 3 options.

The check of issue 12: with one choice per player every deterministic rule
returned plurality's winners; on ranked ballots each pair of rules that
social choice theory says can disagree does, on some profile.
"""

import itertools

from absl.testing import absltest
import numpy as np

from experiments import rule_differences
from umd_meltingpot.social_choice import voting

# Score sums a ranking's score vector, which is Borda's points (m - 1 -
# position): on ranked ballots the two are the same rule. Every other pair
# can disagree.
_SAME_ON_RANKINGS = {frozenset({"borda", "score"})}


class RuleDifferencesTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.rules = tuple(voting.RULES)
    cls.shares = rule_differences.disagreement_shares(cls.rules, 5, 3)

  def test_every_pair_that_can_differ_does(self):
    print("\n" + rule_differences.markdown_table(self.rules, self.shares))
    for (a, b), share in self.shares.items():
      if frozenset({a, b}) in _SAME_ON_RANKINGS:
        self.assertEqual(share, 0.0, (a, b))
      else:
        self.assertGreater(share, 0.0, (a, b))
        self.assertLess(share, 1.0, (a, b))
    self.assertLen(self.shares, len(list(itertools.combinations(
        self.rules, 2))))

  def test_the_enumeration_weighs_every_ordered_profile_once(self):
    profiles = rule_differences.winning_sets(("plurality",), 2, 3)
    self.assertEqual(sum(weight for weight, _ in profiles), 6**2)
    self.assertLen(profiles, 21)  # Multisets of 2 of the 6 rankings.

  def test_a_textbook_profile_where_borda_and_runoff_differ(self):
    # 2 a>b>c, 2 c>b>a, 1 b>a>c: b is the Borda winner (6 points against 5
    # and 4) and the Condorcet winner, but has the fewest first places, so
    # instant runoff drops it first and a wins the runoff 3 to 2.
    a, b, c = 0, 1, 2
    profile = voting.Profile(
        ("a", "b", "c"), "ranking",
        [(a, b, c)] * 2 + [(c, b, a)] * 2 + [(b, a, c)])
    rng = np.random.default_rng(0)
    tied = {rule: voting.elect(rule, profile, rng=rng).tied
            for rule in ("borda", "instant_runoff", "copeland", "plurality")}
    self.assertEqual(tied["borda"], (b,))
    self.assertEqual(tied["copeland"], (b,))
    self.assertEqual(tied["instant_runoff"], (a,))
    self.assertEqual(tied["plurality"], (a, c))


if __name__ == "__main__":
  absltest.main()
