"""Tests for umd_meltingpot.voting: each rule on hand-computed profiles."""

import collections

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import numpy as np
import pytest

from umd_meltingpot import preferences
from umd_meltingpot import voting

ALTS = ("a", "b", "c")
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


def test_rules_registry():
  assert tuple(voting.RULES) == (
      "plurality",
      "borda",
      "instant_runoff",
      "copeland",
      "approval",
      "score",
      "median",
      "random_dictator",
  )


@pytest.mark.parametrize("rule", voting.RULES)
def test_each_rule_names_a_ballot_kind(rule):
  assert voting.ballot_kind_for_rule(rule) in voting.BALLOT_KINDS
  assert voting.RULES[rule].description


def test_unknown_rule_lists_the_valid_ones():
  with pytest.raises(ValueError, match="plurality.*random_dictator"):
    _elect("condorcet", SPLIT)
  with pytest.raises(ValueError, match="valid rules"):
    voting.ballot_kind_for_rule("condorcet")


def test_plurality_and_borda_disagree():
  plurality = _elect("plurality", SPLIT)
  borda = _elect("borda", SPLIT)
  assert (plurality.winner_name, plurality.tied) == ("a", (A,))
  assert plurality.scores == (3.0, 2.0, 2.0)
  assert (borda.winner_name, borda.tied) == ("b", (B,))
  assert borda.scores == (6.0, 9.0, 6.0)


def test_copeland_elects_the_condorcet_winner():
  outcome = _elect("copeland", SPLIT)
  assert outcome.winner == B
  assert outcome.scores == (-2.0, 2.0, 0.0)


def test_instant_runoff_transfers_votes_after_elimination():
  # 4 a>b>c, 3 b>c>a, 2 c>b>a: c goes first, its 2 votes go to b, and b
  # beats a 5-4 although a leads on first preferences.
  profile = voting.Profile(
      ALTS, "ranking", [(A, B, C)] * 4 + [(B, C, A)] * 3 + [(C, B, A)] * 2
  )
  outcome = _elect("instant_runoff", profile)
  assert outcome.winner == B
  assert outcome.tied == (B,)
  assert outcome.scores == (4.0, 3.0, 2.0)
  assert _elect("plurality", profile).winner == A


def test_condorcet_cycle_ties_every_alternative_under_copeland():
  outcome = _elect("copeland", CYCLE)
  assert outcome.tied == (A, B, C)
  assert outcome.scores == (0.0, 0.0, 0.0)


def test_seeded_tie_break_is_deterministic():
  winners = [_elect("copeland", CYCLE, seed=s).winner for s in range(20)]
  again = [_elect("copeland", CYCLE, seed=s).winner for s in range(20)]
  assert winners == again


def test_seeded_tie_break_reaches_every_tied_alternative():
  winners = {_elect("copeland", CYCLE, seed=s).winner for s in range(60)}
  assert winners == {A, B, C}


def test_tie_break_uses_the_given_generator_only():
  rng = np.random.default_rng(11)
  state = np.random.get_state()
  voting.elect("copeland", CYCLE, rng=rng)
  assert np.random.get_state()[1].tolist() == state[1].tolist()
  # Without a tie the generator is not touched.
  untouched = np.random.default_rng(11)
  voting.elect("borda", SPLIT, rng=untouched)
  assert untouched.integers(1000) == np.random.default_rng(11).integers(1000)


def test_approval_counts_approvals():
  profile = voting.Profile(ALTS, "approval", [{A, B}, {B}, {B, C}, {A}])
  outcome = _elect("approval", profile)
  assert outcome.winner == B
  assert outcome.scores == (2.0, 3.0, 1.0)


def test_score_sums_scores():
  profile = voting.Profile(
      ALTS, "scores", [(1.0, 0.0, 0.5), (0.0, 1.0, 0.5), (0.25, 0.0, 1.0)]
  )
  outcome = _elect("score", profile)
  assert outcome.winner == C
  assert outcome.scores == (1.25, 1.0, 2.0)


