"""Types Θ: every agent's preferences over the welfare objectives.

In the paper (Definition 1 and Appendix A) a type profile θ ∈ Θ ⊆ R^{(n+1)×m}
has one row per agent and one column per alternative (here: per objective
name). Row 0 is the principal's type θ_1 and rows 1..n are the players'
types θ_{-1}. A row is a latent utility vector; it orders the objectives,
which is all a voting rule needs.

Row i of θ is player i - 1 in Melting Pot's 0-based numbering, and player i
in Lua's 1-based numbering.

Types are drawn by a generator from `GENERATORS`, by name through `make`, or
from a short spec string (for the command line) through `from_spec`:

  rng = np.random.default_rng(0)
  prefs = from_spec("mallows:0.5", num_players=4,
                    objectives=("utilitarian", "egalitarian", "nash"), rng=rng)
  prefs.rankings()[1]  # player 0's ranking, best first

A `Report` is what a player tells the mechanism: its true type
(`truthful_report`) or any other utility vector a voter policy chooses; the
paper does not require reports to be truthful. `voting.py` turns reports into
ballots.
"""

import dataclasses
from typing import Callable, Optional, Sequence, Union

import numpy as np
from prefsampling import ordinal

ArrayLike = Union[Sequence[Sequence[float]], np.ndarray]


def _frozen_array(values: ArrayLike, what: str, ndim: int) -> np.ndarray:
  """A read-only float copy of `values`, which must be finite and `ndim`-D."""
  array = np.array(values, dtype=np.float64)
  if array.ndim != ndim:
    raise ValueError(f"{what} must be {ndim}-D, got shape {array.shape}.")
  if not np.all(np.isfinite(array)):
    raise ValueError(f"{what} must be finite.")
  array.setflags(write=False)
  return array


def _ranking_of(row: np.ndarray) -> tuple[int, ...]:
  # A stable sort on -u keeps equal utilities in index order, so ties are
  # broken towards the objective listed first.
  return tuple(int(a) for a in np.argsort(-row, kind="stable"))


def full_ranking(
    utilities: Union[Sequence[float], np.ndarray]) -> tuple[int, ...]:
  """Every objective index, best first (equal utilities by index)."""
  row = np.asarray(utilities, dtype=np.float64)
  if row.ndim != 1 or row.size == 0 or not np.all(np.isfinite(row)):
    raise ValueError(f"utilities must be finite and 1-D, got {utilities!r}.")
  return _ranking_of(row)


def ranked_ballot(
    utilities: Union[Sequence[float], np.ndarray]) -> tuple[int, ...]:
  """The ranked ballot of a truthful voter with these utilities.

  Its ranking, best first (equal utilities by objective index), without the
  last objective: an unranked objective is tied last, so K - 1 `VOTE_*`
  presses cast a full ranking of K (see `voting.truthful_ballot`).
  """
  return full_ranking(utilities)[:-1]


