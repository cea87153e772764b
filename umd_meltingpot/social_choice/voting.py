"""Social choice f: ballots, and the principal's type, to one objective.

The paper's Definition 2 (Appendix A) is the voting mechanism S = (O, f, Θ):
players report (possibly untruthful) types θ̂_{-1}, the principal adds its own
type θ_1, and f(θ_1, θ̂_{-1}) picks the objective O the principal maximises.

This module is a thin layer over `pref_voting` (Holliday and Pacuit) with a
small vocabulary, after OpenSpiel's `voting/base.py`:

* a *ballot* is one voter's report, of one of four kinds (`BALLOT_KINDS`):
  "choice" (an alternative index, or None to abstain), "approval" (a set of
  indices), "ranking" (distinct indices, best first; alternatives left out
  are tied last, so a ranking of all m is stored without its last, the
  same ballot) or "scores" (m finite floats, higher is better);
* a `Profile` is the alternatives' names, ballots of one kind and a weight per
  ballot;
* a rule (`RULES`, by name) counts a profile; `elect` returns an `Outcome`:
  the winning set, the tie-broken winner and the tally.

Every rule accepts every ballot kind. A ballot is first read as a score
vector s in R^m (choice c: 1 for c, 0 elsewhere; ranking: m-1-position for
ranked alternatives, 0 for unranked; approval: 1 if approved, else 0;
scores: as given), then each rule reads what it needs from s:

* plurality, random dictator: the top of s. A ballot whose top is tied (an
  approval of several, equal best scores) is void, like an overvote.
* Borda, instant runoff, Copeland: the weak order of s; equal entries are
  tied and the lowest tier is left unranked, so an instant runoff ballot is
  exhausted once all it ranks above that tier are eliminated.
* approval: an approval ballot as cast; a choice or a ranking approves
  what it ranks (the ranked set doubles as the approval set, so a full
  ranking approves all but its last); a scores ballot approves the
  alternatives with s_a strictly above the mean of s.
* score, median: s itself.

None, an empty approval or an empty ranking is an abstention; so, for every
rule but score and median, is a ballot whose s is constant, since it
prefers nothing. If every ballot abstains, every alternative is tied.

Ties are broken uniformly at random with the caller's `np.random.Generator`,
so an election is reproducible from a seed; the rule's whole winning set is
kept in `Outcome.tied`.

In the substrate every ballot is a ranking: each `VOTE_<objective>` press
puts that objective next (see `profile_from_world_ballots`), and
`truthful_ballot` is the ranking a truthful voter casts under a rule: the
ranking that carries the rule's textbook ballot (the favourite alone, the
approval set, or the full ranking). Every rule counts every ranking, so the
rules differ as social choice theory says they do; on rankings, score sums
Borda's points and so always agrees with Borda.

Usage:

  profile = profile_from_world_ballots(world_ballots, DEFAULT_OBJECTIVES)
  outcome = elect("borda", profile, rng=np.random.default_rng(0))
  outcome.winner_name
"""

import dataclasses
import fractions
import itertools
import math
import operator
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from umd_meltingpot.plumbing import lazy
from umd_meltingpot.social_choice import preferences

# pref_voting's modules take about a second to import (numba, networkx,
# matplotlib, ortools), so they load on the first count: the rule names (in
# `umd run --help`, say) stay cheap. pref_voting_locks goes first: the
# methods take a lock file on import, which it redirects out of a possibly
# read-only install (see there).
_LOCKS = ("umd_meltingpot.social_choice.pref_voting_locks",)
c1_methods = lazy.module("pref_voting.c1_methods", after=_LOCKS)
grade_methods = lazy.module("pref_voting.grade_methods", after=_LOCKS)
iterative_methods = lazy.module("pref_voting.iterative_methods", after=_LOCKS)
probabilistic_methods = lazy.module("pref_voting.probabilistic_methods",
                                    after=_LOCKS)
scoring_methods = lazy.module("pref_voting.scoring_methods", after=_LOCKS)
grade_profiles = lazy.module("pref_voting.grade_profiles", after=_LOCKS)
profiles_with_ties = lazy.module("pref_voting.profiles_with_ties",
                                 after=_LOCKS)

BALLOT_KINDS: tuple[str, ...] = ("choice", "approval", "ranking", "scores")
"""The kinds of ballot a `Profile` can hold."""

