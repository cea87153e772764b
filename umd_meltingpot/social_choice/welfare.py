"""Welfare objectives O and the metrics reported for every round.

The paper's Definition 1 lets the principal maximise one of a set of social
welfare functions O, chosen by a vote (Definition 2). Appendix A ("Social
Welfare Examples") names the utilitarian sum Σ_i J_i, the Nash welfare
(Π_i J_i)^(1/n) and the egalitarian min_i J_i. We add the power mean family,
which contains all three as special cases or limits, and the AI Economist's
equality × productivity.

Every function here is pure and takes the per-player returns of one round:
net income plus transfers received, so each entry is a finite float ≥ 0 that
may be fractional. The names in `OBJECTIVES` are the alternatives voters rank.

Each objective is declared once, as an `ObjectiveSpec` in `OBJECTIVE_SPECS`:
its function, its HUD label, whether it is on the default ballot, whether
the hand rule taxes under it and its marker in `summary.png`. `OBJECTIVES`,
`DEFAULT_OBJECTIVES`, `objective_value`, `round_metrics`, the hand rule's
defaults, the summary plot and the video HUD all read that table.

The metrics come from two sources, cited at each function:

* Zheng et al. 2020, "The AI Economist: Improving Equality and Productivity
  with AI-Driven Tax Policies" (arXiv:2004.13332): productivity, equality and
  their product.
* Perolat et al. 2017, "A multi-agent reinforcement learning model of
  common-pool resource appropriation" (NeurIPS): efficiency U, equality E,
  sustainability S and peacefulness P.

Usage:

  returns = [1.0, 2.0, 3.0]
  objective_value("nash", returns)  # 6 ** (1 / 3)
  round_metrics(returns)["gini"]
"""

import dataclasses
import math
import types
from typing import Callable, Mapping, Optional, Sequence, Union

import numpy as np

ArrayLike = Union[Sequence[float], np.ndarray]

DEFAULT_EPSILON = 1e-6
"""Floor applied to returns before taking logs (Nash, power mean)."""

DEFAULT_POWER = 0.5
"""Default exponent p of the power mean objective."""


def _as_returns(values: ArrayLike, what: str = "returns") -> np.ndarray:
  """Returns `values` as a 1-D float array, rejecting empty or non-finite."""
  array = np.asarray(values, dtype=np.float64)
  if array.ndim != 1 or array.size == 0:
    raise ValueError(
        f"{what} must be a non-empty 1-D sequence, got shape {array.shape}."
    )
  if not np.all(np.isfinite(array)):
    raise ValueError(f"{what} must be finite, got {array.tolist()}.")
  return array


def _check_epsilon(epsilon: float) -> None:
  if not (math.isfinite(epsilon) and epsilon > 0):
    raise ValueError(f"epsilon must be a finite number > 0, got {epsilon}.")


def _clamped_logs(u: np.ndarray, epsilon: float) -> np.ndarray:
  # A zero (or a negative, which a round's returns should never be) would
  # send the log to -inf and make every profile with one empty-handed player
  # tie at 0. Clamping to ε keeps such profiles ordered by everyone else.
  _check_epsilon(epsilon)
  return np.log(np.maximum(u, epsilon))


# ----------------------------------------------------------------------------
# Objectives.
# ----------------------------------------------------------------------------


def utilitarian(u: ArrayLike) -> float:
  """Utilitarian welfare Σ_i u_i (paper, Appendix A).

  Args:
    u: per-player returns of the round.

  Returns:
    The sum of the returns.
  """
  return float(np.sum(_as_returns(u)))


def egalitarian(u: ArrayLike) -> float:
  """Egalitarian (Rawlsian) welfare min_i u_i (paper, Appendix A).

  Args:
    u: per-player returns of the round.

  Returns:
    The smallest return.
  """
  return float(np.min(_as_returns(u)))


