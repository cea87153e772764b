"""`umd train followers --ray-address`: rollout workers as Ray actors (issue
20). A seeded run trains to the same counters, metrics and parameters with
Ray actors as with worker processes, and a Ray run resumes after kill -9.

Each test starts its own new local Ray (`local`), never a cluster of the
machine's, and ends it.
"""

import json
import os
import pathlib
import signal
import subprocess
import time

os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

from absl.testing import absltest  # pylint: disable=g-import-not-at-top
import numpy as np

from tests import test_train
from umd_meltingpot.training import followers as train

# What may differ between two runs of one seed: wall-clock timings.
_TIMINGS = ("time_s", "charts/sps")


def _train(out: str, num_workers: int, envs_per_worker: int,
           ray_address=None) -> list[dict]:
  """A tiny seeded run (3 updates of 2 games); its metrics.jsonl lines,
  timings left out."""
  prepared = train.prepare(
      train.TrainConfig(
          substrate="umd_apple_harvest__small", rounds=1, steps=40,
          vote_steps=2, total_steps=120, seed=3, out=out,
          ray_address=ray_address),
      train.PPOConfig(num_workers=num_workers,
                      envs_per_worker=envs_per_worker, unroll_length=20,
                      num_minibatches=2, hidden_size=32))
  train.train(prepared, progress=False)
  lines = pathlib.Path(out, train.METRICS).read_text().splitlines()
  return [{key: value for key, value in json.loads(line).items()
           if key not in _TIMINGS} for line in lines]


def _session_members(session: int) -> list[int]:
  """The live (not zombie) processes of session `session`."""
  members = []
  for entry in os.listdir("/proc"):
    try:
      stat = pathlib.Path("/proc", entry, "stat").read_text()
    except (OSError, ValueError):
      continue  # Not a process, or one that just ended.
    state, _, _, sid = stat.rsplit(")", 1)[1].split()[:4]
    if int(sid) == session and state != "Z":
      members.append(int(entry))
  return members


class RayRolloutsTest(absltest.TestCase):

  def test_ray_actors_train_as_worker_processes_do(self):
    # The same 2 games (same seeds) in 1 worker process, or split over 2
    # Ray actors: the same batches, so the same updates.
    folder = self.create_tempdir().full_path
    processes = _train(folder + "/processes", 1, 2)
    actors = _train(folder + "/ray", 2, 1, ray_address="local")
    self.assertLen(processes, 3)
    self.assertEqual(actors, processes)
    local = np.load(folder + "/processes/checkpoint.npz")
    ray = np.load(folder + "/ray/checkpoint.npz")
    self.assertEqual(sorted(ray.files), sorted(local.files))
    for name in local.files:
      if name != "config":  # It records the workers, which differ.
        np.testing.assert_array_equal(ray[name], local[name], err_msg=name)
    config = json.loads(pathlib.Path(folder, "ray/config.json").read_text())
    self.assertEqual(config["train"]["ray_address"], "local")

  def test_ray_run_resumes_after_kill_9(self):

    def no_actor_left(process: subprocess.Popen) -> None:
      # Ray's workers have process groups of their own, out of reach of
      # killpg; they end when they lose their raylet (in seconds).
      deadline = time.monotonic() + 30
      while (left := _session_members(process.pid)) and (
          time.monotonic() < deadline):
        time.sleep(0.5)
      for pid in left:  # Only on failure: leave nothing running.
        try:
          os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
          pass
      self.assertEqual(left, [], "Ray processes outlived the killed run")

    test_train.check_resume_after_kill_9(
        self, ["--num-workers", "1", "--ray-address", "local"], no_actor_left)


if __name__ == "__main__":
  absltest.main()