BALLOT_SOURCES: tuple[str, ...] = ("world", "types")
"""Where a game's ballots come from (`umd run --ballots`): the players' VOTE
actions in the world, or the truthful ballots of their types."""

Ballot = Union[None, int, frozenset[int], tuple[int, ...], tuple[float, ...]]
"""One voter's ballot; None is an abstention, whatever the kind."""

# Weak order for pref_voting: alternative -> tier (1 = best); alternatives
# missing from the dict are tied below every listed one.
_WeakOrder = dict[int, int]
_Tally = tuple[list[int], dict[int, float]]

# Median needs whole multiplicities (pref_voting repeats each grade map
# `count` times). Weights relative to the largest are rounded to fractions
# with at most this denominator, then scaled to integers: ample for a
# principal weight, and a weight under 1/2000 of the largest is dropped.
_MAX_DENOMINATOR = 1000
_MAX_MEDIAN_VOTERS = 1_000_000


# ----------------------------------------------------------------------------
# Ballots and profiles.
# ----------------------------------------------------------------------------


def _index(value: Any, num_alternatives: int, what: str) -> int:
  try:
    index = operator.index(value)
  except TypeError:
    raise ValueError(f"{what} must be an int index, got {value!r}.") from None
  if not 0 <= index < num_alternatives:
    raise ValueError(
        f"{what} must be in [0, {num_alternatives}), got {index}."
    )
  return index


def _canonical_ballot(
    ballot: Any, kind: str, num_alternatives: int, what: str
) -> Ballot:
  """Validates one ballot and returns it in its canonical, hashable form."""
  if ballot is None:
    return None
  if kind == "choice":
    return _index(ballot, num_alternatives, what)
  if kind == "scores":
    scores = np.asarray(ballot, dtype=np.float64)
    if scores.shape != (num_alternatives,) or not np.all(np.isfinite(scores)):
      raise ValueError(
          f"{what} must hold {num_alternatives} finite scores, got {ballot!r}."
      )
    return tuple(float(s) for s in scores)
  if isinstance(ballot, (str, bytes)) or not isinstance(ballot, Iterable):
    raise ValueError(
        f"{what} must be a collection of alternative indices, got {ballot!r}."
    )
  indices = [_index(a, num_alternatives, what) for a in ballot]
  if kind == "approval":
    return frozenset(indices) or None
  if len(set(indices)) != len(indices):
    raise ValueError(f"{what} ranks an alternative twice: {tuple(indices)}.")
  # The last of a full ranking is tied last anyway: one form per ballot.
  return tuple(indices[:num_alternatives - 1]) or None


@dataclasses.dataclass(frozen=True)
class Profile:
  """Ballots of one kind over named alternatives, each with a weight.

  Attributes:
    alternatives: the m alternative names (objective names), distinct; a
      ballot refers to them by index.
    kind: one of `BALLOT_KINDS`.
    ballots: one ballot per voter, of `kind`; None abstains. Stored in
      canonical form (int, frozenset, or tuple).
    weights: one finite weight >= 0 per ballot; default 1.0 each.
  """

  alternatives: tuple[str, ...]
  kind: str
  ballots: tuple[Ballot, ...]
  weights: Optional[tuple[float, ...]] = None

  def __post_init__(self):
    alternatives = tuple(self.alternatives)
    if not alternatives or len(set(alternatives)) != len(alternatives):
      raise ValueError(
          f"alternatives must be distinct and non-empty, got {alternatives}."
      )
    if self.kind not in BALLOT_KINDS:
      raise ValueError(
          f"Unknown ballot kind {self.kind!r}; valid kinds are {BALLOT_KINDS}."
      )
    ballots = tuple(
        _canonical_ballot(b, self.kind, len(alternatives), f"ballot {i}")
        for i, b in enumerate(self.ballots)
    )
    if self.weights is None:
      weights = (1.0,) * len(ballots)
    else:
      weights = tuple(float(w) for w in self.weights)
    if len(weights) != len(ballots):
      raise ValueError(
          f"Got {len(weights)} weights for {len(ballots)} ballots."
      )
    if not all(math.isfinite(w) and w >= 0 for w in weights):
      raise ValueError(f"weights must be finite and >= 0, got {weights}.")
    # Frozen dataclass: normalise the fields in place once, at construction.
    object.__setattr__(self, "alternatives", alternatives)
    object.__setattr__(self, "ballots", ballots)
    object.__setattr__(self, "weights", weights)

  @property
  def num_alternatives(self) -> int:
    """m, the number of alternatives."""
    return len(self.alternatives)


