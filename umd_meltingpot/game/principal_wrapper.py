"""P: Phi -> M^phi, and the round boundaries of the game, as a substrate wrapper.

`PrincipalWrapper` wraps a UMD substrate (a Melting Pot `Substrate`) and is
one itself, so scenarios and Melting Pot's evaluation run on top of it
unchanged. It watches the phase observations and, inside `step`:

*   when a vote closes: reads the ranked ballots (`WORLD.BALLOTS`, or the
    truthful rankings of the players' types), applies the social choice
    function f to get the objective O, asks the principal algorithm for phi, projects phi onto
    {phi : D(phi_prev, phi) <= delta} and writes it into Lua (the map P);
*   when a round ends: computes O and the welfare metrics on the round's
    returns, feeds the value back to the algorithm and emits a `RoundRecord`.

After every reset it writes phi_0 again, since a reset builds a new Lua VM.
"""

import dataclasses
import math
from typing import Any, Callable, Optional, Sequence

import dm_env
from meltingpot.utils.substrates import substrate as substrate_lib
import numpy as np

from umd_meltingpot.social_choice import preferences as preferences_lib
from umd_meltingpot.plumbing import runs
from umd_meltingpot.plumbing import validation
from umd_meltingpot.social_choice import voting
from umd_meltingpot.social_choice import welfare
from umd_meltingpot.principal import base
from umd_meltingpot.principal import divergence as divergence_lib
from umd_meltingpot.principal import schedule as schedule_lib
from umd_meltingpot.substrates import phases

BALLOT_SOURCES = voting.BALLOT_SOURCES


def apply_schedule(env: Any, rates: Sequence[float],
                   max_rate: float = schedule_lib.DEFAULT_MAX_RATE) -> None:
  """Writes tax `rates` (each in [0, max_rate], the game's cap) into the
  running Lua world, all at once.

  Raises:
    ValueError: the rates are invalid or the substrate refused them (the
      message gives the reason, see `substrate.MechanismWrapper`); the rates
      in force are then unchanged.
  """
  rates = schedule_lib.check_rates(rates, max_rate)
  env.write_property("principal.schedule",
                     ",".join(repr(rate) for rate in rates))


def read_schedule(env: Any) -> np.ndarray:
  """The tax rates in force in the running Lua world."""
  text = env.read_property("principal.schedule")
  return np.array([float(part) for part in text.split(",")])


@dataclasses.dataclass(frozen=True)
class MechanismConfig(validation.Validated):
  """How the wrapper turns ballots into an objective and bounds phi.

  Attributes:
    rule: the social choice rule, a key of `voting.RULES`.
    delta: the bound delta on D(phi_prev, phi), >= 0 (inf: unbounded).
    divergence: D, a key of `divergence.DIVERGENCES`.
    principal_weight: weight w of the principal's own ballot, >= 0.
    ballot_source: "world" counts the ranked ballots cast in Lua (`VOTE_*`
      presses); "types" counts the truthful ballots of the players' types
      under `rule` (`voting.truthful_ballot`, the ballots truthful bots
      cast in Lua), whatever they press (needs preferences).
  """
  rule: str = validation.checked("plurality",
                                 validation.one_of(tuple(voting.RULES)))
  delta: float = validation.checked(
      math.inf, validation.number(ge=0, allow_inf=True))
  divergence: str = validation.checked(
      "linf", validation.one_of(sorted(divergence_lib.DIVERGENCES)))
  principal_weight: float = validation.checked(0.0, validation.number(ge=0))
  ballot_source: str = validation.checked(
      "world", validation.one_of(BALLOT_SOURCES))


@dataclasses.dataclass(frozen=True)
class RoundRecord:
  """Everything about one round; one line of `rounds.jsonl`.

  The vote fields describe the ballots the rule counted (under
  `ballot_source="types"` the typed rankings, not the VOTE presses):
  `ballots` holds each player's rank position of each objective (1 = top,
  0 = unranked; an all-zero row abstained), `tally` the first preferences,
  `vote_shares` the tally over the ballots that rank something, `scores`
  the rule's own tally (`voting.Outcome.scores`; None if all abstained),
  `winners` the rule's winning set before tie-breaking and `tie_broken`
  whether the objective was drawn at random from a tie.

  Per player: `gross` income (apples times skill), `net` (gross - tax),
  `tax`, `transfer` (its shares of the pool), `effort` (the effort cost it
  paid, destroyed) and `returns` = net + transfer - effort, its rewards.
  """
  round: int
  rounds: int
  objectives: tuple[str, ...]
  rule: str
  ballots: list[list[float]]
  tally: list[float]
  vote_shares: list[float]
  scores: Optional[list[float]]
  winners: list[str]
  tie_broken: bool
  objective: str
  objective_value: float
  phi_prev: list[float]
  phi_proposed: list[float]
  phi: list[float]
  divergence: float
  projection_changed: bool
  metrics: dict[str, float]
  gross: list[float]
  net: list[float]
  tax: list[float]
  transfer: list[float]
  returns: list[float]
  apples_alive: float
  effort: list[float]

  def to_json(self) -> dict[str, Any]:
    """A JSON-ready dict (NaN metrics become None)."""
    record = dataclasses.asdict(self)
    record["objectives"] = list(self.objectives)
    record["metrics"] = runs.json_ready(dict(self.metrics))
    return record


