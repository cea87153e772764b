"""Strategic voting, measured: learned ranked ballots cast through Lua
(issues 5 and 12).

The paper's voting mechanism (Definition 2) lets players report untruthful
types θ̂. Whether they *would* depends on the rule f: Gibbard (1977) and
Satterthwaite (1975) say every deterministic rule over three or more
alternatives that is not dictatorial can be manipulated, while random
dictatorship is strategy-proof. This module measures it on the running
substrate rather than assuming it:

1. Every follower gets a `BallotLearner`, an ε-greedy bandit over the
   ballots the game lets it cast under the rule (`voting.in_game_ballots`:
   the K favourites under plurality and random dictator, the 2^K - 2
   approval sets under approval, the K! full rankings otherwise; 3, 6 and
   6 for K = 3), whose reward for a round
   is the player's own type utility θ_i(winner) of the elected objective.
   A `strategic_follower` (a `bots.BallotPolicy`) casts the learner's
   ranking in Lua, one `VOTE_<objective>` press per VOTE step, and plays
   HARVEST with an ordinary bot from `agents/bots.py`. The wrapper reads
   the rankings from `WORLD.BALLOTS` (a "ranking" profile) and elects the
   objective, exactly as in `umd run`.
2. `train_ballots` repeats rounds (over several games) and updates each
   learner from the ballot Lua recorded for it and the wrapper's winner.
   The ballot reward does not depend on the harvest, so training shortens
   the harvest to `LearningConfig.train_harvest_steps` (1 by default) and
   the vote to the K - 1 steps a ranking needs; only evaluation plays full
   rounds.
3. `evaluate_ballots` plays full games with the learned (greedy, frozen)
   ballots and audits every round with `audit_round`: a round is
   *manipulated* if some player's learned ballot differs from its truthful
   one and replacing it by the truthful ballot, the others fixed, gives an
   outcome that player values less.

Every rule in `voting.RULES` counts the ranked profile that Lua produces
(see `voting`): plurality and random dictator its tops, Borda, instant
runoff and Copeland the rankings, approval the ranked sets and
score/median the rankings' Borda points. So the rules differ as in social
choice theory, except score, which on rankings is Borda. Until issue 23 the
arms were the K! full rankings under every rule, so truthful approval voters
approved all but their last objective (veto); now each rule's learners
choose among the ballots its textbook definition expects. (Until issue 12 a ballot was one `VOTE_*` choice, on which every
deterministic rule but instant runoff and median was plurality.) Each
audited round also records the Condorcet winner of the true types, when
there is one, for the rules' Condorcet efficiency.

Outcomes are compared in two ways, because plurality-like rules on few
voters often tie:

* *expected*: a player's value for an outcome is its expected utility over
  the rule's own randomness: uniform over `Outcome.tied` for deterministic
  rules (that is how `voting.elect` breaks ties), and the lottery in
  `Outcome.scores` for random dictator;
* *realised*: the utility of the winner actually drawn, with the factual and
  the counterfactual election given the same tie-breaking generator state
  (common random numbers). For a lottery rule the realised comparison is
  meaningless (a different lottery maps the same draw elsewhere), so it
  falls back to the expected one.

Usage (from the repository root; `benchmarks/strategic_voting.py` runs it
over rules and seeds and prints the table in docs/RESULTS.md):

  from experiments import strategic_voting as sv
  result = sv.run_rule("plurality", sv.LearningConfig(), seed=0)
  summary = sv.summarise([result])
"""

import copy
import dataclasses
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
from meltingpot.utils.policies import policy

from umd_meltingpot import agents

from umd_meltingpot.game import loop as game
from umd_meltingpot.social_choice import preferences as preferences_lib
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.plumbing import runs
from umd_meltingpot.plumbing import stats
from umd_meltingpot import substrate as substrate_lib
from umd_meltingpot.plumbing import validation
from umd_meltingpot.social_choice import voting
from umd_meltingpot.game import principal_wrapper as wrapper_lib

# The agents package is installed as `umd_meltingpot.agents` (see setup.py).
from umd_meltingpot.agents import bots as bots_lib  # pylint: disable=g-bad-import-order

COMPROMISE = "compromise"
"""The hand-built electorate in which plurality invites a compromise vote."""

_TOLERANCE = 1e-9  # Utilities closer than this count as equal.


# ----------------------------------------------------------------------------
# Electorates.
# ----------------------------------------------------------------------------


def compromise_types(objectives: Sequence[str]) -> preferences_lib.Preferences:
  """Five players whose minority's favourite cannot win under plurality.

  With objectives (A, B, C) = the first three of `objectives`:

  ==========  ======  ======  ======
  players     θ(A)    θ(B)    θ(C)
  ==========  ======  ======  ======
  0, 1        1.0     0.4     0.0
  2, 3        0.0     1.0     0.6
  4           0.0     0.7     1.0
  ==========  ======  ======  ======

  Truthful plurality ballots give A 2, B 2, C 1: a tie between A and B.
  Player 4's favourite C cannot win, but by voting B it makes B win
  outright, which it values 0.7 against 0.35 for the coin flip: the
  textbook compromise. Every other objective gets utility 0 from everyone.
  The principal's row is the players' mean (it has weight 0 in the vote by
  default).

  Args:
    objectives: the substrate's objectives, at least three.

  Returns:
    The `Preferences` for 5 players.

  Raises:
    ValueError: fewer than three objectives.
  """
  objectives = tuple(objectives)
  if len(objectives) < 3:
    raise ValueError(
        f"the compromise electorate needs >= 3 objectives, got {objectives}")
  players = np.zeros((5, len(objectives)))
  players[:, :3] = [[1.0, 0.4, 0.0], [1.0, 0.4, 0.0], [0.0, 1.0, 0.6],
                    [0.0, 1.0, 0.6], [0.0, 0.7, 1.0]]
  utilities = np.vstack([players.mean(axis=0), players])
  return preferences_lib.Preferences(utilities=utilities,
                                     objectives=objectives)


