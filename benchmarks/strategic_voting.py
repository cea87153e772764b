"""Strategic voting per social-choice rule, on the substrate (issues 5, 12).

Each follower learns its ranked ballot with an ε-greedy bandit over the 6
rankings of 3 objectives (cast with VOTE_* presses), rewarded by its own
type utility of the elected objective (see `experiments/strategic_voting.py`);
training games shorten the harvest to one step, since the ballot reward
does not depend on it. The learned ballots are then cast through Lua in one
full game per seed (and the same game is played with truthful ballots).
Printed per rule, as a markdown table, with 95% cluster-bootstrap CIs over
seeds: the manipulation rate (rounds in which some player's learned ballot
differs from its truthful one and changes the outcome in its favour;
expected over the rule's randomness, and realised with the same
tie-breaking draw), the truthful-ballot share, the Condorcet efficiency
(the share of rounds with a Condorcet winner of the true types that elect
it) under learned and truthful ballots, the type welfare Σθ(winner) under
both, the winner distributions and the realised welfare.

  .venv/bin/python benchmarks/strategic_voting.py --seeds 10
  .venv/bin/python benchmarks/strategic_voting.py --electorate uniform \\
      --rules plurality,random_dictator --seeds 20
"""

import argparse
import dataclasses
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The experiment lives in the repository's top-level `experiments/`, which is
# not installed: run from a checkout.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tqdm  # pylint: disable=g-import-not-at-top

from experiments import strategic_voting as sv  # pylint: disable=g-import-not-at-top
from umd_meltingpot.social_choice import voting  # pylint: disable=g-import-not-at-top


def parse_args(argv=None) -> argparse.Namespace:
  defaults = sv.LearningConfig()
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  parser.add_argument("--rules", default=",".join(voting.RULES),
                      help="comma-separated rules (default: all of "
                      f"{','.join(voting.RULES)})")
  parser.add_argument("--seeds", type=int, default=10,
                      help="seeds per rule (default: %(default)s)")
  parser.add_argument("--first-seed", type=int, default=0)
  parser.add_argument("--electorate", default=defaults.electorate,
                      help="compromise (5 players) or a preferences spec: "
                      "uniform, mallows:PHI, ... (default: %(default)s)")
  parser.add_argument("--players", type=int, default=defaults.players)
  parser.add_argument("--substrate", default=defaults.substrate)
  parser.add_argument("--train-rounds", type=int,
                      default=defaults.train_rounds)
  parser.add_argument("--harvest-bots", default=defaults.harvest_bots,
                      help="bots for the harvest, cycled over the players")
  parser.add_argument("--principal", default=defaults.principal,
                      help="the evaluation game's principal: a name or a "
                      "checkpoint (played frozen)")
  parser.add_argument("--delta", type=float, default=defaults.delta,
                      help="the evaluation game's bound (inf: none)")
  return parser.parse_args(argv)


def main(argv=None) -> int:
  args = parse_args(argv)
  try:
    rules = sv.check_rules(
        [rule.strip() for rule in args.rules.split(",") if rule.strip()])
    if args.seeds < 1:
      raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    config = sv.LearningConfig(
        substrate=args.substrate, electorate=args.electorate,
        players=args.players, train_rounds=args.train_rounds,
        harvest_bots=args.harvest_bots, principal=args.principal,
        delta=args.delta)
    sv.prepare_evaluation(config, rule=rules[0], seed=args.first_seed)
  except ValueError as error:
    print(f"error: {error}", file=sys.stderr)
    return 2
  seeds = range(args.first_seed, args.first_seed + args.seeds)
  summaries = []
  with tqdm.tqdm(total=len(rules) * len(seeds) * config.train_rounds,
                 unit="round", file=sys.stderr) as bar:
    for rule in rules:
      bar.set_description(rule)
      try:
        results = [sv.run_rule(rule, config, seed=seed,
                               on_round=lambda: bar.update(1))
                   for seed in seeds]
      except ValueError as error:  # A bad --harvest-bots or --principal.
        print(f"error: {error}", file=sys.stderr)
        return 2
      summaries.append(sv.summarise(results))
  options = {k: v for k, v in dataclasses.asdict(config).items()
             if k != "learner"}
  print(f"\n{len(seeds)} seeds ({seeds.start}..{seeds.stop - 1}); {options}; "
        f"learner {config.learner}\n")
  print(sv.markdown_table(summaries))
  return 0


if __name__ == "__main__":
  sys.exit(main())