@dataclasses.dataclass(frozen=True, eq=False)
class Preferences:
  """A type profile θ: utilities of the principal and the players.

  Attributes:
    utilities: float array of shape (n + 1, m), read-only. Row 0 is the
      principal, rows 1..n the players; column j is `objectives[j]`. Only the
      order within a row matters to ordinal rules; cardinal rules (score,
      median) read the values.
    objectives: the m alternative names, distinct.
  """

  utilities: np.ndarray
  objectives: tuple[str, ...]

  def __post_init__(self):
    objectives = tuple(self.objectives)
    if not objectives:
      raise ValueError("objectives must name at least one alternative.")
    if len(set(objectives)) != len(objectives):
      raise ValueError(f"objectives must be distinct, got {objectives}.")
    utilities = _frozen_array(self.utilities, "utilities", ndim=2)
    if utilities.shape[0] < 2 or utilities.shape[1] != len(objectives):
      raise ValueError(
          "utilities must have shape (num_players + 1, num_objectives) = "
          f"(>= 2, {len(objectives)}), got {utilities.shape}."
      )
    # Frozen dataclass: normalise the fields in place once, at construction.
    object.__setattr__(self, "objectives", objectives)
    object.__setattr__(self, "utilities", utilities)

  @property
  def num_players(self) -> int:
    """n, the number of players (rows minus the principal's)."""
    return self.utilities.shape[0] - 1

  @property
  def num_objectives(self) -> int:
    """m, the number of alternatives."""
    return self.utilities.shape[1]

  @property
  def principal(self) -> np.ndarray:
    """The principal's utilities θ_1 (row 0), shape (m,)."""
    return self.utilities[0]

  @property
  def players(self) -> np.ndarray:
    """The players' utilities θ_{-1} (rows 1..n), shape (n, m)."""
    return self.utilities[1:]

  def rankings(self) -> list[tuple[int, ...]]:
    """Each row's ranking of the objectives.

    Returns:
      One tuple of objective indices per row of θ (principal first), best
      first. Equal utilities are ordered by objective index.
    """
    return [_ranking_of(row) for row in self.utilities]

  def favourite(self, row: int) -> int:
    """The index of row `row`'s most preferred objective.

    Args:
      row: a row of θ: 0 for the principal, i in 1..n for player i - 1.

    Returns:
      The top of that row's ranking (ties go to the lower index).
    """
    return _ranking_of(self.utilities[self._check_row(row)])[0]

  def _check_row(self, row: int) -> int:
    if not 0 <= row <= self.num_players:
      raise ValueError(
          f"row must be in [0, {self.num_players}] (0 is the principal), "
          f"got {row}."
      )
    return row


@dataclasses.dataclass(frozen=True, eq=False)
class Report:
  """A reported type θ̂_i: what one agent tells the voting mechanism.

  Attributes:
    utilities: float array of shape (m,), read-only, in the objective order
      of the `Preferences` it refers to.
    truthful: whether this is the agent's true type. A voter policy that
      misreports builds `Report(utilities=..., truthful=False)`.
  """

  utilities: np.ndarray
  truthful: bool = False

  def __post_init__(self):
    utilities = _frozen_array(self.utilities, "report utilities", ndim=1)
    if utilities.size == 0:
      raise ValueError("report utilities must not be empty.")
    object.__setattr__(self, "utilities", utilities)


def truthful_report(prefs: Preferences, row: int) -> Report:
  """The truthful report of one agent: its own row of θ.

  Args:
    prefs: the type profile.
    row: a row of θ: 0 for the principal, i in 1..n for player i - 1.

  Returns:
    A `Report` with `truthful=True`.
  """
  row = prefs._check_row(row)
  return Report(utilities=prefs.utilities[row], truthful=True)


def truthful_reports(prefs: Preferences) -> list[Report]:
  """The players' truthful reports (rows 1..n, not the principal's).

  Args:
    prefs: the type profile.

  Returns:
    One `Report` per player, in player order.
  """
  rows = range(1, prefs.num_players + 1)
  return [truthful_report(prefs, row) for row in rows]


# ----------------------------------------------------------------------------
# Generators. Each takes keyword-only num_players, objectives and rng.
# ----------------------------------------------------------------------------


def _check_setup(
    num_players: int, objectives: Sequence[str]
) -> tuple[str, ...]:
  if isinstance(num_players, bool) or not isinstance(
      num_players, (int, np.integer)
  ):
    raise ValueError(f"num_players must be an int >= 1, got {num_players!r}.")
  if num_players < 1:
    raise ValueError(f"num_players must be >= 1, got {num_players}.")
  objectives = tuple(objectives)
  if not objectives:
    raise ValueError("objectives must name at least one alternative.")
  return objectives


def _index_of(name: str, objectives: tuple[str, ...]) -> int:
  if name not in objectives:
    raise ValueError(
        f"Unknown objective {name!r}; valid objectives are {objectives}."
    )
  return objectives.index(name)