def make_electorate(spec: str, *, num_players: int,
                    objectives: Sequence[str],
                    seed: int) -> preferences_lib.Preferences:
  """The types θ for one seed: "compromise" or a `preferences` spec.

  Args:
    spec: "compromise" (5 players, fixed; see `compromise_types`) or any
      spec `preferences.from_spec` takes ("uniform", "mallows:0.5", ...),
      drawn with `np.random.default_rng(seed)`.
    num_players: n; must be 5 for "compromise".
    objectives: the substrate's objectives.
    seed: seeds a random spec.

  Raises:
    ValueError: an unknown spec (naming the valid forms) or a player count
      the compromise electorate does not have.
  """
  if spec == COMPROMISE:
    if num_players != 5:
      raise ValueError(
          f"the compromise electorate has 5 players, got {num_players}")
    return compromise_types(objectives)
  try:
    return preferences_lib.from_spec(
        spec, num_players=num_players, objectives=tuple(objectives),
        rng=np.random.default_rng(seed))
  except ValueError as error:
    raise ValueError(f"{error} Or use {COMPROMISE!r}.") from None


Ranking = tuple[int, ...]


def truthful_ballot(utilities: Sequence[float], rule: str) -> Ranking:
  """The truthful ballot under `rule` (`voting.truthful_ballot`), the one
  `bots.Voter.truthful(utilities, rule)` casts."""
  return bots_lib.Voter.truthful(utilities, rule).ballot()


def condorcet_winner(utilities: np.ndarray) -> Optional[int]:
  """The objective that a strict majority of the players prefers to each
  other objective, by their true types; None if there is none."""
  utilities = np.asarray(utilities, dtype=np.float64)
  n, m = utilities.shape
  for a in range(m):
    if all(np.sum(utilities[:, a] > utilities[:, b] + _TOLERANCE) > n / 2
           for b in range(m) if b != a):
      return a
  return None


# ----------------------------------------------------------------------------
# The learner.
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LearnerConfig(validation.Validated):
  """Hyperparameters of `BallotLearner`.

  The learners learn at the same time, so each one's reward for a ballot
  drifts as the others settle: the value estimate is a sample mean at first
  and an exponential recency-weighted mean once a ballot has been tried
  1/`step_size_floor` times, so it can follow that drift.
  """
  epsilon_start: float = validation.checked(1.0, validation.number(ge=0, le=1))
  """Exploration probability at the first round."""
  epsilon_end: float = validation.checked(0.05, validation.number(ge=0, le=1))
  """Exploration probability from `epsilon_decay_rounds` on; kept above 0
  so that rarely cast ballots are re-valued after the others settle."""
  epsilon_decay_rounds: int = validation.checked(400,
                                                 validation.integer(ge=1))
  """Rounds over which epsilon falls linearly from start to end."""
  step_size_floor: float = validation.checked(0.02,
                                              validation.number(gt=0, le=1))
  """The smallest step size of the value update."""


class BallotLearner:
  """An ε-greedy bandit over the ballots one player can cast under a rule
  (`voting.in_game_ballots`).

  The arm is the ranking cast, the reward the player's type utility of the
  round's winner. The learned ballot is the greedy one; ties in value go to
  the truthful ranking, since a voter gains nothing by lying when lying is
  worth no more, then to the first arm.

  One learner belongs to one player and is mutable: it is not a policy that
  may serve several slots.
  """

  def __init__(self, utilities: Sequence[float], *, rule: str,
               config: LearnerConfig = LearnerConfig(),
               rng: np.random.Generator):
    """Initialises the learner.

    Args:
      utilities: the player's type θ_i, one utility per objective.
      rule: the rule it votes under, a key of `voting.RULES`.
      config: the hyperparameters.
      rng: the learner's own random generator (exploration).
    """
    self._utilities = np.array(utilities, dtype=np.float64)
    if self._utilities.ndim != 1 or self._utilities.size < 1:
      raise ValueError(f"utilities must be 1-D, got {utilities!r}")
    self._config = config
    self._rng = rng
    self._arms = voting.in_game_ballots(self._utilities, rule)
    num_ballots = len(self._arms)
    self._values = np.zeros(num_ballots)
    self._counts = np.zeros(num_ballots, dtype=np.int64)
    self._rounds = 0
    self._truthful = truthful_ballot(self._utilities, rule)

  @property
  def num_ballots(self) -> int:
    """The number of ballots it chooses among."""
    return len(self._arms)

  @property
  def arms(self) -> tuple[Ranking, ...]:
    """The ballots, in value order."""
    return self._arms

  @property
  def truthful(self) -> Ranking:
    """The truthful ballot: the type's ranking."""
    return self._truthful

  @property
  def values(self) -> np.ndarray:
    """The estimated reward of each ballot (a copy)."""
    return self._values.copy()

  @property
  def counts(self) -> np.ndarray:
    """How often each ballot was counted (a copy)."""
    return self._counts.copy()

  def epsilon(self) -> float:
    """The exploration probability of the coming round."""
    c = self._config
    fraction = min(1.0, self._rounds / c.epsilon_decay_rounds)
    return c.epsilon_start + fraction * (c.epsilon_end - c.epsilon_start)

  def learned_ballot(self) -> Ranking:
    """The greedy ballot, ties to the truthful one, then the first arm."""
    best = np.flatnonzero(self._values >= self._values.max() - _TOLERANCE)
    truthful = self._arms.index(self._truthful)
    return self._arms[truthful if truthful in best else int(best[0])]

  def choose(self, explore: bool = True) -> Ranking:
    """The ballot to cast this round: ε-greedy, or greedy if not `explore`."""
    if explore and self._rng.random() < self.epsilon():
      return self._arms[int(self._rng.integers(self.num_ballots))]
    return self.learned_ballot()

  def reward(self, winner: int) -> float:
    """The player's reward for a round that `winner` won: θ_i(winner)."""
    return float(self._utilities[winner])

  def update(self, ballot: Optional[Ranking], winner: int) -> None:
    """Learns from one round: `ballot` was counted and `winner` won.

    Args:
      ballot: the ranking the wrapper counted for this player (as Lua
        recorded it), or None if it abstained or cast a partial ranking,
        which no arm casts (nothing to learn then).
      winner: the elected objective's index.
    """
    self._rounds += 1
    if ballot is None or tuple(ballot) not in self._arms:
      return
    arm = self._arms.index(tuple(ballot))
    self._counts[arm] += 1
    step = max(1.0 / self._counts[arm], self._config.step_size_floor)
    self._values[arm] += step * (self.reward(winner) - self._values[arm])


