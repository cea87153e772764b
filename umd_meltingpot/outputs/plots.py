"""`summary.png`: the welfare, tax rates and votes of a run, round by round.

`write_summary` draws four panels over the rounds of a run, from the per-round
records of `rounds.jsonl`, and a fifth over its steps, from `steps.jsonl`:

  (a) the welfare metrics (utilitarian, egalitarian, Nash, productivity on the
      left axis; equality, which lies in [0, 1], on the right axis);
  (b) the tax rate of each bracket: the projected φ in force, one marker
      and line style per bracket so that equal rates stay visible (the
      legend says which brackets are equal), and the principal's proposal
      as dashed lines when the projection onto the δ-ball changed it;
  (c) the counted ranked ballots: first-preference shares per objective as
      stacked bars, with the winning objective outlined and marked above
      its bar (hatched and labelled "tie" when it was drawn at random from
      a tie), and the rule's own scores per objective (Borda points,
      approvals, ...) as markers on the right axis;
  (d) the apples alive at round end, and the value of the voted objective
      (coloured by objective, since each objective has its own scale);
  (e) the apples alive after every step, and the apples eaten so far in the
      round by all players, with the rounds' VOTE steps shaded: a commons
      that collapses inside a round shows here.

A round in which nobody had any income (a dead economy) is shaded and
marked "no income" in (a) and (d); its equality is undefined
(`welfare.equality`), so that line has a gap there instead of a 1.0. The
title names the run (substrate, principal, bots, seed; from the caller),
the rule, and the rounds without income.

It uses `matplotlib.figure.Figure` directly, with the Agg canvas that
`savefig` picks for PNG, so it neither touches pyplot's global state nor needs
a display. The file is written atomically (`runs.atomic_path`): saved beside the
destination, then renamed onto it.

`write_evaluation` draws `umd evaluate`'s `evaluate.png` the same way: per
scenario, each population's mean focal return with its 95% CI, and the
baselines'.

Usage:

  records = [json.loads(line) for line in open("runs/demo/rounds.jsonl")]
  steps = [json.loads(line) for line in open("runs/demo/steps.jsonl")]
  write_summary(records, "runs/demo/summary.png", steps=steps,
                title="umd_apple_harvest__small · principal fixed · seed 0")
"""

import os
import pathlib
from typing import Any, Mapping, Optional, Sequence

from matplotlib import axes as mpl_axes
from matplotlib import colormaps
from matplotlib import figure as mpl_figure
from matplotlib import lines
from matplotlib import patches
from matplotlib import ticker
import numpy as np

from umd_meltingpot.plumbing import runs
from umd_meltingpot.social_choice import welfare as welfare_lib

SUMMARY_NAME = "summary.png"
"""The file name `write_summary` uses when given a folder."""

# Distinct markers keep coinciding lines visible: `welfare.productivity` is
# the utilitarian sum of the same incomes, so those two lines overlap. The
# objectives' markers are declared with them (`welfare.ObjectiveSpec`).
_METRIC_MARKERS = {
    **{name: spec.summary_marker
       for name, spec in welfare_lib.OBJECTIVE_SPECS.items()
       if spec.summary_marker is not None},
    "productivity": "x",
    "equality": "D",
}

WELFARE_METRICS: tuple[str, ...] = tuple(_METRIC_MARKERS)
"""The metrics of panel (a), in legend order, when present in the records:
the objectives with a `summary_marker`, in ballot order, then productivity
and equality."""

# Equality is 1 − Gini, in [0, 1]; on the welfare axis it would be a flat line
# at the bottom, so it gets the right-hand axis.
_UNIT_INTERVAL_METRICS = frozenset({"equality"})
# Up to this many rounds every round gets a tick; beyond, matplotlib picks.
_MAX_ROUND_TICKS = 12
_FIGSIZE = (12.0, 11.0)
# One marker, line style and marker size per bracket: lines of equal rates
# lie on each other, and nested markers of falling size keep each visible.
_BRACKET_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*")
# No "--": that is the principal's proposal.
_BRACKET_LINESTYLES = ("-", "-.", ":", (0, (6, 2, 1, 2, 1, 2)))
_BRACKET_MARKER_SIZES = (11, 8, 5, 3)
_PROPOSAL_MARKERS = ("x", "+", "1", "2")
_DEAD_COLOUR = "0.85"
_DPI = 100
# A neutral legend entry: the markers themselves take the winner's colour.
_WINNER_HANDLE = lines.Line2D(
    [],
    [],
    linestyle="none",
    marker="v",
    markersize=8,
    markerfacecolor="white",
    markeredgecolor="black",
    label="winner (outlined)",
)
_EMPTY_TEXT = {"ha": "center", "va": "center", "color": "0.4"}


