"""Strategic voting per social-choice rule, on the substrate (issues 5, 12).

Each follower learns its ballot with an ε-greedy bandit over the ballots
its rule expects (`voting.in_game_ballots`: 3 favourites, 6 approval sets or
6 rankings of 3 objectives, cast with VOTE_* presses), rewarded by its own
type utility of the elected objective (see `experiments/strategic_voting.py`);
training games shorten the harvest to one step, since the ballot reward
does not depend on it, and `--train-on elections` counts the same ballots
with the same draws without Lua. The learned ballots are then cast through
Lua in one full game per seed (and the same game is played with truthful
ballots).
Printed per rule, as a markdown table, with 95% cluster-bootstrap CIs over
seeds: the manipulation rate (rounds in which some player's learned ballot
differs from its truthful one and changes the outcome in its favour;
expected over the rule's randomness, and realised with the same
tie-breaking draw), the truthful-ballot share, the Condorcet efficiency
(the share of rounds with a Condorcet winner of the true types that elect
it) under learned and truthful ballots, the type welfare Σθ(winner) under
both and its loss (truthful minus learned, paired by round), the winner
distributions and the realised welfare.

  .venv/bin/python benchmarks/strategic_voting.py --seeds 10
  .venv/bin/python benchmarks/strategic_voting.py --seeds 20 \\
      --train-on elections --workers 2 --cache runs/sv.jsonl
  .venv/bin/python benchmarks/strategic_voting.py --electorate uniform \\
      --rules plurality,random_dictator --seeds 20
"""

import argparse
import dataclasses
import pathlib
import sys

import _setup  # pylint: disable=unused-import  # First: the preamble.

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import tqdm

import common
from umd_meltingpot.plumbing import lazy
from umd_meltingpot.plumbing import parallel
from umd_meltingpot.plumbing import runs
from umd_meltingpot.social_choice import voting
# pylint: enable=g-import-not-at-top,wrong-import-position,g-bad-import-order

# The experiment (in the repository's `experiments/`, not installed) imports
# Melting Pot: on first use, not for --help.
sv = lazy.module("experiments.strategic_voting")

# The game, named here as docs/RESULTS.md measured it (the experiment's
# defaults then): 5 players on the small map, random,greedy harvest bots,
# the hand-rule principal with delta 0.25.
SUBSTRATE = "umd_apple_harvest__small"
PLAYERS = 5
HARVEST_BOTS = "random,greedy"
PRINCIPAL = "hand_rule"
DELTA = 0.25
ELECTORATE = "compromise"
TRAIN_ROUNDS = 1000