def make_learners(prefs: preferences_lib.Preferences, *, rule: str,
                  config: LearnerConfig, seed: int) -> list[BallotLearner]:
  """One learner per player under `rule`, each with its own generator
  from `seed`."""
  return [
      BallotLearner(prefs.players[i], rule=rule, config=config,
                    rng=np.random.default_rng([seed, i]))
      for i in range(prefs.num_players)
  ]


# ----------------------------------------------------------------------------
# The follower: votes through Lua, harvests with a bot.
# ----------------------------------------------------------------------------


def strategic_follower(learner: BallotLearner, harvest_bot: policy.Policy, *,
                       explore: bool) -> bots_lib.BallotPolicy:
  """Casts `learner`'s ranking with `VOTE_*` presses; harvests with a bot.

  The ballot is drawn once per VOTE phase (see `bots.BallotPolicy`), from
  the learner's ε-greedy policy while training and greedily otherwise.

  Args:
    learner: the player's ballot learner (its own, not shared).
    harvest_bot: a bot from `agents` that plays the harvest; its own voter
      is never asked.
    explore: draw ballots ε-greedily (training) or greedily (evaluation).
  """
  return bots_lib.BallotPolicy(
      harvest_bot, lambda round_index: learner.choose(explore))


# ----------------------------------------------------------------------------
# Auditing one round.
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ElectionSetup:
  """What, besides the ballots, decides an election as the wrapper runs it.

  Attributes:
    rule: a key of `voting.RULES`.
    objectives: the alternatives, in vote order.
    principal_ballot: the principal's ranked ballot (None abstains).
    principal_weight: its weight (0: no say).
  """
  rule: str
  objectives: tuple[str, ...]
  principal_ballot: Optional[Ranking] = None
  principal_weight: float = 0.0

  def elect(self, ballots: Sequence[Optional[Ranking]],
            rng: np.random.Generator) -> voting.Outcome:
    """Elects from ranked ballots, as the wrapper does."""
    profile = voting.Profile(alternatives=self.objectives, kind="ranking",
                             ballots=tuple(ballots))
    return voting.elect(self.rule, profile, rng=rng,
                        principal_ballot=self.principal_ballot,
                        principal_weight=self.principal_weight)


def outcome_lottery(outcome: voting.Outcome, lottery: bool) -> np.ndarray:
  """The probability of each alternative under the rule's own randomness.

  A lottery rule's tally (`Outcome.scores`) is its lottery; a deterministic
  rule picks uniformly among `Outcome.tied`.
  """
  m = len(outcome.scores) if outcome.scores is not None else (
      max(outcome.tied) + 1)
  probabilities = np.zeros(m)
  if lottery and outcome.scores is not None:
    scores = np.array([outcome.scores[a] for a in outcome.tied])
    probabilities[list(outcome.tied)] = scores / scores.sum()
  else:
    probabilities[list(outcome.tied)] = 1.0 / len(outcome.tied)
  return probabilities


def generator_at(state: dict[str, Any]) -> np.random.Generator:
  """A new generator in a copy of `state`: replays the same draws."""
  rng = np.random.default_rng()
  rng.bit_generator.state = copy.deepcopy(state)
  return rng


@dataclasses.dataclass(frozen=True)
class RoundAudit:
  """One round's ballots against the truthful ones.

  Attributes:
    ballots: the ballots counted (None: abstained).
    truthful: each player's truthful ballot.
    winner: the elected objective's index.
    truthful_winner: the winner of the all-truthful profile, same draw.
    manipulators_expected: players whose untruthful ballot raises their
      expected utility over the truthful one (others fixed).
    manipulators_realised: the same with the realised winners, same draw.
    type_welfare: Σ_i θ_i, expected over the rule's randomness, of the
      counted ballots' outcome.
    truthful_type_welfare: the same for the all-truthful profile.
    condorcet_winner: the Condorcet winner of the true types, or None.
  """
  ballots: tuple[Optional[Ranking], ...]
  truthful: tuple[Ranking, ...]
  winner: int
  truthful_winner: int
  manipulators_expected: tuple[int, ...]
  manipulators_realised: tuple[int, ...]
  type_welfare: float
  truthful_type_welfare: float
  condorcet_winner: Optional[int] = None

  @property
  def manipulated_expected(self) -> bool:
    return bool(self.manipulators_expected)

  @property
  def manipulated_realised(self) -> bool:
    return bool(self.manipulators_realised)

  @property
  def truthful_share(self) -> float:
    """The share of players whose ballot is their truthful one."""
    return float(np.mean([b == t for b, t in zip(self.ballots,
                                                 self.truthful)]))


