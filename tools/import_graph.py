"""The layers of umd_meltingpot: check the import contracts, draw the graph.

  .venv/bin/python tools/import_graph.py            # check .importlinter
  .venv/bin/python tools/import_graph.py --draw docs/architecture.png

`agents/` and `substrates/` install as `umd_meltingpot.agents` and
`umd_meltingpot.substrates` (setup.py's package_dir), so the source tree
alone hides their imports from any tool that walks `umd_meltingpot/`. Both
verbs therefore first stage the installed layout in a temporary folder: a
copy of the Python files only. Staging also turns each
`lazy.module("umd_meltingpot.X")` into a plain import, so that an import
deferred for start-up time still counts against the contracts.
"""

import argparse
import collections
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Optional, Sequence

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / ".importlinter"
# Folders of the checkout and the package they install as.
_INSTALLED_AS = {"umd_meltingpot": "umd_meltingpot",
                 "agents": "umd_meltingpot/agents",
                 "substrates": "umd_meltingpot/substrates"}
_LAZY = re.compile(r'lazy\.module\("(umd_meltingpot[\w.]*)"')


def expose_lazy_imports(text: str) -> str:
  """`text` with a plain import added for each lazily imported module."""
  lazy = sorted(set(_LAZY.findall(text)))
  return text + "".join(f"\nimport {name}  # staged: a lazy import"
                        for name in lazy) + ("\n" if lazy else "")


def stage(dest: pathlib.Path, root: pathlib.Path = ROOT) -> pathlib.Path:
  """Copies the package's Python files, as installed, under `dest`.

  Returns:
    `dest`, which then holds `umd_meltingpot/`.
  """
  for folder, installed in _INSTALLED_AS.items():
    for source in sorted((root / folder).rglob("*.py")):
      target = dest / installed / source.relative_to(root / folder)
      target.parent.mkdir(parents=True, exist_ok=True)
      target.write_text(expose_lazy_imports(
          source.read_text(encoding="utf-8")), encoding="utf-8")
  return dest


def lint(staged: pathlib.Path, contracts: pathlib.Path = CONTRACTS
         ) -> subprocess.CompletedProcess:
  """Runs import-linter's `lint-imports` on a staged tree."""
  lint_imports = shutil.which("lint-imports", path=os.path.dirname(
      sys.executable)) or "lint-imports"
  return subprocess.run(
      [lint_imports, str(contracts), "--no-cache"], cwd=staged,
      env={**os.environ, "PYTHONPATH": str(staged)}, capture_output=True,
      text=True, check=False)


def layers(contracts: pathlib.Path = CONTRACTS) -> list[list[str]]:
  """The layers of the contract, top first, each a list of packages."""
  text = contracts.read_text(encoding="utf-8")
  block = text.split("layers =", 1)[1]
  rows = []
  for line in block.splitlines()[1:]:
    if not line.startswith((" ", "\t")) or not line.strip():
      break
    rows.append([name.strip().split(".")[-1]
                 for name in line.split("|")])
  return rows


def package_edges(staged: pathlib.Path) -> dict[tuple[str, str], int]:
  """Imports between umd_meltingpot's top-level packages, with counts."""
  sys.path.insert(0, str(staged))
  try:
    import grimp  # pylint: disable=g-import-not-at-top
    graph = grimp.build_graph("umd_meltingpot", cache_dir=None)
  finally:
    sys.path.remove(str(staged))
  edges = collections.Counter()
  for module in graph.modules:
    for imported in graph.find_modules_directly_imported_by(module):
      source, target = module.split("."), imported.split(".")
      if len(source) > 1 and len(target) > 1 and source[1] != target[1]:
        edges[source[1], target[1]] += 1
  return dict(edges)


def draw(path: pathlib.Path, staged: pathlib.Path) -> None:
  """Draws the layers as rows, top first, and every import as an arrow."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  rows = layers()
  position = {}
  for depth, row in enumerate(rows):
    for index, name in enumerate(row):
      position[name] = ((index + 1) / (len(row) + 1), -depth)
  edges = package_edges(staged)
  rank = {name: depth for depth, row in enumerate(rows) for name in row}
  figure, axes = plt.subplots(figsize=(9, 10))
  upward = 0
  for (source, target), count in sorted(edges.items()):
    if source not in position or target not in position:
      continue
    down = rank[target] > rank[source]
    upward += not down
    (x0, y0), (x1, y1) = position[source], position[target]
    axes.annotate("", xy=(x1, y1 + 0.18), xytext=(x0, y0 - 0.18),
                  arrowprops=dict(
                      arrowstyle="-|>", lw=0.6 + 0.15 * min(count, 10),
                      color="#4a6fa5" if down else "#d62728", alpha=0.55,
                      connectionstyle="arc3,rad=0.08"))
  for name, (x, y) in position.items():
    axes.text(x, y, name, ha="center", va="center", fontsize=11,
              bbox=dict(boxstyle="round,pad=0.4", fc="#f4f1e8", ec="#555"))
  for depth in range(len(rows)):
    axes.axhline(-depth - 0.5, color="#ddd", lw=0.5, zorder=0)
  axes.set_xlim(0, 1)
  axes.set_ylim(-len(rows) + 0.4, 0.6)
  axes.axis("off")
  axes.set_title("umd_meltingpot: imports between packages, top layer first"
                 f"\n(arrow width: number of module imports; upward arrows: "
                 f"{upward})", fontsize=11)
  figure.tight_layout()
  figure.savefig(path, dpi=110)
  plt.close(figure)


def main(argv: Optional[Sequence[str]] = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--draw", metavar="PNG",
                      help="also draw the package graph to this file")
  args = parser.parse_args(argv)
  with tempfile.TemporaryDirectory() as folder:
    staged = stage(pathlib.Path(folder))
    result = lint(staged)
    print(result.stdout[result.stdout.find("Contracts"):] or result.stderr)
    if args.draw:
      draw(pathlib.Path(args.draw), staged)
      print(f"wrote {args.draw}")
  return result.returncode


if __name__ == "__main__":
  sys.exit(main())