def ballot_from_utilities(
    utilities: Union[Sequence[float], np.ndarray], kind: str
) -> Ballot:
  """The truthful ballot of a voter with these utilities.

  "choice" is the best alternative and "ranking" all alternatives best first
  (stored without the last, see `Profile`; None if there is one), both
  breaking equal utilities towards the lower index, as
  `preferences.Preferences.rankings` does; "approval" approves the
  alternatives strictly above the mean utility (nothing, an abstention, if
  all are equal); "scores" is the utilities themselves. Build "scores"
  ballots to keep a voter's indifferences: every rule can count them.

  Args:
    utilities: the voter's (true or reported) utility per alternative.
    kind: one of `BALLOT_KINDS`.

  Returns:
    The ballot, in canonical form.
  """
  _check_kind(kind)
  u = np.asarray(utilities, dtype=np.float64)
  if u.ndim != 1 or u.size == 0 or not np.all(np.isfinite(u)):
    raise ValueError(f"utilities must be finite and 1-D, got {utilities!r}.")
  ranking = preferences.full_ranking(u)
  if kind == "choice":
    return ranking[0]
  if kind == "ranking":
    return ranking[:-1] or None  # Canonical: the last is tied last anyway.
  if kind == "approval":
    return frozenset(int(a) for a in np.flatnonzero(u > np.mean(u))) or None
  return tuple(float(x) for x in u)


def profile_from_reports(
    reports: Sequence[preferences.Report],
    kind: str,
    alternatives: Sequence[str],
) -> Profile:
  """A profile of the ballots these reports imply, one per report.

  Args:
    reports: one report per voter, each over `alternatives`.
    kind: the ballot kind to build (see `ballot_from_utilities`).
    alternatives: the alternative names.

  Returns:
    A `Profile` with unit weights.
  """
  for i, report in enumerate(reports):
    if report.utilities.shape != (len(alternatives),):
      raise ValueError(
          f"report {i} has {report.utilities.size} utilities, but there are "
          f"{len(alternatives)} alternatives {tuple(alternatives)}."
      )
  ballots = tuple(ballot_from_utilities(r.utilities, kind) for r in reports)
  return Profile(alternatives=tuple(alternatives), kind=kind, ballots=ballots)


def profile_from_preferences(
    prefs: preferences.Preferences, kind: str
) -> Profile:
  """The players' truthful ballots of the given kind (not the principal's).

  The principal's truthful ballot, to pass to `elect`, is
  `ballot_from_utilities(prefs.principal, kind)`.

  Args:
    prefs: the type profile θ.
    kind: the ballot kind to build (see `ballot_from_utilities`).

  Returns:
    A `Profile` over `prefs.objectives`, one ballot per player.
  """
  return profile_from_reports(
      preferences.truthful_reports(prefs), kind, prefs.objectives
  )


def truthful_ballot(utilities: Union[Sequence[float], np.ndarray],
                    rule: str) -> tuple[int, ...]:
  """The ranked ballot a truthful voter casts in the game under `rule`.

  In the substrate every ballot is a ranking, one `VOTE_*` press per
  objective, so each rule's textbook ballot is cast as the ranking that
  carries it (the README's table "The truthful ballot in the game"):

  * plurality, random dictator (choice): the favourite alone;
  * approval: exactly the objectives above the voter's mean utility (its
    `ballot_from_utilities(..., "approval")`), best first; a ranking's
    ranked set is its approval set, so a full ranking would approve all but
    the last, which makes approval anti-plurality (veto);
  * Borda, instant runoff, Copeland (ranking): the full ranking;
  * score, median (scores): the full ranking too, the nearest a ranking
    comes to a score ballot; both read its Borda points m-1-position.

  Equal utilities break towards the lower index, as
  `preferences.Preferences.rankings`; a full ranking leaves its last out,
  as the K - 1 presses that cast it do. `--ballots types` counts these
  ballots, and truthful bots cast them through Lua under `--ballots world`.

  Args:
    utilities: the voter's utility per objective.
    rule: a key of `RULES`.

  Returns:
    The ranking, best first; empty (an abstention) if the voter approves
    nothing, i.e. is indifferent between every objective.
  """
  kind = _get_rule(rule).ballot_kind
  if kind == "choice":
    return preferences.full_ranking(utilities)[:1]
  if kind == "approval":
    approved = ballot_from_utilities(utilities, "approval") or frozenset()
    return tuple(a for a in preferences.full_ranking(utilities)
                 if a in approved)
  return preferences.ranked_ballot(utilities)


