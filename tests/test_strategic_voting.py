"""Strategic voting: ballot learners, the manipulation audit, and Lua."""

import io
import json
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from benchmarks import strategic_voting as benchmark
from experiments import strategic_voting as sv
from umd_meltingpot.social_choice import voting
from umd_meltingpot.social_choice import welfare

OBJECTIVES = welfare.DEFAULT_OBJECTIVES  # (A, B, C) of the compromise types.
A, B, C = 0, 1, 2
COMPROMISE = sv.compromise_types(OBJECTIVES).players
# The truthful rankings (each without its last, the canonical form): the
# ballots of Borda, instant runoff and Copeland.
RA, RB, RC = (A, B), (B, C), (C, B)
RANKINGS = (RA, RA, RB, RB, RC)
# The truthful plurality ballots: the favourites alone.
TRUTHFUL = ((A,), (A,), (B,), (B,), (C,))
# Player 4 votes for its second choice B: the compromise.
COMPROMISE_BALLOTS = ((A,), (A,), (B,), (B,), (B,))


def _learner(row, seed=0, rule="plurality", **config):
  return sv.BallotLearner(row, rule=rule, config=sv.LearnerConfig(**config),
                          rng=np.random.default_rng(seed))


def _setup(rule):
  return sv.ElectionSetup(rule=rule, objectives=OBJECTIVES)


def _state(seed):
  return np.random.default_rng(seed).bit_generator.state


def _round(seed, ballots, utilitarian):
  audit = sv.audit_round(_setup("plurality"), COMPROMISE, ballots, _state(0))
  return sv.RoundResult(
      seed=seed, round=1, audit=audit, objective=OBJECTIVES[audit.winner],
      utilitarian=utilitarian, egalitarian=0.0,
      truthful_utilitarian=utilitarian, truthful_egalitarian=0.0)