def nash(u: ArrayLike, epsilon: float = DEFAULT_EPSILON) -> float:
  """Nash welfare (Π_i max(u_i, ε))^(1/n) (paper, Appendix A).

  The product is taken in log space, exp(mean_i log max(u_i, ε)), so that it
  neither overflows for many rich players nor underflows for many poor ones.

  Returns are first clamped to ε. Without the clamp one player with a zero
  return makes the welfare exactly 0 whatever everybody else earns, so every
  such outcome ties, including all-zeros. With it, a zero return contributes
  a tiny factor ε^(1/n): the value is still near 0 but still grows with the
  other players' returns. Negative returns (which a round does not produce)
  are clamped the same way.

  Args:
    u: per-player returns of the round.
    epsilon: floor applied to each return; must be > 0.

  Returns:
    The geometric mean of the clamped returns.
  """
  return float(np.exp(np.mean(_clamped_logs(_as_returns(u), epsilon))))


def power_mean(
    u: ArrayLike, p: float = DEFAULT_POWER, epsilon: float = DEFAULT_EPSILON
) -> float:
  """Power (generalised) mean M_p(u) = (1/n Σ_i u_i^p)^(1/p).

  The family interpolates between the objectives of Appendix A (Hardy,
  Littlewood and Pólya 1934, "Inequalities", ch. II): p = 1 is the arithmetic
  mean (utilitarian / n), p → 0 the geometric mean (Nash), p → -∞ the minimum
  (egalitarian), and p → +∞ the maximum. M_p is non-decreasing in p.

  Returns are clamped to ε, exactly as in `nash`, so that negative p (where a
  zero would give 0^p = ∞) is defined and `power_mean(u, 0.0, ε)` equals
  `nash(u, ε)`. For returns ≥ ε the clamp changes nothing. The limits p = 0
  and p = ±∞ are computed exactly, not by plugging in a tiny or huge p.

  Args:
    u: per-player returns of the round.
    p: the exponent; any float, including 0 and ±inf (not NaN).
    epsilon: floor applied to each return; must be > 0.

  Returns:
    M_p of the clamped returns.
  """
  if math.isnan(p):
    raise ValueError("p must be a number or ±inf, got nan.")
  logs = _clamped_logs(_as_returns(u), epsilon)
  if p == 0.0:
    return float(np.exp(np.mean(logs)))
  if math.isinf(p):
    return float(np.exp(np.max(logs) if p > 0 else np.min(logs)))
  if abs(p) < 1e-8:
    # Tinier p loses the exact form to underflow (p·l can be subnormal);
    # the expansion log M_p = mean(l) + (p / 2) var(l) + O(p²) is exact to
    # double precision here.
    return float(np.exp(np.mean(logs) + 0.5 * p * np.var(logs)))
  if abs(p) < 1.0:
    # Near p = 0, (mean(exp(p·l)) - 1) / p cancels catastrophically; the
    # expm1/log1p form keeps full precision so M_p → the geometric mean.
    log_mean = np.log1p(np.mean(np.expm1(p * logs))) / p
  else:
    # Log-sum-exp keeps u^p from overflowing for large |p|.
    scaled = p * logs
    peak = np.max(scaled)
    log_mean = (peak + np.log(np.mean(np.exp(scaled - peak)))) / p
  return float(np.exp(log_mean))


# ----------------------------------------------------------------------------
# Inequality and the AI Economist's metrics.
# ----------------------------------------------------------------------------


def gini(x: ArrayLike) -> float:
  """Gini coefficient G = Σ_i Σ_j |x_i - x_j| / (2 n Σ_i x_i).

  This is the plain Gini (mean absolute difference over twice the mean), as
  used by Perolat et al. 2017 for their equality metric E = 1 - G. It lies in
  [0, (n - 1)/n]: 0 when everyone has the same, (n - 1)/n when one player has
  everything. All-zero incomes are perfectly equal, so G = 0.

  Args:
    x: non-negative incomes, one per player.

  Returns:
    The Gini coefficient.
  """
  values = _as_returns(x, "gini input")
  if np.any(values < 0):
    raise ValueError(f"gini needs non-negative values, got {values.tolist()}.")
  total = float(np.sum(values))
  if total == 0.0:
    return 0.0
  # Sorted form of Σ_i Σ_j |x_i - x_j|: O(n log n) instead of O(n^2).
  ranked = np.sort(values)
  n = ranked.size
  weights = 2 * np.arange(1, n + 1) - n - 1
  pair_sum = 2 * float(np.sum(weights * ranked))
  return pair_sum / (2 * n * total)


