"""The principal (economic designer): tax schedules, the δ-bound, algorithms.

This package is pure Python and NumPy; it imports neither Melting Pot nor
TensorFlow. This module only re-exports: the algorithms are registered by
name in `registry` (`PRINCIPALS`, `LEARNING`, `CHECKPOINTABLE`). The
divergence lookup is `principal.divergence.divergence(name)`: re-exporting
it here would shadow the `divergence` module. Usage:

  schedule = TaxSchedule(rates=(0.0, 0.0), edges=(10.0,))
  principal = make_principal("hand_rule", schedule=schedule)
  proposal = principal.propose(observation, "egalitarian")
  rates = project(schedule.as_array(), proposal, delta=0.1)
"""

from umd_meltingpot.principal.bandit import BanditConfig
from umd_meltingpot.principal.bandit import BanditPrincipal
from umd_meltingpot.principal.base import Principal
from umd_meltingpot.principal.bayes_opt import BayesOptConfig
from umd_meltingpot.principal.bayes_opt import BayesOptPrincipal
from umd_meltingpot.principal.base import RoundFeedback
from umd_meltingpot.principal.base import RoundObservation
from umd_meltingpot.principal.cma_es import CMAConfig
from umd_meltingpot.principal.cma_es import CMAPrincipal
from umd_meltingpot.principal.constant_arms import ConstantArmsConfig
from umd_meltingpot.principal.constant_arms import ConstantArmsPrincipal
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
from umd_meltingpot.principal.registry import BATCHED
from umd_meltingpot.principal.registry import CHECKPOINTABLE
from umd_meltingpot.principal.registry import LEARNING
from umd_meltingpot.principal.registry import make_principal
from umd_meltingpot.principal.registry import PRINCIPALS
from umd_meltingpot.principal.registry import PrincipalFactory
from umd_meltingpot.principal.registry import PrincipalSpec
from umd_meltingpot.principal.schedule import check_edges
from umd_meltingpot.principal.schedule import check_rates
from umd_meltingpot.principal.schedule import no_tax
from umd_meltingpot.principal.schedule import parse_edges
from umd_meltingpot.principal.schedule import parse_rates
from umd_meltingpot.principal.schedule import TaxSchedule

__all__ = (
    "BATCHED",
    "BanditConfig",
    "BanditPrincipal",
    "BayesOptConfig",
    "BayesOptPrincipal",
    "CHECKPOINTABLE",
    "CMAConfig",
    "CMAPrincipal",
    "ConstantArmsConfig",
    "ConstantArmsPrincipal",
    "DIVERGENCES",
    "FixedPrincipal",
    "HandRuleConfig",
    "HandRulePrincipal",
    "LEARNING",
    "PRINCIPALS",
    "Principal",
    "PrincipalFactory",
    "PrincipalSpec",
    "Projection",
    "RandomPrincipal",
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