def parse_args(argv=None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  parser.add_argument("--rules", default=",".join(voting.RULES),
                      help="comma-separated rules (default: all of "
                      f"{','.join(voting.RULES)})")
  parser.add_argument("--seeds", type=int, default=10,
                      help="seeds per rule (default: %(default)s)")
  parser.add_argument("--first-seed", type=int, default=0)
  parser.add_argument("--electorate", default=ELECTORATE,
                      help="compromise (5 players) or a preferences spec: "
                      "uniform, mallows:PHI, ... (default: %(default)s)")
  parser.add_argument("--players", type=int, default=PLAYERS)
  parser.add_argument("--substrate", default=SUBSTRATE)
  parser.add_argument("--train-rounds", type=int, default=TRAIN_ROUNDS)
  parser.add_argument("--harvest-bots", default=HARVEST_BOTS,
                      help="bots for the harvest, cycled over the players")
  parser.add_argument("--principal", default=PRINCIPAL,
                      help="the evaluation game's principal: a name or a "
                      "checkpoint (played frozen)")
  parser.add_argument("--delta", type=float, default=DELTA,
                      help="the evaluation game's bound (inf: none)")
  parser.add_argument("--train-on", default="substrate",
                      choices=("substrate", "elections"),
                      help="cast training ballots through Lua, or count the "
                      "same ballots with the same draws in voting.elect "
                      "alone (the same learners, faster); evaluation is "
                      "on the substrate either way (default: %(default)s)")
  parser.add_argument("--ideal", type=int, default=0, metavar="PROFILES",
                      help="instead of learning, print the profitability of "
                      "Holliday, Kristoffersen and Pacuit's (2024) ideal "
                      "manipulator (voter 0's best ballot against sincere "
                      "others, gain / utility spread) over this many random "
                      "electorates (default: 0, learn)")
  parser.add_argument("--workers", type=int, default=0,
                      help="Ray workers, one (rule, seed) each (0: here, "
                      "one after the other; default: %(default)s)")
  parser.add_argument("--cache", default=None,
                      help="a .jsonl file keeping each finished (rule, "
                      "seed), so that a rerun resumes (default: none)")
  return parser.parse_args(argv)


def main(argv=None) -> int:
  args = parse_args(argv)
  try:
    rules = sv.check_rules(
        [rule.strip() for rule in args.rules.split(",") if rule.strip()])
    if args.seeds < 1:
      raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    parallel.check_options(args.workers, None)
    if args.cache is not None:
      cache_folder = pathlib.Path(args.cache).parent
      runs.check_writable(cache_folder, flag="--cache")
      cache_folder.mkdir(parents=True, exist_ok=True)
    config = sv.LearningConfig(
        substrate=args.substrate, electorate=args.electorate,
        players=args.players, train_rounds=args.train_rounds,
        harvest_bots=args.harvest_bots, principal=args.principal,
        delta=args.delta, train_on=args.train_on)
    sv.prepare_evaluation(config, rule=rules[0], seed=args.first_seed)
  except ValueError as error:
    print(f"error: {error}", file=sys.stderr)
    return 2
  if args.ideal < 0:
    print(f"error: --ideal must be >= 0, got {args.ideal}", file=sys.stderr)
    return 2
  if args.ideal:
    _print_ideal(rules, config, args.ideal)
    return 0
  seeds = range(args.first_seed, args.first_seed + args.seeds)
  # Rates and shares, no ratio: nothing for the history.
  run = common.Run("strategic_voting", common.Subject(
      substrate=config.substrate, players=config.players,
      bots=f"ballot bandits (learnt VOTE_* presses); harvest "
      f"{config.harvest_bots}",
      settings={"electorate": config.electorate, "rules": ",".join(rules),
                "principal": config.principal, "delta": config.delta,
                "train rounds": config.train_rounds,
                "train on": config.train_on,
                "seeds": f"{seeds.start}-{seeds.stop - 1}"}), args, argv)
  tasks = [sv.SeedTask(rule=rule, seed=seed, config=config)
           for rule in rules for seed in seeds]
  try:
    entries = _run(tasks, args)
  except ValueError as error:  # A bad --harvest-bots or --principal.
    print(f"error: {error}", file=sys.stderr)
    return 2
  results = [sv.seed_result_from_json(entry) for entry in entries]
  summaries = [sv.summarise([r for r in results if r.rule == rule])
               for rule in rules]
  options = {k: v for k, v in dataclasses.asdict(config).items()
             if k != "learner"}
  print(f"\n{len(seeds)} seeds ({seeds.start}..{seeds.stop - 1}); {options}; "
        f"learner {config.learner}\n")
  print(sv.markdown_table(summaries))
  run.finish()
  return 0


def _print_ideal(rules, config, profiles: int) -> None:
  """The ideal manipulator's mean profitability per rule, as markdown."""
  objectives = sv.substrate_lib.get_config(config.substrate).objectives
  print(f"\nideal manipulator (voter 0, others sincere), {profiles} "
        f"electorates '{config.electorate}' of {config.players} players\n")
  print("| rule | profitability (95% CI) |\n| --- | --- |")
  for rule in tqdm.tqdm(rules, file=sys.stderr):
    mean, low, high = sv.ideal_profitability_ci(
        rule, config.electorate, players=config.players,
        objectives=objectives, profiles=profiles)
    print(f"| {rule} | {mean:.4f} ({low:.4f}–{high:.4f}) |")


def _run(tasks, args) -> list:
  """Each (rule, seed) task's JSON result, through the parallel runner."""
  if args.cache is not None:
    return parallel.TaskCache(args.cache, workers=args.workers).run(
        sv.run_seed_task, tasks, desc="rule x seed")
  with tqdm.tqdm(total=len(tasks), unit="seed", file=sys.stderr) as bar:
    return parallel.run_tasks(sv.run_seed_task, tasks,
                              lambda index, result: bar.update(1),
                              workers=args.workers)


if __name__ == "__main__":
  sys.exit(main())