def _scores_from_rankings(
    rankings: Sequence[Sequence[int]], num_objectives: int
) -> np.ndarray:
  # Borda-like utilities m-1-position: the best objective gets m-1, the worst
  # 0, so ordinal samples become types that every rule can read.
  utilities = np.empty((len(rankings), num_objectives), dtype=np.float64)
  for row, ranking in enumerate(rankings):
    utilities[row, np.asarray(ranking, dtype=int)] = np.arange(
        num_objectives - 1, -1, -1
    )
  return utilities


def _prefsampling_seed(rng: np.random.Generator) -> int:
  # prefsampling takes an int seed, not a Generator; drawing it from `rng`
  # keeps one seed in charge of the whole run.
  return int(rng.integers(2**31))


RankingGroup = tuple[int, Sequence[str]]
"""A group of players with one ranking: (how many players, the objective
names best first, every objective once)."""


def ranking_utilities(
    ranking: Sequence[str], objectives: Sequence[str]
) -> np.ndarray:
  """The utilities of a full ranking: m-1-position, best first.

  The same Borda-like utilities as the ordinal generators give (the best
  objective m - 1, the worst 0), so every rule reads the ranking as
  intended: the ranked rules its order, plurality its top, approval the
  objectives above the mean utility (its best floor(m / 2): the top half,
  without the middle one of an odd m), score and median its Borda points.

  Args:
    ranking: objective names, best first, naming each of `objectives` once.
    objectives: the m alternative names.

  Returns:
    A float array of shape (m,), in the order of `objectives`.

  Raises:
    ValueError: a name not in `objectives`, a name twice, or one missing.
  """
  objectives = tuple(objectives)
  ranking = tuple(ranking)
  indices = [_index_of(name, objectives) for name in ranking]
  twice = sorted({name for name in ranking if ranking.count(name) > 1})
  missing = [name for name in objectives if name not in ranking]
  if twice or missing:
    problem = (f"names {twice} twice" if twice else f"leaves out {missing}")
    raise ValueError(
        f"the ranking {'>'.join(ranking)!r} {problem}; a ranking names every "
        f"objective on the ballot {objectives} once, best first."
    )
  return _scores_from_rankings([indices], len(objectives))[0]


def fixed(
    *,
    num_players: int,
    objectives: Sequence[str],
    rng: np.random.Generator,
    utilities: Optional[ArrayLike] = None,
    favourites: Optional[Sequence[str]] = None,
    rankings: Optional[Sequence[RankingGroup]] = None,
    principal_ranking: Optional[Sequence[str]] = None,
) -> Preferences:
  """Types given explicitly: a utility matrix, favourites or rankings.

  Give exactly one of `utilities`, `favourites` and `rankings`. A favourite
  becomes the utility row 1 for that objective and 0 for the others, so the
  agent is indifferent among the rest (rankings then order them by index).
  A ranking becomes the utilities m-1-position (`ranking_utilities`).

  Args:
    num_players: n >= 1.
    objectives: the m alternative names.
    rng: unused; accepted so every generator has the same signature.
    utilities: an (n + 1, m) matrix, principal first.
    favourites: objective names, principal first then each player (n + 1
      names), or a single name meaning every agent.
    rankings: groups of players, each (count >= 1, a full ranking of the
      objectives, best first), in player order: the first group's players
      are players 0 .. count - 1, and so on; the counts add up to n.
    principal_ranking: with `rankings`, the principal's full ranking;
      default: the first group's.

  Returns:
    The given `Preferences`.
  """
  del rng  # Deterministic by construction.
  objectives = _check_setup(num_players, objectives)
  if sum(x is not None for x in (utilities, favourites, rankings)) != 1:
    raise ValueError(
        "fixed needs exactly one of utilities, favourites and rankings.")
  if principal_ranking is not None and rankings is None:
    raise ValueError("fixed takes principal_ranking only with rankings.")
  if rankings is not None:
    return _from_rankings(num_players, objectives, rankings,
                          principal_ranking)
  if utilities is not None:
    matrix = np.asarray(utilities, dtype=np.float64)
    if matrix.shape[:1] != (num_players + 1,):
      raise ValueError(
          f"utilities must have num_players + 1 = {num_players + 1} rows, "
          f"got shape {matrix.shape}."
      )
    return Preferences(utilities=matrix, objectives=objectives)
  names = [favourites] if isinstance(favourites, str) else list(favourites)
  if len(names) == 1:
    names = names * (num_players + 1)
  if len(names) != num_players + 1:
    raise ValueError(
        "favourites must name one objective for everyone or one per agent "
        f"(principal first): 1 or {num_players + 1} names, got {len(names)}."
    )
  matrix = np.zeros((num_players + 1, len(objectives)))
  for row, name in enumerate(names):
    matrix[row, _index_of(name, objectives)] = 1.0
  return Preferences(utilities=matrix, objectives=objectives)


