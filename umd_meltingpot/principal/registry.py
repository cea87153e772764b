"""The principal registry: every principal algorithm by name, in one table.

Each `PrincipalSpec` in `PRINCIPALS` says how the principal is built,
which config its options fill, whether it learns from feedback and whether
it can be checkpointed. The lists the rest of the package needs (`LEARNING`,
`CHECKPOINTABLE`, the CLI's help and choices, `checkpoint.SUPPORTED`) are
read from it, so a new principal is its own module plus one `PrincipalSpec`
here. Usage:

  principal = make_principal("bandit", schedule=schedule, delta=0.1, seed=1,
                             step=0.05)
  PRINCIPALS["cma"].learns  # True
"""

import dataclasses
import math
import types
from typing import Any, Callable, Mapping, NamedTuple, Optional, Sequence

from umd_meltingpot.principal import base
from umd_meltingpot.principal import learning
from umd_meltingpot.principal.bandit import BanditConfig
from umd_meltingpot.principal.bandit import BanditPrincipal
from umd_meltingpot.principal.bayes_opt import BayesOptConfig
from umd_meltingpot.principal.bayes_opt import BayesOptPrincipal
from umd_meltingpot.principal.cma_es import CMAConfig
from umd_meltingpot.principal.cma_es import CMAPrincipal
from umd_meltingpot.principal.constant_arms import ConstantArmsConfig
from umd_meltingpot.principal.constant_arms import ConstantArmsPrincipal
from umd_meltingpot.principal.constant_arms import SlidingWindowArmsPrincipal
from umd_meltingpot.principal.fixed import FixedPrincipal
from umd_meltingpot.principal.hand_rule import HandRuleConfig
from umd_meltingpot.principal.hand_rule import HandRulePrincipal
from umd_meltingpot.principal.random_schedule import RandomPrincipal
from umd_meltingpot.principal.schedule import no_tax
from umd_meltingpot.principal.schedule import TaxSchedule

PrincipalFactory = Callable[..., base.Principal]


