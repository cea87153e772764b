"""Heuristic bots for UMD Apple Harvest, as Melting Pot policies.

  from umd_meltingpot.agents import bots
  bot = bots.GreedyBot(voter=bots.Voter.truthful((0.2, 0.5, 0.3)), seed=1)
  state = bot.initial_state()
  action, state = bot.step(timestep, state)

Each bot plays the HARVEST phase with its own heuristic, reading only the
focal observations (`RGB`, `READY_TO_SHOOT`, `PHASE`), and votes in the VOTE
phase through its `Voter`. When the game is over it does nothing.
`BallotPolicy` wraps any such policy to cast ballots it is given instead (a
learned ballot, or one that changes from round to round), and `vote_action`
is the action that casts a ballot.

One policy object may serve several player slots at once, on threads (see
Melting Pot's `Population`), so a bot keeps nothing mutable on `self`: all
per-slot memory, random generator included, lives in the `BotState` it
returns, and `step` copies the generator before drawing so a state is never
changed in place. The generator is seeded from the bot's `seed` *and* the
slot's first observation, so slots that share a policy object still draw
different random streams while a slot's play stays reproducible.
"""

import dataclasses
import zlib
from typing import Any, Callable, Mapping, Optional, Sequence

import dm_env
import numpy as np
from meltingpot.utils.policies import policy

from umd_meltingpot.agents import observation as obs_lib
from umd_meltingpot.substrates import phases

Cell = obs_lib.Cell
Observation = Mapping[str, np.ndarray]

# Exploring: turns to look around before walking, and how far to walk.
_SCAN_TURNS = 3
_WALK_STEPS = (2, 6)  # Drawn uniformly from [low, high).


@dataclasses.dataclass(frozen=True)
class Voter:
  """How a bot votes in the VOTE phase.

  Build one with `truthful`, `fixed` or `abstain`. A truthful voter holds a
  type: a utility per objective, in the substrate's `objectives` order, and
  votes for the objective it values most (ties go to the objective listed
  first, as in `umd_meltingpot.preferences`). A fixed voter always votes for
  one objective index. An abstaining voter casts no ballot (it sends NOOP).

  Attributes:
    utilities: the type of a truthful voter, else None.
    objective: the objective index of a fixed voter, else None.
  """
  utilities: Optional[tuple[float, ...]] = None
  objective: Optional[int] = None

  def __post_init__(self):
    if self.utilities is not None and self.objective is not None:
      raise ValueError("A Voter is truthful (utilities) or fixed "
                       "(objective), not both.")
    if self.utilities is not None:
      utilities = tuple(float(u) for u in self.utilities)
      if not utilities or not np.all(np.isfinite(utilities)):
        raise ValueError(
            f"utilities must be finite and non-empty, got {utilities}")
      object.__setattr__(self, "utilities", utilities)
    if self.objective is not None:
      if isinstance(self.objective, bool) or not isinstance(
          self.objective, (int, np.integer)) or self.objective < 0:
        raise ValueError(
            f"objective must be an index >= 0, got {self.objective!r}")
      object.__setattr__(self, "objective", int(self.objective))

  @classmethod
  def truthful(cls, utilities: Sequence[float]) -> "Voter":
    """A voter that votes for the argmax of its type `utilities`."""
    return cls(utilities=tuple(utilities))

  @classmethod
  def fixed(cls, objective: int) -> "Voter":
    """A voter that always votes for objective index `objective`."""
    return cls(objective=objective)

  @classmethod
  def abstain(cls) -> "Voter":
    """A voter that never casts a ballot."""
    return cls()

  def check(self, num_objectives: int) -> None:
    """Raises ValueError if this voter does not fit `num_objectives`."""
    if self.utilities is not None and len(self.utilities) != num_objectives:
      raise ValueError(f"A truthful voter needs {num_objectives} utilities, "
                       f"got {len(self.utilities)}")
    if self.objective is not None and self.objective >= num_objectives:
      raise ValueError(f"objective must be in [0, {num_objectives}), got "
                       f"{self.objective}")

  def choice(self) -> Optional[int]:
    """The objective index this voter votes for, or None to abstain."""
    if self.utilities is not None:
      return int(np.argmax(self.utilities))  # First maximum on ties.
    return self.objective


def vote_action(choice: Optional[int]) -> int:
  """The action that votes for objective index `choice`; None abstains.

  The VOTE_<objective> actions follow the commons actions, in the
  substrate's `objectives` order; abstaining sends NOOP.
  """
  if choice is None:
    return obs_lib.NOOP
  return obs_lib.NUM_COMMONS_ACTIONS + choice


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
  """
  rng: Optional[np.random.Generator] = None
  scan_turns: int = 0
  walk_steps: int = 0


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
      return self._vote_action(), state
    if phase == phases.Phase.HARVEST:
      return self._harvest(observation, state)
    return obs_lib.NOOP, state

  def close(self) -> None:
    """See base class."""

  def _first_rng(self, observation: Observation) -> np.random.Generator:
    """The slot's generator, seeded on its first step by the bot's seed and
    the slot's first view, so that slots sharing this bot draw apart."""
    view = np.ascontiguousarray(observation["RGB"])
    return np.random.default_rng([self._seed, zlib.crc32(view.tobytes())])

  def _vote_action(self) -> int:
    return vote_action(self._voter.choice())

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
    return self._play(obs_lib.parse_cells(observation["RGB"]), observation,
                      state)

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
    action: the vote action of the current VOTE phase; None outside one, so
      that the next VOTE phase asks for a new ballot.
  """
  bot_state: Any
  votes: int = 0
  action: Optional[int] = None


class BallotPolicy(policy.Policy[BallotState]):
  """Votes the ballots it is given; plays everything else with a bot.

  Once per VOTE phase, at its first step, it asks `ballot(round_index)` for
  an objective index (None abstains) and casts it through `vote_action` on
  every step of that phase; `round_index` counts the VOTE phases from 0
  (each round opens with one, so it is the 0-based round). Asking once
  matters when `ballot` draws at random (a learner exploring): the Lua
  `Ballot` component keeps a player's last choice, so a ballot redrawn each
  step would count only the last draw. The inner policy is not stepped
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
      ballot: maps the round index to the objective index to vote for, or
        to None to abstain.
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
      if prev_state.action is not None:
        return prev_state.action, prev_state
      action = vote_action(self._ballot(prev_state.votes))
      return action, dataclasses.replace(
          prev_state, votes=prev_state.votes + 1, action=action)
    action, bot_state = self._bot.step(timestep, prev_state.bot_state)
    return action, dataclasses.replace(prev_state, bot_state=bot_state,
                                       action=None)

  def close(self) -> None:
    """See base class."""
    self._bot.close()