def in_game_ballots(utilities: Union[Sequence[float], np.ndarray],
                    rule: str) -> tuple[tuple[int, ...], ...]:
  """Every distinct ballot the game lets a voter cast under `rule`, as
  rankings (abstention aside), one of them `truthful_ballot`.

  Plurality and random dictator: each objective alone; approval: each
  non-empty proper subset of the objectives (approving all is an
  abstention), pressed best first by `utilities`, since the order carries
  nothing; the other rules: each full ranking without its last. In that
  order, which does not depend on `utilities`.
  """
  kind = _get_rule(rule).ballot_kind
  num_objectives = np.asarray(utilities).size
  objectives = range(num_objectives)
  if kind == "choice":
    return tuple((a,) for a in objectives)
  if kind == "approval":
    best_first = preferences.full_ranking(utilities)
    return tuple(
        tuple(a for a in best_first if a in subset)
        for size in range(1, num_objectives)
        for subset in itertools.combinations(objectives, size))
  return tuple(r[:-1] for r in itertools.permutations(objectives))


def profile_from_world_ballots(
    ballots: np.ndarray, alternatives: Sequence[str]
) -> Profile:
  """A "ranking" profile from the substrate's `WORLD.BALLOTS` observation.

  Args:
    ballots: an (n, K) array, one row per player: the rank position of each
      alternative in the player's ranking (1 = top, 2 = next, ...; 0 =
      unranked, tied last). A row's non-zero entries are 1..L for the L
      alternatives it ranks; an all-zero row is an abstention.
    alternatives: the K alternative names, in the substrate's vote order.

  Returns:
    A `Profile` of kind "ranking" with unit weights.
  """
  array = np.asarray(ballots)
  if array.ndim != 2 or array.shape[1] != len(alternatives):
    raise ValueError(
        f"world ballots must have shape (num_players, {len(alternatives)}), "
        f"got {array.shape}."
    )
  rankings = []
  for row in array:
    ranked = np.flatnonzero(row)
    if not (np.all(row == np.round(row)) and sorted(row[ranked].tolist()) ==
            list(range(1, ranked.size + 1))):
      raise ValueError(
          "each row of the world ballots must hold the rank positions 1..L "
          f"of the L alternatives it ranks and 0 elsewhere, got "
          f"{array.tolist()}."
      )
    rankings.append(tuple(int(a) for a in ranked[np.argsort(row[ranked])]))
  return Profile(
      alternatives=tuple(alternatives), kind="ranking", ballots=rankings
  )


def rank_positions(profile: Profile) -> np.ndarray:
  """The ballots of a "choice" or "ranking" profile as `WORLD.BALLOTS` holds
  them: an (n, K) array of rank positions (1 = top, 0 = unranked).

  `profile_from_world_ballots(rank_positions(p), p.alternatives)` gives `p`
  back (as a ranking profile).
  """
  if profile.kind not in ("choice", "ranking"):
    raise ValueError(
        f"rank positions need a choice or ranking profile, got {profile.kind!r}."
    )
  ranks = np.zeros((len(profile.ballots), profile.num_alternatives))
  for i, ballot in enumerate(profile.ballots):
    if ballot is not None:
      ranking = (ballot,) if profile.kind == "choice" else ballot
      ranks[i, list(ranking)] = np.arange(1, len(ranking) + 1)
  return ranks


def first_preferences(profile: Profile) -> np.ndarray:
  """How many ballots (by weight) rank each alternative first.

  For a "choice" or "ranking" profile; abstentions count for nothing.
  """
  ranks = rank_positions(profile)
  return np.asarray(profile.weights) @ (ranks == 1).astype(np.float64)


# ----------------------------------------------------------------------------
# Reading a ballot the way a rule needs it.
# ----------------------------------------------------------------------------


