"""Scenarios for the UMD substrates, mirroring `meltingpot.scenario`.

  from umd_meltingpot.evaluation import scenario
  with scenario.build("umd_apple_harvest__small_0", seed=1) as env:
    timestep = env.reset()          # what the focal players see

A scenario is a Melting Pot `Scenario` built by Melting Pot's
`ScenarioFactory`: a substrate in which some player slots are filled by
background bots, exposing only the focal players (and only the permitted
observations) to the population under test. Melting Pot looks scenario
bots up by name among its TensorFlow models, so here the background bots are
our heuristics (`umd_meltingpot.agents`) given to the factory as
`PolicyFactory` objects.

The mechanism is part of each scenario, as the background is: a `Mechanism`
names the principal algorithm, the social choice rule and the types Θ, and
`mechanism_transform` turns it into a substrate transform that wraps the
substrate in a `PrincipalWrapper`. Every scenario's substrate is built with
that transform, so focal players meet the vote and the tax as well as the
bots. Every agent's type is a full ranking of the objectives (Borda-like
utilities, `preferences.ranking_utilities`), and background bots cast the
truthful ballot of theirs under the scenario's rule, as focal heuristic
populations do: so the rules differ in scenarios as they do in `umd run`
(on the 7-player maps scenario `_2` elects utilitarian under plurality,
instant runoff and Copeland, and egalitarian under Borda).

The principal scenarios share their players and vote and differ only in
the principal: the hand rule (`_3`), the fixed principal that keeps φ0 (no
tax on our maps, `_4`) and the bandit, which learns online over the τ rounds
of the episode (`_5`); no principal trained across episodes exists yet.
"""

import dataclasses
from typing import Callable, Mapping, Optional, Sequence

import immutabledict
from meltingpot import scenario as mp_scenario
from meltingpot.configs import scenarios as mp_scenario_configs
from meltingpot.utils.policies import policy as policy_lib
from meltingpot.utils.policies import policy_factory
from meltingpot.utils.scenarios import scenario as scenario_lib
from meltingpot.utils.scenarios import scenario_factory
from meltingpot.utils.substrates import substrate_factory
import numpy as np

from umd_meltingpot import agents
from umd_meltingpot.social_choice import preferences as preferences_lib
from umd_meltingpot import principal as principal_lib
from umd_meltingpot import substrate as substrate_lib
from umd_meltingpot.game import principal_wrapper as wrapper_lib

Scenario = scenario_lib.Scenario
SubstrateTransform = Callable[[substrate_lib.Substrate],
                              substrate_lib.Substrate]
RoundCallback = Callable[[wrapper_lib.RoundRecord], None]

# Melting Pot's focal observations, plus the two that show focal players the
# mechanism (`VOTING`, the tally, is already among Melting Pot's).
# Focal players see what a conditioned follower reads: its bracket position
# and its skill, besides the phase and the rates.
PERMITTED_OBSERVATIONS = frozenset(
    mp_scenario.PERMITTED_OBSERVATIONS | {"PHASE", "TAX_RATES",
                                          "PERIOD_INCOME", "MARGINAL_RATE",
                                          "SKILL"})


@dataclasses.dataclass(frozen=True)
class Mechanism:
  """The mechanism of a scenario: the principal, the rule and the types.

  The types Θ are full rankings: each agent's type gives its k-th objective
  (0-based) utility m - 1 - k (`preferences.ranking_utilities`). Focal and
  background players each share one ranking, so a policy object serving
  several slots votes the same in each.

  Attributes:
    principal: the principal algorithm, a key of `principal.PRINCIPALS`.
    focal_ranking: the focal players' type, the objectives best first.
    background_ranking: the background bots' type; the bots cast its
      truthful ballot under `rule` (`voting.truthful_ballot`) in every VOTE
      phase.
    principal_ranking: the principal's own type (row 0 of Θ).
    rule: the social choice rule f, a key of `voting.RULES`.
    delta: the bound δ on D(φ_prev, φ) between rounds.
    divergence: D, a key of `principal.DIVERGENCES`.
  """
  principal: str
  focal_ranking: tuple[str, ...]
  background_ranking: tuple[str, ...]
  principal_ranking: tuple[str, ...]
  rule: str = "plurality"
  delta: float = 0.25
  divergence: str = "linf"

  def __post_init__(self):
    if self.principal not in principal_lib.PRINCIPALS:
      raise ValueError(f"Unknown principal {self.principal!r}; valid: "
                       f"{sorted(principal_lib.PRINCIPALS)}")
    self.wrapper_config()  # Checks the rule, delta and divergence.
    for field in ("focal_ranking", "background_ranking", "principal_ranking"):
      object.__setattr__(self, field, tuple(getattr(self, field)))

  @property
  def focal_favourite(self) -> str:
    """The top of the focal players' ranking."""
    return self.focal_ranking[0]

  def wrapper_config(self) -> wrapper_lib.MechanismConfig:
    """The rule, δ and D as the principal wrapper takes them."""
    return wrapper_lib.MechanismConfig(
        rule=self.rule, delta=self.delta, divergence=self.divergence,
        ballot_source="world")

  def types(self, is_focal: Sequence[bool],
            objectives: Sequence[str]) -> preferences_lib.Preferences:
    """Θ for players whose slots are focal where `is_focal` is True.

    Raises:
      ValueError: a ranking that does not name each of `objectives` once.
    """
    rankings = [self.principal_ranking] + [
        self.focal_ranking if focal else self.background_ranking
        for focal in is_focal]
    return preferences_lib.Preferences(
        utilities=np.array([
            preferences_lib.ranking_utilities(ranking, objectives)
            for ranking in rankings]),
        objectives=tuple(objectives))