def productivity(u: ArrayLike) -> float:
  """Productivity Σ_i u_i (Zheng et al. 2020, "The AI Economist").

  Args:
    u: per-player incomes of the round.

  Returns:
    Total income.
  """
  return utilitarian(u)


def equality(u: ArrayLike) -> float:
  """Equality 1 - N/(N-1) · G(u) (Zheng et al. 2020, "The AI Economist").

  The AI Economist rescales the Gini G by N/(N-1) so that equality runs over
  the whole of [0, 1]: 1 when incomes are equal, 0 when one player has
  everything. A single player is perfectly equal (1).

  With no income at all (every income 0, or a debt under a fine) there is
  nothing to share out and equality is undefined: NaN, not 1. A dead
  commons would otherwise score as perfect equality; the round records
  write it as null and `summary.png` marks the round "no income".

  Args:
    u: non-negative per-player incomes of the round.

  Returns:
    Equality in [0, 1], or NaN when nobody has any income.
  """
  values = _as_returns(u)
  n = values.size
  if n == 1:
    return 1.0
  if not np.any(values > 0):
    return math.nan
  return 1.0 - n / (n - 1) * _debt_free_gini(values)


def _debt_free_gini(values: np.ndarray) -> float:
  # A fine (max_rate > 1) can leave a round's net negative, where the Gini
  # is undefined; a debt counts as nothing, as `nash` floors returns at ε.
  return gini(np.maximum(values, 0.0))


def eq_times_prod(u: ArrayLike) -> float:
  """Equality × productivity (Zheng et al. 2020, "The AI Economist").

  The AI Economist's social welfare objective: `equality(u) *
  productivity(u)`. It trades total income against its spread. With no
  income equality is undefined (`equality`), and the product is the
  productivity itself (0, or the loss under a fine), so a principal asked
  to maximise it still gets a finite value.

  Args:
    u: non-negative per-player incomes of the round.

  Returns:
    The product of equality and productivity.
  """
  share = equality(u)
  return productivity(u) * (1.0 if math.isnan(share) else share)


# ----------------------------------------------------------------------------
# Perolat et al. 2017.
# ----------------------------------------------------------------------------


def _as_rewards(rewards: np.ndarray) -> np.ndarray:
  array = np.asarray(rewards, dtype=np.float64)
  if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
    raise ValueError(
        "rewards must have shape [T, n] with T, n >= 1, got shape "
        f"{array.shape}."
    )
  if not np.all(np.isfinite(array)):
    raise ValueError("rewards must be finite.")
  return array


