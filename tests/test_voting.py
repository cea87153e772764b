"""Tests for umd_meltingpot.social_choice.voting:
each rule on hand-computed profiles."""

import collections

from absl.testing import absltest
from absl.testing import parameterized
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import numpy as np

from tests import helpers
from umd_meltingpot.social_choice import preferences
from umd_meltingpot.social_choice import voting

ALTS = ("a", "b", "c")
ALTS4 = ("a", "b", "c", "d")
A, B, C = 0, 1, 2

# 3 a>b>c, 2 b>c>a, 2 c>b>a. Plurality: a (3, 2, 2). Borda: a 3·2 = 6,
# b 3·1 + 2·2 + 2·1 = 9, c 2·1 + 2·2 = 6. b is the Condorcet winner
# (4-3 over a, 5-2 over c); c beats a 4-3, so Copeland is (-2, 2, 0).
SPLIT = voting.Profile(
    ALTS, "ranking", [(A, B, C)] * 3 + [(B, C, A)] * 2 + [(C, B, A)] * 2
)

# The Condorcet cycle a>b>c, b>c>a, c>a>b: every pairwise margin is 1.
CYCLE = voting.Profile(ALTS, "ranking", [(A, B, C), (B, C, A), (C, A, B)])


def _elect(rule, profile, seed=0, **kwargs):
  return voting.elect(
      rule, profile, rng=np.random.default_rng(seed), **kwargs
  )


# Sums a 6, b 6, c 5 (a tie for score); lower medians a 3, b 2, c 1.
GRADES = voting.Profile(ALTS, "scores", [(3, 2, 0), (3, 2, 1), (0, 2, 4)])


@st.composite
def unanimous_rankings(draw):
  m = draw(st.integers(min_value=2, max_value=5))
  ranking = tuple(draw(st.permutations(range(m))))
  voters = draw(st.integers(min_value=1, max_value=6))
  return m, ranking, voters


def _unanimous_ballot(ranking, kind):
  m = len(ranking)
  utilities = np.zeros(m)
  utilities[list(ranking)] = np.arange(m, 0, -1)
  return voting.ballot_from_utilities(utilities, kind)


