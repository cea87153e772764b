"""The README's textbook profile from the command line (issue 23).

`--objectives` sets the ballot and `--preferences 'fixed:N*A>B>...;...'`
the players' full rankings by groups. With the README's 15 players (after
the Math Club election of Tannenbaum's Excursions in Modern Mathematics),
plurality, instant runoff, Borda and Copeland each elect a different
objective, with no tie: counted by hand here, then played through `umd run`.
"""

import contextlib
import io
import json
import pathlib

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from tests import helpers
from umd_meltingpot.social_choice import preferences
from umd_meltingpot.social_choice import voting

OBJECTIVES = ("utilitarian", "egalitarian", "nash", "power_mean")
GROUPS = (
    (5, ("utilitarian", "egalitarian", "nash", "power_mean")),
    (4, ("nash", "egalitarian", "power_mean", "utilitarian")),
    (4, ("power_mean", "nash", "egalitarian", "utilitarian")),
    (2, ("egalitarian", "power_mean", "nash", "utilitarian")),
)
SPEC = "fixed:" + ";".join(f"{count}*{'>'.join(ranking)}"
                           for count, ranking in GROUPS)
PLAYERS = sum(count for count, _ in GROUPS)

# Each rule's winner and its tally (`voting.Outcome.scores`), by hand:
# first places 5, 2, 4, 4; Borda 3 per first place down to 0, e.g.
# egalitarian 5*2 + 4*2 + 4*1 + 2*3 = 28; Copeland wins minus losses, nash
# beating each other objective (10-5, 8-7, 9-6). Instant runoff drops
# egalitarian (2), then nash (4), all their voters moving to power_mean.
WINNERS = {
    "plurality": ("utilitarian", (5, 2, 4, 4)),
    "instant_runoff": ("power_mean", (5, 2, 4, 4)),
    "borda": ("egalitarian", (15, 28, 27, 20)),
    "copeland": ("nash", (-3, 1, 3, -1)),
}

_COMMAND = ["run", "--players", str(PLAYERS), "--objectives",
            ",".join(OBJECTIVES), "--preferences", SPEC, "--ballots",
            "types", "--rounds", "1", "--steps", "1", "--quiet"]


def _types() -> preferences.Preferences:
  return preferences.from_spec(SPEC, num_players=PLAYERS,
                               objectives=OBJECTIVES,
                               rng=np.random.default_rng(0))


class TextbookProfileTest(parameterized.TestCase):

  def test_four_rules_elect_four_objectives(self):
    self.assertLen({winner for winner, _ in WINNERS.values()}, 4)

  @parameterized.parameters(*WINNERS)
  def test_rule_elects_its_winner_from_the_typed_ballots(self, rule):
    prefs = _types()
    profile = voting.Profile(
        alternatives=OBJECTIVES, kind="ranking",
        ballots=[voting.truthful_ballot(u, rule) for u in prefs.players])
    outcome = voting.elect(rule, profile, rng=np.random.default_rng(0))
    winner, scores = WINNERS[rule]
    self.assertEqual(outcome.winner_name, winner)
    self.assertEqual(outcome.tied, (OBJECTIVES.index(winner),))
    self.assertEqual(outcome.scores, scores)

  def test_types_rank_as_the_groups_say(self):
    rankings = _types().rankings()
    expected = [ranking for count, ranking in GROUPS for _ in range(count)]
    # Row 0, the principal, takes the first group's ranking.
    self.assertEqual(
        [tuple(OBJECTIVES[a] for a in row) for row in rankings],
        [GROUPS[0][1], *expected])

  @parameterized.parameters(*WINNERS)
  def test_umd_run_elects_and_prints_the_winner(self, rule):
    out = pathlib.Path(self.create_tempdir().full_path) / "run"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
      code, stderr = helpers.umd_with_stderr(*_COMMAND, "--rule", rule,
                                             "--out", str(out))
    self.assertEqual(code, 0, stderr)
    (record,) = [json.loads(line) for line in
                 (out / "rounds.jsonl").read_text().splitlines()]
    winner, scores = WINNERS[rule]
    self.assertEqual(record["objectives"], list(OBJECTIVES))
    self.assertEqual(record["objective"], winner)
    self.assertEqual(record["winners"], [winner])
    self.assertFalse(record["tie_broken"])
    self.assertEqual(record["scores"], list(scores))
    # The round's line of the table `umd run` prints names the winner.
    (line,) = [line for line in stdout.getvalue().splitlines()
               if line.split()[:1] == ["1"]]
    self.assertEqual(line.split()[1], winner)

  def test_readme_shows_this_profile_and_its_winners(self):
    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    self.assertIn(f"--players {PLAYERS} --objectives {','.join(OBJECTIVES)}",
                  readme)
    self.assertIn(f"--preferences '{SPEC}'", readme)
    for rule, (winner, _) in WINNERS.items():
      self.assertIn(f"| `{rule}` | `{winner}` |", readme)


if __name__ == "__main__":
  absltest.main()
