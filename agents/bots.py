"""Heuristic bots for UMD Apple Harvest, as Melting Pot policies.

  from umd_meltingpot.agents import bots
  voter = bots.Voter.truthful((0.2, 0.5, 0.3), rule="borda")
  bot = bots.GreedyBot(voter=voter, seed=1)
  state = bot.initial_state()
  action, state = bot.step(timestep, state)

Each bot plays the HARVEST phase with its own heuristic, reading only the
focal observations (its view, `READY_TO_SHOOT`, `PHASE`), and votes in the VOTE
phase through its `Voter`: a ranked ballot, cast one `VOTE_<objective>` press
per VOTE step (`ballot_action`). When the game is over it does nothing.
`BallotPolicy` wraps any such policy to cast ballots it is given instead (a
learned ranking, or one that changes from round to round).

One policy object may serve several player slots at once, on threads (see
Melting Pot's `Population`), so a bot keeps nothing mutable on `self`: all
per-slot memory, random generator included, lives in the `BotState` it
returns, and `step` copies the generator before drawing so a state is never
changed in place. The generator is seeded from the bot's `seed` *and* the
slot's first observation, so slots that share a policy object still draw
different random streams while a slot's play stays reproducible.

A bot's view is the `RGB` pixels (Melting Pot's scenarios) or, cheaper, the
level's `GRID` and `FIRST_RGB_CRC32` (`VIEWS`); both give the same play.
"""

import dataclasses
import operator
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import dm_env
import numpy as np
from meltingpot.utils.policies import policy

from umd_meltingpot.social_choice import voting
from umd_meltingpot.agents import observation as obs_lib
from umd_meltingpot.substrates import phases

Cell = obs_lib.Cell
Observation = Mapping[str, np.ndarray]
# The player views (the substrate config's `player_views`) that the bots
# read when there are no pixels: the cells, and the first view's CRC-32 that
# seeds them.
VIEWS = ("GRID", "FIRST_RGB_CRC32")

# Exploring: turns to look around before walking, and how far to walk.
_SCAN_TURNS = 3
_WALK_STEPS = (2, 6)  # Drawn uniformly from [low, high).


Ranking = tuple[int, ...]
"""A ranked ballot: distinct objective indices, best first; objectives left
out are tied last, and an empty ranking abstains."""


def as_ranking(ballot: Union[None, int, Sequence[int]],
               num_objectives: Optional[int] = None) -> Ranking:
  """A ballot as a `Ranking`: None abstains, an index is a one-objective
  ranking, a sequence is checked (distinct indices >= 0, below
  `num_objectives` if given)."""
  if ballot is None:
    return ()
  if isinstance(ballot, (int, np.integer)) and not isinstance(ballot, bool):
    ranking = (int(ballot),)
  else:
    try:
      ranking = tuple(operator.index(k) for k in ballot)
    except TypeError:
      raise ValueError(f"a ballot must be an objective index or a ranking of "
                       f"them, got {ballot!r}") from None
  if any(k < 0 for k in ranking) or len(set(ranking)) != len(ranking):
    raise ValueError(
        f"a ranking must hold distinct objective indices >= 0, got {ballot!r}")
  if num_objectives is not None and any(k >= num_objectives
                                        for k in ranking):
    raise ValueError(f"objective indices must be in [0, {num_objectives}), "
                     f"got {ballot!r}")
  return ranking


