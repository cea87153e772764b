"""The principal (economic designer): tax schedules, the δ-bound, algorithms.

This package is pure Python and NumPy; it imports neither Melting Pot nor
TensorFlow. The divergence lookup is `principal.divergence.divergence(name)`:
re-exporting it here would shadow the `divergence` module. Usage:

  schedule = TaxSchedule(rates=(0.0, 0.0), edges=(10.0,))
  principal = make_principal("hand_rule", schedule=schedule)
  proposal = principal.propose(observation, "egalitarian")
  rates = project(schedule.as_array(), proposal, delta=0.1)
"""

import dataclasses
import inspect
import math
import types
from typing import Any, Callable, Mapping, Optional, Sequence

from umd_meltingpot.principal import learning
from umd_meltingpot.principal.bandit import BanditConfig
from umd_meltingpot.principal.bandit import BanditPrincipal
from umd_meltingpot.principal.base import Principal
from umd_meltingpot.principal.base import RoundFeedback
from umd_meltingpot.principal.base import RoundObservation
from umd_meltingpot.principal.cma_es import CMAConfig
from umd_meltingpot.principal.cma_es import CMAPrincipal
from umd_meltingpot.principal.divergence import DIVERGENCES
from umd_meltingpot.principal.divergence import l1
from umd_meltingpot.principal.divergence import l2
from umd_meltingpot.principal.divergence import linf
from umd_meltingpot.principal.divergence import project
from umd_meltingpot.principal.divergence import project_logged
from umd_meltingpot.principal.divergence import Projection
from umd_meltingpot.principal.fixed import FixedPrincipal
from umd_meltingpot.principal.hand_rule import hand_rule_rates
from umd_meltingpot.principal.hand_rule import HandRuleConfig
from umd_meltingpot.principal.hand_rule import HandRulePrincipal
from umd_meltingpot.principal.random_schedule import RandomPrincipal
from umd_meltingpot.principal.schedule import check_edges
from umd_meltingpot.principal.schedule import check_rates
from umd_meltingpot.principal.schedule import no_tax
from umd_meltingpot.principal.schedule import parse_edges
from umd_meltingpot.principal.schedule import parse_rates
from umd_meltingpot.principal.schedule import TaxSchedule

PrincipalFactory = Callable[..., Principal]

# What `make_principal` passes to a factory that names it as a parameter:
# the game's bound and seed, which learning principals need at construction.
_GAME_PARAMETERS = ("delta", "divergence", "seed")


def _check_options(
    name: str, given: Mapping[str, Any], valid: Sequence[str]
) -> None:
  """Raises ValueError if `given` has a keyword that `valid` lacks."""
  unknown = sorted(set(given) - set(valid))
  if unknown:
    raise ValueError(
        f"principal {name!r} takes no option(s) {unknown}; valid options: "
        f"{sorted(valid)}")


def _make_fixed(
    *, schedule: TaxSchedule, rates: Optional[Sequence[float]] = None
) -> Principal:
  """Keeps `rates` every round; by default the initial schedule φ0."""
  if rates is None:
    return FixedPrincipal(schedule.rates)
  # Checks the rates and that there is one per bracket of the game.
  return FixedPrincipal(schedule.with_rates(rates).rates)


def _make_none(*, schedule: TaxSchedule) -> Principal:
  """Proposes no tax in every bracket, every round."""
  return FixedPrincipal(no_tax(schedule.num_brackets, schedule.edges).rates)


def _make_hand_rule(*, schedule: TaxSchedule, **config: Any) -> Principal:
  """The hand rule; keyword arguments are HandRuleConfig fields."""
  del schedule  # The rule reads the edges from each round's observation.
  _check_options(
      "hand_rule", config, [f.name for f in dataclasses.fields(HandRuleConfig)])
  return HandRulePrincipal(HandRuleConfig(**config))


def _make_random(*, schedule: TaxSchedule, seed: int) -> Principal:
  """A new uniformly random schedule every round (to train followers on
  many schedules)."""
  del schedule
  return RandomPrincipal(seed)


def _learning_config(name: str, config_class: type, seed: int,
                     options: Mapping[str, Any]) -> Any:
  """Builds a learning principal's config from options and the game seed."""
  valid = [f.name for f in dataclasses.fields(config_class) if f.name != "seed"]
  _check_options(name, options, valid)
  return config_class(seed=seed, **options)


def _make_bandit(
    *, schedule: TaxSchedule, delta: float, divergence: str, seed: int,
    **options: Any
) -> Principal:
  """UCB1 by default; options are BanditConfig fields but seed."""
  del schedule  # The arms are moves around each round's φ_prev.
  config = _learning_config("bandit", BanditConfig, seed, options)
  return BanditPrincipal(config, delta=delta, divergence=divergence)