@dataclasses.dataclass(frozen=True)
class ScenarioConfig(mp_scenario_configs.ScenarioConfig):
  """Melting Pot's `ScenarioConfig` plus the scenario's `mechanism`.

  `bots_by_role` names bots of `umd_meltingpot.agents.BOTS`. Give each role
  one bot name: Melting Pot's `Population` samples among several with the
  global `random` module, which would make episodes irreproducible.
  """
  mechanism: Mechanism


_EGALITARIAN = ("egalitarian", "nash", "utilitarian")
_UTILITARIAN = ("utilitarian", "egalitarian", "nash")


def _substrate_scenarios(substrate: str) -> dict[str, ScenarioConfig]:
  """The scenarios of one substrate variant, sized to its player count."""
  num_players = len(substrate_lib.get_config(substrate).default_player_roles)
  # Melting Pot's visitor scenarios fill 2 of 7 slots with bots.
  visitors = max(1, round(2 * num_players / 7))
  minority = (num_players - 1) // 2
  half = num_players // 2

  def config(description: str, tags: set[str], bot: str, num_focal: int,
             mechanism: Mechanism) -> ScenarioConfig:
    return ScenarioConfig(
        description=description, tags=tags, substrate=substrate,
        roles=("default",) * num_players,
        is_focal=(True,) * num_focal + (False,) * (num_players - num_focal),
        bots_by_role={"default": {bot}}, mechanism=mechanism)

  # Background utilitarians rank egalitarian second, focal egalitarians
  # rank utilitarian last: a utilitarian majority of 4 in 7 wins plurality,
  # instant runoff and Copeland, a minority of 3 wins Borda (10 to 8).
  hand_rule = Mechanism(
      principal="hand_rule", focal_ranking=_EGALITARIAN,
      background_ranking=_UTILITARIAN, principal_ranking=_EGALITARIAN)
  all_egalitarian = dataclasses.replace(
      hand_rule, background_ranking=_EGALITARIAN)
  return {
      f"{substrate}_0": config(
          "visited by unsustainable greedy zappers voting utilitarian; the "
          "focal majority votes egalitarian, the hand-rule principal taxes",
          {"visitor", "resource_depletion", "zapping"}, "zapper",
          num_players - visitors, hand_rule),
      f"{substrate}_1": config(
          "visited by sustainable pacifists voting egalitarian, as the focal "
          "majority does; the hand-rule principal taxes",
          {"visitor", "sustainability"}, "sustainable",
          num_players - visitors, all_egalitarian),
      f"{substrate}_2": config(
          "a focal minority voting egalitarian against a greedy background "
          "majority voting utilitarian, under the hand-rule principal",
          {"resident", "voting", "minority"}, "greedy", minority, hand_rule),
      f"{substrate}_3": config(
          "half greedy residents; everyone votes egalitarian and the "
          "hand-rule principal taxes the top brackets",
          {"resident", "principal", "hand_rule"}, "greedy", half,
          all_egalitarian),
      f"{substrate}_4": config(
          "half greedy residents; everyone votes egalitarian but the fixed "
          "principal keeps phi_0 (no tax)",
          {"resident", "principal", "fixed"}, "greedy", half,
          dataclasses.replace(all_egalitarian, principal="fixed")),
      f"{substrate}_5": config(
          "half greedy residents; everyone votes egalitarian and a UCB1 "
          "bandit principal learns the tax online, round by round",
          {"resident", "principal", "learned"}, "greedy", half,
          dataclasses.replace(all_egalitarian, principal="bandit")),
  }