def audit_round(setup: ElectionSetup, utilities: np.ndarray,
                ballots: Sequence[Optional[Ranking]],
                rng_state: dict[str, Any]) -> RoundAudit:
  """Finds the players who manipulated one election in their favour.

  Player i manipulated if its ballot b_i is not its truthful ballot t_i and
  it values the outcome of (b_i, b_-i) more than that of (t_i, b_-i). Both
  elections start from the same tie-breaking state `rng_state` (the state
  the wrapper's generator had before this round's election).

  Args:
    setup: the rule and the principal's ballot.
    utilities: the players' types θ_{-1}, shape (n, m).
    ballots: the counted ballots, one per player.
    rng_state: `np.random.Generator.bit_generator.state` before the vote.

  Returns:
    The `RoundAudit`.
  """
  utilities = np.asarray(utilities, dtype=np.float64)
  ballots = tuple(None if b is None else tuple(b) for b in ballots)
  if utilities.shape[0] != len(ballots):
    raise ValueError(f"got {len(ballots)} ballots for "
                     f"{utilities.shape[0]} players")
  lottery = voting.RULES[setup.rule].lottery
  truthful = tuple(truthful_ballot(row, setup.rule) for row in utilities)
  actual = setup.elect(ballots, generator_at(rng_state))
  actual_lottery = outcome_lottery(actual, lottery)
  expected, realised = [], []
  for i, (ballot, honest) in enumerate(zip(ballots, truthful)):
    if ballot == honest:
      continue
    deviation = list(ballots)
    deviation[i] = honest
    counterfactual = setup.elect(deviation, generator_at(rng_state))
    gain = utilities[i] @ (actual_lottery -
                           outcome_lottery(counterfactual, lottery))
    if gain > _TOLERANCE:
      expected.append(i)
    realised_gain = gain if lottery else (
        utilities[i, actual.winner] - utilities[i, counterfactual.winner])
    if realised_gain > _TOLERANCE:
      realised.append(i)
  honest_outcome = setup.elect(truthful, generator_at(rng_state))
  return RoundAudit(
      ballots=ballots, truthful=truthful, winner=actual.winner,
      truthful_winner=honest_outcome.winner,
      manipulators_expected=tuple(expected),
      manipulators_realised=tuple(realised),
      type_welfare=float(utilities.sum(axis=0) @ actual_lottery),
      truthful_type_welfare=float(
          utilities.sum(axis=0) @ outcome_lottery(honest_outcome, lottery)),
      condorcet_winner=condorcet_winner(utilities))


def ballots_from_record(record: wrapper_lib.RoundRecord
                        ) -> tuple[Optional[Ranking], ...]:
  """The ranked ballots of a round record (its `WORLD.BALLOTS` rows)."""
  profile = voting.profile_from_world_ballots(np.asarray(record.ballots),
                                              record.objectives)
  return profile.ballots


# ----------------------------------------------------------------------------
# Playing on the substrate.
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LearningConfig(validation.Validated):
  """One measurement: the substrate, the electorate, training and evaluation.

  Options left None take the substrate config's value, as in `umd run`.
  """
  substrate: str = "umd_apple_harvest__small"
  """The substrate (see `umd list`)."""
  electorate: str = COMPROMISE
  """The types: "compromise" (5 players) or a preferences spec such as
  uniform or mallows:0.5 (drawn per seed)."""
  players: int = 5
  """n, the number of players."""
  train_rounds: int = validation.checked(1000, validation.integer(ge=1))
  """Rounds of ballot learning, over as many games as it takes."""
  train_rounds_per_game: int = validation.checked(100,
                                                  validation.integer(ge=1))
  """tau of each training game."""
  train_harvest_steps: int = validation.checked(1, validation.integer(ge=1))
  """T while training: the ballot reward does not depend on the harvest."""
  train_on: str = validation.checked(
      "substrate", validation.one_of(("substrate", "elections")))
  """Where the learners train: "substrate" casts every ballot through Lua;
  "elections" counts the same ballots with the same draws in
  `voting.elect` alone, the wrapper's call (`train_by_elections`): the
  same learners, about 30 times faster. Evaluation is on the substrate
  either way."""
  eval_rounds: Optional[int] = None
  """tau of the evaluation game; default: the substrate's."""
  eval_harvest_steps: Optional[int] = None
  """T of the evaluation game; default: the substrate's."""
  principal: str = "hand_rule"
  """The principal of the evaluation game (training uses fixed, whose phi
  cannot matter to the ballot reward): a name, or a checkpoint written by
  `umd train --principal`, which plays frozen (its best estimate)."""
  delta: float = 0.25
  """The evaluation game's bound delta on D(phi_prev, phi) (inf: none)."""
  harvest_bots: str = "random,greedy"
  """The followers' harvest bots, cycled over the players (as `umd run`'s
  --bots). Heuristic bots ignore phi, so with them the realised
  utilitarian welfare cannot depend on the vote; "best_response[:PATH]"
  followers play the equilibrium that phi induces."""
  learner: LearnerConfig = LearnerConfig()
  """The ballot learners' hyperparameters."""

  def __post_init__(self):
    super().__post_init__()
    # Fail before any training: an unknown substrate or electorate spec, or
    # a player count the electorate does not have.
    make_electorate(self.electorate, num_players=self.players,
                    objectives=substrate_lib.get_config(self.substrate)
                    .objectives, seed=0)