def _from_rankings(
    num_players: int,
    objectives: tuple[str, ...],
    rankings: Sequence[RankingGroup],
    principal_ranking: Optional[Sequence[str]],
) -> Preferences:
  """`fixed`'s types from groups of rankings (see there)."""
  groups = list(rankings)
  if not groups:
    raise ValueError("rankings must hold at least one group of players.")
  counts = []
  for count, _ in groups:
    if (isinstance(count, bool) or not isinstance(count, (int, np.integer))
        or count < 1):
      raise ValueError(
          f"each group's count must be an integer >= 1, got {count!r}.")
    counts.append(int(count))
  players = [ranking_utilities(ranking, objectives) for _, ranking in groups]
  principal = (players[0] if principal_ranking is None else
               ranking_utilities(principal_ranking, objectives))
  if sum(counts) != num_players:
    total = (f"{' + '.join(map(str, counts))} = " if len(counts) > 1
             else "") + str(sum(counts))
    raise ValueError(
        f"the group sizes add up to {total} players, but the game has "
        f"{num_players}; they must add up to the number of players."
    )
  rows = [principal]
  for count, utilities in zip(counts, players):
    rows.extend([utilities] * count)
  return Preferences(utilities=np.array(rows), objectives=objectives)


def uniform(
    *, num_players: int, objectives: Sequence[str], rng: np.random.Generator
) -> Preferences:
  """Cardinal types with utilities drawn i.i.d. from U[0, 1).

  Args:
    num_players: n >= 1.
    objectives: the m alternative names.
    rng: the source of randomness.

  Returns:
    Random `Preferences`; ties have probability zero.
  """
  objectives = _check_setup(num_players, objectives)
  matrix = rng.uniform(size=(num_players + 1, len(objectives)))
  return Preferences(utilities=matrix, objectives=objectives)


def impartial_culture(
    *, num_players: int, objectives: Sequence[str], rng: np.random.Generator
) -> Preferences:
  """Ordinal types from the impartial culture (Guilbaud 1952).

  Every agent's ranking is drawn independently and uniformly from all m!
  rankings with `prefsampling.ordinal.impartial`, and becomes utilities
  m-1-position.

  Args:
    num_players: n >= 1.
    objectives: the m alternative names.
    rng: the source of randomness (seeds prefsampling).

  Returns:
    Random `Preferences` with utilities in {0, ..., m-1}, no ties in a row.
  """
  objectives = _check_setup(num_players, objectives)
  rankings = ordinal.impartial(
      num_players + 1, len(objectives), seed=_prefsampling_seed(rng)
  )
  return Preferences(
      utilities=_scores_from_rankings(rankings, len(objectives)),
      objectives=objectives,
  )