def _make_thompson(
    *, schedule: TaxSchedule, delta: float, divergence: str, seed: int,
    **options: Any
) -> Principal:
  """The bandit with Thompson sampling, a name the CLI can pick."""
  if "algorithm" in options:
    raise ValueError(
        "principal 'thompson' fixes algorithm='thompson'; use principal "
        "'bandit' to choose the algorithm")
  return _make_bandit(schedule=schedule, delta=delta, divergence=divergence,
                      seed=seed, algorithm="thompson", **options)


def _make_cma(
    *, schedule: TaxSchedule, delta: float, divergence: str, seed: int,
    **options: Any
) -> Principal:
  """CMA-ES over φ; options are CMAConfig fields but seed."""
  del schedule  # Each objective's search starts at its first φ_prev.
  config = _learning_config("cma", CMAConfig, seed, options)
  return CMAPrincipal(config, delta=delta, divergence=divergence)


def _make_rl(
    *, schedule: TaxSchedule, delta: float, divergence: str, seed: int,
    **options: Any
) -> Principal:
  """A PPO-trained policy over the round observation; options are RLConfig
  fields but seed."""
  # Imported here: JAX takes seconds to import, which every `umd` command
  # would otherwise pay through the principal registry.
  from umd_meltingpot.principal import rl  # pylint: disable=g-import-not-at-top
  # The wrapper projects the policy's samples; the bound is only checked.
  learning.check_bound(delta, divergence)
  config = _learning_config("rl", rl.RLConfig, seed, options)
  return rl.RLPrincipal(config, num_brackets=schedule.num_brackets)


# keep-sorted start
PRINCIPALS: Mapping[str, PrincipalFactory] = types.MappingProxyType({
    "bandit": _make_bandit,
    "cma": _make_cma,
    "fixed": _make_fixed,
    "hand_rule": _make_hand_rule,
    "none": _make_none,
    "random": _make_random,
    "rl": _make_rl,
    "thompson": _make_thompson,
})
# keep-sorted end


def make_principal(
    name: str,
    *,
    schedule: TaxSchedule,
    delta: float = math.inf,
    divergence: str = "linf",  # pylint: disable=redefined-outer-name
    seed: int = 0,
    **kwargs: Any,
) -> Principal:
  """Builds the principal algorithm registered as `name`.

  Args:
    name: one of PRINCIPALS: "fixed" (keeps φ0, or `rates=`), "none" (no
      tax), "hand_rule" (options are the HandRuleConfig fields), "bandit"
      (UCB1 over moves in the δ-ball; options are the BanditConfig fields,
      e.g. algorithm="thompson"), "thompson" (the bandit with Thompson
      sampling), "cma" (CMA-ES; options are the CMAConfig fields), "rl"
      (a PPO-trained policy; options are the RLConfig fields).
    schedule: the game's initial schedule φ0, which fixes k and the edges.
    delta: the wrapper's bound δ on D(φ_prev, φ) (inf: none); the learning
      principals propose only feasible schedules. Ignored by the others.
    divergence: the wrapper's D, one of DIVERGENCES; likewise.
    seed: seeds a learning principal's generators, an integer >= 0;
      likewise.
    **kwargs: options of that principal.

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
  factory = PRINCIPALS[name]
  parameters = inspect.signature(factory).parameters
  game = dict(delta=delta, divergence=divergence, seed=seed)
  game = {key: value for key, value in game.items() if key in parameters}
  # A factory taking **options (hand_rule) validates them itself.
  if all(p.kind != p.VAR_KEYWORD for p in parameters.values()):
    _check_options(name, kwargs, [
        p for p in parameters
        if p != "schedule" and p not in _GAME_PARAMETERS])
  return factory(schedule=schedule, **game, **kwargs)


__all__ = (
    "BanditConfig",
    "BanditPrincipal",
    "CMAConfig",
    "CMAPrincipal",
    "DIVERGENCES",
    "FixedPrincipal",
    "HandRuleConfig",
    "HandRulePrincipal",
    "PRINCIPALS",
    "Principal",
    "PrincipalFactory",
    "Projection",
    "RoundFeedback",
    "RoundObservation",
    "TaxSchedule",
    "check_edges",
    "check_rates",
    "hand_rule_rates",
    "l1",
    "l2",
    "linf",
    "make_principal",
    "no_tax",
    "parse_edges",
    "parse_rates",
    "project",
    "project_logged",
)