def _prepare(config: LearningConfig, *, rule: str, seed: int,
             rounds: Optional[int], steps: Optional[int], vote_steps: int,
             principal: str, bots: str) -> game.PreparedGame:
  """A validated game whose types we replace by the electorate's."""
  return game.prepare(game.GameConfig(
      substrate=config.substrate, players=config.players, rounds=rounds,
      steps=steps, vote_steps=vote_steps, rule=rule, principal=principal,
      bots=bots, ballots="world", seed=seed, delta=config.delta,
      # A trained checkpoint plays its best estimate, so that the learned
      # and the truthful game meet the same map from objective to phi.
      freeze_principal=principal not in principal_lib.PRINCIPALS),
      agents.FACTORY)


class _Game:
  """One wrapped game, with the tie-breaking generator's state per round."""

  def __init__(self, prepared: game.PreparedGame,
               prefs: preferences_lib.Preferences):
    # The electorate's types replace the ones `prepare` drew from its spec.
    self.prepared = dataclasses.replace(prepared, preferences=prefs)
    self.rng = np.random.default_rng([prepared.config.seed, 2])
    # The wrapper draws from `rng` only in the round's election, so its
    # state at the end of a round is the state before the next election.
    self.vote_states = [copy.deepcopy(self.rng.bit_generator.state)]
    self.records: list[wrapper_lib.RoundRecord] = []
    self.env = game.build_environment(
        self.prepared, on_round_end=self._on_round_end, rng=self.rng)
    self.on_round: Optional[Callable[[wrapper_lib.RoundRecord], None]] = None

  def _on_round_end(self, record: wrapper_lib.RoundRecord) -> None:
    self.records.append(record)
    self.vote_states.append(copy.deepcopy(self.rng.bit_generator.state))
    if self.on_round is not None:
      self.on_round(record)

  def play(self, learners: Sequence[BallotLearner], *,
           explore: bool) -> None:
    """Plays the game: `learners` vote, the game's bots harvest."""
    policies = [
        strategic_follower(learner, bot, explore=explore)
        for learner, bot in zip(learners, game.build_bots(self.prepared))]
    try:
      game.play_episode(self.env, policies)
    finally:
      self.env.close()


def train_ballots(rule: str, prefs: preferences_lib.Preferences,
                  config: LearningConfig, *, seed: int,
                  on_round: Optional[Callable[[], None]] = None
                  ) -> list[BallotLearner]:
  """Learns every player's ballot over repeated rounds on the substrate.

  Each training game has `train_rounds_per_game` rounds of K - 1 VOTE
  steps (a full ranking) and `train_harvest_steps` HARVEST steps (the reward, θ_i of the winner,
  does not depend on the harvest). After each round every learner is
  updated with the ballot the wrapper counted for it (from Lua's
  `WORLD.BALLOTS`) and the winner the wrapper elected.

  Args:
    rule: a key of `voting.RULES`.
    prefs: the types; one learner per player.
    config: the measurement's options.
    seed: seeds the substrate, the learners and tie-breaking.
    on_round: called after every training round (for a progress bar).

  Returns:
    The trained learners, one per player.
  """
  learners = make_learners(prefs, rule=rule, config=config.learner,
                           seed=seed)
  if config.train_on == "elections":
    train_by_elections(rule, prefs, config, learners, seed=seed,
                       on_round=on_round)
    return learners
  objectives = prefs.objectives
  for game_seed, rounds in _training_games(config, seed):
    prepared = _prepare(config, rule=rule, seed=game_seed, rounds=rounds,
                        steps=config.train_harvest_steps,
                        vote_steps=max(1, len(objectives) - 1),
                        # The harvest cannot change the ballot reward, and
                        # a best-response table fits only the full game.
                        principal="fixed", bots="random")
    played = _Game(prepared, prefs)

    def learn(record: wrapper_lib.RoundRecord) -> None:
      winner = objectives.index(record.objective)
      for learner, ballot in zip(learners, ballots_from_record(record)):
        learner.update(ballot, winner)
      if on_round is not None:
        on_round()

    played.on_round = learn
    played.play(learners, explore=True)
  return learners


def _wrapper_election(rule: str, prefs: preferences_lib.Preferences,
                      mechanism: wrapper_lib.MechanismConfig
                      ) -> ElectionSetup:
  """The election the principal wrapper runs under `mechanism`: the
  players' ballots and the principal's truthful one, at its weight."""
  return ElectionSetup(
      rule=rule, objectives=prefs.objectives,
      principal_ballot=truthful_ballot(prefs.principal, rule),
      principal_weight=mechanism.principal_weight)


def _training_games(config: LearningConfig, seed: int
                    ) -> Iterator[tuple[int, int]]:
  """Each training game's seed and number of rounds, in order."""
  done, game_index = 0, 0
  while done < config.train_rounds:
    rounds = min(config.train_rounds_per_game, config.train_rounds - done)
    yield seed * 1000 + game_index, rounds
    done += rounds
    game_index += 1


def train_by_elections(rule: str, prefs: preferences_lib.Preferences,
                       config: LearningConfig,
                       learners: Sequence[BallotLearner], *, seed: int,
                       on_round: Optional[Callable[[], None]] = None) -> None:
  """`train_ballots` without Lua: the same rounds, draws and updates.

  Each round every learner draws its ballot (in player order, as the
  players' policies do at the VOTE phase), `ElectionSetup.elect` counts
  them with the principal's ballot and a tie-breaking generator seeded as
  `_Game` seeds the wrapper's, and every learner learns from its ballot and
  the winner. A ballot cast through Lua comes back as cast (tested), so
  the learners end as `train_ballots` on the substrate leaves them,
  value for value (`tests/test_strategic_voting.py` checks it).
  """
  setup = _wrapper_election(rule, prefs, _prepare(
      config, rule=rule, seed=seed, rounds=1, steps=1,
      vote_steps=max(1, len(prefs.objectives) - 1), principal="fixed",
      bots="random").mechanism)
  for game_seed, rounds in _training_games(config, seed):
    rng = np.random.default_rng([game_seed, 2])  # As `_Game`'s.
    for _ in range(rounds):
      ballots = [learner.choose(explore=True) for learner in learners]
      winner = setup.elect(ballots, rng).winner
      for learner, ballot in zip(learners, ballots):
        learner.update(ballot, winner)
      if on_round is not None:
        on_round()


