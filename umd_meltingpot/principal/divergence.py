"""Divergences D on tax rates, and the projection onto the δ-ball.

The paper's leader picks φ subject to D(φ_prev, φ) ≤ δ (Definition 3). Rate
vectors also live in the box [0, m]^k, m the game's `max_rate` (1 unless
the game allows fines). The principal wrapper therefore maps every proposal y
to the Euclidean projection

  argmin_x ||x - y||_2  s.t.  D(p, x) ≤ δ,  x ∈ [0, m]^k,     p = φ_prev,

which is unique because the feasible set is convex and non-empty (p is in
it). `project` computes it exactly, in closed form, for each divergence:

- L∞: the feasible set is itself a box, so the projection is a clip to
  [max(p - δ, 0), min(p + δ, m)].
- L2: by the KKT conditions the solution is x(λ) = clip((y + λp)/(1 + λ))
  for the multiplier λ ≥ 0 with ||x(λ) - p||_2 = δ. Writing t = 1/(1 + λ),
  x(t) = clip(p + t(y - p)), and ||x(t) - p||² is piecewise quadratic in t,
  with a break where each coordinate reaches the box; we solve it exactly.
- L1: the solution is x(λ) = clip(p + soft_threshold(y - p, λ)) for the λ ≥ 0
  with ||x(λ) - p||_1 = δ (the clip of a 1-D convex problem's minimiser is its
  box-constrained minimiser). ||x(λ) - p||_1 is piecewise linear in λ, so we
  interpolate exactly between its breakpoints, as in Duchi et al. (2008),
  "Efficient projections onto the l1-ball for learning in high dimensions".
"""

import dataclasses
import logging
import math
import types
from typing import Callable, Mapping

import numpy as np

Divergence = Callable[[np.ndarray, np.ndarray], float]

_LOGGER = logging.getLogger(__name__)