def mallows(
    *,
    num_players: int,
    objectives: Sequence[str],
    rng: np.random.Generator,
    phi: float,
    central: Optional[Sequence[str]] = None,
) -> Preferences:
  """Ordinal types from Mallows' model (Mallows 1957).

  A ranking at Kendall-tau distance d from the central ranking has
  probability proportional to phi^d: phi = 0 gives everyone the central
  ranking, phi = 1 is the impartial culture. Sampled with
  `prefsampling.ordinal.mallows` (phi not normalised), then converted to
  utilities m-1-position.

  Args:
    num_players: n >= 1.
    objectives: the m alternative names.
    rng: the source of randomness (seeds prefsampling).
    phi: dispersion in [0, 1].
    central: the central ranking as objective names, best first, naming every
      objective once; default: `objectives` in order.

  Returns:
    Random `Preferences` with utilities in {0, ..., m-1}, no ties in a row.
  """
  objectives = _check_setup(num_players, objectives)
  if not 0.0 <= phi <= 1.0:
    raise ValueError(f"mallows phi must be in [0, 1], got {phi}.")
  if central is None:
    central_vote = np.arange(len(objectives))
  else:
    central_vote = np.array([_index_of(n, objectives) for n in central])
    if sorted(central_vote.tolist()) != list(range(len(objectives))):
      raise ValueError(
          "central must name every objective exactly once; objectives are "
          f"{objectives}, got {tuple(central)}."
      )
  rankings = ordinal.mallows(
      num_players + 1,
      len(objectives),
      phi,
      central_vote=central_vote,
      seed=_prefsampling_seed(rng),
  )
  return Preferences(
      utilities=_scores_from_rankings(rankings, len(objectives)),
      objectives=objectives,
  )


GENERATORS: dict[str, Callable[..., Preferences]] = {
    "fixed": fixed,
    "uniform": uniform,
    "impartial_culture": impartial_culture,
    "mallows": mallows,
}
"""Type generators by name; each is called as `make` calls it."""


def make(
    name: str,
    *,
    num_players: int,
    objectives: Sequence[str],
    rng: np.random.Generator,
    **kwargs,
) -> Preferences:
  """Draws types with the generator called `name`.

  Args:
    name: a key of `GENERATORS`.
    num_players: n >= 1.
    objectives: the m alternative names.
    rng: the source of randomness.
    **kwargs: the generator's own arguments (`phi` and `central` for
      "mallows"; `utilities` or `favourites` for "fixed").

  Returns:
    The generated `Preferences`.

  Raises:
    ValueError: if `name` is unknown or an argument is out of range.
  """
  if name not in GENERATORS:
    raise ValueError(
        f"Unknown preference generator {name!r}; valid generators are "
        f"{sorted(GENERATORS)}."
    )
  return GENERATORS[name](
      num_players=num_players, objectives=objectives, rng=rng, **kwargs
  )


_SPEC_FORMS = (
    "'uniform', 'impartial_culture', 'mallows:PHI', "
    "'mallows:PHI:OBJ,OBJ,...' (central ranking), "
    "'fixed:OBJ' (everyone) or 'fixed:OBJ,OBJ,...' (principal first), "
    "'fixed:N*OBJ>OBJ>...;N*OBJ>OBJ>...' (full rankings by groups of "
    "players)"
)

# A group of `fixed:` rankings: "N*RANKING", "RANKING" (one player) or
# "principal*RANKING" (the principal's type).
_PRINCIPAL_GROUP = "principal"
_GROUP_FORM = ("N*OBJ>OBJ>... (N players, N an integer >= 1; no N: one), "
               f"or {_PRINCIPAL_GROUP}*OBJ>OBJ>... (the principal's type)")


def _split_names(text: str, spec: str) -> list[str]:
  names = [name.strip() for name in text.split(",")]
  if not all(names):
    raise ValueError(f"Empty objective name in preference spec {spec!r}.")
  return names


def _is_ranking_spec(rest: str) -> bool:
  """Whether a `fixed:` spec's argument is groups of rankings."""
  return any(mark in rest for mark in ">*;")