class Game(NamedTuple):
  """The game's parameters, of which a factory takes those it declares.

  Attributes:
    schedule: the game's initial schedule φ0, which fixes k, the edges and
      the cap on rates (`schedule.max_rate`: every principal proposes in
      [0, max_rate]^k; the learners read it from each RoundObservation).
    delta: the wrapper's bound δ on D(φ_prev, φ) (inf: none).
    divergence: the wrapper's D, one of DIVERGENCES.
    seed: seeds the principal's generators, an integer >= 0.
  """
  schedule: TaxSchedule
  delta: float = math.inf
  divergence: str = "linf"
  seed: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class PrincipalSpec:
  """A principal algorithm, as `make_principal` builds it.

  Attributes:
    name: the key in `PRINCIPALS`, the `--principal` value.
    description: one line, with the source of the algorithm.
    learns: True if `update` changes what it proposes next (`umd train`
      trains it).
    checkpointable: True if it has `state_dict` and `load_state_dict`
      (`principal.checkpoint` saves it).
    feasible: True if its proposals already lie in the wrapper's δ-ball and
      [0, 1]^k, so the wrapper's projection leaves them unchanged.
    game: the game parameters its factory takes, from "schedule", "delta",
      "divergence" and "seed". The seed of a principal whose config has a
      `seed` field goes into the config instead.
    options: with no config, the keyword options its factory takes.
    fixed: config fields that the name fixes (thompson's algorithm).
    unused: config fields its algorithm does not read (ucb_constant's
      window): not options, left at their defaults.
    batches: True if it plans its games in batches that can be played in
      parallel (`plan_batch` / `tell_batch`; `umd train principal
      --workers`).
  """

  name: str
  description: str
  learns: bool
  checkpointable: bool
  feasible: bool
  game: tuple[str, ...] = ()
  options: tuple[str, ...] = ()
  fixed: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  unused: tuple[str, ...] = ()
  batches: bool = False
  # A function returning the config class, or None: rl's config is in a
  # module that imports JAX, which only an rl principal should pay for.
  _config_class: Optional[Callable[[], type]] = dataclasses.field(
      default=None, repr=False)
  _factory: PrincipalFactory = dataclasses.field(repr=False)

  def __post_init__(self):
    assert set(self.game) <= set(Game._fields), self.game
    assert not (self.options and self._config_class), self.name

  @property
  def config_class(self) -> Optional[type]:
    """The config whose fields are its options; None if it has none."""
    return None if self._config_class is None else self._config_class()

  def option_names(self) -> tuple[str, ...]:
    """The keyword options `make` accepts."""
    config_class = self.config_class
    if config_class is None:
      return self.options
    return tuple(field.name for field in dataclasses.fields(config_class)
                 if field.name != "seed" and field.name not in self.fixed
                 and field.name not in self.unused)

  def make(self, game: Game, **options: Any) -> base.Principal:
    """Builds the principal: its config (if any) from `options`, the fixed
    fields and the game's seed, then the factory.

    Raises:
      ValueError: if an option is unknown or out of range, or a game
        parameter the principal takes is invalid.
    """
    valid = self.option_names()
    unknown = sorted(set(options) - set(valid))
    if unknown:
      raise ValueError(
          f"principal {self.name!r} takes no option(s) {unknown}; valid "
          f"options: {sorted(valid)}")
    config_class = self.config_class
    if config_class is None:
      return self._factory(**self._arguments(game), **options)
    fields = {field.name for field in dataclasses.fields(config_class)}
    seed = {"seed": game.seed} if "seed" in fields else {}
    return self.from_config(config_class(**options, **self.fixed, **seed),
                            game)

  def from_config(self, config: Any, game: Game) -> base.Principal:
    """Builds the principal from a made config (one read from a
    checkpoint, say); only for a principal with a config class."""
    assert self._config_class is not None, self.name
    return self._factory(config, **self._arguments(game))

  def _arguments(self, game: Game) -> dict[str, Any]:
    """The game parameters the factory declares."""
    return {key: getattr(game, key) for key in self.game}


def _make_fixed(
    *, schedule: TaxSchedule, rates: Optional[Sequence[float]] = None
) -> base.Principal:
  """Keeps `rates` every round; by default the initial schedule φ0."""
  if rates is None:
    return FixedPrincipal(schedule.rates, schedule.max_rate)
  # Checks the rates against the game's cap and that there is one per
  # bracket of the game.
  return FixedPrincipal(schedule.with_rates(rates).rates, schedule.max_rate)


def _make_none(*, schedule: TaxSchedule) -> base.Principal:
  """Proposes no tax in every bracket, every round."""
  return FixedPrincipal(no_tax(schedule.num_brackets, schedule.edges).rates,
                        schedule.max_rate)


def _rl_config() -> type:
  """RLConfig, imported on first use (from its own module: `rl` imports
  JAX, which takes seconds that every `umd` command would otherwise pay)."""
  from umd_meltingpot.principal import rl_config  # pylint: disable=g-import-not-at-top
  return rl_config.RLConfig


def _make_rl(config: Any, *, schedule: TaxSchedule, delta: float,
             divergence: str) -> base.Principal:
  """A PPO-trained policy; the wrapper projects its samples, so the bound
  is only checked."""
  from umd_meltingpot.principal import rl  # pylint: disable=g-import-not-at-top
  learning.check_bound(delta, divergence)
  return rl.RLPrincipal(config, num_brackets=schedule.num_brackets)