def write_summary(
    records: Sequence[Mapping[str, Any]],
    path: str | os.PathLike,
    *,
    steps: Optional[Sequence[Mapping[str, Any]]] = None,
    title: Optional[str] = None,
) -> pathlib.Path:
  """Draws `records` (one per round) and saves them as a PNG, atomically.

  Args:
    records: the per-round records of `rounds.jsonl`, in round order.
    path: the PNG to write; if it is an existing folder, `summary.png` in it.
    steps: the per-step records of `steps.jsonl` (`game.step_record`), for
      panel (e); None: the panel says none were recorded.
    title: what was played (e.g. the substrate, principal, bots and seed),
      the title's first line.

  Returns:
    The path of the written PNG.

  Raises:
    ValueError: if `records` is empty.
  """
  if not records:
    raise ValueError("write_summary needs at least one round record")
  target = pathlib.Path(path)
  if target.is_dir():
    target = target / SUMMARY_NAME
  figure = summary_figure(records, steps=steps, title=title)
  # An interrupted run keeps the previous summary, never half a PNG.
  with runs.atomic_path(target, suffix=".png") as partial:
    figure.savefig(partial, format="png", dpi=_DPI)
  return target


def summary_figure(
    records: Sequence[Mapping[str, Any]],
    *,
    steps: Optional[Sequence[Mapping[str, Any]]] = None,
    title: Optional[str] = None,
) -> mpl_figure.Figure:
  """Returns the summary figure of `records` (not yet saved).

  Its first four axes are panels (a) to (d), then (e); twin axes follow.
  """
  figure = mpl_figure.Figure(figsize=_FIGSIZE, layout="constrained")
  panels = figure.subplot_mosaic(
      [["welfare", "rates"], ["votes", "apples"], ["steps", "steps"]],
      height_ratios=[1.0, 1.0, 0.8])
  welfare, rates, votes, apples = (
      panels[name] for name in ("welfare", "rates", "votes", "apples"))
  for ax in (welfare, rates, votes):
    ax.sharex(apples)
  rounds = np.array([float(record["round"]) for record in records])
  objectives = _objectives(records)
  dead = dead_rounds(records)
  _plot_welfare(welfare, rounds, records, dead)
  _plot_rates(rates, rounds, records)
  _plot_votes(votes, rounds, records, objectives)
  _plot_apples(apples, rounds, records, objectives)
  for ax in (welfare, apples):
    _mark_dead(ax, rounds, dead)
  _plot_steps(panels["steps"], steps)
  for ax in panels.values():
    ax.grid(alpha=0.3)
  _set_round_ticks(apples, rounds)
  for ax in (votes, apples):
    ax.set_xlabel("round")
  rule = records[0].get("rule", "?")
  subtitle = f"{len(records)} round(s) · voting rule {rule}"
  if dead.any():
    subtitle += (" · no income in round(s) "
                 + ", ".join(str(int(r)) for r in rounds[dead]))
  figure.suptitle(f"{title}\n{subtitle}" if title else subtitle)
  return figure


def dead_rounds(records: Sequence[Mapping[str, Any]]) -> np.ndarray:
  """Returns a bool per round: True where nobody had any income.

  A round with no income has no equality (`welfare.equality`); older records
  that scored it 1.0 are recognised by their gross incomes.
  """
  dead = []
  for record in records:
    gross = [_number(v) for v in record.get("gross") or ()]
    equality = (record.get("metrics") or {}).get("equality", 0.0)
    dead.append((bool(gross) and not any(v > 0 for v in gross))
                or equality is None
                or (isinstance(equality, float) and np.isnan(equality)))
  return np.array(dead, dtype=bool)


def _mark_dead(ax: mpl_axes.Axes, rounds: np.ndarray,
               dead: np.ndarray) -> None:
  """Shades the rounds without income and writes "no income" in them."""
  for x in rounds[dead]:
    ax.axvspan(x - 0.45, x + 0.45, color=_DEAD_COLOUR, zorder=0, lw=0)
    ax.text(x, 0.5, "no income", transform=ax.get_xaxis_transform(),
            rotation=90, ha="center", va="center", color="0.35",
            fontsize="small")