@dataclasses.dataclass(frozen=True)
class Voter:
  """How a bot votes in the VOTE phase: the ranking it casts.

  Build one with `truthful`, `fixed` or `abstain`. A truthful voter holds a
  type, a utility per objective in the substrate's `objectives` order, and
  the game's rule, and casts the ballot that rule expects of its type
  (`voting.truthful_ballot`: its favourite, its approval set or its full
  ranking, best first, ties to the objective listed first). A fixed voter
  casts a given ranking, which may be partial (one objective index is a
  one-objective ranking). An abstaining voter casts nothing (it sends NOOP).

  Attributes:
    utilities: the type of a truthful voter, else None.
    rule: the rule a truthful voter votes under, else None.
    ranking: the ranking of a fixed voter, else None.
  """
  utilities: Optional[tuple[float, ...]] = None
  rule: Optional[str] = None
  ranking: Optional[Ranking] = None

  def __post_init__(self):
    if self.utilities is not None and self.ranking is not None:
      raise ValueError("A Voter is truthful (utilities) or fixed "
                       "(ranking), not both.")
    if self.utilities is not None:
      utilities = tuple(float(u) for u in self.utilities)
      if not utilities or not np.all(np.isfinite(utilities)):
        raise ValueError(
            f"utilities must be finite and non-empty, got {utilities}")
      object.__setattr__(self, "utilities", utilities)
      voting.truthful_ballot(utilities, self.rule)  # Checks the rule.
    if self.ranking is not None:
      object.__setattr__(self, "ranking", as_ranking(self.ranking))

  @classmethod
  def truthful(cls, utilities: Sequence[float], rule: str) -> "Voter":
    """A voter that casts the ballot `rule` expects of its type
    `utilities` (`voting.truthful_ballot`)."""
    return cls(utilities=tuple(utilities), rule=rule)

  @classmethod
  def fixed(cls, ballot: Union[int, Sequence[int]]) -> "Voter":
    """A voter that always casts `ballot`: a ranking of objective indices,
    best first, or one index (a vote for that objective alone)."""
    return cls(ranking=as_ranking(ballot))

  @classmethod
  def abstain(cls) -> "Voter":
    """A voter that never casts a ballot."""
    return cls()

  def check(self, num_objectives: int) -> None:
    """Raises ValueError if this voter does not fit `num_objectives`."""
    if self.utilities is not None and len(self.utilities) != num_objectives:
      raise ValueError(f"A truthful voter needs {num_objectives} utilities, "
                       f"got {len(self.utilities)}")
    if self.ranking is not None:
      as_ranking(self.ranking, num_objectives)

  def ballot(self) -> Ranking:
    """The ranking this voter casts (empty: it abstains)."""
    if self.utilities is not None:
      return voting.truthful_ballot(self.utilities, self.rule)
    return self.ranking or ()

  def choice(self) -> Optional[int]:
    """The top of this voter's ranking, or None if it abstains."""
    ballot = self.ballot()
    return ballot[0] if ballot else None


def vote_action(choice: Optional[int]) -> int:
  """The action that presses `VOTE_<objective>` for index `choice`; None
  sends NOOP.

  The VOTE_<objective> actions follow the commons actions, in the
  substrate's `objectives` order.
  """
  if choice is None:
    return obs_lib.NOOP
  return obs_lib.NUM_COMMONS_ACTIONS + choice


def ballot_action(ranking: Sequence[int], vote_step: int) -> int:
  """The action that casts `ranking` at step `vote_step` of a VOTE phase.

  Each `VOTE_<objective>` press puts that objective next in the player's
  ranking (Lua's `BallotBox`), so step j (0-based) presses the ranking's
  j-th objective and later steps send NOOP. A ranking of L objectives needs
  L VOTE steps; the substrate has at least K - 1, enough for any ranking
  (the K-th objective of a full ranking is last whether pressed or not).
  This is the one way every voter here casts a ballot: the bots, the PPO
  policy and its training environment, and `BallotPolicy`.
  """
  if 0 <= vote_step < len(ranking):
    return vote_action(ranking[vote_step])
  return obs_lib.NOOP


@dataclasses.dataclass(frozen=True)
class BotState:
  """Everything a bot remembers about one player slot.

  A state belongs to one slot and is used once: `step` advances its
  generator in place (copying a generator every step would cost more than
  the rest of a bot's step).

  Attributes:
    rng: the slot's random generator; None until the first step seeds it.
    scan_turns: turns made in a row while looking around for apples.
    walk_steps: forward steps left in the current exploring walk.
    vote_step: VOTE steps taken in the current VOTE phase (0 outside one).
  """
  rng: Optional[np.random.Generator] = None
  scan_turns: int = 0
  walk_steps: int = 0
  vote_step: int = 0


def _phase(observation: Observation) -> int:
  return int(round(float(observation["PHASE"])))