@dataclasses.dataclass(frozen=True)
class RoundResult:
  """One evaluated round: the audit and the game's realised welfare.

  Attributes:
    seed: the seed of the measurement.
    round: the round (1-based).
    audit: the ballots against the truthful ones.
    objective: the objective the wrapper elected (the audit's winner).
    utilitarian: the round's realised utilitarian welfare Σ returns, from
      the wrapper's record, with the learned ballots.
    egalitarian: its realised min return.
    truthful_utilitarian: the same round of the same game played with
      truthful ballots (same seeds).
    truthful_egalitarian: likewise.
  """
  seed: int
  round: int
  audit: RoundAudit
  objective: str
  utilitarian: float
  egalitarian: float
  truthful_utilitarian: float
  truthful_egalitarian: float


def prepare_evaluation(config: LearningConfig, *, rule: str,
                       seed: int) -> game.PreparedGame:
  """The evaluation game, validated (call it early to check the harvest
  bots and the principal before any training).

  Raises:
    ValueError: a bad rule, harvest bot, principal or checkpoint.
  """
  return _prepare(config, rule=rule, seed=seed, rounds=config.eval_rounds,
                  steps=config.eval_harvest_steps, vote_steps=None,
                  principal=config.principal, bots=config.harvest_bots)


def _evaluation_game(rule: str, prefs: preferences_lib.Preferences,
                     config: LearningConfig, learners: Sequence[BallotLearner],
                     *, seed: int) -> _Game:
  """Plays one full game, greedy learned ballots through Lua."""
  prepared = prepare_evaluation(config, rule=rule, seed=seed)
  played = _Game(prepared, prefs)
  played.play(learners, explore=False)
  return played


def _truthful_learners(prefs: preferences_lib.Preferences, rule: str
                       ) -> list[BallotLearner]:
  """Learners that have learned nothing: their greedy ballot is truthful."""
  return make_learners(prefs, rule=rule, config=LearnerConfig(), seed=0)


def evaluate_ballots(rule: str, prefs: preferences_lib.Preferences,
                     config: LearningConfig,
                     learners: Sequence[BallotLearner], *,
                     seed: int) -> list[RoundResult]:
  """Plays a full game with the learned ballots and audits every round.

  The same game (same seeds, same harvest bots) is also played with
  truthful ballots, for the realised welfare the learned ballots cost or
  gain.

  Args:
    rule: a key of `voting.RULES`.
    prefs: the types.
    config: the measurement's options.
    learners: the trained learners; their greedy ballots are cast.
    seed: seeds the game.

  Returns:
    One `RoundResult` per round.
  """
  learned = _evaluation_game(rule, prefs, config, learners, seed=seed)
  truthful = _evaluation_game(rule, prefs, config, _truthful_learners(prefs, rule),
                              seed=seed)
  setup = _wrapper_election(rule, prefs, learned.prepared.mechanism)
  results = []
  for index, (record, honest) in enumerate(zip(learned.records,
                                               truthful.records)):
    audit = audit_round(setup, prefs.players, ballots_from_record(record),
                        learned.vote_states[index])
    # The audit re-runs the wrapper's election; it must agree.
    assert prefs.objectives[audit.winner] == record.objective, (
        audit, record.objective)
    results.append(RoundResult(
        seed=seed, round=record.round, audit=audit, objective=record.objective,
        utilitarian=record.metrics["utilitarian"],
        egalitarian=record.metrics["egalitarian"],
        truthful_utilitarian=honest.metrics["utilitarian"],
        truthful_egalitarian=honest.metrics["egalitarian"]))
  return results


@dataclasses.dataclass(frozen=True)
class SeedResult:
  """One rule and one seed: the learners and the evaluated rounds."""
  rule: str
  seed: int
  preferences: preferences_lib.Preferences
  learned_ballots: tuple[Ranking, ...]
  truthful_ballots: tuple[Ranking, ...]
  rounds: tuple[RoundResult, ...]


def check_rules(rules: Sequence[str]) -> tuple[str, ...]:
  """Validates rule names.

  Raises:
    ValueError: an unknown rule, naming the valid ones.
  """
  rules = tuple(rules)
  unknown = [rule for rule in rules if rule not in voting.RULES]
  if not rules or unknown:
    raise ValueError(f"Unknown voting rules {unknown or rules!r}; valid "
                     f"rules are {tuple(voting.RULES)}")
  return rules


def run_rule(rule: str, config: LearningConfig, *, seed: int,
             on_round: Optional[Callable[[], None]] = None) -> SeedResult:
  """Trains the ballot learners under `rule` and evaluates them.

  Args:
    rule: a key of `voting.RULES`.
    config: the measurement's options.
    seed: seeds the types (for a random electorate), the games, the
      learners and tie-breaking.
    on_round: called after every training round.

  Returns:
    The `SeedResult`.
  """
  check_rules([rule])
  objectives = tuple(substrate_lib.get_config(config.substrate).objectives)
  prefs = make_electorate(config.electorate, num_players=config.players,
                          objectives=objectives, seed=seed)
  learners = train_ballots(rule, prefs, config, seed=seed, on_round=on_round)
  rounds = evaluate_ballots(rule, prefs, config, learners, seed=seed)
  return SeedResult(
      rule=rule, seed=seed, preferences=prefs,
      learned_ballots=tuple(l.learned_ballot() for l in learners),
      truthful_ballots=tuple(l.truthful for l in learners),
      rounds=tuple(rounds))