def _as_tagged(tagged: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
  array = np.asarray(tagged)
  if array.shape != shape:
    raise ValueError(
        f"tagged must have the shape of rewards {shape}, got {array.shape}."
    )
  if array.dtype != np.bool_:
    raise ValueError(f"tagged must be a bool array, got dtype {array.dtype}.")
  return array


def perolat_efficiency(rewards: np.ndarray) -> float:
  """Efficiency (utilitarian metric) U = Σ_i R_i / T (Perolat et al. 2017).

  R_i = Σ_t r_t^i is player i's total reward over the T steps.

  Args:
    rewards: per-step per-player rewards, shape [T, n].

  Returns:
    The total reward per time step.
  """
  array = _as_rewards(rewards)
  return float(np.sum(array)) / array.shape[0]


def perolat_equality(rewards: np.ndarray) -> float:
  """Equality E = 1 - G(R) (Perolat et al. 2017).

  G is the plain Gini (`gini`) of the per-player totals R_i = Σ_t r_t^i, so
  E lies in [1/n, 1]. When nobody collected anything G is 0/0 and E is
  undefined: NaN, as `equality` is, not a perfect 1.

  Args:
    rewards: per-step per-player non-negative rewards, shape [T, n].

  Returns:
    One minus the Gini of the players' totals, or NaN.
  """
  totals = np.sum(_as_rewards(rewards), axis=0)
  if not np.any(totals > 0):
    return math.nan
  return 1.0 - _debt_free_gini(totals)


def perolat_sustainability(rewards: np.ndarray) -> float:
  """Sustainability S = mean_i t_i, t_i = E[t | r_t^i > 0] (Perolat 2017).

  t_i is the average time step at which player i collected a positive
  reward; steps are counted from 1, so S lies in [1, T]. A late S means
  apples were still there to collect late in the round.

  Perolat et al. leave two cases undefined; we choose:

  * a player who never collected a positive reward has no t_i and is left
    out of the mean (counting it as 0 or T would say something false about
    when the resource was used);
  * if nobody collected anything, S = 0.0, which no defined S can equal.

  Args:
    rewards: per-step per-player rewards, shape [T, n].

  Returns:
    The mean over collecting players of their mean collection step.
  """
  array = _as_rewards(rewards)
  steps = np.arange(1, array.shape[0] + 1, dtype=np.float64)
  collected = array > 0
  counts = np.sum(collected, axis=0)
  players = counts > 0
  if not np.any(players):
    return 0.0
  step_sums = steps @ collected
  return float(np.mean(step_sums[players] / counts[players]))


def perolat_peacefulness(rewards: np.ndarray, tagged: np.ndarray) -> float:
  """Peacefulness P = (N·T - Σ_{i,t} tagged_t^i) / T (Perolat et al. 2017).

  The number of untagged agent-steps per time step: N when nobody was ever
  zapped, 0 when everyone was zapped out for the whole round.

  Args:
    rewards: per-step per-player rewards, shape [T, n] (gives N and T).
    tagged: bool array of the same shape, True where the player was zapped
      out (tagged) at that step.

  Returns:
    The mean number of untagged players per step.
  """
  array = _as_rewards(rewards)
  mask = _as_tagged(tagged, array.shape)
  return float(np.sum(~mask)) / array.shape[0]


# ----------------------------------------------------------------------------
# Objectives by name, and everything for one round.
# ----------------------------------------------------------------------------


# The keyword parameters an objective's function may declare.
_PARAMETERS = frozenset({"p", "epsilon"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class ObjectiveSpec:
  """One welfare objective: everything the package says about it, once.

  Attributes:
    name: the key in `OBJECTIVE_SPECS`: the ballot alternative (the
      substrate's `VOTE_<NAME>` action) and its key in `round_metrics`.
    function: its welfare of a round's returns, `function(u, **params)`;
      larger is better.
    params: which of `objective_value`'s "p" and "epsilon" the function
      takes, as keywords.
    short_name: its label on the video HUD (`video.SHORT_NAMES`); short,
      since the HUD's vote line holds one per objective on the ballot.
    default_ballot: True if it is on the default ballot
      (`DEFAULT_OBJECTIVES`, the substrate's default `objectives`).
    rewards_equality: True if it rewards a more even split of the same
      total, so the hand rule taxes under it by default; False: by default
      the hand rule proposes no tax under it.
    summary_marker: the marker of its line in panel (a) of `summary.png`
      (`plots.WELFARE_METRICS`); None: the panel leaves it out.
  """

  name: str
  function: Callable[..., float]
  params: tuple[str, ...] = ()
  short_name: str
  default_ballot: bool = False
  rewards_equality: bool
  summary_marker: Optional[str] = None

  def __post_init__(self):
    assert set(self.params) <= _PARAMETERS, self.params

  def value(
      self,
      returns: ArrayLike,
      *,
      p: float = DEFAULT_POWER,
      epsilon: float = DEFAULT_EPSILON,
  ) -> float:
    """The objective on a round's returns; see `objective_value`."""
    given = {"p": p, "epsilon": epsilon}
    return self.function(returns, **{key: given[key] for key in self.params})


# Not sorted: this order is the ballot order (the VOTE_<objective> actions),
# the order of `round_metrics`' keys and of the RL principal's one-hot of
# the objective, so a new objective goes last.
OBJECTIVE_SPECS: Mapping[str, ObjectiveSpec] = types.MappingProxyType({
    spec.name: spec
    for spec in (
        ObjectiveSpec(
            name="utilitarian",
            function=utilitarian,
            short_name="util",
            default_ballot=True,
            rewards_equality=False,
            summary_marker="o",
        ),
        ObjectiveSpec(
            name="egalitarian",
            function=egalitarian,
            short_name="egal",
            default_ballot=True,
            rewards_equality=True,
            summary_marker="s",
        ),
        ObjectiveSpec(
            name="nash",
            function=nash,
            params=("epsilon",),
            short_name="nash",
            default_ballot=True,
            rewards_equality=True,
            summary_marker="^",
        ),
        ObjectiveSpec(
            name="power_mean",
            function=power_mean,
            params=("p", "epsilon"),
            short_name="pmean",
            rewards_equality=True,
        ),
        ObjectiveSpec(
            name="eq_times_prod",
            function=eq_times_prod,
            short_name="eq·prod",
            rewards_equality=True,
        ),
    )
})
"""Every welfare objective by name, in ballot order; read-only."""

OBJECTIVES: tuple[str, ...] = tuple(OBJECTIVE_SPECS)
"""Every objective the principal can be asked to maximise, in ballot order."""

DEFAULT_OBJECTIVES: tuple[str, ...] = tuple(
    name for name, spec in OBJECTIVE_SPECS.items() if spec.default_ballot)
"""The three objectives of the paper's Appendix A: the default ballot."""


def objective_value(
    name: str,
    returns: ArrayLike,
    *,
    p: float = DEFAULT_POWER,
    epsilon: float = DEFAULT_EPSILON,
) -> float:
  """Evaluates the objective called `name` on a round's returns.

  Args:
    name: one of `OBJECTIVES`.
    returns: per-player returns of the round (net income + transfers).
    p: exponent of "power_mean"; ignored by the others.
    epsilon: floor of "nash" and "power_mean"; ignored by the others.

  Returns:
    The objective's value; larger is better for every objective.

  Raises:
    ValueError: if `name` is not in `OBJECTIVES`, or the returns are empty or
      not finite.
  """
  if name not in OBJECTIVE_SPECS:
    raise ValueError(
        f"Unknown objective {name!r}; valid objectives are {OBJECTIVES}."
    )
  return OBJECTIVE_SPECS[name].value(returns, p=p, epsilon=epsilon)


def round_metrics(
    returns: ArrayLike,
    rewards: Optional[np.ndarray] = None,
    tagged: Optional[np.ndarray] = None,
    *,
    p: float = DEFAULT_POWER,
    epsilon: float = DEFAULT_EPSILON,
) -> dict[str, float]:
  """Every objective and metric of one round, under stable key names.

  Keys: each name in `OBJECTIVES` (so the principal's feedback on whichever
  objective won the vote can be read from the record), then "productivity",
  "equality" (AI Economist, rescaled Gini) and "gini" (plain Gini), both
  NaN in a round where nobody has any income (see `equality`). When
  `rewards` is given: "perolat_U", "perolat_E", "perolat_S" and "perolat_P";
  "perolat_P" is NaN when `tagged` is not given, because peacefulness cannot
  be measured without knowing who was zapped.

  Args:
    returns: per-player returns of the round (net income + transfers), ≥ 0.
    rewards: optional per-step per-player rewards of the round, shape [T, n].
    tagged: optional bool [T, n], True where a player was zapped out; only
      used with `rewards`.
    p: exponent of the power mean objective.
    epsilon: floor of the Nash and power mean objectives.

  Returns:
    A dict from metric name to value.
  """
  u = _as_returns(returns)
  metrics = {
      name: objective_value(name, u, p=p, epsilon=epsilon)
      for name in OBJECTIVES
  }
  metrics["productivity"] = productivity(u)
  metrics["equality"] = equality(u)
  # Undefined together: no income, no inequality to measure.
  metrics["gini"] = (math.nan if math.isnan(metrics["equality"])
                     else _debt_free_gini(u))
  if rewards is not None:
    metrics["perolat_U"] = perolat_efficiency(rewards)
    metrics["perolat_E"] = perolat_equality(rewards)
    metrics["perolat_S"] = perolat_sustainability(rewards)
    metrics["perolat_P"] = (
        perolat_peacefulness(rewards, tagged) if tagged is not None
        else math.nan
    )
  elif tagged is not None:
    raise ValueError("tagged is only meaningful together with rewards.")
  return metrics