def _set_round_ticks(ax: mpl_axes.Axes, rounds: np.ndarray) -> None:
  """Puts integer round ticks on `ax` (and the axes sharing its x)."""
  if len(np.unique(rounds)) <= _MAX_ROUND_TICKS:
    ax.set_xticks(np.unique(rounds))
  else:
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
  ax.set_xlim(rounds.min() - 0.6, rounds.max() + 0.6)


def _number(value: Any) -> float:
  """Returns `value` as a float, with None (JSON null) as NaN."""
  return np.nan if value is None else float(value)


def _column(records: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
  """Returns `record[key]` over the rounds, NaN where missing."""
  return np.array([_number(record.get(key)) for record in records])


def _matrix(
    records: Sequence[Mapping[str, Any]], key: str
) -> Optional[np.ndarray]:
  """Returns the per-round lists `record[key]` as a (rounds, k) array.

  Rounds without the key, or with fewer entries, are padded with NaN. Returns
  None if no round has any entry.
  """
  rows = [[_number(v) for v in record.get(key) or ()] for record in records]
  width = max(len(row) for row in rows)
  if width == 0:
    return None
  matrix = np.full((len(rows), width), np.nan)
  for index, row in enumerate(rows):
    matrix[index, : len(row)] = row
  return matrix


def _objectives(records: Sequence[Mapping[str, Any]]) -> list[str]:
  """Returns the objectives on the ballot, then any other voted objective."""
  names = list(records[0].get("objectives") or ())
  for record in records:
    for name in list(record.get("objectives") or ()) + [
        record.get("objective")
    ]:
      if name is not None and name not in names:
        names.append(name)
  return names


def _objective_colours(objectives: Sequence[str]) -> dict[str, Any]:
  """Returns one stable colour per objective, shared by panels (c) and (d)."""
  palette = colormaps["tab10"]
  return {name: palette(index % 10) for index, name in enumerate(objectives)}


def _mark_empty(ax: mpl_axes.Axes, text: str) -> None:
  """Writes `text` in the middle of an axes that has no data."""
  ax.text(0.5, 0.5, text, transform=ax.transAxes, **_EMPTY_TEXT)


def _plot_welfare(
    ax: mpl_axes.Axes,
    rounds: np.ndarray,
    records: Sequence[Mapping[str, Any]],
    dead: np.ndarray,
) -> None:
  """Panel (a): welfare metrics; unit-interval ones on a right-hand axis.

  Equality is left out (a gap) in rounds without income.
  """
  ax.set_title("(a) welfare")
  metrics = [record.get("metrics") or {} for record in records]
  present = [m for m in WELFARE_METRICS if any(m in row for row in metrics)]
  if not present:
    _mark_empty(ax, "no welfare metrics recorded")
    return
  unit_ax = None
  if _UNIT_INTERVAL_METRICS.intersection(present):
    unit_ax = ax.twinx()
    unit_ax.set_ylim(0.0, 1.05)
    unit_ax.set_ylabel("equality (1 − Gini)")
  handles = []
  for index, name in enumerate(present):
    values = np.array([_number(row.get(name)) for row in metrics])
    target = unit_ax if name in _UNIT_INTERVAL_METRICS else ax
    if target is unit_ax:
      values[dead] = np.nan
    style = "--" if target is unit_ax else "-"
    handles += target.plot(
        rounds,
        values,
        style,
        marker=_METRIC_MARKERS.get(name, "o"),
        color=f"C{index}",
        label=name,
    )
  ax.set_ylabel("welfare of the round")
  # Below the axes: inside, `loc="best"` ignores the twin axes' lines, and
  # the twin axes would draw over it.
  ax.legend(
      handles=handles,
      loc="upper center",
      bbox_to_anchor=(0.5, -0.04),
      ncols=len(handles),
      fontsize="small",
      frameon=False,
  )


def _plot_rates(
    ax: mpl_axes.Axes,
    rounds: np.ndarray,
    records: Sequence[Mapping[str, Any]],
) -> None:
  """Panel (b): projected φ per bracket; the proposal dashed if it differs."""
  ax.set_title("(b) tax rate per bracket")
  phi = _matrix(records, "phi")
  if phi is None:
    _mark_empty(ax, "no tax rates recorded")
    return
  proposed = _matrix(records, "phi_proposed")
  show_proposed = proposed is not None and not (
      proposed.shape == phi.shape
      and np.allclose(proposed, phi, equal_nan=True)
  )
  for bracket in range(phi.shape[1]):
    colour = f"C{bracket}"
    ax.plot(
        rounds,
        phi[:, bracket],
        linestyle=_BRACKET_LINESTYLES[bracket % len(_BRACKET_LINESTYLES)],
        marker=_BRACKET_MARKERS[bracket % len(_BRACKET_MARKERS)],
        markersize=_BRACKET_MARKER_SIZES[
            min(bracket, len(_BRACKET_MARKER_SIZES) - 1)],
        markerfacecolor="none" if bracket == 0 else colour,
        markeredgewidth=1.5,
        color=colour,
        label=_bracket_label("φ bracket", phi, bracket),
    )
    if show_proposed and bracket < proposed.shape[1]:
      ax.plot(
          rounds,
          proposed[:, bracket],
          "--",
          marker=_PROPOSAL_MARKERS[bracket % len(_PROPOSAL_MARKERS)],
          markersize=_BRACKET_MARKER_SIZES[
              min(bracket, len(_BRACKET_MARKER_SIZES) - 1)],
          color=colour,
          alpha=0.6,
          label=_bracket_label("proposed", proposed, bracket),
      )
  ax.set_ylim(-0.05, max(1.05, np.nanmax(phi) + 0.05))
  ax.set_ylabel("rate")
  # Below the axes, as in (a): rates anywhere in [0, 1] leave no free corner.
  ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.04),
            ncols=min(3, len(ax.get_lines())), fontsize="small",
            frameon=False)


