"""Prints the recorded ratios of one benchmark, oldest first, as a table.

Each row is one ratio of one run from `history.jsonl` (which the benchmarks
append to; `common.Run`): when, at which commit (`*`: uncommitted changes),
the ratio with its spread (range of paired repeats, or 95% CI), the change
against the previous run of the same ratio, the load average at start and
end, and the command. A drop such as 0.95 -> 0.86 shows as -9.5%.

  .venv/bin/python benchmarks/history.py substrate_speed
  .venv/bin/python benchmarks/history.py            # which benchmarks have any
"""

import argparse
import collections
import json
import pathlib
import sys
from typing import Any, Iterable, Optional, Sequence

import _setup  # pylint: disable=unused-import  # First: the preamble.

import common  # pylint: disable=g-import-not-at-top,wrong-import-position


def read(path: pathlib.Path) -> list[dict[str, Any]]:
  """The history's records; a line cut by a kill, or none at all, is
  skipped."""
  if not path.is_file():
    return []
  records = []
  for line in path.read_text(encoding="utf-8").splitlines():
    try:
      record = json.loads(line)
    except json.JSONDecodeError:
      continue
    if isinstance(record, dict) and "benchmark" in record:
      records.append(record)
  return records


def _load(values: Optional[Sequence[float]]) -> str:
  return f"{values[0]:.1f}" if values else "?"


def table(records: Iterable[dict[str, Any]], benchmark: str) -> str:
  """A markdown table of `benchmark`'s ratios, one row per run and ratio."""
  rows = ["| date (UTC) | commit | ratio | value | spread | n | change | "
          "load start-end | command |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
  previous: dict[str, float] = {}
  for record in records:
    if record["benchmark"] != benchmark:
      continue
    commit = (record.get("commit") or "?") + ("*" if record.get("dirty")
                                               else "")
    for label, summary in record.get("ratios", {}).items():
      value, spread, count, _ = common.summary_columns(summary)
      change = ""
      if previous.get(label) and value is not None:
        change = f"{100 * (value / previous[label] - 1):+.1f}%"
      previous[label] = value
      rows.append(
          f"| {record['date']} | {commit} | {label} | "
          f"{'nan' if value is None else f'{value:.3f}'} | "
          f"{spread} | {count} | {change} | "
          f"{_load(record.get('load_start'))}-"
          f"{_load(record.get('load_end'))} | `{record['command']}` |")
  return "\n".join(rows)


def main(argv: Optional[Sequence[str]] = None) -> int:
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  parser.add_argument("benchmark", nargs="?",
                      help="e.g. substrate_speed; none: list the benchmarks")
  parser.add_argument("--history", default=str(common.HISTORY),
                      help="the history file (default: %(default)s)")
  args = parser.parse_args(argv)
  records = read(pathlib.Path(args.history))
  counts = collections.Counter(record["benchmark"] for record in records)
  if args.benchmark is None:
    for name, count in sorted(counts.items()):
      print(f"{name}: {count} run(s)")
    return 0
  if args.benchmark not in counts:
    print(f"no runs of {args.benchmark} in {args.history}; recorded: "
          f"{', '.join(sorted(counts)) or 'none'}", file=sys.stderr)
    return 1
  print(table(records, args.benchmark))
  return 0


if __name__ == "__main__":
  sys.exit(main())