def _pair(prev: np.ndarray, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Returns both arguments as float arrays of the same 1-D shape."""
  prev = np.asarray(prev, dtype=np.float64)
  rates = np.asarray(rates, dtype=np.float64)
  if prev.ndim != 1 or prev.shape != rates.shape:
    raise ValueError(
        "rate vectors must be 1-D and of the same length, got shapes "
        f"{prev.shape} and {rates.shape}")
  return prev, rates


def linf(prev: np.ndarray, rates: np.ndarray) -> float:
  """L∞ divergence: the largest change of any one bracket rate."""
  prev, rates = _pair(prev, rates)
  return float(np.max(np.abs(rates - prev), initial=0.0))


def l1(prev: np.ndarray, rates: np.ndarray) -> float:
  """L1 divergence: the total change of the bracket rates."""
  prev, rates = _pair(prev, rates)
  return float(np.sum(np.abs(rates - prev)))


def l2(prev: np.ndarray, rates: np.ndarray) -> float:
  """L2 divergence: the Euclidean distance between rate vectors."""
  prev, rates = _pair(prev, rates)
  return float(np.linalg.norm(rates - prev))


# keep-sorted start
DIVERGENCES: Mapping[str, Divergence] = types.MappingProxyType({
    "l1": l1,
    "l2": l2,
    "linf": linf,
})
# keep-sorted end


def divergence(name: str) -> Divergence:
  """Returns the divergence registered as `name`.

  Raises:
    ValueError: if `name` is not one of DIVERGENCES.
  """
  try:
    return DIVERGENCES[name]
  except (KeyError, TypeError):
    raise ValueError(
        f"unknown divergence {name!r}; valid names: {sorted(DIVERGENCES)}"
    ) from None


def _check_inputs(
    prev: np.ndarray, proposal: np.ndarray, delta: float, name: str,
    max_rate: float
) -> tuple[np.ndarray, np.ndarray, float]:
  """Validates the arguments of `project`, returning them as floats."""
  divergence(name)  # Fails early, listing the valid names.
  prev, proposal = _pair(prev, proposal)
  if np.isnan(proposal).any():
    raise ValueError(f"proposal must not contain NaN, got {proposal}")
  if not np.isfinite(proposal).all():
    raise ValueError(f"proposal must be finite, got {proposal}")
  if not ((prev >= 0.0) & (prev <= max_rate)).all():  # NaN fails too.
    raise ValueError(f"prev must lie in [0, {max_rate:g}]^k, got {prev}")
  try:
    delta = float(delta)
  except (TypeError, ValueError):
    raise ValueError(f"delta must be a number >= 0, got {delta!r}") from None
  if not delta >= 0.0:  # Also rejects NaN; +inf means no bound.
    raise ValueError(f"delta must be a number >= 0, got {delta!r}")
  return prev, proposal, delta


def _room(prev: np.ndarray, step: np.ndarray,
          max_rate: float) -> np.ndarray:
  """How far each coordinate can move from prev along `step` within
  [0, max_rate]."""
  return np.where(step > 0.0, max_rate - prev, prev)


def _project_linf(
    prev: np.ndarray, proposal: np.ndarray, delta: float, max_rate: float
) -> np.ndarray:
  """Exact projection for L∞: a clip to the intersection box."""
  low = np.maximum(prev - delta, 0.0)
  high = np.minimum(prev + delta, max_rate)
  return np.clip(proposal, low, high)


def _project_l2(
    prev: np.ndarray, proposal: np.ndarray, delta: float, max_rate: float
) -> np.ndarray:
  """Exact projection for L2, assuming clip(proposal) is infeasible.

  Along x(t) = clip(p + t d), d = y - p, coordinate i moves min(t|d_i|, r_i)
  away from p, where r_i is its room in the box, so it stops at
  t_i = r_i/|d_i|. Between stops, ||x(t) - p||² = C + t² F, with C the sum of
  r_i² over stopped coordinates and F the sum of d_i² over moving ones.
  """
  step = proposal - prev
  size = np.abs(step)
  room = _room(prev, step, max_rate)
  moving = size > 0.0
  stop = np.full_like(size, np.inf)
  with np.errstate(over="ignore"):  # A tiny step never stops: inf is right.
    stop[moving] = room[moving] / size[moving]
  order = [i for i in np.argsort(stop, kind="stable") if moving[i]]
  target = delta * delta
  stopped = 0.0
  # At t = 1 the distance exceeds δ, so the loop finds t < 1; t = 1 is a
  # fallback for when rounding hides that crossing.
  t = 1.0
  for j, i in enumerate(order):
    free = float(np.sum(size[order[j:]] ** 2))
    t_end = min(float(stop[i]), 1.0)
    if stopped + t_end * t_end * free >= target:
      t = math.sqrt(max(target - stopped, 0.0) / free)
      break
    stopped += float(room[i]) ** 2
  return prev + np.sign(step) * np.minimum(t * size, room)


def _project_l1(
    prev: np.ndarray, proposal: np.ndarray, delta: float, max_rate: float
) -> np.ndarray:
  """Exact projection for L1, assuming clip(proposal) is infeasible.

  Coordinate i moves h_i(λ) = min(max(|d_i| - λ, 0), r_i) away from p, so
  h(λ) = Σ h_i(λ) is piecewise linear and non-increasing, with breakpoints at
  |d_i| and |d_i| - r_i. We find the segment where h crosses δ and
  interpolate, which is exact on a linear piece.
  """
  step = proposal - prev
  size = np.abs(step)
  room = _room(prev, step, max_rate)

  def moved(lam: np.ndarray) -> np.ndarray:
    """The per-coordinate moves at each multiplier in `lam`, [len(lam), k]."""
    shrunk = np.maximum(size[None, :] - lam[:, None], 0.0)
    return np.minimum(shrunk, room[None, :])

  breaks = np.unique(np.concatenate([[0.0], size, size - room]))
  breaks = breaks[breaks >= 0.0]
  totals = moved(breaks).sum(axis=1)  # Non-increasing, ending at 0.
  j = int(np.argmax(totals <= delta))  # First breakpoint at or under δ.
  if j == 0:
    # Only by rounding: the caller found clip(proposal) infeasible, which is
    # totals[0] > δ. The clip is then within an ulp of the bound.
    return prev + np.sign(step) * moved(np.zeros(1))[0]
  lo, hi = breaks[j - 1], breaks[j]
  h_lo, h_hi = totals[j - 1], totals[j]
  lam = lo + (h_lo - delta) * (hi - lo) / (h_lo - h_hi)
  return prev + np.sign(step) * moved(np.array([lam]))[0]


_PROJECTORS = {
    "l1": _project_l1,
    "l2": _project_l2,
    "linf": _project_linf,
}


def project(
    prev: np.ndarray,
    proposal: np.ndarray,
    delta: float,
    divergence: str = "linf",  # pylint: disable=redefined-outer-name
    max_rate: float = 1.0,
) -> np.ndarray:
  """Projects `proposal` onto {x ∈ [0, max_rate]^k : D(prev, x) ≤ delta}.

  The result is the feasible point closest to `proposal` in Euclidean
  distance, computed exactly (see the module docstring).

  Args:
    prev: the schedule in force, φ_prev, shape [k], inside [0, max_rate]^k.
    proposal: the proposed rates, shape [k], finite (may leave the box).
    delta: the bound δ >= 0 (inf for no bound).
    divergence: the name of D, one of DIVERGENCES.
    max_rate: the game's cap on rates (`TaxSchedule.max_rate`), >= 1.

  Returns:
    A new float64 array of shape [k]. It has the same values as `proposal`
    when `proposal` is already feasible.

  Raises:
    ValueError: if `divergence` is unknown, the shapes differ or are not 1-D,
      `proposal` holds NaN or inf, `prev` leaves the box, or `delta` is
      negative or NaN.
  """
  name = divergence
  prev, proposal, delta = _check_inputs(prev, proposal, delta, name,
                                        max_rate)
  measure = DIVERGENCES[name]
  in_box = bool(((proposal >= 0.0) & (proposal <= max_rate)).all())
  if in_box and measure(prev, proposal) <= delta:
    return proposal.copy()
  if name == "linf":
    projected = _project_linf(prev, proposal, delta, max_rate)
  else:
    # The box projection is the answer whenever it is inside the ball.
    boxed = np.clip(proposal, 0.0, max_rate)
    if measure(prev, boxed) <= delta:
      return boxed
    projected = _PROJECTORS[name](prev, proposal, delta, max_rate)
  # Rounding in p + (m - p) can overshoot the box by an ulp; clipping moves
  # toward p, so it never increases the divergence.
  return np.clip(projected, 0.0, max_rate)


@dataclasses.dataclass(frozen=True, eq=False)
class Projection:
  """The result of projecting one proposal (see `project_logged`).

  Attributes:
    proposal: the proposed rates, as given.
    projected: the feasible rates that `project` returned.
    changed: whether `projected` differs from `proposal`.
    distance_before: D(prev, proposal).
    distance_after: D(prev, projected), at most delta (up to rounding).
  """

  proposal: np.ndarray
  projected: np.ndarray
  changed: bool
  distance_before: float
  distance_after: float


def project_logged(
    prev: np.ndarray,
    proposal: np.ndarray,
    delta: float,
    divergence: str = "linf",  # pylint: disable=redefined-outer-name
    max_rate: float = 1.0,
) -> Projection:
  """Like `project`, but reports and logs what the projection did.

  Logs at INFO level, through the standard `logging` module (absl's handler
  picks it up), whenever the proposal had to be changed.

  Args:
    prev: the schedule in force, φ_prev, shape [k], inside [0, max_rate]^k.
    proposal: the proposed rates, shape [k], finite.
    delta: the bound δ >= 0.
    divergence: the name of D, one of DIVERGENCES.
    max_rate: as in `project`.

  Returns:
    A `Projection` holding the projected rates and the distances.

  Raises:
    ValueError: as `project`.
  """
  projected = project(prev, proposal, delta, divergence, max_rate)
  proposal = np.array(proposal, dtype=np.float64)
  measure = DIVERGENCES[divergence]
  result = Projection(
      proposal=proposal,
      projected=projected,
      changed=not np.array_equal(projected, proposal),
      distance_before=measure(prev, proposal),
      distance_after=measure(prev, projected),
  )
  if result.changed:
    _LOGGER.info(
        "Projected tax rates %s -> %s: %s(prev, rates) %.6g -> %.6g "
        "(delta %.6g).", proposal.tolist(), projected.tolist(), divergence,
        result.distance_before, result.distance_after, delta)
  return result