class VotingTest(parameterized.TestCase):

  @parameterized.parameters(*voting.RULES)
  def test_each_rule_names_a_ballot_kind(self, rule):
    self.assertIn(voting.ballot_kind_for_rule(rule), voting.BALLOT_KINDS)
    self.assertTrue(voting.RULES[rule].description)

  def test_unknown_rule_lists_the_valid_ones(self):
    with self.assertRaisesRegex(ValueError, "condorcet") as raised:
      _elect("condorcet", SPLIT)
    helpers.assert_names_every_one(self, raised.exception, voting.RULES)
    with self.assertRaisesRegex(ValueError, "valid rules"):
      voting.ballot_kind_for_rule("condorcet")

  def test_plurality_and_borda_disagree(self):
    plurality = _elect("plurality", SPLIT)
    borda = _elect("borda", SPLIT)
    self.assertEqual((plurality.winner_name, plurality.tied), ("a", (A,)))
    self.assertEqual(plurality.scores, (3.0, 2.0, 2.0))
    self.assertEqual((borda.winner_name, borda.tied), ("b", (B,)))
    self.assertEqual(borda.scores, (6.0, 9.0, 6.0))

  def test_copeland_elects_the_condorcet_winner(self):
    outcome = _elect("copeland", SPLIT)
    self.assertEqual(outcome.winner, B)
    self.assertEqual(outcome.scores, (-2.0, 2.0, 0.0))

  def test_instant_runoff_transfers_votes_after_elimination(self):
    # 4 a>b>c, 3 b>c>a, 2 c>b>a: c goes first, its 2 votes go to b, and b
    # beats a 5-4 although a leads on first preferences.
    profile = voting.Profile(
        ALTS, "ranking", [(A, B, C)] * 4 + [(B, C, A)] * 3 + [(C, B, A)] * 2
    )
    outcome = _elect("instant_runoff", profile)
    self.assertEqual(outcome.winner, B)
    self.assertEqual(outcome.tied, (B,))
    self.assertEqual(outcome.scores, (4.0, 3.0, 2.0))
    self.assertEqual(_elect("plurality", profile).winner, A)

  def test_condorcet_cycle_ties_every_alternative_under_copeland(self):
    outcome = _elect("copeland", CYCLE)
    self.assertEqual(outcome.tied, (A, B, C))
    self.assertEqual(outcome.scores, (0.0, 0.0, 0.0))

  def test_seeded_tie_break_is_deterministic(self):
    winners = [_elect("copeland", CYCLE, seed=s).winner for s in range(20)]
    again = [_elect("copeland", CYCLE, seed=s).winner for s in range(20)]
    self.assertEqual(winners, again)

  def test_seeded_tie_break_reaches_every_tied_alternative(self):
    winners = {_elect("copeland", CYCLE, seed=s).winner for s in range(60)}
    self.assertEqual(winners, {A, B, C})

  def test_tie_break_uses_the_given_generator_only(self):
    rng = np.random.default_rng(11)
    state = np.random.get_state()
    voting.elect("copeland", CYCLE, rng=rng)
    self.assertEqual(np.random.get_state()[1].tolist(), state[1].tolist())
    # Without a tie the generator is not touched.
    untouched = np.random.default_rng(11)
    voting.elect("borda", SPLIT, rng=untouched)
    self.assertEqual(untouched.integers(1000),
                     np.random.default_rng(11).integers(1000))

  def test_approval_counts_approvals(self):
    profile = voting.Profile(ALTS, "approval", [{A, B}, {B}, {B, C}, {A}])
    outcome = _elect("approval", profile)
    self.assertEqual(outcome.winner, B)
    self.assertEqual(outcome.scores, (2.0, 3.0, 1.0))

  def test_score_sums_scores(self):
    profile = voting.Profile(
        ALTS, "scores", [(1.0, 0.0, 0.5), (0.0, 1.0, 0.5), (0.25, 0.0, 1.0)]
    )
    outcome = _elect("score", profile)
    self.assertEqual(outcome.winner, C)
    self.assertEqual(outcome.scores, (1.25, 1.0, 2.0))

  def test_median_elects_the_greatest_median(self):
    outcome = _elect("median", GRADES)
    self.assertEqual(outcome.winner, A)
    self.assertEqual(outcome.tied, (A,))
    self.assertEqual(outcome.scores, (3.0, 2.0, 1.0))
    self.assertEqual(_elect("score", GRADES).tied, (A, B))

  def test_median_respects_a_fractional_principal_weight(self):
    # Players grade (0, 1) and (1, 0): a tie. A principal grading (1, 0) with
    # weight 0.5 counts as 2:2:1 voters, making a's median 1 and b's 0.
    profile = voting.Profile(("a", "b"), "scores", [(0, 1), (1, 0)])
    self.assertEqual(_elect("median", profile).tied, (A, B))
    outcome = _elect(
        "median", profile, principal_ballot=(1, 0), principal_weight=0.5
    )
    self.assertEqual(outcome.tied, (A,))
    self.assertEqual(outcome.scores, (1.0, 0.0))

  def test_random_dictator_draws_with_plurality_shares(self):
    profile = voting.Profile(ALTS, "choice", [A, A, A, B])
    outcome = _elect("random_dictator", profile)
    self.assertEqual(outcome.tied, (A, B))
    self.assertEqual(outcome.scores, (0.75, 0.25, 0.0))
    counts = collections.Counter(
        _elect("random_dictator", profile, seed=s).winner for s in range(400)
    )
    self.assertEqual(set(counts), {A, B})
    self.assertBetween(counts[A] / 400, 0.65, 0.85)

  def test_weighted_principal_ballot_changes_the_outcome(self):
    profile = voting.Profile(ALTS, "choice", [A, A, B])
    self.assertEqual(_elect("plurality", profile).winner, A)
    half = _elect("plurality", profile, principal_ballot=B,
                  principal_weight=0.5)
    self.assertEqual(half.winner, A)
    tie = _elect("plurality", profile, principal_ballot=B, principal_weight=1.0)
    self.assertEqual(tie.tied, (A, B))
    outcome = _elect(
        "plurality", profile, principal_ballot=B, principal_weight=1.5
    )
    self.assertEqual(outcome.winner, B)
    self.assertEqual(outcome.scores, (2.0, 2.5, 0.0))
    self.assertEqual(outcome.counted_weight, 4.5)

  def test_principal_with_zero_weight_has_no_say(self):
    profile = voting.Profile(ALTS, "choice", [A])
    outcome = _elect("plurality", profile, principal_ballot=B)
    self.assertEqual(outcome.winner, A)
    self.assertEqual(outcome.counted_weight, 1.0)

  def test_profile_weights_scale_ballots(self):
    profile = voting.Profile(ALTS, "choice", [A, B], weights=[1.0, 2.0])
    self.assertEqual(_elect("plurality", profile).scores, (1.0, 2.0, 0.0))

  @parameterized.parameters(*voting.RULES)
  def test_all_abstain_ties_every_alternative(self, rule):
    profile = voting.Profile(ALTS, "choice", [None, None, None])
    outcome = _elect(rule, profile, seed=3)
    self.assertEqual(outcome.tied, (A, B, C))
    self.assertIsNone(outcome.scores)
    self.assertEqual(outcome.counted_weight, 0.0)
    self.assertEqual(outcome.winner, _elect(rule, profile, seed=3).winner)
    self.assertEqual(outcome.winner_name, ALTS[outcome.winner])

  @parameterized.parameters(*voting.RULES)
  def test_an_empty_profile_ties_every_alternative(self, rule):
    outcome = _elect(rule, voting.Profile(ALTS, "ranking", []))
    self.assertEqual(outcome.tied, (A, B, C))

  @parameterized.parameters(*voting.RULES)
  def test_abstentions_are_not_counted(self, rule):
    profile = voting.Profile(ALTS, "choice", [None, C, None])
    outcome = _elect(rule, profile)
    self.assertEqual(outcome.winner, C)
    self.assertEqual(outcome.counted_weight, 1.0)

  @parameterized.parameters(*voting.RULES)
  def test_world_ballots_elect_under_every_rule(self, rule):
    # Rank positions: b > c > a, b alone, a > c (b last), an abstention.
    world = np.array([[3, 1, 2], [0, 1, 0], [1, 0, 2], [0, 0, 0]])
    profile = voting.profile_from_world_ballots(world, ALTS)
    self.assertEqual(profile.kind, "ranking")
    self.assertEqual(profile.ballots, ((B, C), (B,), (A, C), None))
    outcome = _elect(rule, profile)
    if voting.RULES[rule].lottery:
      self.assertEqual(outcome.tied, (A, B))
    elif rule == "approval":  # b 2, c 2, a 1: the ranked sets.
      self.assertEqual(outcome.tied, (B, C))
    else:
      self.assertEqual(outcome.winner, B)

  def test_world_ballots_round_trip_through_rank_positions(self):
    world = np.array([[3, 1, 2], [0, 1, 0], [1, 0, 2], [0, 0, 0]])
    profile = voting.profile_from_world_ballots(world, ALTS)
    # A full ranking's last is stored as unranked (the same ballot).
    np.testing.assert_array_equal(
        voting.rank_positions(profile),
        [[0, 1, 2], [0, 1, 0], [1, 0, 2], [0, 0, 0]])
    np.testing.assert_array_equal(voting.first_preferences(profile),
                                  [1, 2, 0])

  @parameterized.parameters(
      # A full ranking leaves out its last, tied last anyway.
      ("borda", [0.2, 0.9, 0.5], (B, C)),
      ("instant_runoff", [0.2, 0.9, 0.5], (B, C)),
      ("copeland", [0.2, 0.9, 0.5], (B, C)),
      ("score", [0.2, 0.9, 0.5], (B, C)),
      ("median", [0.2, 0.9, 0.5], (B, C)),
      ("borda", [1.0], ()),
      # A choice rule: the favourite alone.
      ("plurality", [0.2, 0.9, 0.5], (B,)),
      ("random_dictator", [0.2, 0.9, 0.5], (B,)),
      ("plurality", [0.5, 0.5, 0.1], (A,)),  # Ties to the lower index.
      # Approval: exactly the objectives above the mean, best first.
      ("approval", [0.2, 0.9, 0.5], (B,)),  # Mean 0.53.
      ("approval", [0.6, 0.9, 0.1], (B, A)),  # Mean 0.53.
      ("approval", [0.4, 0.4, 0.4], ()),  # Indifferent: abstains.
  )
  def test_truthful_ballot_is_the_ballot_the_rule_expects(self, rule,
                                                          utilities, ballot):
    self.assertEqual(voting.truthful_ballot(utilities, rule), ballot)

  @parameterized.parameters(
      ([0.2, 0.9, 0.5],), ([0.6, 0.9, 0.1],), ([1.0, 0.0, 0.0, 0.5],),
      ([0.3, 0.3, 0.3],))
  def test_truthful_approval_ranks_exactly_the_approval_set(self, utilities):
    # Counted under approval, the ranking approves what the voter's
    # documented approval ballot approves, not all but the last (veto).
    ranking = voting.truthful_ballot(utilities, "approval")
    approval = voting.ballot_from_utilities(utilities, "approval")
    self.assertEqual(frozenset(ranking), approval or frozenset())
    m = len(utilities)
    as_ranking = voting.Profile(alternatives=ALTS4[:m], kind="ranking",
                                ballots=[ranking])
    as_approval = voting.Profile(alternatives=ALTS4[:m], kind="approval",
                                 ballots=[approval])
    rng = np.random.default_rng(0)
    self.assertEqual(voting.elect("approval", as_ranking, rng=rng).scores,
                     voting.elect("approval", as_approval, rng=rng).scores)

  @parameterized.parameters(
      ("plurality", 3), ("random_dictator", 3), ("approval", 6),
      ("borda", 6), ("copeland", 6), ("median", 6))
  def test_every_truthful_ballot_is_among_the_rules_ballots(self, rule,
                                                             count):
    rng = np.random.default_rng(5)
    for utilities in rng.random((50, 3)):
      ballots = voting.in_game_ballots(utilities, rule)
      self.assertLen(ballots, count)
      self.assertLen(set(ballots), count)
      self.assertIn(voting.truthful_ballot(utilities, rule), ballots)

  def test_truthful_ballot_names_a_bad_rule(self):
    with self.assertRaisesRegex(ValueError, "valid rules are"):
      voting.truthful_ballot([0.1, 0.2], "bogus")

  @parameterized.named_parameters(
      ("a_rank_twice", np.array([[1, 1, 0]])),
      ("a_gap_in_the_ranks", np.array([[1, 0, 3]])),
      ("no_top", np.array([[2, 0, 0]])),
      ("not_whole", np.array([[0.5, 0, 0]])),
      ("wrong_number_of_alternatives", np.array([[1, 0]])),
      ("not_2d", np.array([1, 0, 0])),
  )
  def test_bad_world_ballots_raise(self, world):
    with self.assertRaisesRegex(ValueError, "world ballots"):
      voting.profile_from_world_ballots(world, ALTS)

  def test_choice_ballots_under_borda_give_plurality_points(self):
    profile = voting.Profile(ALTS, "choice", [A, B, B])
    self.assertEqual(_elect("borda", profile).scores, (2.0, 4.0, 0.0))

  def test_truncated_ranking_ties_the_unranked_last(self):
    profile = voting.Profile(ALTS, "ranking", [(B,)])
    self.assertEqual(_elect("borda", profile).scores, (0.0, 2.0, 0.0))
    self.assertEqual(_elect("copeland", profile).scores, (-1.0, 2.0, -1.0))

  def test_ranking_ballots_approve_their_ranked_set(self):
    alternatives = ("a", "b", "c", "d")
    full = voting.Profile(alternatives, "ranking", [(3, 2, 1, 0)])
    self.assertEqual(_elect("approval", full).scores, (0.0, 1.0, 1.0, 1.0))
    partial = voting.Profile(alternatives, "ranking", [(3, 2)])
    self.assertEqual(_elect("approval", partial).scores,
                     (0.0, 0.0, 1.0, 1.0))

  def test_ballot_with_a_tied_top_is_void_for_plurality(self):
    profile = voting.Profile(ALTS, "approval", [{A, B}, {C}])
    outcome = _elect("plurality", profile)
    self.assertEqual(outcome.winner, C)
    self.assertEqual(outcome.counted_weight, 1.0)

  def test_scores_ballots_keep_ties_for_ranking_rules(self):
    # (1, 0, 0): a first, b and c tied; Borda gives them nothing.
    profile = voting.Profile(ALTS, "scores", [(1.0, 0.0, 0.0)])
    self.assertEqual(_elect("borda", profile).scores, (2.0, 0.0, 0.0))

  @parameterized.parameters(
      ("choice", 3, r"in \[0, 3\)"),
      ("choice", 1.0, "int index"),
      ("ranking", (A, A), "twice"),
      ("ranking", 2, "collection of alternative indices"),
      ("approval", {A, 5}, r"in \[0, 3\)"),
      ("scores", (1.0, 2.0), "3 finite scores"),
      ("scores", (1.0, 2.0, np.nan), "3 finite scores"),
  )
  def test_bad_ballots_raise(self, kind, ballot, message):
    with self.assertRaisesRegex(ValueError, message):
      voting.Profile(ALTS, kind, [ballot])

  def test_bad_profiles_raise(self):
    with self.assertRaisesRegex(ValueError, "valid kinds"):
      voting.Profile(ALTS, "cumulative", [])
    with self.assertRaisesRegex(ValueError, "distinct"):
      voting.Profile(("a", "a"), "choice", [])
    with self.assertRaisesRegex(ValueError, "2 weights for 1 ballots"):
      voting.Profile(ALTS, "choice", [A], weights=[1.0, 1.0])
    with self.assertRaisesRegex(ValueError, ">= 0"):
      voting.Profile(ALTS, "choice", [A], weights=[-1.0])

  @parameterized.parameters(-0.5, float("nan"), float("inf"))
  def test_bad_principal_weight_raises(self, weight):
    with self.assertRaisesRegex(ValueError, "principal_weight"):
      _elect("plurality", SPLIT, principal_ballot=(A, B, C),
             principal_weight=weight)

  def test_principal_ballot_must_match_the_profile_kind(self):
    with self.assertRaisesRegex(ValueError, "principal_ballot"):
      _elect("plurality", SPLIT, principal_ballot=(A, A), principal_weight=1.0)

  def test_ballots_from_utilities(self):
    u = [0.2, 0.9, 0.9]
    self.assertEqual(voting.ballot_from_utilities(u, "choice"), B)
    # A full ranking is stored without its last, tied last anyway.
    self.assertEqual(voting.ballot_from_utilities(u, "ranking"), (B, C))
    self.assertEqual(voting.ballot_from_utilities(u, "approval"),
                     frozenset({B, C}))
    self.assertEqual(voting.ballot_from_utilities(u, "scores"), (0.2, 0.9, 0.9))
    self.assertIsNone(voting.ballot_from_utilities([1.0, 1.0], "approval"))
    with self.assertRaisesRegex(ValueError, "valid kinds"):
      voting.ballot_from_utilities(u, "cumulative")

  def test_profile_from_preferences_builds_truthful_player_ballots(self):
    prefs = preferences.Preferences(
        utilities=[[9.0, 0.0, 0.0], [0.0, 1.0, 2.0], [3.0, 1.0, 2.0]],
        objectives=ALTS,
    )
    ranking = voting.profile_from_preferences(prefs, "ranking")
    self.assertEqual(ranking.ballots, ((C, B), (A, C)))
    self.assertEqual(voting.profile_from_preferences(prefs, "choice").ballots,
                     (C, A))
    approval = voting.profile_from_preferences(prefs, "approval")
    self.assertEqual(approval.ballots, (frozenset({C}), frozenset({A})))
    outcome = _elect(
        "borda", ranking, principal_ballot=voting.ballot_from_utilities(
            prefs.principal, "ranking"), principal_weight=1.0,
    )
    # Borda a 0 + 2 + 2 = 4, b 1 + 0 + 1 = 2, c 2 + 1 + 0 = 3.
    self.assertEqual(outcome.scores, (4.0, 2.0, 3.0))

  def test_profile_from_reports_checks_the_alternatives(self):
    with self.assertRaisesRegex(ValueError, "report 0 has 2 utilities"):
      voting.profile_from_reports(
          [preferences.Report(utilities=[1.0, 0.0])], "choice", ALTS
      )

  @parameterized.parameters(*voting.RULES)
  @settings(max_examples=25, deadline=None)
  @given(case=unanimous_rankings(), seed=st.integers(0, 2**16))
  def test_every_rule_respects_unanimity(self, rule, case, seed):
    m, ranking, voters = case
    alternatives = tuple(f"o{i}" for i in range(m))
    # Truthful approval ballots approve the alternatives above the mean
    # utility, here the upper floor(m/2); unanimity there means a winner from
    # that set. Plurality and random dictator void a multi-approval (an
    # overvote), so nothing is counted. Approval reads a ranking's ranked
    # set, all but its last, and a choice as one approval.
    upper = set(ranking[: m // 2])
    for kind in voting.BALLOT_KINDS:
      ballot = _unanimous_ballot(ranking, kind)
      profile = voting.Profile(alternatives, kind, [ballot] * voters)
      outcome = _elect(rule, profile, seed=seed)
      overvote = kind == "approval" and len(upper) > 1
      if overvote and rule in ("plurality", "random_dictator"):
        self.assertEqual(outcome.counted_weight, 0.0)
      elif rule == "approval" and kind == "ranking":
        self.assertIn(outcome.winner, set(ranking[:m - 1]))
      elif rule == "approval" and kind == "choice":
        self.assertEqual(outcome.winner, ranking[0])
      elif "approval" in (rule, kind):
        self.assertIn(outcome.winner, upper)
      else:
        self.assertEqual(outcome.winner, ranking[0])

  @settings(max_examples=50, deadline=None)
  @given(
      st.lists(st.one_of(st.none(), st.integers(0, 2)), max_size=8),
      st.integers(0, 2**16),
  )
  def test_winner_is_always_in_the_tied_set(self, choices, seed):
    profile = voting.Profile(ALTS, "choice", choices)
    for rule in voting.RULES:
      outcome = _elect(rule, profile, seed=seed)
      self.assertIn(outcome.winner, outcome.tied)
      self.assertLessEqual(set(outcome.tied), {A, B, C})
      self.assertEqual(outcome, _elect(rule, profile, seed=seed))

  def test_median_ignores_a_negligible_weight(self):
    # A weight under 1/2000 of the largest rounds to no voter at all.
    profile = voting.Profile(
        ("a", "b"), "scores", [(1, 0), (0, 1)], weights=[1.0, 1e-6]
    )
    self.assertEqual(_elect("median", profile).tied, (A,))

  def test_median_of_a_single_tiny_weight_still_counts(self):
    profile = voting.Profile(("a", "b"), "scores", [(0, 1)], weights=[1e-9])
    self.assertEqual(_elect("median", profile).winner, B)


if __name__ == "__main__":
  absltest.main()