@dataclasses.dataclass(frozen=True)
class SeedTask:
  """One rule and one seed of a measurement: a task for `parallel`'s
  runner and `TaskCache`, whose key is every field."""
  rule: str
  seed: int
  config: LearningConfig


def run_seed_task(task: SeedTask) -> dict[str, Any]:
  """`run_rule` on one task, JSON-ready (`seed_result_from_json` reads
  it back), so that `parallel.TaskCache` can keep it."""
  return seed_result_to_json(run_rule(task.rule, task.config,
                                      seed=task.seed))


def seed_result_to_json(result: SeedResult) -> dict[str, Any]:
  """`result` as JSON-ready lists, numbers and strings."""
  return runs.json_ready({
      "rule": result.rule, "seed": result.seed,
      "objectives": result.preferences.objectives,
      "utilities": result.preferences.utilities.tolist(),
      "learned_ballots": result.learned_ballots,
      "truthful_ballots": result.truthful_ballots,
      "rounds": [dataclasses.asdict(r) for r in result.rounds]})


def _tuples(value: Any) -> Any:
  """JSON lists back to the tuples the dataclasses hold."""
  if isinstance(value, list):
    return tuple(_tuples(v) for v in value)
  return value


def seed_result_from_json(entry: dict[str, Any]) -> SeedResult:
  """The `SeedResult` that `run_seed_task` wrote."""
  rounds = tuple(
      RoundResult(**{**r, "audit": RoundAudit(**{
          key: _tuples(v) for key, v in r["audit"].items()})})
      for r in entry["rounds"])
  return SeedResult(
      rule=entry["rule"], seed=entry["seed"],
      preferences=preferences_lib.Preferences(
          utilities=np.array(entry["utilities"]),
          objectives=tuple(entry["objectives"])),
      learned_ballots=_tuples(entry["learned_ballots"]),
      truthful_ballots=_tuples(entry["truthful_ballots"]), rounds=rounds)


# ----------------------------------------------------------------------------
# Without the substrate: the same learners on bare elections.
# ----------------------------------------------------------------------------


def learn_by_election(rule: str, utilities: np.ndarray,
                      learners: Sequence[Optional[BallotLearner]], *,
                      rounds: int, rng: np.random.Generator,
                      objectives: Optional[Sequence[str]] = None) -> None:
  """Trains learners on repeated `voting.elect` calls, no substrate.

  A player whose learner is None votes truthfully. This is the synthetic
  voting game the substrate runs reduce to (the harvest never enters the
  ballot reward), and it is fast enough for tests.

  Args:
    rule: a key of `voting.RULES`.
    utilities: the players' types, shape (n, m).
    learners: one per player, or None for a truthful voter.
    rounds: the number of elections.
    rng: tie-breaking and lotteries.
    objectives: alternative names; default "o0", "o1", ...
  """
  utilities = np.asarray(utilities, dtype=np.float64)
  names = tuple(objectives or (f"o{a}" for a in range(utilities.shape[1])))
  setup = ElectionSetup(rule=check_rules([rule])[0], objectives=names)
  for _ in range(rounds):
    ballots = [truthful_ballot(row, rule) if learner is None
               else learner.choose()
               for row, learner in zip(utilities, learners)]
    winner = setup.elect(ballots, rng).winner
    for learner, ballot in zip(learners, ballots):
      if learner is not None:
        learner.update(ballot, winner)


# ----------------------------------------------------------------------------
# The ideal manipulator of Holliday, Kristoffersen and Pacuit (2024).
# ----------------------------------------------------------------------------


def ideal_profitability(rule: str, utilities: np.ndarray, *,
                        voter: int = 0) -> float:
  """How much one voter gains by its best ballot, the others sincere.

  Holliday, Kristoffersen and Pacuit's (2024) ideal manipulator: `voter`
  knows the others' truthful ballots and casts the ballot of the rule's
  shape (`voting.in_game_ballots`) that maximises its expected utility,
  ties and lotteries counted as `outcome_lottery` does; its profitability
  is the gain over its truthful ballot divided by the spread of its
  utilities (max - min), so it lies in [0, 1].

  Args:
    rule: a key of `voting.RULES`.
    utilities: the players' types, shape (n, m).
    voter: the manipulating player.

  Returns:
    The normalised gain, 0 if no ballot beats the truthful one.
  """
  utilities = np.asarray(utilities, dtype=np.float64)
  own = utilities[voter]
  spread = own.max() - own.min()
  if spread <= 0:
    return 0.0
  setup = ElectionSetup(
      rule=rule,
      objectives=tuple(f"o{a}" for a in range(utilities.shape[1])))
  lottery = voting.RULES[rule].lottery
  ballots = [truthful_ballot(row, rule) for row in utilities]

  def value(ballot: Ranking) -> float:
    ballots[voter] = ballot
    # The expected value does not depend on the tie-breaking draw.
    outcome = setup.elect(ballots, np.random.default_rng(0))
    return float(outcome_lottery(outcome, lottery) @ own)

  sincere = value(truthful_ballot(own, rule))
  best = max(value(b) for b in voting.in_game_ballots(own, rule))
  return max(0.0, best - sincere) / spread