def _all_scenarios() -> Mapping[str, ScenarioConfig]:
  configs = {}
  for substrate in sorted(substrate_lib.SUBSTRATES):
    configs.update(_substrate_scenarios(substrate))
  return immutabledict.immutabledict(configs)


SCENARIO_CONFIGS: Mapping[str, ScenarioConfig] = _all_scenarios()
SCENARIOS = frozenset(SCENARIO_CONFIGS)
SCENARIOS_BY_SUBSTRATE: Mapping[str, frozenset[str]] = (
    immutabledict.immutabledict({
        substrate: frozenset(name for name, config in SCENARIO_CONFIGS.items()
                             if config.substrate == substrate)
        for substrate in sorted(substrate_lib.SUBSTRATES)}))


@dataclasses.dataclass(frozen=True)
class Seeds:
  """The seeds one scenario seed is split into (all below 2**31)."""
  env: int
  bots: int
  mechanism: int

  @classmethod
  def from_seed(cls, seed: int) -> "Seeds":
    env, bots, mechanism = (int(s) % 2**31 for s in np.random.SeedSequence(
        seed).generate_state(3))
    return cls(env=env, bots=bots, mechanism=mechanism)


def get_config(name: str) -> ScenarioConfig:
  """Returns the config of scenario `name`.

  Raises:
    ValueError: `name` is not in SCENARIOS.
  """
  if name not in SCENARIO_CONFIGS:
    raise ValueError(
        f"Unknown scenario {name!r}; valid: {sorted(SCENARIO_CONFIGS)}")
  return SCENARIO_CONFIGS[name]


def objectives_of(config: ScenarioConfig) -> tuple[str, ...]:
  """The ballot's objectives in the scenario's substrate, in vote order."""
  return tuple(substrate_lib.get_config(config.substrate).objectives)


def focal_types(config: ScenarioConfig) -> np.ndarray:
  """The type (utilities per objective) shared by the focal players.

  A heuristic population votes truthfully for it (see `evaluate`).
  """
  types = config.mechanism.types(config.is_focal, objectives_of(config))
  first_focal = 1 + list(config.is_focal).index(True)
  return types.utilities[first_focal]


def mechanism_transform(
    config: ScenarioConfig,
    *,
    seed: Optional[int] = None,
    on_round_end: Optional[RoundCallback] = None,
    on_build: Optional[Callable[[wrapper_lib.PrincipalWrapper], None]] = None,
) -> SubstrateTransform:
  """The substrate transform that runs `config.mechanism` on a substrate.

  Args:
    config: the scenario.
    seed: seeds the wrapper's tie-breaking and a learning principal; None
      uses 0.
    on_round_end: called with every round's `RoundRecord`.
    on_build: called with each new `PrincipalWrapper` (e.g. to draw the
      video HUD from its phi and vote).

  Returns:
    A function wrapping a substrate of `config.substrate` (with one player
    per slot of `config.roles`) in a new `PrincipalWrapper`, with a new
    principal, so that each built scenario starts afresh.
  """
  substrate_config = substrate_lib.get_config(config.substrate)
  objectives = tuple(substrate_config.objectives)
  schedule = principal_lib.TaxSchedule(substrate_config.initial_rates,
                                       substrate_config.bracket_edges)
  mechanism = config.mechanism
  types = mechanism.types(config.is_focal, objectives)
  rng_seed = 0 if seed is None else Seeds.from_seed(seed).mechanism

  def transform(
      substrate: substrate_lib.Substrate) -> wrapper_lib.PrincipalWrapper:
    wrapper = wrapper_lib.PrincipalWrapper(
        substrate,
        principal=principal_lib.make_principal(
            mechanism.principal, schedule=schedule, delta=mechanism.delta,
            divergence=mechanism.divergence, seed=rng_seed),
        schedule=schedule, objectives=objectives,
        rounds=substrate_config.rounds,
        mechanism=mechanism.wrapper_config(), preferences=types,
        rng=np.random.default_rng(rng_seed), on_round_end=on_round_end)
    if on_build is not None:
      on_build(wrapper)
    return wrapper

  return transform


