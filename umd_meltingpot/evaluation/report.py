"""`umd evaluate`'s report: the results table and the files of the run.

`format_table` is the text that `umd evaluate` prints and `summary.txt`
holds: per scenario, the mean ± 95% CI of the main columns for each
population, then the baseline-normalised scores, the paired differences
and the labels of long population names (`labels`). `write_results` writes
the rows, the summary, the table and the scores:

*   `episodes.jsonl` and `episodes.csv`: one row per episode;
*   `summary.csv` and `summary.txt`: per scenario and population;
*   `scores.json`: the scores, with the paired differences and the labels.

NaN and infinities are written as null (`runs.json_ready`); in a CSV, a
list or dict value is a JSON string.

Usage:

  table = report.format_table(summary, scores, differences, populations)
  report.write_results(out, rows=rows, summary=summary, table=table,
                       scores=scores)
"""

import collections
import csv
import io
import json
import os
import pathlib
from typing import Any, Iterable, Mapping, Optional, Sequence

from umd_meltingpot.evaluation import scenario as scenario_lib
from umd_meltingpot.plumbing import runs

# Longer population names (ppo:PATH) are shown as a label, with the mapping
# printed under the table.
_MAX_NAME = 16
# The columns of the table, and their titles.
_TABLE_COLUMNS = ("focal_per_capita_return", "background_per_capita_return",
                  "welfare/utilitarian", "welfare/equality", "vote/focal_won",
                  "tax/mean_rate")
_TABLE_TITLES = ("focal return", "background", "utilitarian", "equality",
                 "focal won", "tax rate")


def labels(populations: Sequence[str]) -> dict[str, str]:
  """A short label per population for tables and plots: the name itself,
  or for a longer one (ppo:PATH) its kind and a number (ppo#1)."""
  result, counts = {}, collections.Counter()
  for name in populations:
    if len(name) <= _MAX_NAME:
      result[name] = name
      continue
    kind = name.split(":", 1)[0][:_MAX_NAME - 3]
    counts[kind] += 1
    result[name] = f"{kind}#{counts[kind]}"
  return result


def _cell(mean: Optional[float], ci: Optional[float]) -> str:
  if mean is None:
    return "n/a"
  return f"{mean:.2f}" + (f" ± {ci:.2f}" if ci is not None else "")


def _interval_cell(value: Optional[float],
                   interval: Optional[Sequence[float]]) -> str:
  if value is None:
    return "n/a"
  if interval is None:
    return f"{value:.3f}"
  return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]"


def format_table(summary: Sequence[Mapping[str, Any]],
                 scores: Mapping[str, Any],
                 differences: Sequence[Mapping[str, Any]] = (),
                 populations: Optional[Sequence[str]] = None) -> str:
  """The summary per scenario (mean ± 95% CI), the scores, the paired
  differences and the labels of long population names.

  Args:
    summary: from `evaluate.summarise`.
    scores: from `evaluate.normalised_scores`; its "baselines" are marked
      "(baseline)" where they are not scored themselves.
    differences: from `evaluate.paired_differences`.
    populations: the populations in row order (baselines last); default:
      the summary's, sorted.
  """
  if populations is None:
    populations = sorted({entry["population"] for entry in summary})
  names = labels(populations)
  shown = {name: names[name] + (
      " (baseline)" if name in scores["baselines"] and
      name not in scores["populations"] else "") for name in populations}
  width = max([len("population"), *map(len, shown.values())])
  order = {name: index for index, name in enumerate(populations)}
  lines = []
  for scenario in sorted({entry["scenario"] for entry in summary}):
    config = scenario_lib.get_config(scenario)
    lines.append(f"{scenario}: {config.description}")
    lines.append(f"  {'population':<{width}} {'eps':>3}  " + "  ".join(
        f"{title:>16}" for title in _TABLE_TITLES))
    entries = sorted((e for e in summary if e["scenario"] == scenario),
                     key=lambda e: order.get(e["population"], len(order)))
    for entry in entries:
      cells = "  ".join(
          f"{_cell(entry[f'{c}/mean'], entry[f'{c}/ci95']):>16}"
          for c in _TABLE_COLUMNS)
      label = shown.get(entry["population"], entry["population"])
      lines.append(f"  {label:<{width}} {entry['episodes']:>3}  {cells}")
  lines.append("")
  lines.append("normalised score: " + scores["method"])
  for population, score in scores["populations"].items():
    lines.append(f"  {names[population]:<{width}} "
                 f"{_interval_cell(score['score'], None)}")
    for scenario, entry in score["per_scenario"].items():
      lines.append(f"  {'':<{width}}   {scenario:<28} "
                   f"{_interval_cell(entry['score'], entry['ci95'])}")
  lines.extend(_difference_lines(differences, names))
  long_names = [name for name in populations if names[name] != name]
  if long_names:
    lines.append("")
    lines.append("labels:")
    for name in long_names:
      lines.append(f"  {names[name]} = {name}")
  return "\n".join(lines)


def _difference_lines(differences: Sequence[Mapping[str, Any]],
                      names: Mapping[str, str]) -> list[str]:
  """The table's block of paired differences over all scenarios."""
  overall = [d for d in differences if d["scenario"] == "all"]
  if not overall:
    return []
  lines = ["", "paired differences of focal return, A - B, over the "
           "episodes both played (same seeds), with 95% bootstrap CIs:"]
  pair_width = max(len(f"{names[d['a']]} - {names[d['b']]}")
                   for d in overall)
  for entry in overall:
    pair = f"{names[entry['a']]} - {names[entry['b']]}"
    low, high = entry["ci95"]
    lines.append(f"  {pair:<{pair_width}} {entry['mean']:+.3f} "
                 f"[{low:+.3f}, {high:+.3f}] ({entry['episodes']} "
                 "episodes)")
  return lines


def jsonl(rows: Iterable[Mapping[str, Any]]) -> str:
  """One JSON line per row; NaN and infinities are null."""
  return "".join(runs.json_line(runs.json_ready(dict(row))) for row in rows)


def csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
  """CSV with the union of the rows' keys; lists become JSON strings."""
  keys = []
  for row in rows:
    keys.extend(key for key in row if key not in keys)
  buffer = io.StringIO()
  writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
  writer.writeheader()
  for row in rows:
    writer.writerow({
        key: json.dumps(value) if isinstance(value, (list, dict)) else value
        for key, value in runs.json_ready(dict(row)).items()})
  return buffer.getvalue()


def write_results(out: os.PathLike, *, rows: Sequence[Mapping[str, Any]],
                  summary: Sequence[Mapping[str, Any]], table: str,
                  scores: Mapping[str, Any]) -> None:
  """Writes the run's result files into the folder `out`, each atomically.

  Args:
    out: the run folder.
    rows: the episode rows, in task order.
    summary: from `evaluate.summarise`.
    table: from `format_table`.
    scores: from `evaluate.normalised_scores`, with the differences and
      labels added.
  """
  out = pathlib.Path(out)
  runs.write_text(out / "episodes.jsonl", jsonl(rows))
  runs.write_text(out / "episodes.csv", csv_text(rows))
  runs.write_text(out / "summary.csv", csv_text(summary))
  runs.write_text(out / "summary.txt", table + "\n")
  runs.write_json(out / "scores.json", runs.json_ready(scores))