@dataclasses.dataclass(frozen=True)
class CountedVote:
  """The vote of the current round, as the HUD shows it.

  Attributes:
    tally: first preferences per objective of the ballots the rule counts.
    scores: the rule's own tally once the vote has closed, else None.
    tie_broken: the objective was drawn at random from a tie.
  """
  tally: list[float]
  scores: Optional[list[float]]
  tie_broken: bool


def _floats(array: np.ndarray) -> list[float]:
  return [float(x) for x in np.asarray(array).ravel()]


class PrincipalWrapper(substrate_lib.Substrate):
  """A UMD substrate with the principal and the vote at round boundaries."""

  def __init__(
      self,
      substrate: substrate_lib.Substrate,
      *,
      principal: base.Principal,
      schedule: schedule_lib.TaxSchedule,
      objectives: Sequence[str],
      rounds: int,
      mechanism: MechanismConfig = MechanismConfig(),
      preferences: Optional[preferences_lib.Preferences] = None,
      rng: Optional[np.random.Generator] = None,
      on_round_end: Optional[Callable[[RoundRecord], None]] = None,
  ) -> None:
    """Wraps `substrate`, which the wrapper then owns (and closes).

    Args:
      substrate: a UMD substrate, e.g. from `umd_meltingpot.substrate.build`.
      principal: the algorithm that proposes phi each round.
      schedule: phi_0 and the bracket edges (as in the substrate's config).
      objectives: the substrate's ballot alternatives, in vote order.
      rounds: tau, for the records.
      mechanism: the rule, delta, D and ballot source.
      preferences: the types theta (row 0 the principal); needed for
        `ballot_source="types"` and for a principal ballot.
      rng: randomness for tie-breaking; default: seeded with 0.
      on_round_end: called with each round's record as the round ends.
    """
    super().__init__(substrate)
    self._principal = principal
    self._schedule = schedule
    self._objectives = tuple(objectives)
    self._rounds = rounds
    self._mechanism = mechanism
    self._preferences = preferences
    self._rng = rng if rng is not None else np.random.default_rng(0)
    self._on_round_end = on_round_end
    self._num_players = len(substrate.action_spec())
    if mechanism.ballot_source == "types" and preferences is None:
      raise ValueError('ballot_source="types" needs preferences')
    if preferences is not None and (
        preferences.objectives != self._objectives or
        preferences.num_players != self._num_players):
      raise ValueError(
          f"preferences are over {preferences.objectives} for "
          f"{preferences.num_players} players; the substrate has "
          f"{self._objectives} and {self._num_players} players")
    self._records: list[RoundRecord] = []
    self._start_game()

  def _start_game(self) -> None:
    self._phase = phases.Phase.VOTE
    self._round_index = 0
    self._phi = self._schedule.as_array()
    self._last_round: dict[str, np.ndarray] = {}
    self._round: dict[str, Any] = {}
    self._rewards: list[np.ndarray] = []
    self._tagged: list[np.ndarray] = []

  @property
  def records(self) -> list[RoundRecord]:
    """The records of the rounds finished since the last reset."""
    return list(self._records)

  @property
  def phi(self) -> np.ndarray:
    """The rates in force (phi after the last projection)."""
    return self._phi.copy()

  @property
  def objective(self) -> Optional[str]:
    """The objective voted for the current round, if its vote has closed."""
    return self._round.get("objective")

  def counted_vote(self, world: dict[str, np.ndarray]) -> CountedVote:
    """This round's vote: once it has closed, what the rule counted (the
    round record's tally and scores); while it is open, the first
    preferences of the ballots that would be counted now.

    Args:
      world: the global observations of the current step.
    """
    if "objective" in self._round:
      return CountedVote(tally=list(self._round["tally"]),
                         scores=self._round["scores"],
                         tie_broken=self._round["tie_broken"])
    return CountedVote(
        tally=_floats(voting.first_preferences(self._profile(world))),
        scores=None, tie_broken=False)

  def reset(self, *args, **kwargs) -> dm_env.TimeStep:
    """See base class. Starts a new game and writes phi_0 into it."""
    timestep = super().reset(*args, **kwargs)
    self._start_game()
    self._records = []
    apply_schedule(self._env, self._phi, self._schedule.max_rate)
    return timestep

  def step(self, action: Sequence[int]) -> dm_env.TimeStep:
    """See base class; runs the principal at the round boundaries."""
    timestep = super().step(action)
    world = timestep.observation[0]
    if self._phase == phases.Phase.HARVEST:
      self._rewards.append(np.asarray(timestep.reward, dtype=np.float64))
      self._tagged.append(world["WORLD.TAGGED"] > 0)
    new_phase = int(world["WORLD.PHASE"])
    if self._phase == phases.Phase.VOTE and new_phase == phases.Phase.HARVEST:
      self._close_vote(world)
      timestep = self._show_rates(timestep)
    elif (self._phase == phases.Phase.HARVEST
          and new_phase != phases.Phase.HARVEST):
      self._end_round(world)
    self._phase = new_phase
    return timestep

  def _profile(self, world: dict[str, np.ndarray]) -> voting.Profile:
    if self._mechanism.ballot_source == "types":
      return voting.Profile(
          alternatives=self._objectives, kind="ranking",
          ballots=[voting.truthful_ballot(u, self._mechanism.rule)
                   for u in self._preferences.players])
    return voting.profile_from_world_ballots(world["WORLD.BALLOTS"],
                                             self._objectives)

  def _close_vote(self, world: dict[str, np.ndarray]) -> None:
    profile = self._profile(world)
    principal_ballot = None
    if self._preferences is not None:
      principal_ballot = voting.truthful_ballot(self._preferences.principal,
                                                self._mechanism.rule)
    outcome = voting.elect(
        self._mechanism.rule, profile, rng=self._rng,
        principal_ballot=principal_ballot,
        principal_weight=self._mechanism.principal_weight)
    tally = voting.first_preferences(profile)
    observation = base.RoundObservation(
        round_index=self._round_index,
        previous_rates=self._phi.copy(),
        edges=self._schedule.edges,
        max_rate=self._schedule.max_rate,
        objective=outcome.winner_name,
        apples_alive=int(world["WORLD.APPLES_ALIVE"]),
        ballots=dict(zip(self._objectives, map(float, tally))),
        num_rounds=self._rounds,
        extra={"outcome": outcome, "world": world},
        **self._last_round)
    proposal = np.asarray(
        self._principal.propose(observation, outcome.winner_name), dtype=float)
    projection = divergence_lib.project_logged(
        self._phi, proposal, self._mechanism.delta,
        self._mechanism.divergence, self._schedule.max_rate)
    apply_schedule(self._env, projection.projected, self._schedule.max_rate)
    self._round = dict(
        objective=outcome.winner_name,
        ballots=voting.rank_positions(profile).tolist(),
        tally=_floats(tally),
        scores=(None if outcome.scores is None
                else [float(x) for x in outcome.scores]),
        winners=[self._objectives[a] for a in outcome.tied],
        tie_broken=outcome.tie_broken,
        phi_prev=_floats(self._phi),
        phi_proposed=_floats(proposal),
        phi=_floats(projection.projected),
        divergence=float(projection.distance_after),
        projection_changed=bool(projection.changed))
    self._phi = np.asarray(projection.projected, dtype=float)

  def _show_rates(self, timestep: dm_env.TimeStep) -> dm_env.TimeStep:
    """The observation shows the rates of the coming step, as Lua will."""
    rates = self._phi.copy()
    observations = []
    for observation in timestep.observation:
      observation = dict(observation)
      observation["TAX_RATES"] = rates
      observation["WORLD.TAX_RATES"] = rates
      observations.append(observation)
    return timestep._replace(observation=observations)

  def _end_round(self, world: dict[str, np.ndarray]) -> None:
    gross, net = world["WORLD.ROUND_GROSS"], world["WORLD.ROUND_NET"]
    tax, transfer = world["WORLD.ROUND_TAX"], world["WORLD.ROUND_TRANSFER"]
    effort = world["WORLD.ROUND_EFFORT"]
    returns = net + transfer - effort  # What the rewards paid.
    objective = self._round["objective"]
    value = welfare.objective_value(objective, returns)
    metrics = welfare.round_metrics(
        returns, rewards=np.stack(self._rewards),
        tagged=np.stack(self._tagged))
    metrics["apples_alive"] = float(world["WORLD.APPLES_ALIVE"])
    self._principal.update(base.RoundFeedback(
        round_index=self._round_index, objective=objective,
        objective_value=value, rates=self._phi.copy(), returns=returns.copy(),
        num_rounds=self._rounds))
    tally = np.asarray(self._round["tally"])
    votes = tally.sum()
    record = RoundRecord(
        round=self._round_index + 1,
        rounds=self._rounds,
        objectives=self._objectives,
        rule=self._mechanism.rule,
        vote_shares=_floats(tally / votes if votes else tally),
        objective_value=float(value),
        metrics={key: float(value) for key, value in metrics.items()},
        gross=_floats(gross), net=_floats(net), tax=_floats(tax),
        transfer=_floats(transfer), returns=_floats(returns),
        apples_alive=float(world["WORLD.APPLES_ALIVE"]),
        effort=_floats(effort),
        **self._round)
    self._records.append(record)
    self._last_round = dict(gross=gross.copy(), net=net.copy(),
                            tax=tax.copy(), transfer=transfer.copy())
    self._round_index += 1
    self._round = {}
    self._rewards, self._tagged = [], []
    if self._on_round_end is not None:
      self._on_round_end(record)