def _score_vector(ballot: Ballot, kind: str, m: int) -> Optional[np.ndarray]:
  """The score vector s of a ballot (see the module docstring)."""
  if ballot is None:
    return None
  scores = np.zeros(m)
  if kind == "choice":
    scores[ballot] = 1.0
  elif kind == "approval":
    scores[list(ballot)] = 1.0
  elif kind == "ranking":
    scores[list(ballot)] = np.arange(m - 1, m - 1 - len(ballot), -1)
  else:
    scores[:] = ballot
  return scores


def _read_order(ballot: Ballot, kind: str, m: int) -> Optional[_WeakOrder]:
  scores = _score_vector(ballot, kind, m)
  if scores is None:
    return None
  tiers = sorted(set(scores.tolist()), reverse=True)
  # The bottom tier stays unranked: with extended strict preference every
  # ranked alternative beats it, and it exhausts runoff ballots.
  order = {a: tiers.index(s) + 1 for a, s in enumerate(scores) if s > tiers[-1]}
  return order or None


def _read_top(ballot: Ballot, kind: str, m: int) -> Optional[_WeakOrder]:
  order = _read_order(ballot, kind, m)
  if order is None:
    return None
  tops = [a for a, tier in order.items() if tier == 1]
  return {tops[0]: 1} if len(tops) == 1 else None


def _read_approval(
    ballot: Ballot, kind: str, m: int
) -> Optional[dict[int, int]]:
  if kind == "approval":
    approved = ballot
  elif kind == "choice":
    approved = {ballot} if ballot is not None else None
  elif kind == "ranking":
    # The ranked set doubles as the approval set.
    approved = set(ballot) if ballot is not None else None
  else:
    scores = _score_vector(ballot, kind, m)
    if scores is None:
      return None
    approved = set(np.flatnonzero(scores > np.mean(scores)).tolist())
  if not approved:
    return None
  return {a: int(a in approved) for a in range(m)}


def _read_grades(
    ballot: Ballot, kind: str, m: int
) -> Optional[dict[int, float]]:
  # An all-equal grading is still a vote here: it moves medians.
  scores = _score_vector(ballot, kind, m)
  if scores is None:
    return None
  return {a: float(s) for a, s in enumerate(scores)}


# ----------------------------------------------------------------------------
# Counting, by pref_voting.
# ----------------------------------------------------------------------------


def _order_profile(
    orders: Sequence[_WeakOrder], weights: Sequence[float], m: int
) -> "profiles_with_ties.ProfileWithTies":
  profile = profiles_with_ties.ProfileWithTies(
      list(orders), rcounts=list(weights), candidates=list(range(m))
  )
  # Ranked alternatives beat unranked ones in pairwise comparisons; without
  # this a choice ballot would say nothing about its choice vs the rest.
  profile.use_extended_strict_preference()
  return profile


def _grade_profile(
    grades: Sequence[dict[int, float]], weights: Sequence[Any], m: int
) -> "grade_profiles.GradeProfile":
  values = sorted({g for grade in grades for g in grade.values()})
  return grade_profiles.GradeProfile(
      list(grades), values, gcounts=list(weights), candidates=list(range(m))
  )