def _bracket_label(kind: str, rates: np.ndarray, bracket: int) -> str:
  """`kind` and the bracket, with "(= j)" if bracket j's rates are the same
  in every round: equal rates draw on top of each other."""
  label = f"{kind} {bracket + 1}"
  for other in range(bracket):
    if np.allclose(rates[:, other], rates[:, bracket], equal_nan=True):
      return f"{label} (= {other + 1})"
  return label


def _vote_shares(
    records: Sequence[Mapping[str, Any]], count: int
) -> Optional[np.ndarray]:
  """Returns (rounds, count) vote shares, from the tally if not recorded."""
  shares = _matrix(records, "vote_shares")
  if shares is None:
    tally = _matrix(records, "tally")
    if tally is None:
      return None
    totals = np.nansum(tally, axis=1, keepdims=True)
    shares = np.divide(
        tally, totals, out=np.zeros_like(tally), where=totals > 0
    )
  padded = np.zeros((shares.shape[0], count))
  width = min(count, shares.shape[1])
  padded[:, :width] = np.nan_to_num(shares[:, :width])
  return padded


def _plot_votes(
    ax: mpl_axes.Axes,
    rounds: np.ndarray,
    records: Sequence[Mapping[str, Any]],
    objectives: Sequence[str],
) -> None:
  """Panel (c): stacked first-preference shares of the counted ballots, the
  winner outlined and marked, and the rule's scores on the right axis."""
  rule = next((r["rule"] for r in records if r.get("rule")), None)
  ax.set_title(f"(c) counted ballots ({rule})" if rule else "(c) vote shares")
  shares = _vote_shares(records, len(objectives))
  if shares is None or not objectives:
    _mark_empty(ax, "no votes recorded")
    return
  colours = _objective_colours(objectives)
  winners = [record.get("objective") for record in records]
  random_ties = [bool(record.get("tie_broken")) for record in records]
  bottom = np.zeros(len(records))
  for index, name in enumerate(objectives):
    won = [winner == name for winner in winners]
    ax.bar(
        rounds,
        shares[:, index],
        bottom=bottom,
        width=0.8,
        color=colours[name],
        edgecolor=["black" if w else "none" for w in won],
        linewidth=1.5,
        label=name,
    )
    for x, w, tie, low, high in zip(rounds, won, random_ties, bottom,
                                    shares[:, index]):
      if w and tie:  # Drawn at random from a tie: hatch the winner's bar.
        ax.bar(x, high, bottom=low, width=0.8, color="none",
               edgecolor="black", hatch="//", linewidth=0)
    bottom += shares[:, index]
  _mark_winners(ax, rounds, winners, colours)
  for x, tie in zip(rounds, random_ties):
    if tie:
      ax.text(x, 1.11, "tie", ha="center", va="bottom", fontsize="small",
              fontweight="bold")
  ax.set_ylim(0.0, 1.22)
  ax.set_ylabel("first preferences")
  scores = _matrix(records, "scores")
  legend_x = 1.01
  if scores is not None and rule not in ("plurality", None):
    # Plurality's scores are the bars themselves.
    right = ax.twinx()
    for index, name in enumerate(objectives[:scores.shape[1]]):
      right.plot(rounds, scores[:, index], linestyle="none", marker="D",
                 markersize=5, markerfacecolor=colours[name],
                 markeredgecolor="black")
    low, high = np.nanmin(scores), np.nanmax(scores)
    span = max(high - min(low, 0.0), 1e-9)
    # Headroom above, as on the left axis, for the winner markers.
    right.set_ylim(min(low, 0.0) - 0.05 * span, high + 0.35 * span)
    right.set_ylabel(f"{rule} score (◆)")
    legend_x = 1.16
  # Outside the axes: inside, it would hide the bars of the first rounds.
  extra = [_WINNER_HANDLE]
  if any(random_ties):
    extra.append(patches.Patch(facecolor="white", edgecolor="black",
                               hatch="//", label="tie broken at random"))
  ax.legend(
      handles=ax.get_legend_handles_labels()[0] + extra,
      loc="upper left",
      bbox_to_anchor=(legend_x, 1.0),
      fontsize="small",
  )


