"""How often the social choice rules disagree on ranked ballots (issue 12).

Every profile of `num_voters` full rankings over `m` alternatives is
counted under every rule in `voting.RULES`, and for each pair of rules the
share of profiles whose winning sets (`Outcome.tied`, before any
tie-breaking) differ is reported. The rules are anonymous, so a profile's
winning sets depend only on how many voters cast each ranking: the
`(m!)^n` ordered profiles are enumerated as multisets of rankings, each
weighted by the number of orderings it stands for (a multinomial
coefficient). The shares are therefore exact shares over all ordered
profiles (impartial culture).

  .venv/bin/python experiments/rule_differences.py --voters 5 --alternatives 3
"""

import argparse
import collections
import itertools
import math
import os
import sys
from typing import Mapping, Sequence

import numpy as np

# Run as a script from a checkout: the repository root holds `umd_meltingpot`.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from umd_meltingpot.social_choice import voting  # pylint: disable=g-import-not-at-top


def winning_sets(rules: Sequence[str], num_voters: int, m: int
                 ) -> list[tuple[int, dict[str, tuple[int, ...]]]]:
  """Each anonymous profile's weight (ordered profiles it stands for) and
  the winning set of every rule on it."""
  rankings = list(itertools.permutations(range(m)))
  alternatives = tuple(f"o{a}" for a in range(m))
  rng = np.random.default_rng(0)  # Only draws a winner; `tied` is kept.
  result = []
  for multiset in itertools.combinations_with_replacement(
      range(len(rankings)), num_voters):
    counts = collections.Counter(multiset).values()
    weight = math.factorial(num_voters) // math.prod(
        math.factorial(c) for c in counts)
    profile = voting.Profile(alternatives, "ranking",
                             [rankings[i] for i in multiset])
    result.append((weight, {rule: voting.elect(rule, profile, rng=rng).tied
                            for rule in rules}))
  return result


def disagreement_shares(rules: Sequence[str], num_voters: int, m: int
                        ) -> dict[tuple[str, str], float]:
  """For each pair of `rules` (in their order), the share of all ordered
  profiles of `num_voters` full rankings of `m` alternatives on which their
  winning sets differ."""
  profiles = winning_sets(rules, num_voters, m)
  total = sum(weight for weight, _ in profiles)
  assert total == math.factorial(m) ** num_voters, total
  return {
      (a, b): sum(weight for weight, tied in profiles
                  if tied[a] != tied[b]) / total
      for a, b in itertools.combinations(rules, 2)}


def markdown_table(rules: Sequence[str],
                   shares: Mapping[tuple[str, str], float]) -> str:
  """The shares as a symmetric markdown table, a row and column per rule."""
  lines = ["| | " + " | ".join(rules) + " |",
           "| --- " * (len(rules) + 1) + "|"]
  for a in rules:
    cells = []
    for b in rules:
      share = 0.0 if a == b else shares.get((a, b), shares.get((b, a)))
      cells.append("–" if a == b else f"{share:.3f}")
    lines.append(f"| {a} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawTextHelpFormatter)
  parser.add_argument("--voters", type=int, default=5)
  parser.add_argument("--alternatives", type=int, default=3)
  args = parser.parse_args(argv)
  if args.voters < 1 or args.alternatives < 2:
    print("error: --voters must be >= 1 and --alternatives >= 2",
          file=sys.stderr)
    return 2
  rules = tuple(voting.RULES)
  shares = disagreement_shares(rules, args.voters, args.alternatives)
  print(f"Share of the {math.factorial(args.alternatives)}^{args.voters} "
        f"ordered profiles of full rankings on which two rules' winning sets "
        f"differ:\n")
  print(markdown_table(rules, shares))
  return 0


if __name__ == "__main__":
  sys.exit(main())