# Sums a 6, b 6, c 5 (a tie for score); lower medians a 3, b 2, c 1.
GRADES = voting.Profile(ALTS, "scores", [(3, 2, 0), (3, 2, 1), (0, 2, 4)])


def test_median_elects_the_greatest_median():
  outcome = _elect("median", GRADES)
  assert outcome.winner == A
  assert outcome.tied == (A,)
  assert outcome.scores == (3.0, 2.0, 1.0)
  assert _elect("score", GRADES).tied == (A, B)


def test_median_respects_a_fractional_principal_weight():
  # Players grade (0, 1) and (1, 0): a tie. A principal grading (1, 0) with
  # weight 0.5 counts as 2:2:1 voters, making a's median 1 and b's 0.
  profile = voting.Profile(("a", "b"), "scores", [(0, 1), (1, 0)])
  assert _elect("median", profile).tied == (A, B)
  outcome = _elect(
      "median", profile, principal_ballot=(1, 0), principal_weight=0.5
  )
  assert outcome.tied == (A,)
  assert outcome.scores == (1.0, 0.0)


def test_random_dictator_draws_with_plurality_shares():
  profile = voting.Profile(ALTS, "choice", [A, A, A, B])
  outcome = _elect("random_dictator", profile)
  assert outcome.tied == (A, B)
  assert outcome.scores == (0.75, 0.25, 0.0)
  counts = collections.Counter(
      _elect("random_dictator", profile, seed=s).winner for s in range(400)
  )
  assert set(counts) == {A, B}
  assert 0.65 < counts[A] / 400 < 0.85


def test_weighted_principal_ballot_changes_the_outcome():
  profile = voting.Profile(ALTS, "choice", [A, A, B])
  assert _elect("plurality", profile).winner == A
  assert _elect(
      "plurality", profile, principal_ballot=B, principal_weight=0.5
  ).winner == A
  tie = _elect("plurality", profile, principal_ballot=B, principal_weight=1.0)
  assert tie.tied == (A, B)
  outcome = _elect(
      "plurality", profile, principal_ballot=B, principal_weight=1.5
  )
  assert outcome.winner == B
  assert outcome.scores == (2.0, 2.5, 0.0)
  assert outcome.counted_weight == 4.5


def test_principal_with_zero_weight_has_no_say():
  profile = voting.Profile(ALTS, "choice", [A])
  outcome = _elect("plurality", profile, principal_ballot=B)
  assert outcome.winner == A
  assert outcome.counted_weight == 1.0


def test_profile_weights_scale_ballots():
  profile = voting.Profile(ALTS, "choice", [A, B], weights=[1.0, 2.0])
  assert _elect("plurality", profile).scores == (1.0, 2.0, 0.0)


@pytest.mark.parametrize("rule", voting.RULES)
def test_all_abstain_ties_every_alternative(rule):
  profile = voting.Profile(ALTS, "choice", [None, None, None])
  outcome = _elect(rule, profile, seed=3)
  assert outcome.tied == (A, B, C)
  assert outcome.scores is None
  assert outcome.counted_weight == 0.0
  assert outcome.winner == _elect(rule, profile, seed=3).winner
  assert outcome.winner_name == ALTS[outcome.winner]


@pytest.mark.parametrize("rule", voting.RULES)
def test_an_empty_profile_ties_every_alternative(rule):
  outcome = _elect(rule, voting.Profile(ALTS, "ranking", []))
  assert outcome.tied == (A, B, C)


@pytest.mark.parametrize("rule", voting.RULES)
def test_abstentions_are_not_counted(rule):
  profile = voting.Profile(ALTS, "choice", [None, C, None])
  outcome = _elect(rule, profile)
  assert outcome.winner == C
  assert outcome.counted_weight == 1.0