def _bot_factories(
    config: ScenarioConfig,
    substrate: substrate_factory.SubstrateFactory,
    seed: int,
) -> dict[str, policy_factory.PolicyFactory]:
  """Our heuristic bots as Melting Pot policy factories, each casting the
  background type's truthful ballot under the scenario's rule."""
  objectives = objectives_of(config)
  names = sorted(set().union(*config.bots_by_role.values()))
  unknown = sorted(set(names) - set(agents.BOTS))
  if unknown:
    raise ValueError(f"Unknown bots {unknown} in scenario; valid: "
                     f"{sorted(agents.BOTS)}")
  mechanism = config.mechanism
  voter = agents.bots.Voter.truthful(
      preferences_lib.ranking_utilities(mechanism.background_ranking,
                                        objectives), mechanism.rule)

  def builder(name: str) -> Callable[[], policy_lib.Policy]:
    return lambda: agents.make_bot(name, seed=seed, voter=voter,
                                   num_objectives=len(objectives))

  return {
      name: policy_factory.PolicyFactory(
          timestep_spec=substrate.timestep_spec(),
          action_spec=substrate.action_spec(), builder=builder(name))
      for name in names}


def get_factory_from_config(
    config: ScenarioConfig,
    *,
    seed: Optional[int] = None,
    on_round_end: Optional[RoundCallback] = None,
    on_build: Optional[Callable[[wrapper_lib.PrincipalWrapper], None]] = None,
) -> scenario_factory.ScenarioFactory:
  """Returns a Melting Pot `ScenarioFactory` for `config`.

  Args:
    config: the scenario.
    seed: seeds the substrate, the bots and the mechanism of every scenario
      the factory builds; None: a random substrate seed (as in Melting Pot),
      bots and mechanism seeded with 0.
    on_round_end: called with every round's `RoundRecord` (the principal
      wrapper's), e.g. to collect welfare metrics.
    on_build: called with the `PrincipalWrapper` of every scenario built.

  Raises:
    ValueError: the config names an unknown substrate, bot or objective.
  """
  seeds = Seeds.from_seed(seed) if seed is not None else None
  substrate = substrate_lib.SubstrateFactory(
      substrate_lib.get_config(config.substrate),
      num_players=len(config.roles),
      transform=mechanism_transform(config, seed=seed,
                                    on_round_end=on_round_end,
                                    on_build=on_build),
      env_seed=seeds.env if seeds else None)
  return scenario_factory.ScenarioFactory(
      substrate=substrate,
      bots=_bot_factories(config, substrate, seeds.bots if seeds else 0),
      bots_by_role=config.bots_by_role,
      roles=config.roles,
      is_focal=config.is_focal,
      permitted_observations=PERMITTED_OBSERVATIONS)


def get_factory(name: str,
                *,
                seed: Optional[int] = None) -> scenario_factory.ScenarioFactory:
  """Returns the factory of scenario `name`; `seed` as in
  `get_factory_from_config`.

  Raises:
    ValueError: `name` is not in SCENARIOS.
  """
  return get_factory_from_config(get_config(name), seed=seed)


def build_from_config(
    config: ScenarioConfig,
    *,
    substrate_transform: Optional[SubstrateTransform] = None,
    seed: Optional[int] = None,
) -> Scenario:
  """Builds a scenario from `config`; arguments as in `build`."""
  factory = get_factory_from_config(config, seed=seed)
  if substrate_transform is None:
    return factory.build()
  return factory.build_transformed(substrate_transform)


def build(
    name: str,
    *,
    substrate_transform: Optional[SubstrateTransform] = None,
    seed: Optional[int] = None,
) -> Scenario:
  """Builds scenario `name`.

  Args:
    name: a name in SCENARIOS.
    substrate_transform: applied on top of the mechanism, for training only
      (as in Melting Pot): the focal players then see every observation.
    seed: our extension, as in `get_factory_from_config`: the same seed
      gives the same episodes.

  Raises:
    ValueError: `name` is not in SCENARIOS.
  """
  return build_from_config(get_config(name),
                           substrate_transform=substrate_transform, seed=seed)


def scenarios_for(selection: str) -> list[str]:
  """Scenario names for a scenario, a substrate (all of its) or "all".

  Raises:
    ValueError: `selection` names none of these, with the valid values.
  """
  if selection == "all":
    return sorted(SCENARIOS)
  if selection in SCENARIOS_BY_SUBSTRATE:
    return sorted(SCENARIOS_BY_SUBSTRATE[selection])
  if selection in SCENARIOS:
    return [selection]
  raise ValueError(
      f"Unknown scenario {selection!r}; valid: 'all', a substrate "
      f"{sorted(SCENARIOS_BY_SUBSTRATE)} or a scenario {sorted(SCENARIOS)}")