class HarvestBot(policy.Policy[BotState]):
  """Base class: voting, phases and state; subclasses play the harvest.

  Subclasses implement `_harvest(observation, state) -> (action, state)`,
  which must return a commons action (below `NUM_COMMONS_ACTIONS`) and may
  draw from `state.rng`, which is already seeded.
  """

  def __init__(self,
               *,
               num_objectives: int = 3,
               voter: Optional[Voter] = None,
               seed: int = 0):
    """Initialises the bot.

    Args:
      num_objectives: the number of objectives on the ballot (the substrate
        config's `objectives`); VOTE actions follow the commons actions.
      voter: how the bot votes; None abstains.
      seed: the seed of the bot's random generators.

    Raises:
      ValueError: `num_objectives` < 1, or a voter that does not fit it.
    """
    if num_objectives < 1:
      raise ValueError(f"num_objectives must be >= 1, got {num_objectives}")
    self._num_objectives = num_objectives
    self._voter = voter if voter is not None else Voter.abstain()
    self._voter.check(num_objectives)
    self._seed = int(seed)

  @property
  def voter(self) -> Voter:
    return self._voter

  def initial_state(self) -> BotState:
    """See base class."""
    return BotState()

  def step(self, timestep: dm_env.TimeStep,
           prev_state: BotState) -> tuple[int, BotState]:
    """See base class."""
    observation = timestep.observation
    state = prev_state
    if state.rng is None:
      state = dataclasses.replace(state, rng=self._first_rng(observation))
    phase = _phase(observation)
    if phase == phases.Phase.VOTE:
      action = ballot_action(self._voter.ballot(), state.vote_step)
      return action, dataclasses.replace(state,
                                         vote_step=state.vote_step + 1)
    if state.vote_step:
      state = dataclasses.replace(state, vote_step=0)
    if phase == phases.Phase.HARVEST:
      return self._harvest(observation, state)
    return obs_lib.NOOP, state

  def close(self) -> None:
    """See base class."""

  def _first_rng(self, observation: Observation) -> np.random.Generator:
    """The slot's generator, seeded on its first step by the bot's seed and
    the slot's first view, so that slots sharing this bot draw apart."""
    return np.random.default_rng(
        [self._seed, obs_lib.first_view_crc32(observation)])

  def _harvest(self, observation: Observation,
               state: BotState) -> tuple[int, BotState]:
    raise NotImplementedError()


class RandomBot(HarvestBot):
  """Picks one of the commons actions uniformly at random (zapping too)."""

  def _harvest(self, observation: Observation,
               state: BotState) -> tuple[int, BotState]:
    return int(state.rng.integers(obs_lib.NUM_COMMONS_ACTIONS)), state


class GreedyBot(HarvestBot):
  """Walks to the nearest visible apple and eats it.

  The path is a breadth-first search through the view that avoids walls and
  other avatars. With no reachable apple in view, the bot explores: it
  looks around (three turns, each left or right at random), then walks 2 to
  5 steps forward, and repeats; it turns instead whenever the way ahead is
  blocked.
  """

  def _targets(self, grid: np.ndarray) -> np.ndarray:
    """Boolean grid of the apples this bot is willing to eat."""
    return grid == Cell.APPLE

  def _passable(self, grid: np.ndarray) -> np.ndarray:
    """Boolean grid of the cells this bot is willing to step on."""
    return (grid == Cell.EMPTY) | (grid == Cell.APPLE)

  def _harvest(self, observation: Observation,
               state: BotState) -> tuple[int, BotState]:
    return self._play(obs_lib.cells(observation), observation, state)

  def _play(self, grid: np.ndarray, observation: Observation,
            state: BotState) -> tuple[int, BotState]:
    """Plays a HARVEST step given the parsed view `grid`."""
    del observation  # Unused by the greedy bot.
    passable = self._passable(grid)
    path = obs_lib.nearest_path(self._targets(grid) & passable, passable)
    if path is not None:
      state = dataclasses.replace(state, scan_turns=0, walk_steps=0)
      return obs_lib.action_toward(path.first_step), state
    return self._explore(passable, state)

  def _explore(self, passable: np.ndarray,
               state: BotState) -> tuple[int, BotState]:
    """Looks around, then walks; never steps where it may not go."""
    row, col = obs_lib.SELF_POSITION
    ahead_free = bool(passable[row - 1, col])
    if state.walk_steps > 0 and ahead_free:
      return obs_lib.FORWARD, dataclasses.replace(
          state, walk_steps=state.walk_steps - 1)
    if state.scan_turns < _SCAN_TURNS or not ahead_free:
      turn = obs_lib.TURN_LEFT if state.rng.random() < 0.5 else (
          obs_lib.TURN_RIGHT)
      return turn, dataclasses.replace(
          state, scan_turns=state.scan_turns + 1, walk_steps=0)
    walk = int(state.rng.integers(*_WALK_STEPS))
    return obs_lib.FORWARD, dataclasses.replace(
        state, scan_turns=0, walk_steps=walk - 1)


