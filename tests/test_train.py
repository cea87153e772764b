"""`umd train followers`: learning, outputs, bad input, resume after kill -9,
and the old spelling `umd train`."""

import json
import os
import pathlib
import subprocess
from typing import Callable, Optional, Sequence

os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

from absl.testing import absltest  # pylint: disable=g-import-not-at-top
from absl.testing import parameterized
import numpy as np

from tests import helpers
from umd_meltingpot.training import followers as train
from umd_meltingpot.training import common as training

# A tiny game: one round of 40 HARVEST steps; followers start at the bottom
# of the small map and only learning to walk up to the apples pays.
_TINY = ["--substrate", "umd_apple_harvest__small", "--rounds", "1",
         "--steps", "40", "--vote-steps", "2"]
_TINY_PPO = ["--envs-per-worker", "2", "--unroll-length", "20",
             "--num-minibatches", "2", "--hidden-size", "32"]


def _metrics(folder: str) -> list[dict]:
  """Every line of metrics.jsonl, each of which must be valid JSON."""
  lines = pathlib.Path(folder, "metrics.jsonl").read_text().splitlines()
  return [json.loads(line) for line in lines]


def check_resume_after_kill_9(
    test: absltest.TestCase, workers: Sequence[str],
    after: Optional[Callable[[subprocess.Popen], None]] = None, *,
    past_updates: int = 3, more_steps: int = 100
) -> tuple[str, list[dict]]:
  """Kills a tiny run (its rollout workers and other options given by the
  `workers` flags) with SIGKILL past a checkpoint, resumes it, and checks
  that its counters and metrics.jsonl carry on from the checkpoint.

  Args:
    test: the test that asserts.
    workers: the flags of the rollout workers, e.g. --num-workers 1, and
      any other option of the run.
    after: called with the killed run (a session leader) once it has been
      resumed, e.g. to check what it left running.
    past_updates: kill once the checkpoint holds at least this many updates.
    more_steps: env steps the resumed run plays past the checkpoint.

  Returns:
    The run folder and its metrics records after the resume.
  """
  out = test.create_tempdir().full_path + "/run"
  command = helpers.umd_command(
      "train", "followers", *_TINY, *_TINY_PPO, *workers,
      "--total-steps", "100000", "--checkpoint-every", "3", "--seed", "4",
      "--quiet", "--out", out)
  process = helpers.kill_9_past_a_checkpoint(
      command, pathlib.Path(out, "checkpoint.json"), "updates", past_updates)
  saved = json.loads(pathlib.Path(out, "checkpoint.json").read_text())
  updates, env_steps = (saved["counters"]["updates"],
                        saved["counters"]["env_steps"])
  test.assertGreater(len(_metrics(out)), 0)

  resumed = helpers.run_umd("train", "followers", "--resume", out,
                            "--total-steps", str(env_steps + more_steps),
                            "--quiet", timeout=150)
  test.assertEqual(resumed.returncode, 0, resumed.stderr[-2000:])
  if after is not None:
    after(process)
  records = _metrics(out)  # Every line still parses.
  # One line per update, 1..N: the lines after the checkpoint were
  # dropped, and the counters carried on from it.
  test.assertEqual([r["updates"] for r in records],
                   list(range(1, len(records) + 1)))
  test.assertGreater(len(records), updates)
  return out, records
  after = [r for r in records if r["updates"] > updates]
  test.assertGreater(after[0]["env_steps"], env_steps)
  test.assertLess(after[0]["env_steps"], env_steps + 200)
  test.assertGreaterEqual(records[-1]["env_steps"], env_steps + 100)
  final = json.loads(pathlib.Path(out, "checkpoint.json").read_text())
  test.assertEqual(final["counters"]["updates"], len(records))


class LearningTest(absltest.TestCase):

  def test_short_run_moves_the_return_up(self):
    # On the tiny game a uniform policy eats about one apple per player;
    # walking to the patches is learnt within a dozen updates. (On whole
    # games of the small map, learning *lowers* the return at first: the
    # followers learn to harvest faster than the commons regrows.)
    out = self.create_tempdir().full_path + "/run"
    prepared = train.prepare(
        train.TrainConfig(
            substrate="umd_apple_harvest__small", rounds=1, steps=40,
            vote_steps=2, total_steps=2000, seed=0, out=out,
            checkpoint_every=100),
        train.PPOConfig(num_workers=0, envs_per_worker=4, unroll_length=40,
                        num_minibatches=4, learning_rate=3e-3,
                        hidden_size=64))
    result = train.train(prepared, progress=False)
    returns = [r["charts/episode_return"] for r in _metrics(out)]
    self.assertGreaterEqual(result.env_steps, 2000)
    self.assertNotIn(None, returns)  # 4 games end in every update.
    first, last = np.mean(returns[:3]), np.mean(returns[-3:])
    self.assertGreater(last, first + 1.5, returns)


