"""Games/s of this checkout against an older commit, on the same seeded games.

The ratio benchmarks divide by a bare substrate, which also gets faster
when the substrate does; this one times the same three seeded games with
the code of `--commit` and with this checkout's, in separate processes
(two versions of one package cannot share one), alternating, CPU time:

*   the open map, 7 players, random,greedy, the hand-rule principal;
*   the small map, 4 players, best_response, the hand-rule principal;
*   the small map, 4 `ppo_conditioned` followers under a fixed 0,4,4 (brackets
    1,2, max_rate 4): the game a principal's training waits on.

The older commit is checked out with `git worktree` into a temporary folder
laid out as it installs (`agents/` and `substrates/` under the package) and
run with this checkout's virtual environment. Each side reports steps/s,
the median over `--games` games; the ratio is this checkout's over the
commit's, per round of the alternation.

  .venv/bin/python benchmarks/cross_version.py --commit d320463 [--rounds 2]
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import _setup  # pylint: disable=unused-import  # First: the preamble.

_ROOT = pathlib.Path(__file__).resolve().parent.parent
GAMES = {
    "open map, random,greedy, hand_rule": dict(
        substrate="umd_apple_harvest__open", players=7, bots="random,greedy",
        phi0=None, principal="hand_rule"),
    "small map, best_response, hand_rule": dict(
        substrate="umd_apple_harvest__small", players=4, bots="best_response",
        phi0=None, principal="hand_rule"),
    "small map, ppo_conditioned, fixed 0,4,4": dict(
        substrate="umd_apple_harvest__small", players=4,
        bots="ppo_conditioned", brackets=(1.0, 2.0), max_rate=4.0,
        phi0=(0.0, 4.0, 4.0), principal="fixed", delta=float("inf"),
        seed=1000),
}


def _time_games(games: int) -> dict[str, float]:
  """In a child: steps/s of each game, the median over `games` runs, with
  whichever `umd_meltingpot` the path holds (its API as of either side)."""
  try:  # This layout: the game is handed a bot factory.
    from umd_meltingpot import agents  # pylint: disable=g-import-not-at-top
    from umd_meltingpot.game import loop as game  # pylint: disable=g-import-not-at-top
    prepare = lambda config: game.prepare(config, agents.FACTORY)
  except ImportError:  # Before issue 19.
    from umd_meltingpot import game  # pylint: disable=g-import-not-at-top
    prepare = game.prepare
  rates = {}
  for name, options in GAMES.items():
    prepared = prepare(game.GameConfig(**options))
    bots = game.build_bots(prepared)
    runs = []
    for _ in range(games):
      start = time.process_time()
      with game.build_environment(prepared) as env:
        steps = game.play_episode(env, bots)
      runs.append(steps / (time.process_time() - start))
    rates[name] = sorted(runs)[len(runs) // 2]
  return rates


def _side(tree: pathlib.Path | None, games: int) -> dict[str, float]:
  """One child run, on `tree` (None: this checkout)."""
  env = dict(os.environ)
  env.pop("PYTHONPATH", None)
  if tree is not None:
    env["PYTHONPATH"] = str(tree)
  result = subprocess.run(
      [sys.executable, __file__, "--child", "--games", str(games)],
      cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True,
      check=True)
  return json.loads(result.stdout.strip().splitlines()[-1])


def _stage(commit: str, folder: pathlib.Path) -> pathlib.Path:
  """`commit` checked out under `folder`, laid out as it installs."""
  tree = folder / "tree"
  subprocess.run(["git", "-C", str(_ROOT), "worktree", "add", "--detach",
                  "-q", str(tree), commit], check=True)
  for name in ("agents", "substrates"):
    (tree / "umd_meltingpot" / name).symlink_to(tree / name)
  return tree


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  parser.add_argument("--commit", default="d320463",
                      help="the older commit (default: %(default)s)")
  parser.add_argument("--rounds", type=int, default=2,
                      help="alternations of the two sides")
  parser.add_argument("--games", type=int, default=3,
                      help="games per side and game setting")
  parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  if args.child:
    print(json.dumps(_time_games(args.games)))
    return 0
  print(f"cross_version: this checkout vs {args.commit}; "
        f"load average {os.getloadavg()[0]:.2f}")
  with tempfile.TemporaryDirectory() as folder:
    tree = _stage(args.commit, pathlib.Path(folder))
    try:
      for round_ in range(args.rounds):
        old, new = _side(tree, args.games), _side(None, args.games)
        for name in GAMES:
          print(f"round {round_ + 1}  {name:<42} {args.commit} "
                f"{old[name]:6.0f}  now {new[name]:6.0f} steps/s  "
                f"now / {args.commit} {new[name] / old[name]:.2f}")
    finally:
      subprocess.run(["git", "-C", str(_ROOT), "worktree", "remove",
                      "--force", str(tree)], check=False)
  print(f"load average at end {os.getloadavg()[0]:.2f}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
