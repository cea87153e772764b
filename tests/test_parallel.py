"""`parallel`: `run_tasks` returns results in task order; `TaskCache` plays
each task once, a rerun on the same file resumes where the last stopped,
and its keys tell the function and every field (and infinity) apart."""

import dataclasses
import json
import pathlib

from absl.testing import absltest

from umd_meltingpot.plumbing import parallel


@dataclasses.dataclass(frozen=True)
class _Task:
  value: int
  scale: float = 1.0


_CALLS: list[_Task] = []


def _double(task: _Task) -> dict[str, float]:
  _CALLS.append(task)
  return {"double": 2 * task.value * task.scale}


def _triple(task: _Task) -> dict[str, float]:
  _CALLS.append(task)
  return {"triple": 3 * task.value * task.scale}


class TaskCacheTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    _CALLS.clear()
    self.path = pathlib.Path(self.create_tempdir().full_path) / "tasks.jsonl"

  def _cache(self) -> parallel.TaskCache:
    return parallel.TaskCache(self.path, progress=False)

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

  def test_another_function_on_the_same_task_is_played(self):
    cache = self._cache()
    cache.run(_double, [_Task(1)], "test")
    self.assertEqual(cache.run(_triple, [_Task(1)], "test"),
                     [{"triple": 3}])
    self.assertEqual(_CALLS, [_Task(1), _Task(1)])

  def test_a_line_cut_by_a_kill_is_played_again(self):
    self._cache().run(_double, [_Task(1), _Task(2)], "test")
    lines = self.path.read_text().splitlines()
    self.path.write_text(lines[0] + "\n" + lines[1][:10])
    _CALLS.clear()
    self._cache().run(_double, [_Task(1), _Task(2)], "test")
    self.assertEqual(_CALLS, [_Task(2)])

  def test_all_cached_writes_nothing(self):
    self._cache().run(_double, [_Task(1)], "test")
    before = self.path.read_text()
    self._cache().run(_double, [_Task(1), _Task(1)], "test")
    self.assertEqual(self.path.read_text(), before)

  def test_keys_tell_every_field_and_infinity_apart(self):
    keys = {parallel.task_key(_double, task) for task in (
        _Task(1), _Task(1, 2.0), _Task(1, float("inf")),
        _Task(1, float("-inf")))}
    self.assertLen(keys, 4)
    self.assertIn('"scale": "inf"', parallel.task_key(
        _double, _Task(1, float("inf"))))
    self.assertNotEqual(parallel.task_key(_double, _Task(1)),
                        parallel.task_key(_triple, _Task(1)))
    json.loads(parallel.task_key(_double, _Task(1)).split(":", 1)[1])


class RunTasksTest(absltest.TestCase):

  def test_results_in_task_order(self):
    reported = []
    results = parallel.run_tasks(
        abs, [-3, 1, -2], lambda index, result: reported.append(
            (index, result)))
    self.assertEqual(results, [3, 1, 2])
    self.assertEqual(reported, [(0, 3), (1, 1), (2, 2)])


if __name__ == "__main__":
  absltest.main()


class LazyModulePicklingTest(absltest.TestCase):
  """A Ray task whose function names a lazy module pickles it by name,
  before and after the module was imported (a resolved lazy module holds the
  module's whole namespace, which does not pickle)."""

  def test_a_lazy_module_pickles_as_the_module(self):
    import pickle  # pylint: disable=g-import-not-at-top
    import cloudpickle  # pylint: disable=g-import-not-at-top
    from umd_meltingpot.plumbing import lazy  # pylint: disable=g-import-not-at-top
    from umd_meltingpot.plumbing import stats  # pylint: disable=g-import-not-at-top
    module = lazy.module("umd_meltingpot.plumbing.stats")
    self.assertIs(pickle.loads(pickle.dumps(module)), stats)
    module.finite_mean([1.0])  # Resolved: its namespace copied in.
    task = lambda: module.finite_mean([2.0, 4.0])  # Pickled by value.
    self.assertEqual(cloudpickle.loads(cloudpickle.dumps(task))(), 3.0)