PRINCIPALS: Mapping[str, PrincipalSpec] = types.MappingProxyType({
    spec.name: spec
    for spec in (
        PrincipalSpec(
            name="bandit",
            description=(
                "UCB1 over moves in the delta-ball (Auer et al. 2002); "
                "options: BanditConfig"),
            learns=True,
            checkpointable=True,
            feasible=True,
            game=("delta", "divergence"),
            _config_class=lambda: BanditConfig,
            _factory=BanditPrincipal,
        ),
        PrincipalSpec(
            name="bo",
            description=(
                "Bayesian optimisation (optuna's TPE, Bergstra et al. 2011) "
                "over constant schedules, one candidate per game, --batch "
                "games in parallel; options: BayesOptConfig but "
                "parametrisation"),
            learns=True,
            checkpointable=True,
            feasible=True,
            game=("delta", "divergence"),
            fixed={"parametrisation": "constant"},
            batches=True,
            _config_class=lambda: BayesOptConfig,
            _factory=BayesOptPrincipal,
        ),
        PrincipalSpec(
            name="bo_dynamic",
            description=(
                "bo over dynamic schedules: base rates, a last-round release "
                "and a gain that tightens the tax as apples fall; options: "
                "BayesOptConfig but parametrisation"),
            learns=True,
            checkpointable=True,
            feasible=True,
            game=("delta", "divergence"),
            fixed={"parametrisation": "dynamic"},
            batches=True,
            _config_class=lambda: BayesOptConfig,
            _factory=BayesOptPrincipal,
        ),
        PrincipalSpec(
            name="cma",
            description="CMA-ES over phi (Hansen 2016); options: CMAConfig",
            learns=True,
            checkpointable=True,
            feasible=True,
            game=("delta", "divergence"),
            _config_class=lambda: CMAConfig,
            _factory=CMAPrincipal,
        ),
        PrincipalSpec(
            name="d_ucb_constant",
            description=(
                "discounted UCB over flat schedules, one per game, forgetting "
                "old games by --discount (Garivier and Moulines 2011); "
                "options: ConstantArmsConfig but algorithm, window, epsilon*"),
            learns=True,
            checkpointable=True,
            feasible=False,
            game=("delta", "divergence"),
            fixed={"algorithm": "d_ucb"},
            unused=("epsilon", "epsilon_decay", "window"),
            _config_class=lambda: ConstantArmsConfig,
            _factory=ConstantArmsPrincipal,
        ),
        PrincipalSpec(
            name="epsilon_greedy",
            description=(
                "epsilon-greedy over flat schedules, one per game (Large "
                "Legislative Models' baseline); options: ConstantArmsConfig "
                "but algorithm"),
            learns=True,
            checkpointable=True,
            feasible=False,
            game=("delta", "divergence"),
            fixed={"algorithm": "epsilon_greedy"},
            unused=("window", "discount"),
            _config_class=lambda: ConstantArmsConfig,
            _factory=ConstantArmsPrincipal,
        ),
        PrincipalSpec(
            name="fixed",
            description="keeps phi_0 every round, or option `rates`",
            learns=False,
            checkpointable=False,
            feasible=False,
            game=("schedule",),
            options=("rates",),
            _factory=_make_fixed,
        ),
        PrincipalSpec(
            name="hand_rule",
            description=(
                "taxes the top brackets under equality-minded objectives, "
                "nothing under utilitarian; options: HandRuleConfig"),
            learns=False,
            checkpointable=False,
            feasible=False,
            _config_class=lambda: HandRuleConfig,
            _factory=HandRulePrincipal,
        ),
        PrincipalSpec(
            name="none",
            description="no tax in every bracket",
            learns=False,
            checkpointable=False,
            feasible=False,
            game=("schedule",),
            _factory=_make_none,
        ),
        PrincipalSpec(
            name="random",
            description=(
                "a new uniformly random phi every round, to train followers on "
                "many schedules"),
            learns=False,
            checkpointable=False,
            feasible=False,
            game=("seed",),
            _factory=RandomPrincipal,
        ),
        PrincipalSpec(
            name="rl",
            description=(
                "a PPO-trained policy with the AI Economist's tax and entropy "
                "annealing (Zheng et al. 2020); options: RLConfig"),
            learns=True,
            checkpointable=True,
            feasible=False,
            game=("schedule", "delta", "divergence"),
            _config_class=_rl_config,
            _factory=_make_rl,
        ),
        PrincipalSpec(
            name="sw_ucb_constant",
            description=(
                "sliding-window UCB over flat schedules, one per game, on the "
                "last --window games (Garivier and Moulines 2011); options: "
                "ConstantArmsConfig but algorithm, discount, epsilon*"),
            learns=True,
            checkpointable=True,
            feasible=False,
            game=("delta", "divergence"),
            fixed={"algorithm": "sw_ucb"},
            unused=("epsilon", "epsilon_decay", "discount"),
            _config_class=lambda: ConstantArmsConfig,
            _factory=SlidingWindowArmsPrincipal,
        ),
        PrincipalSpec(
            name="thompson",
            description=(
                "the bandit with Gaussian Thompson sampling (Agrawal and "
                "Goyal 2013); options: BanditConfig but algorithm"),
            learns=True,
            checkpointable=True,
            feasible=True,
            game=("delta", "divergence"),
            fixed={"algorithm": "thompson"},
            _config_class=lambda: BanditConfig,
            _factory=BanditPrincipal,
        ),
        PrincipalSpec(
            name="ucb_constant",
            description=(
                "UCB1 over 11 flat schedules 0..max_rate, one per game "
                "(Large Legislative Models' baseline); options: "
                "ConstantArmsConfig but algorithm"),
            learns=True,
            checkpointable=True,
            feasible=False,
            game=("delta", "divergence"),
            fixed={"algorithm": "ucb"},
            unused=("window", "discount"),
            _config_class=lambda: ConstantArmsConfig,
            _factory=ConstantArmsPrincipal,
        ),
    )
})
"""Principal algorithms by name, sorted; read-only."""