class SustainableBot(GreedyBot):
  """A greedy bot that never takes the last apples of a patch.

  Apples regrow with a probability that grows with the number of live apples
  within radius 2 (Commons Harvest's density-dependent regrowth), and an
  empty spot with no live apple near it never regrows. So this bot skips an
  apple that has fewer than `min_neighbours` other live apples within
  Euclidean radius `radius` of it, and does not step on skipped apples
  either (stepping on an apple eats it). With the default of 1 it never eats
  an apple that has no live neighbour, whose spot would then be dead for
  good.

  Only apples in view are counted, so near the edge of the view the bot may
  skip an apple whose neighbours it cannot see: it errs on the side of
  sparing.
  """

  def __init__(self,
               *,
               num_objectives: int = 3,
               voter: Optional[Voter] = None,
               seed: int = 0,
               min_neighbours: int = 1,
               radius: float = 2.0):
    """Initialises the bot.

    Args:
      num_objectives: as for `HarvestBot`.
      voter: as for `HarvestBot`.
      seed: as for `HarvestBot`.
      min_neighbours: the fewest other live apples within `radius` that an
        apple must have to be eaten (>= 0; 0 makes the bot greedy).
      radius: the neighbourhood radius, in cells (> 0); the substrate's
        `regrowth_radius` is 2.

    Raises:
      ValueError: a bad argument.
    """
    super().__init__(num_objectives=num_objectives, voter=voter, seed=seed)
    if min_neighbours < 0:
      raise ValueError(f"min_neighbours must be >= 0, got {min_neighbours}")
    if not radius > 0:
      raise ValueError(f"radius must be > 0, got {radius}")
    self._min_neighbours = min_neighbours
    self._radius = radius

  def _targets(self, grid: np.ndarray) -> np.ndarray:
    apples = grid == Cell.APPLE
    counts = obs_lib.neighbour_counts(apples, self._radius)
    return apples & (counts >= self._min_neighbours)

  def _passable(self, grid: np.ndarray) -> np.ndarray:
    return (grid == Cell.EMPTY) | self._targets(grid)


class ZapperBot(GreedyBot):
  """Zaps any avatar in reach of its beam, and otherwise plays greedy.

  It fires when `READY_TO_SHOOT` is 1 and another avatar stands within the
  beam's reach: 1 to 3 cells ahead and at most 1 cell to either side.
  """

  def _play(self, grid: np.ndarray, observation: Observation,
            state: BotState) -> tuple[int, BotState]:
    ready = float(observation["READY_TO_SHOOT"]) >= 0.5
    if ready and obs_lib.in_beam(grid):
      return obs_lib.FIRE_ZAP, state
    return super()._play(grid, observation, state)


@dataclasses.dataclass(frozen=True)
class BallotState:
  """A `BallotPolicy`'s memory of one player slot.

  Attributes:
    bot_state: the inner policy's state.
    votes: the VOTE phases begun so far (the current one included).
    ranking: the ballot of the current VOTE phase; None outside one, so
      that the next VOTE phase asks for a new ballot.
    vote_step: VOTE steps taken in the current VOTE phase.
  """
  bot_state: Any
  votes: int = 0
  ranking: Optional[Ranking] = None
  vote_step: int = 0


class BallotPolicy(policy.Policy[BallotState]):
  """Votes the ballots it is given; plays everything else with a bot.

  Once per VOTE phase, at its first step, it asks `ballot(round_index)` for
  a ranking (an objective index is a one-objective ranking; None or ()
  abstains) and casts it through `ballot_action` over that phase's steps;
  `round_index` counts the VOTE phases from 0 (each round opens with one,
  so it is the 0-based round). Asking once matters when `ballot` draws at
  random (a learner exploring): the ranking is built press by press, so a
  ballot redrawn each step would mix draws. The inner policy is not stepped
  during VOTE; it plays HARVEST and the end of the game, and its own voter
  is never asked.

  The policy keeps its per-slot memory in its state, as the bots do, but
  `ballot` may hold some of its own (a learner's generator): then give each
  slot its own `BallotPolicy`.
  """

  def __init__(self, bot: policy.Policy,
               ballot: Callable[[int], Optional[int]]):
    """Initialises the policy.

    Args:
      bot: the policy that plays outside the VOTE phase, e.g. from
        `agents.make_bot`.
      ballot: maps the round index to the ranking to cast (best first), an
        objective index, or None to abstain.
    """
    self._bot = bot
    self._ballot = ballot

  def initial_state(self) -> BallotState:
    """See base class."""
    return BallotState(bot_state=self._bot.initial_state())

  def step(self, timestep: dm_env.TimeStep,
           prev_state: BallotState) -> tuple[int, BallotState]:
    """See base class."""
    if _phase(timestep.observation) == phases.Phase.VOTE:
      state = prev_state
      if state.ranking is None:
        state = dataclasses.replace(
            state, votes=state.votes + 1, vote_step=0,
            ranking=as_ranking(self._ballot(state.votes)))
      action = ballot_action(state.ranking, state.vote_step)
      return action, dataclasses.replace(state,
                                         vote_step=state.vote_step + 1)
    action, bot_state = self._bot.step(timestep, prev_state.bot_state)
    return action, dataclasses.replace(prev_state, bot_state=bot_state,
                                       ranking=None, vote_step=0)

  def close(self) -> None:
    """See base class."""
    self._bot.close()