def _parse_groups(
    rest: str, spec: str
) -> tuple[list[RankingGroup], Optional[list[str]]]:
  """The groups and the principal's ranking of "fixed:GROUP;GROUP;...".

  Raises:
    ValueError: a group that is empty or not `_GROUP_FORM`, an empty name,
      or the principal given twice.
  """
  groups, principal = [], None
  for number, text in enumerate(rest.split(";"), start=1):
    count_text, star, ranking_text = text.rpartition("*")
    count_text = count_text.strip()
    names = [name.strip() for name in ranking_text.split(">")]
    if not all(names) or (star and not count_text):
      raise ValueError(
          f"group {number} of preference spec {spec!r} is {text.strip()!r}; "
          f"each group (';' between them) is {_GROUP_FORM}.")
    if count_text == _PRINCIPAL_GROUP:
      if principal is not None:
        raise ValueError(
            f"preference spec {spec!r} gives the principal's ranking twice.")
      principal = names
      continue
    if not star:
      count = 1
    elif (count_text.isascii() and count_text.isdigit()
          and int(count_text) >= 1):
      count = int(count_text)
    else:
      raise ValueError(
          f"group {number} of preference spec {spec!r} counts "
          f"{count_text!r} players; each group is {_GROUP_FORM}.")
    groups.append((count, names))
  if not groups:
    raise ValueError(
        f"preference spec {spec!r} gives no players' group; each group is "
        f"{_GROUP_FORM}.")
  return groups, principal


def from_spec(
    spec: str,
    *,
    num_players: int,
    objectives: Sequence[str],
    rng: np.random.Generator,
) -> Preferences:
  """Draws types from a one-line spec, as given on the command line.

  Forms: "uniform"; "impartial_culture"; "mallows:PHI" with PHI in [0, 1],
  optionally "mallows:PHI:OBJ,OBJ,..." to set the central ranking;
  "fixed:OBJ" (everyone's favourite) or "fixed:OBJ,OBJ,..." (favourites,
  principal first, then one per player); or full rankings by groups of
  players, "fixed:N*OBJ>OBJ>...;N*OBJ>OBJ>...;...", e.g.
  "fixed:7*nash>utilitarian>egalitarian;4*utilitarian>egalitarian>nash":
  players 0-6 rank nash first, players 7-10 utilitarian first.

  In the last form each ranking names every objective once, best first, and
  becomes the utilities m-1-position (`ranking_utilities`); the group sizes
  N (no "N*": 1) must add up to `num_players`, in player order. The
  principal's type is the first group's ranking, or the one given by a
  group "principal*OBJ>OBJ>..." (it counts no player).

  Args:
    spec: the spec string.
    num_players: n >= 1.
    objectives: the m alternative names.
    rng: the source of randomness.

  Returns:
    The generated `Preferences`.

  Raises:
    ValueError: naming the valid forms, if the spec does not parse.
  """
  name, _, rest = spec.strip().partition(":")
  if name not in GENERATORS:
    raise ValueError(
        f"Unknown preference spec {spec!r}; valid forms are {_SPEC_FORMS}."
    )
  kwargs = {}
  if name in ("uniform", "impartial_culture"):
    if rest:
      raise ValueError(f"{name!r} takes no arguments, got spec {spec!r}.")
  elif name == "mallows":
    phi_text, _, central_text = rest.partition(":")
    try:
      kwargs["phi"] = float(phi_text)
    except ValueError:
      raise ValueError(
          f"mallows needs a number phi in [0, 1], as in 'mallows:0.5'; got "
          f"spec {spec!r}."
      ) from None
    if central_text:
      kwargs["central"] = _split_names(central_text, spec)
  elif _is_ranking_spec(rest):
    kwargs["rankings"], kwargs["principal_ranking"] = _parse_groups(rest, spec)
  else:
    if not rest:
      raise ValueError(
          "fixed needs favourite objectives, as in 'fixed:utilitarian', or "
          "rankings, as in 'fixed:3*nash>utilitarian>egalitarian;"
          f"1*utilitarian>nash>egalitarian'; got spec {spec!r}."
      )
    kwargs["favourites"] = _split_names(rest, spec)
  return make(
      name, num_players=num_players, objectives=objectives, rng=rng, **kwargs
  )