def _mark_winners(
    ax: mpl_axes.Axes,
    rounds: np.ndarray,
    winners: Sequence[Optional[str]],
    colours: Mapping[str, Any],
) -> None:
  """Draws a marker in the winner's colour above each round's bar."""
  marked = [(r, w) for r, w in zip(rounds, winners) if w in colours]
  if not marked:
    return
  ax.scatter(
      [r for r, _ in marked],
      [1.07] * len(marked),
      marker="v",
      s=60,
      c=[colours[w] for _, w in marked],
      edgecolors="black",
      zorder=3,
  )


def _plot_apples(
    ax: mpl_axes.Axes,
    rounds: np.ndarray,
    records: Sequence[Mapping[str, Any]],
    objectives: Sequence[str],
) -> None:
  """Panel (d): apples alive (left) and the objective's value (right)."""
  ax.set_title("(d) apples alive and objective value")
  apples = _column(records, "apples_alive")
  values = _column(records, "objective_value")
  if np.isnan(apples).all() and np.isnan(values).all():
    _mark_empty(ax, "no apples or objective values recorded")
    return
  ax.plot(rounds, apples, marker="o", color="forestgreen", label="apples")
  ax.set_ylabel("apples alive at round end", color="forestgreen")
  top = np.nanmax(apples) if not np.isnan(apples).all() else 0.0
  ax.set_ylim(0.0, max(1.0, 1.1 * top))
  value_ax = ax.twinx()
  value_ax.plot(rounds, values, color="0.6", linewidth=1.0)
  colours = _objective_colours(objectives)
  for name in objectives:
    chosen = np.array([r.get("objective") == name for r in records])
    if chosen.any():
      value_ax.scatter(
          rounds[chosen],
          values[chosen],
          marker="s",
          color=colours[name],
          edgecolors="black",
          label=f"value ({name})",
          zorder=3,
      )
  value_ax.set_ylabel("value of the voted objective")
  handles = ax.get_legend_handles_labels()
  value_handles = value_ax.get_legend_handles_labels()
  # On the twin axes, which are drawn last, so no marker covers the legend.
  value_ax.legend(
      handles[0] + value_handles[0],
      handles[1] + value_handles[1],
      loc="best",
      fontsize="small",
  )


def _plot_steps(
    ax: mpl_axes.Axes,
    steps: Optional[Sequence[Mapping[str, Any]]],
) -> None:
  """Panel (e): apples alive per step (left), eaten this round (right)."""
  ax.set_title("(e) apples alive after each step; apples eaten so far in "
               "the round (all players); VOTE steps shaded")
  if not steps:
    _mark_empty(ax, "no per-step record (steps.jsonl)")
    return
  step = np.array([float(record["step"]) for record in steps])
  apples = np.array([_number(record.get("apples_alive")) for record in steps])
  eaten = np.array([sum(_number(v) for v in record.get("gross") or ())
                    for record in steps])
  voting = np.array([record.get("phase") == "vote" for record in steps])
  rounds = [record.get("round") for record in steps]
  for index in np.flatnonzero(voting):
    ax.axvspan(step[index] - 0.5, step[index] + 0.5, color="#f3e2b3",
               lw=0, zorder=0)
  for index, round_ in enumerate(rounds):
    if index == 0 or round_ != rounds[index - 1]:
      ax.axvline(step[index] - 0.5, color="0.5", linewidth=0.8)
      ax.text(step[index], 1.0, f" round {round_}", va="top",
              transform=ax.get_xaxis_transform(), fontsize="small")
  ax.plot(step, apples, color="forestgreen", label="apples alive")
  ax.set_ylabel("apples alive", color="forestgreen")
  ax.set_ylim(0.0, max(1.0, 1.15 * np.nanmax(apples)))
  ax.set_xlim(step.min() - 0.5, step.max() + 0.5)
  ax.set_xlabel("step")
  eaten_ax = ax.twinx()
  eaten_ax.plot(step, eaten, color="0.45", linewidth=1.0,
                label="eaten this round")
  eaten_ax.set_ylim(0.0, max(1.0, 1.15 * np.nanmax(eaten)))
  eaten_ax.set_ylabel("eaten this round", color="0.45")
  handles = (ax.get_legend_handles_labels()[0]
             + eaten_ax.get_legend_handles_labels()[0])
  eaten_ax.legend(handles=handles, loc="upper right", fontsize="small")