LEARNING: tuple[str, ...] = tuple(
    name for name, spec in PRINCIPALS.items() if spec.learns)
"""The principals that learn from feedback: `umd train` trains these."""

BATCHED: tuple[str, ...] = tuple(
    name for name, spec in PRINCIPALS.items() if spec.batches)
"""The principals whose games `umd train principal --workers` plays in
parallel."""

CHECKPOINTABLE: tuple[str, ...] = tuple(
    name for name, spec in PRINCIPALS.items() if spec.checkpointable)
"""The principals whose state `principal.checkpoint` saves."""


def help_names() -> list[str]:
  """Each principal's name and description, for a command line's help."""
  return [f"{name} ({spec.description})" for name, spec in PRINCIPALS.items()]


def make_principal(
    name: str,
    *,
    schedule: TaxSchedule,
    delta: float = math.inf,
    divergence: str = "linf",  # pylint: disable=redefined-outer-name
    seed: int = 0,
    **options: Any,
) -> base.Principal:
  """Builds the principal algorithm registered as `name`.

  Args:
    name: a key of PRINCIPALS (`help_names()` describes each).
    schedule: the game's initial schedule φ0, which fixes k and the edges.
    delta: the wrapper's bound δ on D(φ_prev, φ) (inf: none); the learning
      principals propose only feasible schedules. Ignored by the others.
    divergence: the wrapper's D, one of DIVERGENCES; likewise.
    seed: seeds the principal's generators, an integer >= 0; ignored by the
      deterministic ones.
    **options: the principal's options: its config's fields but seed (see
      `PrincipalSpec.option_names`).

  Returns:
    A new Principal.

  Raises:
    ValueError: if `name` is unknown, an option is unknown, or an option
      value is out of range.
  """
  if not isinstance(name, str) or name not in PRINCIPALS:
    raise ValueError(
        f"unknown principal {name!r}; valid names: {sorted(PRINCIPALS)}")
  if not isinstance(schedule, TaxSchedule):
    raise ValueError(
        f"schedule must be a TaxSchedule, got {type(schedule).__name__}")
  return PRINCIPALS[name].make(
      Game(schedule=schedule, delta=delta, divergence=divergence, seed=seed),
      **options)