@pytest.mark.parametrize("rule", voting.RULES)
def test_world_ballots_elect_under_every_rule(rule):
  world = np.array([[0, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]])
  profile = voting.profile_from_world_ballots(world, ALTS)
  assert profile.kind == "choice"
  assert profile.ballots == (B, B, A, None)
  outcome = _elect(rule, profile)
  if rule == "random_dictator":
    assert outcome.tied == (A, B)
  else:
    assert outcome.winner == B


@pytest.mark.parametrize(
    "world",
    [
        np.array([[1, 1, 0]]),  # Two votes in one row.
        np.array([[0.5, 0, 0]]),  # Not one-hot.
        np.array([[1, 0]]),  # Wrong number of alternatives.
        np.array([1, 0, 0]),  # Not 2-D.
    ],
)
def test_bad_world_ballots_raise(world):
  with pytest.raises(ValueError, match="world ballots"):
    voting.profile_from_world_ballots(world, ALTS)


def test_choice_ballots_under_borda_give_plurality_points():
  profile = voting.Profile(ALTS, "choice", [A, B, B])
  assert _elect("borda", profile).scores == (2.0, 4.0, 0.0)


def test_truncated_ranking_ties_the_unranked_last():
  profile = voting.Profile(ALTS, "ranking", [(B,)])
  assert _elect("borda", profile).scores == (0.0, 2.0, 0.0)
  assert _elect("copeland", profile).scores == (-1.0, 2.0, -1.0)


def test_ranking_ballots_approve_their_upper_half():
  profile = voting.Profile(("a", "b", "c", "d"), "ranking", [(3, 2, 1, 0)])
  assert _elect("approval", profile).scores == (0.0, 0.0, 1.0, 1.0)


def test_ballot_with_a_tied_top_is_void_for_plurality():
  profile = voting.Profile(ALTS, "approval", [{A, B}, {C}])
  outcome = _elect("plurality", profile)
  assert outcome.winner == C
  assert outcome.counted_weight == 1.0


def test_scores_ballots_keep_ties_for_ranking_rules():
  # (1, 0, 0): a first, b and c tied; Borda gives them nothing.
  profile = voting.Profile(ALTS, "scores", [(1.0, 0.0, 0.0)])
  assert _elect("borda", profile).scores == (2.0, 0.0, 0.0)


@pytest.mark.parametrize(
    "kind, ballot, message",
    [
        ("choice", 3, r"in \[0, 3\)"),
        ("choice", 1.0, "int index"),
        ("ranking", (A, A), "twice"),
        ("ranking", 2, "collection of alternative indices"),
        ("approval", {A, 5}, r"in \[0, 3\)"),
        ("scores", (1.0, 2.0), "3 finite scores"),
        ("scores", (1.0, 2.0, np.nan), "3 finite scores"),
    ],
)
def test_bad_ballots_raise(kind, ballot, message):
  with pytest.raises(ValueError, match=message):
    voting.Profile(ALTS, kind, [ballot])


def test_bad_profiles_raise():
  with pytest.raises(ValueError, match="valid kinds"):
    voting.Profile(ALTS, "cumulative", [])
  with pytest.raises(ValueError, match="distinct"):
    voting.Profile(("a", "a"), "choice", [])
  with pytest.raises(ValueError, match="2 weights for 1 ballots"):
    voting.Profile(ALTS, "choice", [A], weights=[1.0, 1.0])
  with pytest.raises(ValueError, match=">= 0"):
    voting.Profile(ALTS, "choice", [A], weights=[-1.0])


@pytest.mark.parametrize("weight", [-0.5, float("nan"), float("inf")])
def test_bad_principal_weight_raises(weight):
  with pytest.raises(ValueError, match="principal_weight"):
    _elect("plurality", SPLIT, principal_ballot=(A, B, C),
           principal_weight=weight)


def test_principal_ballot_must_match_the_profile_kind():
  with pytest.raises(ValueError, match="principal_ballot"):
    _elect("plurality", SPLIT, principal_ballot=(A, A), principal_weight=1.0)