class StrategicVotingTest(parameterized.TestCase):

  def test_compromise_types_make_plurality_a_tie_the_minority_can_break(self):
    self.assertEqual(
        tuple(sv.truthful_ballot(row, "plurality") for row in COMPROMISE),
        TRUTHFUL)
    outcome = _setup("plurality").elect(TRUTHFUL, np.random.default_rng(0))
    self.assertEqual(outcome.tied, (A, B))
    outcome = _setup("plurality").elect(COMPROMISE_BALLOTS,
                                        np.random.default_rng(0))
    self.assertEqual(outcome.tied, (B,))

  def test_on_ranked_ballots_the_rules_differ_on_the_compromise_types(self):
    # B is the Condorcet winner (3-2 over A, 4-1 over C); plurality sees
    # only the A/B tie of first places.
    self.assertEqual(sv.condorcet_winner(COMPROMISE), B)
    tied = {rule: _setup(rule).elect(
        [sv.truthful_ballot(row, rule) for row in COMPROMISE],
        np.random.default_rng(0)).tied
            for rule in ("plurality", "borda", "instant_runoff", "copeland")}
    self.assertEqual(tied, {"plurality": (A, B), "borda": (B,),
                            "instant_runoff": (B,), "copeland": (B,)})
    self.assertIsNone(sv.condorcet_winner(
        np.array([[1, .5, 0], [0, 1, .5], [.5, 0, 1]])))  # A cycle.

  def test_learners_have_one_arm_per_full_ranking(self):
    learner = _learner(COMPROMISE[4], rule="borda")
    self.assertEqual(learner.arms, ((0, 1), (0, 2), (1, 0), (1, 2), (2, 0),
                                    (2, 1)))
    self.assertEqual(learner.truthful, RC)
    self.assertEqual(learner.learned_ballot(), RC)  # All values tie at 0.

  def test_learners_choose_among_the_ballots_their_rule_expects(self):
    # Plurality: a favourite; approval: a non-empty proper subset, pressed
    # best first (player 4 ranks C > B > A).
    self.assertEqual(_learner(COMPROMISE[4]).arms, ((A,), (B,), (C,)))
    approval = _learner(COMPROMISE[4], rule="approval")
    self.assertEqual(approval.arms,
                     ((A,), (B,), (C,), (B, A), (C, A), (C, B)))
    self.assertEqual(approval.truthful, (C, B))  # Above the mean 0.57.
    self.assertEqual(_learner(COMPROMISE[0], rule="approval").truthful,
                     (A,))  # 1.0 alone is above the mean 0.47.

  def test_learner_finds_the_compromise_ballot_under_plurality(self):
    # Only player 4 (C > B > A) learns; the others vote truthfully. Voting B
    # makes B win (utility 0.7); voting C leaves an A/B coin flip (0.35).
    learners = [None] * 4 + [_learner(COMPROMISE[4])]
    sv.learn_by_election("plurality", COMPROMISE, learners, rounds=300,
                         rng=np.random.default_rng(1), objectives=OBJECTIVES)
    learner = learners[4]
    self.assertEqual(learner.truthful, (C,))
    self.assertEqual(learner.learned_ballot(), (B,))
    values = dict(zip(learner.arms, learner.values))
    self.assertAlmostEqual(values[(B,)], 0.7, delta=0.05)
    self.assertAlmostEqual(values[(C,)], 0.35, delta=0.15)

  @parameterized.parameters(0, 2, 4)
  def test_random_dictator_truthful_ballot_is_learned(self, player):
    # Strategy-proof: voting for one's favourite is dominant. Player `player`
    # learns among truthful voters; its own ballot is the lottery's outcome
    # with probability 1/5, so the value gap is a fifth of its utility gap
    # (0.08 for player 2): sample means, and enough exploration to see it.
    learners = [None] * 5
    learners[player] = _learner(COMPROMISE[player], seed=player,
                                step_size_floor=1e-4, epsilon_end=0.3)
    sv.learn_by_election("random_dictator", COMPROMISE, learners, rounds=5000,
                         rng=np.random.default_rng(player),
                         objectives=OBJECTIVES)
    self.assertEqual(learners[player].learned_ballot(), TRUTHFUL[player])

  def test_audit_detects_the_compromise_manipulation(self):
    realised = []
    for seed in range(20):
      audit = sv.audit_round(_setup("plurality"), COMPROMISE,
                             COMPROMISE_BALLOTS, _state(seed))
      self.assertEqual(audit.winner, B)
      self.assertEqual(audit.manipulators_expected, (4,))
      # With the same tie-breaking draw, the truthful tie goes to A (then the
      # lie really paid) or to B (then it changed nothing).
      self.assertIn(audit.truthful_winner, (A, B))
      expected_realised = (4,) if audit.truthful_winner == A else ()
      self.assertEqual(audit.manipulators_realised, expected_realised)
      realised.append(audit.manipulated_realised)
      self.assertAlmostEqual(audit.truthful_share, 0.8)
      # Type welfare: B for sure is 0.4+0.4+1+1+0.7; the tie is the mean of
      # A (1+1) and B.
      self.assertAlmostEqual(audit.type_welfare, 3.5)
      self.assertAlmostEqual(audit.truthful_type_welfare, (2.0 + 3.5) / 2)
    self.assertTrue(any(realised))
    self.assertFalse(all(realised))

  @parameterized.parameters(
      # Player 4 hands A the win: worse than the A/B tie.
      (((A,), (A,), (B,), (B,), (A,)),),
      # Player 0 hands B the win: worse than the A/B tie.
      (((B,), (A,), (B,), (B,), (C,)),),
      # Player 3 makes it an A/C tie: worse than A/B.
      (((A,), (A,), (B,), (C,), (C,)),),
      # Player 1 makes it a B/C tie: worse than A/B.
      (((A,), (C,), (B,), (B,), (C,)),),
  )
  def test_audit_ignores_deviations_that_do_not_pay(self, ballots):
    for seed in range(10):
      audit = sv.audit_round(_setup("plurality"), COMPROMISE, ballots,
                             _state(seed))
      self.assertLess(audit.truthful_share, 1.0)
      self.assertFalse(audit.manipulated_expected, audit)
      self.assertFalse(audit.manipulated_realised, audit)

  def test_random_dictator_deviations_never_manipulate(self):
    for tops in np.ndindex(3, 3, 3, 3, 3):
      ballots = [(t,) for t in tops]
      audit = sv.audit_round(_setup("random_dictator"), COMPROMISE, ballots,
                             _state(0))
      self.assertFalse(audit.manipulated_expected)
      self.assertFalse(audit.manipulated_realised)

  def test_the_audit_replays_the_wrappers_tie_break(self):
    rng = np.random.default_rng(7)
    state = rng.bit_generator.state
    profile = voting.Profile(alternatives=OBJECTIVES, kind="ranking",
                             ballots=TRUTHFUL)
    winner = voting.elect("plurality", profile, rng=rng).winner
    audit = sv.audit_round(_setup("plurality"), COMPROMISE, TRUTHFUL, state)
    self.assertEqual(audit.winner, winner)

  @parameterized.parameters(
      (lambda: sv.check_rules(["plurality", "bogus"]), "valid rules"),
      (lambda: sv.make_electorate("bogus", num_players=5,
                                  objectives=OBJECTIVES, seed=0),
       "compromise"),
      (lambda: sv.make_electorate("compromise", num_players=4,
                                  objectives=OBJECTIVES, seed=0), "5 players"),
      (lambda: sv.LearningConfig(electorate="bogus"), "compromise"),
      (lambda: sv.LearningConfig(players=4), "5 players"),
      (lambda: sv.LearningConfig(substrate="bogus"), "bogus"),
      (lambda: sv.LearnerConfig(epsilon_end=2.0), r"\[0, 1\]"),
      (lambda: sv.LearnerConfig(step_size_floor=0.0), r"\(0, 1\]"),
      (lambda: sv.LearnerConfig(epsilon_decay_rounds=0),
       "epsilon_decay_rounds must be an integer >= 1"),
      (lambda: sv.LearningConfig(train_rounds=0),
       "train_rounds must be an integer >= 1"),
      (lambda: sv.LearningConfig(train_harvest_steps=1.5),
       "train_harvest_steps must be an integer >= 1"),
  )
  def test_bad_input_raises_value_error(self, call, match):
    with self.assertRaisesRegex(ValueError, match):
      call()

  def test_ballots_cast_through_lua_reach_the_wrappers_record(self):
    prefs = sv.compromise_types(OBJECTIVES)
    config = sv.LearningConfig(train_rounds=30, train_rounds_per_game=15,
                               eval_rounds=2, eval_harvest_steps=3)
    learners = sv.train_ballots("plurality", prefs, config, seed=3)
    for learner in learners:
      # Every round's ballot was counted.
      self.assertEqual(learner.counts.sum(), 30)
    # Set player 4 to the compromise by hand, the others to the truth.
    learners = sv.make_learners(prefs, rule="plurality",
                                config=config.learner, seed=0)
    learners[4].update((B,), winner=B)
    rounds = sv.evaluate_ballots("plurality", prefs, config, learners, seed=3)
    self.assertLen(rounds, 2)
    for result in rounds:
      # From RoundRecord: the rankings Lua recorded.
      self.assertEqual(result.audit.ballots, COMPROMISE_BALLOTS)
      self.assertEqual(result.audit.condorcet_winner, B)
      self.assertEqual(result.objective, OBJECTIVES[B])
      self.assertEqual(result.audit.manipulators_expected, (4,))

  @parameterized.parameters("plurality", "approval", "copeland")
  def test_training_on_elections_ends_where_training_through_lua_does(
      self, rule):
    # Same ballots, draws and tie-breaks: the same values and counts, over
    # two games (plurality ties often on 5 voters, so the draws matter).
    prefs = sv.make_electorate("uniform", num_players=5,
                               objectives=OBJECTIVES, seed=4)
    trained = {}
    for where in ("substrate", "elections"):
      config = sv.LearningConfig(electorate="uniform", train_rounds=24,
                                 train_rounds_per_game=12, train_on=where)
      trained[where] = sv.train_ballots(rule, prefs, config, seed=4)
    for lua, bare in zip(trained["substrate"], trained["elections"]):
      self.assertEqual(lua.counts.sum(), 24)
      np.testing.assert_array_equal(lua.counts, bare.counts)
      np.testing.assert_array_equal(lua.values, bare.values)

  def test_seed_results_survive_the_task_caches_json(self):
    config = sv.LearningConfig(train_rounds=10, eval_rounds=2,
                               eval_harvest_steps=3, train_on="elections")
    result = sv.run_rule("approval", config, seed=1)
    entry = json.loads(json.dumps(sv.seed_result_to_json(result)))
    back = sv.seed_result_from_json(entry)
    self.assertEqual(back.rounds, result.rounds)
    self.assertEqual((back.rule, back.seed), (result.rule, result.seed))
    self.assertEqual(back.learned_ballots, result.learned_ballots)
    self.assertEqual(back.truthful_ballots, result.truthful_ballots)
    np.testing.assert_array_equal(back.preferences.utilities,
                                  result.preferences.utilities)
    self.assertEqual(sv.markdown_table([sv.summarise([back])]),
                     sv.markdown_table([sv.summarise([result])]))

  def test_summary_pools_rounds_and_bootstraps_whole_seeds(self):
    # Seed 0: a compromise round (manipulated) and a truthful one; seed 1: a
    # compromise round. Pooled: 2 of 3 rounds manipulated, utilitarian
    # (4 + 2 + 6) / 3. Resampling whole seeds gives seed 0 twice (1/2, 3),
    # seed 1 twice (1, 6) or one of each (2/3, 4), each pair of draws with
    # probability >= 1/4: the 95% CI runs from the first to the last.
    prefs = sv.compromise_types(OBJECTIVES)
    results = [
        sv.SeedResult(rule="plurality", seed=seed, preferences=prefs,
                      learned_ballots=(), truthful_ballots=TRUTHFUL,
                      rounds=tuple(rounds))
        for seed, rounds in enumerate([
            [_round(0, COMPROMISE_BALLOTS, 4.0), _round(0, TRUTHFUL, 2.0)],
            [_round(1, COMPROMISE_BALLOTS, 6.0)]])]
    summary = sv.summarise(results)
    self.assertEqual((summary.seeds, summary.rounds), (2, 3))
    np.testing.assert_allclose(summary.manipulation_expected,
                               (2 / 3, 0.5, 1.0), rtol=1e-6)
    np.testing.assert_allclose(summary.utilitarian, (4.0, 3.0, 6.0),
                               rtol=1e-6)
    self.assertAlmostEqual(summary.truthful_share, (0.8 + 1.0 + 0.8) / 3)
    # B, the Condorcet winner, wins the compromise rounds; the truthful
    # round's winner is the A/B tie-break of `_state(0)`.
    self.assertEqual(summary.condorcet_rounds, 3)
    self.assertGreaterEqual(summary.condorcet_efficiency[0], 2 / 3)
    # Truthful minus learned Σθ, paired by round: the compromise rounds
    # gain 3.5 - 2.75 each, the truthful round nothing.
    self.assertAlmostEqual(summary.type_welfare_loss[0], -0.5)
    row = sv.markdown_table([summary]).splitlines()[2]
    self.assertStartsWith(row, "| plurality | 0.67 (0.50–1.00) |", row)


  def test_ideal_manipulator_gains_the_compromise_under_plurality(self):
    # Player 4 (C > B > A; 0, 0.7, 1) votes B: 0.7 for sure instead of the
    # A/B coin flip's 0.35, over a utility spread of 1.
    self.assertAlmostEqual(
        sv.ideal_profitability("plurality", COMPROMISE, voter=4), 0.35)
    # Borda already elects B, player 2's favourite: nothing to gain.
    self.assertEqual(sv.ideal_profitability("borda", COMPROMISE, voter=2),
                     0.0)

  def test_ideal_manipulator_never_gains_against_random_dictator(self):
    rng = np.random.default_rng(3)
    for _ in range(30):
      self.assertEqual(sv.ideal_profitability(
          "random_dictator", rng.random((5, 3))), 0.0)