class TrainCommandTest(parameterized.TestCase):

  def test_writes_every_output(self):
    out = self.create_tempdir().full_path + "/run"
    code = helpers.umd("train", "followers", *_TINY, *_TINY_PPO,
                       "--num-workers", "0", "--total-steps", "150",
                       "--checkpoint-every", "2", "--out", out, "--quiet")
    self.assertEqual(code, 0)
    files = sorted(os.listdir(out))
    self.assertContainsSubset(
        ["checkpoint.json", "checkpoint.npz", "config.json", "metrics.jsonl"],
        files)
    self.assertTrue(any(f.startswith("events.out.tfevents") for f in files))
    records = _metrics(out)
    self.assertEqual([r["updates"] for r in records],
                     list(range(1, len(records) + 1)))
    self.assertGreaterEqual(records[-1]["env_steps"], 150)
    for name in ("charts/sps", "losses/loss_total", "losses/entropy"):
      self.assertIn(name, records[-1])
    saved = json.loads(pathlib.Path(out, "checkpoint.json").read_text())
    self.assertEqual(saved["counters"]["updates"], len(records))
    config = json.loads(pathlib.Path(out, "config.json").read_text())
    self.assertEqual(config["train"]["rounds"], 1)
    self.assertEqual(config["ppo"]["hidden_size"], 32)
    # The old spelling resumes it as before, after one deprecation line.
    code, stderr = helpers.umd_with_stderr("train", "--resume", out,
                                           "--total-steps", "300", "--quiet")
    self.assertEqual(code, 0)
    self.assertEqual(stderr.splitlines(), [
        "umd train: deprecated spelling (umd train JOB is the new one); use: "
        f"umd train followers --resume {out} --total-steps 300 --quiet"])
    resumed = _metrics(out)
    self.assertEqual([r["updates"] for r in resumed],
                     list(range(1, len(resumed) + 1)))
    self.assertGreater(len(resumed), len(records))
    self.assertGreaterEqual(resumed[-1]["env_steps"], 300)
    # The checkpoint plays as a bot.
    self.assertEqual(
        helpers.umd("run", "--substrate", "umd_apple_harvest__small",
                    "--rounds", "1", "--steps", "10", "--vote-steps", "2",
                    "--bots", f"ppo:{out}/checkpoint.npz,greedy", "--quiet",
                    "--out", out + "/play"), 0)

  @parameterized.named_parameters(
      ("minibatches", ["--num-minibatches", "7"], "num_minibatches"),
      ("observation", ["--observation", "pixels"], "symbolic"),
      ("steps", ["--total-steps", "0"], "total_steps"),
      ("substrate", ["--substrate", "nope"], "invalid choice"),
      ("principal", ["--principal", "nope"], "Unknown principal 'nope'"),
      ("rates", ["--phi0", "0.1,2"], "phi0"),
      ("seed", ["--seed", "-1"], "--seed: must be an integer >= 0"),
      ("principal_flag", ["--games", "3"], "unrecognized arguments: --games"),
      ("resume_missing", ["--resume", "/no/such/run"], "not a training run"),
  )
  def test_bad_input_exits_2_before_writing(self, args, message):
    out = self.create_tempdir().full_path + "/run"
    if "--resume" not in args:
      args = [*args, "--out", out]
    code, stderr = helpers.umd_with_stderr("train", "followers", *args,
                                           "--quiet")
    self.assertEqual(code, 2, stderr)
    self.assertIn(message, stderr)
    self.assertNotIn("Traceback", stderr)
    self.assertFalse(os.path.exists(out))

  def test_resume_refuses_other_options(self):
    run = self.create_tempdir().full_path
    code, stderr = helpers.umd_with_stderr("train", "followers", "--resume",
                                           run, "--seed", "3")
    self.assertEqual(code, 2)
    self.assertEqual(
        stderr.splitlines(),
        [f"umd train followers: error: --resume takes the options of {run}/"
         "config.json; only --total-steps may change, got ['--seed']"])

  def test_resume_of_a_principal_run_names_its_command(self):
    run = pathlib.Path(self.create_tempdir().full_path)
    (run / "config.json").write_text(json.dumps({"mode": "principal"}))
    code, stderr = helpers.umd_with_stderr("train", "followers", "--resume",
                                           str(run))
    self.assertEqual(code, 2)
    self.assertIn(f"continue it with umd train principal --resume {run}",
                  stderr)

  def test_old_spelling_trains_followers_with_a_deprecation_line(self):
    code, stderr = helpers.umd_with_stderr("train", "--total-steps", "0",
                                           "--quiet")
    self.assertEqual(code, 2)
    # One deprecation line naming the new spelling, then the followers
    # command's own check.
    self.assertEqual(stderr.splitlines(), [
        "umd train: deprecated spelling (umd train JOB is the new one); use: "
        "umd train followers --total-steps 0 --quiet",
        "umd train followers: error: --total-steps: total_steps must be an "
        "integer >= 1, got 0"])


class ResumeTest(absltest.TestCase):

  def test_resume_after_kill_9(self):
    check_resume_after_kill_9(self, ["--num-workers", "1"])

  def test_trim_metrics_drops_lines_past_the_checkpoint(self):
    path = pathlib.Path(self.create_tempdir().full_path, "metrics.jsonl")
    lines = [json.dumps({"updates": u, "env_steps": 10 * u})
             for u in (1, 2, 3, 4)]
    path.write_text("\n".join(lines) + '\n{"updates": 5, "env_st')
    training.trim_metrics(path, 2, key="updates")
    self.assertEqual(path.read_text(), "\n".join(lines[:2]) + "\n")


if __name__ == "__main__":
  absltest.main()
