"""Principal checkpoints, `umd train principal`, its old spelling `umd train
--principal NAME`, and `umd run --principal PATH`."""

import json
import os
import pathlib
import re

os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

from absl.testing import absltest  # pylint: disable=g-import-not-at-top
from absl.testing import parameterized
import numpy as np

from tests import helpers
from umd_meltingpot import principal as principal_lib
from umd_meltingpot.principal import checkpoint
from umd_meltingpot.principal import registry

_SCHEDULE = principal_lib.TaxSchedule((0.0, 0.1, 0.2), (5.0, 10.0))
_TINY = ["--substrate", "umd_apple_harvest__small", "--rounds", "2",
         "--steps", "15", "--vote-steps", "2"]
# The tiny game with the shipped conditioned followers' brackets and cap.
_TINY_CONDITIONED = [*_TINY, "--brackets", "1,2", "--max-rate", "4",
                     "--bots", "ppo_conditioned", "--delta", "inf"]


def _lines(path: pathlib.Path) -> list[dict]:
  return [json.loads(line) for line in path.read_text().splitlines()]


def _play_rounds(principal: principal_lib.Principal, rounds: range,
                 rates: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
  """Feeds `rounds` of a made-up objective; returns the last rates and the
  proposals."""
  proposals = []
  for round_index in rounds:
    observation = principal_lib.RoundObservation(
        round_index=round_index, previous_rates=rates, edges=_SCHEDULE.edges,
        objective="utilitarian")
    rates = np.clip(principal.propose(observation, "utilitarian"), 0, 1)
    proposals.append(rates)
    principal.update(principal_lib.RoundFeedback(
        round_index=round_index, objective="utilitarian",
        objective_value=float(round_index * round_index % 5) - float(
            np.sum((rates - 0.4) ** 2)), rates=rates, returns=np.ones(4)))
  return rates, proposals


def _trained(name: str, rounds: int = 6) -> principal_lib.Principal:
  """A principal fed `rounds` rounds of a made-up objective."""
  principal = principal_lib.make_principal(name, schedule=_SCHEDULE,
                                           delta=0.1, seed=2)
  _play_rounds(principal, range(rounds), _SCHEDULE.as_array())
  return principal


def _proposals(principal: principal_lib.Principal) -> np.ndarray:
  observation = principal_lib.RoundObservation(
      round_index=0, previous_rates=np.full(3, 0.5), edges=_SCHEDULE.edges,
      objective="egalitarian")
  return np.stack([principal.propose(observation, objective)
                   for objective in ("utilitarian", "egalitarian") * 3])


class CheckpointTest(parameterized.TestCase):

  @parameterized.parameters(*principal_lib.CHECKPOINTABLE)
  def test_round_trip_gives_the_same_next_proposals(self, name):
    principal = _trained(name)
    path = pathlib.Path(self.create_tempdir().full_path, "p.npz")
    checkpoint.save(path, name, principal, _SCHEDULE, counters={"games": 7})
    loaded = checkpoint.load(path, num_brackets=3, delta=0.1)
    self.assertEqual((loaded.name, loaded.counters), (name, {"games": 7}))
    self.assertTrue(path.with_suffix(".json").is_file())
    np.testing.assert_array_equal(_proposals(loaded.principal),
                                  _proposals(principal))

  def test_bad_checkpoints_raise_value_error(self):
    folder = pathlib.Path(self.create_tempdir().full_path)
    with self.assertRaisesRegex(ValueError, "No principal checkpoint"):
      checkpoint.load(folder / "missing.npz")
    (folder / "garbage.npz").write_bytes(b"not a zip file")
    with self.assertRaisesRegex(ValueError, "not a readable"):
      checkpoint.load(folder / "garbage.npz")
    np.savez(folder / "other.npz", x=np.zeros(2))
    with self.assertRaisesRegex(ValueError, "no header"):
      checkpoint.load(folder / "other.npz")
    checkpoint.save(folder / "p.npz", "bandit", _trained("bandit"), _SCHEDULE)
    with self.assertRaisesRegex(ValueError, "3 brackets, but the game has 2"):
      checkpoint.load(folder / "p.npz", num_brackets=2)

  @parameterized.parameters(0, 7, 17, 21)
  def test_cma_replays_its_generations_exactly(self, rounds):
    # 7 is one generation (popsize 7 for k=3), 17 leaves one open with 3
    # candidates played, 21 ends on a told generation.
    principal = _trained("cma", rounds)
    path = pathlib.Path(self.create_tempdir().full_path, "p.npz")
    checkpoint.save(path, "cma", principal, _SCHEDULE)
    loaded = checkpoint.load(path, num_brackets=3, delta=0.1).principal
    rates = np.full(3, 0.3)
    after = range(rounds, rounds + 16)
    _, expected = _play_rounds(principal, after, rates)
    _, actual = _play_rounds(loaded, after, rates)
    np.testing.assert_array_equal(np.stack(actual), np.stack(expected))
    self.assertEqual(loaded.evaluations("utilitarian"),
                     principal.evaluations("utilitarian"))

  def test_other_principals_are_refused_naming_the_supported_ones(self):
    fixed = principal_lib.make_principal("fixed", schedule=_SCHEDULE)
    # The list is the registry's, whatever principals it holds.
    supported = re.escape(str(sorted(registry.CHECKPOINTABLE)))
    with self.assertRaisesRegex(ValueError, supported):
      checkpoint.save(self.create_tempdir().full_path + "/p.npz", "fixed",
                      fixed, _SCHEDULE)


class PrincipalTrainingTest(absltest.TestCase):

  def test_cma_trains_resumes_and_runs(self):
    run = pathlib.Path(self.create_tempdir().full_path, "run")
    self.assertEqual(helpers.umd("train", "principal", "--principal", "cma",
                                 *_TINY, "--games", "3", "--out", str(run),
                                 "--quiet"), 0)
    self.assertEqual(helpers.umd("train", "principal", "--resume", str(run),
                                 "--games", "5", "--quiet"), 0)
    self.assertEqual([r["games"] for r in _lines(run / "metrics.jsonl")],
                     [1, 2, 3, 4, 5])
    self.assertEqual(helpers.umd("run", "--principal",
                                 str(run / "principal.npz"), *_TINY, "--out",
                                 str(run / "play")), 0)
    # Frozen, CMA-ES plays its mean every round.
    self.assertEqual(helpers.umd("run", "--principal",
                                 str(run / "principal.npz"), *_TINY, "--delta",
                                 "inf", "--freeze-principal", "--out",
                                 str(run / "frozen")), 0)
    phis = [r["phi"] for r in _lines(run / "frozen" / "rounds.jsonl")]
    self.assertLen(phis, 2)
    self.assertEqual(phis[0], phis[1])

  def test_train_resume_and_run_with_the_checkpoint(self):
    run = pathlib.Path(self.create_tempdir().full_path, "run")
    self.assertEqual(helpers.umd("train", "principal", "--principal", "bandit",
                                 *_TINY, "--games", "3", "--checkpoint-every",
                                 "2", "--out", str(run), "--quiet"), 0)
    self.assertContainsSubset(
        ["config.json", "metrics.jsonl", "principal.json", "principal.npz"],
        os.listdir(run))
    self.assertEqual([r["games"] for r in _lines(run / "metrics.jsonl")],
                     [1, 2, 3])
    self.assertEqual(checkpoint.load(run / "principal.npz").counters["games"],
                     3)
    self.assertEqual(helpers.umd("train", "principal", "--resume", str(run),
                                 "--games", "5", "--quiet"), 0)
    self.assertEqual([r["games"] for r in _lines(run / "metrics.jsonl")],
                     [1, 2, 3, 4, 5])
    play = run.parent / "play"
    self.assertEqual(helpers.umd("run", "--principal",
                                 str(run / "principal.npz"), *_TINY, "--rounds",
                                 "3", "--delta", "0.05", "--quiet", "--out",
                                 str(play)), 0)
    rounds = _lines(play / "rounds.jsonl")
    self.assertLen(rounds, 3)
    for record in rounds:
      self.assertLessEqual(record["divergence"], 0.05 + 1e-9)

  def test_same_seed_same_games(self):
    folder = pathlib.Path(self.create_tempdir().full_path)
    for name in ("a", "b"):
      helpers.umd("train", "principal", "--principal", "thompson", *_TINY,
                  "--games", "2", "--seed", "4", "--out", str(folder / name),
                  "--quiet")
    a, b = (_lines(folder / name / "metrics.jsonl") for name in ("a", "b"))
    for record in a + b:
      del record["time_s"]
    self.assertEqual(a, b)

  def test_old_spelling_trains_and_resumes_the_same_way(self):
    folder = pathlib.Path(self.create_tempdir().full_path)
    new, old = folder / "new", folder / "old"
    flags = ["--principal", "thompson", *_TINY, "--seed", "4", "--quiet"]
    self.assertEqual(helpers.umd("train", "principal", *flags, "--games", "2",
                                 "--out", str(new)), 0)
    self.assertEqual(helpers.umd("train", "principal", "--resume", str(new),
                                 "--games", "3", "--quiet"), 0)
    for args in ([*flags, "--games", "2", "--out", str(old)],
                 ["--resume", str(old), "--games", "3", "--quiet"]):
      code, stderr = helpers.umd_with_stderr("train", *args)
      self.assertEqual(code, 0)
      # One line, naming the new spelling of this very command.
      self.assertEqual(stderr.splitlines(), [
          "umd train: deprecated spelling (umd train JOB is the new one); "
          f"use: umd train principal {' '.join(args)}"])
    a, b = (_lines(run / "metrics.jsonl") for run in (new, old))
    for record in a + b:
      del record["time_s"]
    self.assertEqual([r["games"] for r in a], [1, 2, 3])
    self.assertEqual(a, b)

  def test_bad_principal_checkpoints_exit_2_before_writing(self):
    folder = pathlib.Path(self.create_tempdir().full_path)
    (folder / "bad.npz").write_bytes(b"corrupt")
    for spec, command in (("nope", ["run"]),
                          (str(folder / "bad.npz"), ["run"]),
                          ("nope", ["train", "principal"])):
      code, stderr = helpers.umd_with_stderr(
          *command, "--principal", spec, "--out", str(folder / "o"))
      self.assertEqual(code, 2, spec)
      self.assertNotIn("Traceback", stderr)
      self.assertFalse((folder / "o").exists())


class ConditionedFollowersTest(absltest.TestCase):
  """Principals against the shipped conditioned PPO followers."""

  def test_ucb_constant_trains_resumes_and_plays_its_checkpoint(self):
    run = pathlib.Path(self.create_tempdir().full_path, "run")
    self.assertEqual(helpers.umd(
        "train", "principal", "--principal", "ucb_constant",
        *_TINY_CONDITIONED, "--preferences", "fixed:utilitarian", "--games",
        "2", "--out", str(run), "--quiet"), 0)
    self.assertEqual(helpers.umd("train", "principal", "--resume", str(run),
                                 "--games", "3", "--quiet"), 0)
    records = _lines(run / "metrics.jsonl")
    # One flat arm per game (one objective), from no tax up, across the
    # resume: 0, then 0.4, then 0.8.
    self.assertEqual([r["phi"] for r in records],
                     [[0.0] * 3, [0.4] * 3, [0.8] * 3])
    loaded = checkpoint.load(run / "principal.npz")
    self.assertEqual(loaded.game["max_rate"], 4.0)
    self.assertEqual(helpers.umd(
        "run", "--principal", str(run / "principal.npz"), *_TINY_CONDITIONED,
        "--freeze-principal", "--quiet", "--out", str(run / "play")), 0)
    self.assertLen(_lines(run / "play" / "rounds.jsonl"), 2)

  def test_adapting_followers_resume_after_kill_9(self):
    run = pathlib.Path(self.create_tempdir().full_path, "run")
    helpers.kill_9_past_a_checkpoint(helpers.umd_command(
        "train", "principal", "--principal", "rl", *_TINY_CONDITIONED,
        "--adapt-followers", "1", "--games", "1000", "--seed", "3",
        "--checkpoint-every", "1", "--quiet", "--out", str(run)),
                                     run / "principal.json", "games", 1)
    games = checkpoint.load(run / "principal.npz").counters["games"]
    self.assertEqual(helpers.umd("train", "principal", "--resume", str(run),
                                 "--games", str(games + 1), "--quiet"), 0)
    records = _lines(run / "metrics.jsonl")
    self.assertEqual([r["games"] for r in records],
                     list(range(1, games + 2)))
    # One update after each game, counted on across the kill.
    self.assertEqual([r["followers/updates"] for r in records],
                     list(range(1, games + 2)))
    followers = run / "followers"
    self.assertEqual(sorted(p.name for p in followers.glob("games-*.npz")),
                     [f"games-{games + 1}.npz"])
    saved = json.loads((followers / f"games-{games + 1}.json").read_text())
    self.assertEqual(saved["counters"]["updates"], games + 1)
    # The adapted followers and the principal play a game together.
    self.assertEqual(helpers.umd(
        "run", "--principal", str(run / "principal.npz"), *_TINY_CONDITIONED,
        "--bots", f"ppo:{followers / 'current.npz'}", "--quiet", "--out",
        str(run / "play")), 0)

  def test_follower_snapshots_outlive_a_kill_before_the_principal_save(self):
    from umd_meltingpot.training import adaptive_followers  # pylint: disable=g-import-not-at-top
    folder = pathlib.Path(self.create_tempdir().full_path, "followers")
    followers = adaptive_followers.AdaptiveFollowers(
        adaptive_followers.source_checkpoint("ppo_conditioned"), updates=1,
        envs=1, seed=0, folder=folder)
    followers.save(1)
    followers.save(2)  # Killed here: the principal's checkpoint says 1.
    self.assertEqual(sorted(p.name for p in folder.glob("games-*.npz")),
                     ["games-1.npz", "games-2.npz"])
    followers.restore(1)
    followers.prune(2)  # Once the principal's checkpoint says 2.
    self.assertEqual([p.name for p in folder.glob("games-*.npz")],
                     ["games-2.npz"])
    self.assertEqual([p.name for p in folder.glob("games-*.json")],
                     ["games-2.json"])

  def test_adapting_needs_one_ppo_follower(self):
    out = pathlib.Path(self.create_tempdir().full_path, "run")
    for bots in ("greedy", "ppo,greedy"):
      code, stderr = helpers.umd_with_stderr(
          "train", "principal", "--principal", "ucb_constant", *_TINY,
          "--bots", bots, "--adapt-followers", "2", "--out", str(out),
          "--quiet")
      self.assertEqual(code, 2, stderr)
      self.assertIn("--bots must name one (ppo, ppo_conditioned",
                    stderr.splitlines()[-1])
      self.assertNotIn("Traceback", stderr)
      self.assertFalse(out.exists())


def _principal_arrays(path: pathlib.Path) -> dict[str, np.ndarray]:
  with np.load(path) as saved:
    return {key: saved[key] for key in saved.files if key != "header"}


class BayesOptTrainingTest(absltest.TestCase):
  """`umd train principal --principal bo` (issue 21): parallel games that do
  not change the result, and kill -9 resume with the sampler's history."""

  def _train(self, out: pathlib.Path, *flags: str) -> None:
    self.assertEqual(helpers.umd(
        "train", "principal", "--principal", "bo", *_TINY, "--batch", "3",
        "--seed", "2", "--out", str(out), "--quiet", *flags), 0)

  def test_two_workers_train_the_same_principal_as_none(self):
    folder = pathlib.Path(self.create_tempdir().full_path)
    self._train(folder / "here", "--games", "5")
    self._train(folder / "ray", "--games", "5", "--workers", "2")
    here = _principal_arrays(folder / "here" / "principal.npz")
    ray = _principal_arrays(folder / "ray" / "principal.npz")
    self.assertEqual(here.keys(), ray.keys())
    for key in here:
      np.testing.assert_array_equal(here[key], ray[key], err_msg=key)
    fields = ("games", "seed", "phi", "objective_value")
    self.assertEqual(
        [[r[f] for f in fields] for r in _lines(folder / "here/metrics.jsonl")],
        [[r[f] for f in fields] for r in _lines(folder / "ray/metrics.jsonl")])
    self.assertLen({tuple(r["phi"]) for r in
                    _lines(folder / "ray/metrics.jsonl")}, 5)
    self.assertEqual(helpers.umd(
        "run", "--principal", str(folder / "ray" / "principal.npz"), *_TINY,
        "--freeze-principal", "--quiet", "--out", str(folder / "play")), 0)

  def test_kill_9_resumes_with_the_sampler_history(self):
    folder = pathlib.Path(self.create_tempdir().full_path)
    run = folder / "killed"
    # Past game 4: a checkpoint inside the second batch of 3.
    helpers.kill_9_past_a_checkpoint(
        helpers.umd_command("train", "principal", "--principal", "bo",
                            *_TINY, "--batch", "3", "--seed", "2",
                            "--games", "1000", "--checkpoint-every", "2",
                            "--quiet", "--out", str(run)),
        run / "principal.json", "games", 4)
    games = checkpoint.load(run / "principal.npz").counters["games"]
    total = str(games + 4)
    self.assertEqual(helpers.umd("train", "principal", "--resume", str(run),
                                 "--games", total, "--quiet"), 0)
    self._train(folder / "whole", "--games", total)
    resumed = _principal_arrays(run / "principal.npz")
    whole = _principal_arrays(folder / "whole" / "principal.npz")
    for key in whole:
      np.testing.assert_array_equal(resumed[key], whole[key], err_msg=key)
    self.assertEqual([r["phi"] for r in _lines(run / "metrics.jsonl")],
                     [r["phi"] for r in _lines(folder / "whole/metrics.jsonl")])


class PrincipalCommandTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ("not_learning", ["--principal", "none"], "invalid choice: 'none'"),
      ("followers_flag", ["--total-steps", "5"],
       "unrecognized arguments: --total-steps 5"),
      # A follower's PPO option: rl's --hidden-sizes is the nearest flag,
      # which the bandit does not take.
      ("ppo_flag", ["--hidden-size", "8"],
       "--hidden-sizes: principal 'bandit' does not take it"),
      ("games", ["--games", "0"], "games must be an integer >= 1, got 0"),
      ("checkpoint_every", ["--checkpoint-every", "0"], "checkpoint_every"),
      ("bots", ["--bots", "nope"], "Unknown bots"),
      ("adapt_followers", ["--adapt-followers", "-1"],
       "adapt_followers must be an integer >= 0, got -1"),
      ("adapt_envs", ["--adapt-envs", "0"],
       "adapt_envs must be an integer >= 1, got 0"),
  )
  def test_bad_input_exits_2_with_one_line_before_writing(self, args,
                                                          message):
    out = pathlib.Path(self.create_tempdir().full_path, "run")
    code, stderr = helpers.umd_with_stderr("train", "principal", *args, "--out",
                                           str(out), "--quiet")
    self.assertEqual(code, 2, stderr)
    error = stderr.splitlines()[-1]
    self.assertStartsWith(error, "umd train principal: error: ")
    self.assertIn(message, error)
    self.assertNotIn("Traceback", stderr)
    self.assertFalse(out.exists())

  def test_principal_options_are_recorded_and_kept_on_resume(self):
    run = pathlib.Path(self.create_tempdir().full_path, "run")
    self.assertEqual(helpers.umd(
        "train", "principal", "--principal", "sw_ucb_constant", *_TINY,
        "--arms", "3", "--window", "2", "--games", "1", "--out", str(run),
        "--quiet"), 0)
    saved = json.loads((run / "config.json").read_text())
    self.assertEqual(saved["train"]["principal_options"],
                     {"arms": 3, "window": 2})
    code, stderr = helpers.umd_with_stderr(
        "train", "principal", "--resume", str(run), "--window", "5",
        "--quiet")
    self.assertEqual(code, 2)
    self.assertIn("only --games may change, got ['--window']", stderr)
    self.assertEqual(helpers.umd("train", "principal", "--resume", str(run),
                                 "--games", "2", "--quiet"), 0)
    config = checkpoint.load(run / "principal.npz").principal.config
    self.assertEqual((config.arms, config.window), (3, 2))

  def test_resume_refuses_other_options_and_followers_runs(self):
    folder = pathlib.Path(self.create_tempdir().full_path)
    run = folder / "run"
    self.assertEqual(helpers.umd("train", "principal", *_TINY, "--games", "1",
                                 "--out", str(run), "--quiet"), 0)
    (folder / "ppo").mkdir()
    (folder / "ppo" / "config.json").write_text(json.dumps({"train": {}}))
    for args, message in (
        (["--resume", str(run), "--seed", "3"],
         "only --games may change, got ['--seed']"),
        (["--resume", str(run), "--total-steps", "5"],
         "unrecognized arguments: --total-steps"),
        (["--resume", str(folder / "ppo")],
         f"continue it with umd train followers --resume {folder / 'ppo'}")):
      code, stderr = helpers.umd_with_stderr("train", "principal", *args,
                                             "--quiet")
      self.assertEqual(code, 2, args)
      self.assertIn(message, stderr)
    self.assertEqual(
        [r["games"] for r in _lines(run / "metrics.jsonl")], [1])


if __name__ == "__main__":
  absltest.main()