def _integer_counts(weights: Sequence[float]) -> list[int]:
  largest = max(weights)
  fracs = [
      fractions.Fraction(w / largest).limit_denominator(_MAX_DENOMINATOR)
      for w in weights
  ]
  scale = math.lcm(*(f.denominator for f in fracs))
  counts = [int(f * scale) for f in fracs]
  divisor = math.gcd(*counts) or 1
  counts = [c // divisor for c in counts]
  if sum(counts) > _MAX_MEDIAN_VOTERS:
    raise ValueError(
        "median needs weights whose ratios are simple fractions "
        f"(denominator <= {_MAX_DENOMINATOR}); got {list(weights)}."
    )
  return counts


def _count_plurality(orders, weights, m) -> _Tally:
  profile = _order_profile(orders, weights, m)
  return scoring_methods.plurality(profile), profile.plurality_scores()


def _count_borda(orders, weights, m) -> _Tally:
  # Domination Borda (alternatives ranked strictly below) is textbook Borda,
  # m-1-position, on full rankings and extends it to ties and truncation.
  profile = _order_profile(orders, weights, m)
  winners = scoring_methods.borda_for_profile_with_ties(
      profile, borda_scores=scoring_methods.domination_borda_scores
  )
  return winners, scoring_methods.domination_borda_scores(profile)


def _count_instant_runoff(orders, weights, m) -> _Tally:
  # The tally is the first round's first preferences. pref_voting's
  # defaults: alternatives tied for fewest are eliminated together, and a
  # ballot with tied first preferences counts for each of them.
  profile = _order_profile(orders, weights, m)
  return iterative_methods.instant_runoff(profile), profile.tops_scores()


def _count_copeland(orders, weights, m) -> _Tally:
  # Copeland score: pairwise wins minus pairwise losses.
  profile = _order_profile(orders, weights, m)
  return c1_methods.copeland(profile), profile.copeland_scores()


def _count_approval(grades, weights, m) -> _Tally:
  profile = _grade_profile(grades, weights, m)
  scores = {a: profile.sum(a) for a in range(m)}
  return grade_methods.approval(profile), scores


def _count_score(grades, weights, m) -> _Tally:
  profile = _grade_profile(grades, weights, m)
  scores = {a: profile.sum(a) for a in range(m)}
  return grade_methods.score_voting(profile), scores


def _count_median(grades, weights, m) -> _Tally:
  # Majority judgement (Balinski and Laraki 2011): the greatest (lower)
  # median grade wins; ties go to its proponent/opponent tie-breaker.
  profile = _grade_profile(grades, _integer_counts(weights), m)
  scores = {a: profile.median(a) for a in range(m)}
  return grade_methods.majority_judgement(profile), scores


def _count_random_dictator(orders, weights, m) -> _Tally:
  profile = _order_profile(orders, weights, m)
  lottery = probabilistic_methods.random_dictator(profile)
  support = [a for a in range(m) if lottery.get(a, 0.0) > 0]
  return support, lottery


@dataclasses.dataclass(frozen=True)
class Rule:
  """A voting rule, as `elect` runs it.

  Attributes:
    name: the key in `RULES`.
    ballot_kind: the ballot kind the rule is defined on; truthful ballots of
      this kind lose nothing the rule could use.
    description: one line, with the source of the definition.
    lottery: True if the rule's tally is a lottery that `elect` samples the
      winner from; otherwise ties are broken uniformly.
  """

  name: str
  ballot_kind: str
  description: str
  lottery: bool
  _read: Callable[[Ballot, str, int], Any] = dataclasses.field(repr=False)
  _count: Callable[[list, list, int], _Tally] = dataclasses.field(repr=False)


RULES: Mapping[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            name="plurality",
            ballot_kind="choice",
            description="most first places",
            lottery=False,
            _read=_read_top,
            _count=_count_plurality,
        ),
        Rule(
            name="borda",
            ballot_kind="ranking",
            description="most Borda points, m-1-position (Borda 1781)",
            lottery=False,
            _read=_read_order,
            _count=_count_borda,
        ),
        Rule(
            name="instant_runoff",
            ballot_kind="ranking",
            description="drop the fewest first places until one is left (Hare)",
            lottery=False,
            _read=_read_order,
            _count=_count_instant_runoff,
        ),
        Rule(
            name="copeland",
            ballot_kind="ranking",
            description="most pairwise wins minus losses (Copeland 1951)",
            lottery=False,
            _read=_read_order,
            _count=_count_copeland,
        ),
        Rule(
            name="approval",
            ballot_kind="approval",
            description="most approvals (Brams and Fishburn 1978)",
            lottery=False,
            _read=_read_approval,
            _count=_count_approval,
        ),
        Rule(
            name="score",
            ballot_kind="scores",
            description="greatest sum of scores (range voting)",
            lottery=False,
            _read=_read_grades,
            _count=_count_score,
        ),
        Rule(
            name="median",
            ballot_kind="scores",
            description=(
                "greatest median score (majority judgement, Balinski and "
                "Laraki 2011)"
            ),
            lottery=False,
            _read=_read_grades,
            _count=_count_median,
        ),
        Rule(
            name="random_dictator",
            ballot_kind="choice",
            description=(
                "the top choice of a voter drawn with probability "
                "proportional to its weight (Gibbard 1977)"
            ),
            lottery=True,
            _read=_read_top,
            _count=_count_random_dictator,
        ),
    )
}
"""Voting rules by name, each counted by `pref_voting`."""