def test_ballots_from_utilities():
  u = [0.2, 0.9, 0.9]
  assert voting.ballot_from_utilities(u, "choice") == B
  assert voting.ballot_from_utilities(u, "ranking") == (B, C, A)
  assert voting.ballot_from_utilities(u, "approval") == frozenset({B, C})
  assert voting.ballot_from_utilities(u, "scores") == (0.2, 0.9, 0.9)
  assert voting.ballot_from_utilities([1.0, 1.0], "approval") is None
  with pytest.raises(ValueError, match="valid kinds"):
    voting.ballot_from_utilities(u, "cumulative")


def test_profile_from_preferences_builds_truthful_player_ballots():
  prefs = preferences.Preferences(
      utilities=[[9.0, 0.0, 0.0], [0.0, 1.0, 2.0], [3.0, 1.0, 2.0]],
      objectives=ALTS,
  )
  ranking = voting.profile_from_preferences(prefs, "ranking")
  assert ranking.ballots == ((C, B, A), (A, C, B))
  assert voting.profile_from_preferences(prefs, "choice").ballots == (C, A)
  approval = voting.profile_from_preferences(prefs, "approval")
  assert approval.ballots == (frozenset({C}), frozenset({A}))
  outcome = _elect(
      "borda", ranking, principal_ballot=voting.ballot_from_utilities(
          prefs.principal, "ranking"), principal_weight=1.0,
  )
  # Borda a 0 + 2 + 2 = 4, b 1 + 0 + 1 = 2, c 2 + 1 + 0 = 3.
  assert outcome.scores == (4.0, 2.0, 3.0)


def test_profile_from_reports_checks_the_alternatives():
  with pytest.raises(ValueError, match="report 0 has 2 utilities"):
    voting.profile_from_reports(
        [preferences.Report(utilities=[1.0, 0.0])], "choice", ALTS
    )


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


@pytest.mark.parametrize("rule", voting.RULES)
@settings(max_examples=25, deadline=None)
@given(case=unanimous_rankings(), seed=st.integers(0, 2**16))
def test_every_rule_respects_unanimity(rule, case, seed):
  m, ranking, voters = case
  alternatives = tuple(f"o{i}" for i in range(m))
  # Truthful approval ballots approve the alternatives above the mean
  # utility, here the upper floor(m/2); unanimity there means a winner from
  # that set. Plurality and random dictator void a multi-approval (an
  # overvote), so nothing is counted.
  upper = set(ranking[: m // 2])
  for kind in voting.BALLOT_KINDS:
    ballot = _unanimous_ballot(ranking, kind)
    profile = voting.Profile(alternatives, kind, [ballot] * voters)
    outcome = _elect(rule, profile, seed=seed)
    overvote = kind == "approval" and len(upper) > 1
    if overvote and rule in ("plurality", "random_dictator"):
      assert outcome.counted_weight == 0.0
    elif "approval" in (rule, kind):
      assert outcome.winner in upper
    else:
      assert outcome.winner == ranking[0]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(0, 2)), max_size=8),
    st.integers(0, 2**16),
)
def test_winner_is_always_in_the_tied_set(choices, seed):
  profile = voting.Profile(ALTS, "choice", choices)
  for rule in voting.RULES:
    outcome = _elect(rule, profile, seed=seed)
    assert outcome.winner in outcome.tied
    assert set(outcome.tied) <= {A, B, C}
    assert outcome == _elect(rule, profile, seed=seed)


def test_median_ignores_a_negligible_weight():
  # A weight under 1/2000 of the largest rounds to no voter at all.
  profile = voting.Profile(
      ("a", "b"), "scores", [(1, 0), (0, 1)], weights=[1.0, 1e-6]
  )
  assert _elect("median", profile).tied == (A,)


def test_median_of_a_single_tiny_weight_still_counts():
  profile = voting.Profile(("a", "b"), "scores", [(0, 1)], weights=[1e-9])
  assert _elect("median", profile).winner == B
