"""Measures a best-response table: the restraint meta-game's incomes.

`agents/best_response.py` plays the meta-game from a table; this job plays
every symmetric and one-deviant profile of `SustainableBot`s in untaxed games
to measure one (the shipped `best_response_small.json` came from it):

  python -m umd_meltingpot.training.best_response_table \
      --substrate umd_apple_harvest__small --rounds 8 --seeds 16 \
      --out table.json
"""

import argparse
import json
import os
import pathlib
import sys
from typing import Any, Optional, Sequence

import numpy as np

from umd_meltingpot import substrate as substrate_lib
from umd_meltingpot.agents import best_response
from umd_meltingpot.agents import bots
from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.plumbing import runs
from umd_meltingpot.substrates import phases


def play_profile(substrate_config: Any, profile: Sequence[int],
                 seed: int) -> np.ndarray:
  """Gross income per player and tax period of one untaxed game.

  Args:
    substrate_config: the game's substrate config (its rates are ignored).
    profile: each player's min_neighbours k.
    seed: seeds the substrate and the bots.

  Returns:
    [n, rounds * harvest_steps / tax_period] gross incomes.
  """
  config = substrate_config.copy_and_resolve_references()
  with config.unlocked():
    config.initial_rates = (0.0,) * len(config.initial_rates)
    # The symbolic views the bots read; no pixels are rendered.
    config.player_views = bots.VIEWS
    config.world_views = ()
  if config.harvest_steps % config.tax_period:
    raise ValueError("harvest_steps must be a multiple of tax_period for a "
                     f"table, got {config.harvest_steps} and "
                     f"{config.tax_period}")
  num_players = len(profile)
  players = [bots.SustainableBot(min_neighbours=k, seed=seed * 1000 + i)
             for i, k in enumerate(profile)]
  states = [player.initial_state() for player in players]
  periods_per_round = config.harvest_steps // config.tax_period
  incomes = np.zeros((num_players, config.rounds * periods_per_round))
  env = substrate_lib.build_from_config(
      config, roles=["default"] * num_players, env_seed=seed)
  with env:
    timestep = env.reset()
    harvest_step = 0
    while not timestep.last():
      harvesting = (int(timestep.observation[0]["WORLD.PHASE"])
                    == phases.Phase.HARVEST)
      actions = []
      for i, player in enumerate(players):
        action, states[i] = player.step(game_lib.player_timestep(timestep, i),
                                        states[i])
        actions.append(action)
      timestep = env.step(actions)
      if harvesting:
        incomes[:, harvest_step // config.tax_period] += timestep.reward
        harvest_step += 1
  return incomes


def measure(substrate_config: Any, *, num_players: int,
            strategies: Sequence[int] = best_response.DEFAULT_STRATEGIES,
            seeds: Sequence[int] = tuple(range(16)),
            progress: bool = True) -> best_response.MetaGame:
  """Plays every symmetric and one-deviant profile on every seed."""
  import tqdm  # pylint: disable=g-import-not-at-top
  strategies = tuple(sorted(set(int(k) for k in strategies)))
  if not strategies or strategies[0] < 0:
    raise ValueError(f"strategies must be ints >= 0, got {strategies}")
  if not seeds:
    raise ValueError("measure needs at least one seed")
  profiles = [(d, k) for k in strategies for d in strategies]
  incomes = {}
  with tqdm.tqdm(total=len(profiles) * len(seeds), unit="game",
                 disable=not progress, file=sys.stderr) as bar:
    for d, k in profiles:
      games = []
      for seed in seeds:
        games.append(play_profile(
            substrate_config, [d] + [k] * (num_players - 1), seed))
        bar.update(1)
      incomes[d, k] = np.stack(games)
  return best_response.MetaGame(setting=best_response.setting_of(substrate_config, num_players),
                  strategies=strategies, incomes=incomes)


def save(meta_game: best_response.MetaGame, path: os.PathLike) -> None:
  """Writes the table atomically (a temporary file, then a rename)."""
  runs.write_text(path, json.dumps(meta_game.to_json()))


def main(argv: Optional[Sequence[str]] = None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m umd_meltingpot.training.best_response_table",
      description="Measure the restraint meta-game that best-response "
      "followers play (see the module docstring).")
  parser.add_argument("--substrate", default="umd_apple_harvest__small",
                      help="a substrate from `umd list`")
  parser.add_argument("--players", type=int, default=None,
                      help="n; default: the substrate's")
  # The game's phase lengths, as in umd run; a table covers games with as
  # many rounds or fewer and a tax period that is a multiple of its own.
  parser.add_argument("--rounds", type=int, default=None,
                      help="tau; default: the substrate's")
  parser.add_argument("--steps", type=int, default=None,
                      help="T, HARVEST steps per round; default: the "
                      "substrate's")
  parser.add_argument("--vote-steps", type=int, default=None,
                      help="V, VOTE steps per round; default: the "
                      "substrate's")
  parser.add_argument("--tax-period", type=int, default=None,
                      help="harvest steps per tax period; default: the "
                      "substrate's")
  parser.add_argument("--quiet", action="store_true", help="no progress bar")
  parser.add_argument("--strategies", default=",".join(
      map(str, best_response.DEFAULT_STRATEGIES)), help="the min_neighbours values k")
  parser.add_argument("--seeds", type=int, default=16,
                      help="games per profile (seeds 0..N-1)")
  parser.add_argument("--out", required=True, help="the table to write")
  args = parser.parse_args(argv)
  try:
    config = substrate_lib.get_config(args.substrate)
    players = args.players or len(config.default_player_roles)
    try:
      strategies = [int(k) for k in args.strategies.split(",")]
    except ValueError:
      raise ValueError("--strategies must be comma-separated integers >= 0, "
                       f"got {args.strategies!r}") from None
    if args.seeds < 1:
      raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    with config.unlocked():
      for key, value in (("rounds", args.rounds),
                         ("harvest_steps", args.steps),
                         ("vote_steps", args.vote_steps),
                         ("tax_period", args.tax_period)):
        if value is not None:
          config[key] = value
    # Checks the phase lengths and the player count.
    config = substrate_lib.umd_apple_harvest.with_num_players(config, players)
    if config.harvest_steps % config.tax_period:
      raise ValueError(
          f"--steps ({config.harvest_steps}) must be a multiple of "
          f"--tax-period ({config.tax_period}) for a table")
    # Before minutes of measuring.
    runs.check_writable(pathlib.Path(args.out).parent or ".")
  except ValueError as error:
    parser.error(str(error))
  meta_game = measure(config, num_players=players, strategies=strategies,
                      seeds=range(args.seeds), progress=not args.quiet)
  save(meta_game, args.out)
  print(f"wrote {args.out}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