class BenchmarkTest(parameterized.TestCase):

  @parameterized.parameters((["--workers", "-1"], "workers must be"),
                            (["--cache", "/proc/no/cache.jsonl"],
                             "--cache /proc/no is not writable"),
                            (["--rules", "bogus"], "valid rules"))
  def test_bad_flags_exit_2_in_one_line(self, flags, message):
    with mock.patch("sys.stderr", new_callable=io.StringIO) as stderr:
      self.assertEqual(benchmark.main(flags), 2)
    self.assertIn(message, stderr.getvalue())
    self.assertLen(stderr.getvalue().strip().splitlines(), 1)

  def test_the_cache_keeps_each_rule_and_seed_and_a_rerun_reuses_it(self):
    cache = self.create_tempdir().full_path + "/new/sv.jsonl"
    flags = ["--rules", "approval", "--seeds", "2", "--train-rounds", "5",
             "--train-on", "elections", "--cache", cache]
    tables = []
    for _ in range(2):
      with mock.patch("sys.stdout", new_callable=io.StringIO) as stdout, \
          mock.patch("sys.stderr", new_callable=io.StringIO):
        self.assertEqual(benchmark.main(flags), 0)
      tables.append(stdout.getvalue().split("| approval |")[1])
    with open(cache, encoding="utf-8") as lines:
      self.assertLen(lines.readlines(), 2)  # Played once, then reused.
    self.assertEqual(tables[0], tables[1])


if __name__ == "__main__":
  absltest.main()