# `umd evaluate`'s plot. Baselines get these (colour, line style), in the
# order they are given.
_BASELINE_STYLES = (("0.4", "--"), ("k", ":"))


def write_evaluation(
    summary: Sequence[Mapping[str, Any]],
    populations: Sequence[str],
    path: str | os.PathLike,
    *,
    labels: Mapping[str, str],
    baselines: Sequence[str],
) -> pathlib.Path:
  """Draws `evaluation_figure` to the PNG `path`, atomically."""
  figure = evaluation_figure(summary, populations, labels=labels,
                             baselines=baselines)
  with runs.atomic_path(path, suffix=".png") as partial:
    figure.savefig(partial, format="png", dpi=_DPI)
  return pathlib.Path(path)


def evaluation_figure(
    summary: Sequence[Mapping[str, Any]],
    populations: Sequence[str],
    *,
    labels: Mapping[str, str],
    baselines: Sequence[str],
) -> mpl_figure.Figure:
  """`umd evaluate`'s focal returns: per scenario, each population's mean
  with its 95% CI as a bar, and each baseline's mean as a line across the
  scenario's bars, its CI as an error bar at the group's right edge.

  Args:
    summary: `evaluate.summarise`'s entries (scenario, population,
      focal_per_capita_return/mean and /ci95).
    populations: the populations, in bar order.
    labels: each population's short name for the legend.
    baselines: the baselines, in `_BASELINE_STYLES` order; one that is
      the only kind of population is drawn as a bar.
  """
  means = {(e["scenario"], e["population"]): (
      e["focal_per_capita_return/mean"], e["focal_per_capita_return/ci95"])
           for e in summary}
  scenarios = sorted({e["scenario"] for e in summary})
  bars = [p for p in populations if p not in baselines] or list(populations)
  styles = dict(zip(baselines, _BASELINE_STYLES))
  baseline_lines = [p for p in baselines if p in populations and p not in bars]
  figure = mpl_figure.Figure(figsize=(max(6.0, 0.9 * len(scenarios) + 2),
                                      4.5))
  ax = figure.add_subplot()
  width = 0.7 / len(bars)
  for index, population in enumerate(bars):
    x = np.arange(len(scenarios)) - 0.4 + width * (index + 0.5)
    values = [means.get((s, population), (None, None)) for s in scenarios]
    ax.bar(x, [np.nan if m is None else m for m, _ in values], width,
           yerr=[0.0 if c is None else c for _, c in values], capsize=3,
           label=labels[population])
  for offset, population in enumerate(baseline_lines):
    colour, style = styles[population]
    for index, scenario in enumerate(scenarios):
      mean, ci = means.get((scenario, population), (None, None))
      if mean is None:
        continue
      ax.hlines(mean, index - 0.42, index + 0.42, colors=colour,
                linestyles=style, zorder=3,
                label=f"{population} (baseline)" if index == 0 else None)
      ax.errorbar(index + 0.34 + 0.06 * offset, mean,
                  yerr=0.0 if ci is None else ci, color=colour, capsize=2,
                  fmt="none", zorder=3)
  ax.set_xticks(np.arange(len(scenarios)))
  ax.set_xticklabels(scenarios, rotation=45, ha="right", fontsize=8)
  ax.set_ylabel("focal per-capita return (mean, 95% CI)")
  ax.set_title("umd evaluate: focal return per scenario")
  ax.legend(fontsize=8)
  figure.tight_layout()
  return figure
