"""The pure pieces of benchmarks/principal_vs_fixed.py (issue 13).

The task cache (what a killed experiment resumes from), the trailing mean
of the sample-efficiency curves, the scheduled vote of the mixed-votes
section and the refusal of bad flags; the games themselves are played by
the benchmark, not here.
"""

import dataclasses
import io
import json
import pathlib
from unittest import mock

from absl.testing import absltest
import numpy as np

from benchmarks import principal_vs_fixed as experiment


@dataclasses.dataclass(frozen=True)
class _Task:
  value: int
  scale: float = 1.0


_CALLS: list[_Task] = []


def _double(task: _Task) -> dict[str, float]:
  _CALLS.append(task)
  return {"double": 2 * task.value * task.scale}


class TaskCacheTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    _CALLS.clear()
    self.path = pathlib.Path(self.create_tempdir().full_path) / "tasks.jsonl"

  def _cache(self) -> experiment.TaskCache:
    return experiment.TaskCache(self.path, workers=0, ray_address=None)

  def test_results_in_task_order_and_each_task_played_once(self):
    tasks = [_Task(3), _Task(1), _Task(3), _Task(2)]
    results = self._cache().run(_double, tasks, "test")
    self.assertEqual([r["double"] for r in results], [6, 2, 6, 4])
    self.assertEqual(_CALLS, [_Task(3), _Task(1), _Task(2)])

  def test_a_new_cache_resumes_from_the_file(self):
    self._cache().run(_double, [_Task(1), _Task(2)], "test")
    _CALLS.clear()
    results = self._cache().run(_double, [_Task(2), _Task(5)], "test")
    self.assertEqual([r["double"] for r in results], [4, 10])
    self.assertEqual(_CALLS, [_Task(5)])

  def test_a_line_cut_by_a_kill_is_played_again(self):
    self._cache().run(_double, [_Task(1), _Task(2)], "test")
    lines = self.path.read_text().splitlines()
    self.path.write_text(lines[0] + "\n" + lines[1][:10])
    _CALLS.clear()
    self._cache().run(_double, [_Task(1), _Task(2)], "test")
    self.assertEqual(_CALLS, [_Task(2)])

  def test_keys_tell_every_field_and_infinity_apart(self):
    keys = {experiment.task_key(_double, task) for task in (
        _Task(1), _Task(1, 2.0), _Task(1, float("inf")))}
    self.assertLen(keys, 3)
    self.assertIn('"scale": "inf"', experiment.task_key(
        _double, _Task(1, float("inf"))))
    json.loads(experiment.task_key(_double, _Task(1)).split(":", 1)[1])


class PiecesTest(absltest.TestCase):

  def test_smoothed_is_the_trailing_mean(self):
    values = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 0.0, 6.0, 0.0, 3.0]])
    expected = np.array([[np.mean(row[max(0, g - 2):g + 1])
                          for g in range(5)] for row in values])
    np.testing.assert_allclose(experiment._smoothed(values, 3), expected)
    np.testing.assert_allclose(experiment._smoothed(values, 1), values)

  def test_scheduled_vote_switches_after_the_switch_round(self):
    vote = experiment.ScheduledVote(first=0, second=1, switch_round=2)
    self.assertEqual([vote(r) for r in range(5)], [0, 0, 1, 1, 1])


class FlagsTest(absltest.TestCase):

  def _exit_code(self, *argv: str) -> tuple[int, str]:
    stderr = io.StringIO()
    with mock.patch("sys.stderr", stderr), \
        self.assertRaises(SystemExit) as raised:
      experiment.main(list(argv))
    return raised.exception.code, stderr.getvalue()

  def test_unknown_section(self):
    code, message = self._exit_code("--sections", "matrix,bogus")
    self.assertEqual(code, 2)
    self.assertIn("--sections must come from", message)

  def test_bad_principal_option(self):
    code, message = self._exit_code("--sections", "matrix", "--option",
                                    "cma:no_such_field=1")
    self.assertEqual(code, 2)
    self.assertIn("no_such_field", message)
    code, message = self._exit_code("--sections", "matrix", "--option",
                                    "cma=1")
    self.assertEqual(code, 2)
    self.assertIn("PRINCIPAL:FIELD=VALUE", message)

  def test_issue5_sections_refuse_another_game(self):
    code, message = self._exit_code(
        "--sections", "compare", "--substrate", "umd_apple_harvest__unequal")
    self.assertEqual(code, 2)
    self.assertIn("issue 5's game", message)


if __name__ == "__main__":
  absltest.main()