def _check_kind(kind: str) -> None:
  if kind not in BALLOT_KINDS:
    raise ValueError(
        f"Unknown ballot kind {kind!r}; valid kinds are {BALLOT_KINDS}."
    )


def _get_rule(name: str) -> Rule:
  if name not in RULES:
    raise ValueError(
        f"Unknown voting rule {name!r}; valid rules are {tuple(RULES)}."
    )
  return RULES[name]


def ballot_kind_for_rule(rule: str) -> str:
  """The ballot kind `rule` is defined on (it counts the others too).

  Args:
    rule: a key of `RULES`.

  Returns:
    One of `BALLOT_KINDS`.
  """
  return _get_rule(rule).ballot_kind


# ----------------------------------------------------------------------------
# Elections.
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
  """The result of one election.

  Attributes:
    rule: the rule's name.
    winner: index of the elected alternative.
    winner_name: its name.
    tied: the rule's winning set before tie-breaking, sorted (for random
      dictator: every alternative with positive probability).
    scores: the tally per alternative, in alternative order: plurality
      first places, Borda points, first-round first preferences (instant
      runoff), Copeland wins minus losses, approvals, score sums, (lower)
      median scores, or random dictator probabilities. None if every ballot
      abstained.
    counted_weight: total weight of the ballots counted (0 if all abstained).
    tie_broken: True if the winner was drawn at random from a tie of two or
      more (a lottery rule's draw is not a tie).
  """

  rule: str
  winner: int
  winner_name: str
  tied: tuple[int, ...]
  scores: Optional[tuple[float, ...]]
  counted_weight: float
  tie_broken: bool = False


def elect(
    rule: str,
    profile: Profile,
    *,
    rng: np.random.Generator,
    principal_ballot: Ballot = None,
    principal_weight: float = 0.0,
) -> Outcome:
  """Runs f: counts `profile` with `rule` and picks one winner.

  The principal's type θ_1 enters as one extra ballot of weight
  `principal_weight`, next to the players' ballots with their profile
  weights (1.0 each by default). With weight 0, the default, the principal
  has no say.

  `rng` breaks ties among the rule's winners uniformly, and draws the random
  dictator; it is not used otherwise. The same rng state gives the same
  outcome.

  Args:
    rule: a key of `RULES`.
    profile: the players' ballots.
    rng: the source of randomness for tie-breaking.
    principal_ballot: the principal's ballot, of `profile.kind`; None
      abstains.
    principal_weight: weight of the principal's ballot, finite and >= 0.

  Returns:
    The `Outcome`.

  Raises:
    ValueError: for an unknown rule, a bad principal ballot or weight.
  """
  spec = _get_rule(rule)
  if not (math.isfinite(principal_weight) and principal_weight >= 0):
    raise ValueError(
        f"principal_weight must be finite and >= 0, got {principal_weight}."
    )
  m = profile.num_alternatives
  ballots = list(profile.ballots)
  weights = list(profile.weights)
  ballots.append(
      _canonical_ballot(principal_ballot, profile.kind, m, "principal_ballot")
  )
  weights.append(float(principal_weight))

  read, counted = [], []
  for ballot, weight in zip(ballots, weights):
    reading = spec._read(ballot, profile.kind, m)
    # pref_voting cannot take weight-0 entries in every method (median
    # repeats grades `weight` times), and they change nothing.
    if reading is not None and weight > 0:
      read.append(reading)
      counted.append(weight)

  tie_broken = False
  if not read:
    tied, scores = tuple(range(m)), None
    winner = tied[int(rng.integers(len(tied)))]
    tie_broken = m > 1
  else:
    winners, tally = spec._count(read, counted, m)
    tied = tuple(sorted(int(a) for a in winners))
    scores = tuple(float(tally.get(a, 0.0)) for a in range(m))
    if spec.lottery:
      probabilities = np.array([scores[a] for a in tied])
      draw = rng.choice(len(tied), p=probabilities / probabilities.sum())
      winner = tied[int(draw)]
    elif len(tied) == 1:
      winner = tied[0]
    else:
      winner = tied[int(rng.integers(len(tied)))]
      tie_broken = True
  return Outcome(
      rule=rule,
      winner=winner,
      winner_name=profile.alternatives[winner],
      tied=tied,
      scores=scores,
      counted_weight=float(sum(counted)),
      tie_broken=tie_broken,
  )