def ideal_profitability_ci(rule: str, electorate: str, *, players: int,
                           objectives: Sequence[str], profiles: int,
                           seed: int = 0) -> tuple[float, float, float]:
  """The mean of `ideal_profitability` (voter 0) over `profiles` random
  electorates of the spec `electorate`, with a 95% bootstrap CI."""
  values = [
      [ideal_profitability(rule, make_electorate(
          electorate, num_players=players, objectives=objectives,
          seed=seed * 1_000_003 + index).players)]
      for index in range(profiles)]
  return stats.bootstrap_mean_ci(values, rng=0)


# ----------------------------------------------------------------------------
# Summaries.
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RuleSummary:
  """The measurement for one rule, over its seeds' evaluated rounds.

  Rates are (mean, CI low, CI high), the CI a 95% cluster bootstrap over
  seeds (`stats.bootstrap_mean_ci`: rounds of one seed share its learners,
  so they are not independent); welfare values are means per round.
  """
  rule: str
  seeds: int
  rounds: int
  manipulation_expected: tuple[float, float, float]
  manipulation_realised: tuple[float, float, float]
  truthful_share: float
  winners: dict[str, float]
  truthful_winners: dict[str, float]
  type_welfare: tuple[float, float, float]
  truthful_type_welfare: tuple[float, float, float]
  type_welfare_loss: tuple[float, float, float]
  condorcet_efficiency: tuple[float, float, float]
  truthful_condorcet_efficiency: tuple[float, float, float]
  condorcet_rounds: int
  utilitarian: tuple[float, float, float]
  truthful_utilitarian: float
  egalitarian: float
  truthful_egalitarian: float


def summarise(results: Sequence[SeedResult]) -> RuleSummary:
  """Pools one rule's seeds into a `RuleSummary`."""
  rules = {r.rule for r in results}
  if len(rules) != 1:
    raise ValueError(f"summarise takes one rule's results, got {rules}")
  objectives = results[0].preferences.objectives
  rounds = [r for result in results for r in result.rounds]

  def ci(value: Callable[[RoundResult], float],
         where: Callable[[RoundResult], bool] = lambda r: True
         ) -> tuple[float, float, float]:
    # A new generator per estimate, so that each CI reproduces alone. Seeds
    # with no round that `where` keeps drop out.
    groups = [[value(r) for r in result.rounds if where(r)]
              for result in results]
    groups = [group for group in groups if group]
    if not groups:
      return (float("nan"),) * 3
    return stats.bootstrap_mean_ci(groups, rng=0)

  def has_condorcet_winner(r: RoundResult) -> bool:
    return r.audit.condorcet_winner is not None

  def shares(winners: list[int]) -> dict[str, float]:
    counts = np.bincount(winners, minlength=len(objectives)) / len(winners)
    return dict(zip(objectives, map(float, counts)))

  return RuleSummary(
      rule=results[0].rule, seeds=len(results), rounds=len(rounds),
      manipulation_expected=ci(
          lambda r: float(r.audit.manipulated_expected)),
      manipulation_realised=ci(
          lambda r: float(r.audit.manipulated_realised)),
      truthful_share=float(np.mean([r.audit.truthful_share for r in rounds])),
      winners=shares([r.audit.winner for r in rounds]),
      truthful_winners=shares([r.audit.truthful_winner for r in rounds]),
      type_welfare=ci(lambda r: r.audit.type_welfare),
      truthful_type_welfare=ci(lambda r: r.audit.truthful_type_welfare),
      # Paired: the same round's electorate, truthful minus learned.
      type_welfare_loss=ci(lambda r: r.audit.truthful_type_welfare
                           - r.audit.type_welfare),
      condorcet_efficiency=ci(
          lambda r: float(r.audit.winner == r.audit.condorcet_winner),
          has_condorcet_winner),
      truthful_condorcet_efficiency=ci(
          lambda r: float(r.audit.truthful_winner == r.audit.condorcet_winner),
          has_condorcet_winner),
      condorcet_rounds=sum(map(has_condorcet_winner, rounds)),
      utilitarian=ci(lambda r: r.utilitarian),
      truthful_utilitarian=float(
          np.mean([r.truthful_utilitarian for r in rounds])),
      egalitarian=float(np.mean([r.egalitarian for r in rounds])),
      truthful_egalitarian=float(
          np.mean([r.truthful_egalitarian for r in rounds])))


def markdown_table(summaries: Sequence[RuleSummary]) -> str:
  """The summaries as one markdown table, a row per rule."""
  def ci(value: tuple[float, float, float]) -> str:
    return f"{value[0]:.2f} ({value[1]:.2f}–{value[2]:.2f})"

  def dist(shares: dict[str, float]) -> str:
    return ", ".join(f"{name[:4]} {share:.2f}"
                     for name, share in shares.items() if share > 0)

  lines = [
      "| rule | manipulation rate, expected (95% CI) | realised (95% CI) "
      "| truthful ballots | Condorcet efficiency learned (95% CI) / "
      "truthful (rounds with a Condorcet winner) "
      "| Σθ(winner) learned (95% CI) / truthful (95% CI) "
      "| welfare loss Σθ truthful − learned (95% CI) "
      "| winners, learned | winners, truthful "
      "| realised utilitarian per round (95% CI) / truthful |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
  for s in summaries:
    lines.append(
        f"| {s.rule} | {ci(s.manipulation_expected)} "
        f"| {ci(s.manipulation_realised)} | {s.truthful_share:.2f} "
        f"| {ci(s.condorcet_efficiency)} / "
        f"{ci(s.truthful_condorcet_efficiency)} ({s.condorcet_rounds}) "
        f"| {ci(s.type_welfare)} / {ci(s.truthful_type_welfare)} "
        f"| {ci(s.type_welfare_loss)} "
        f"| {dist(s.winners)} | {dist(s.truthful_winners)} "
        f"| {ci(s.utilitarian)} / {s.truthful_utilitarian:.2f} |")
  return "\n".join(lines)
