"""Runs independent tasks here or as Ray tasks: the outer loops' one runner.

  from umd_meltingpot.plumbing import parallel
  results = parallel.run_tasks(play_one, tasks, workers=2)

`umd evaluate` (one task per episode) and `umd grid` (one per game) hand
their tasks to `run_tasks`. With `workers` 0 and no `ray_address` the tasks
run one after the other in this process; otherwise each is a Ray task of one
CPU, on a new local Ray with `workers` CPUs or on the cluster at
`ray_address` (at most `workers` in flight). `on_result` sees each result as
it finishes (progress bars, streamed rows), but `run_tasks` returns them in
task order, so nothing the caller computes from them depends on the number
of workers, provided each task's result depends only on the task.

On Ray, `function` and the tasks are pickled. A top-level function of a
module of this package is pickled by reference, so a worker imports that
module, hence `umd_meltingpot` (whose `quiet.install` filters TensorFlow's
start-up lines), before Melting Pot. Ray itself is imported only when it is
used, never at CLI start-up.

`ray_session` is the one place that connects to Ray; `umd train followers
--ray-address` runs its rollout workers as Ray actors in one
(`training/follower_env.py`). `RAY_ADDRESS` declares the addresses Ray
takes, and `check_ray_address` refuses, before anything runs, one at which
no cluster answers.

`TaskCache` runs tasks through `run_tasks` and keeps each finished result
in a JSON-lines file, keyed by the function's name and the task's fields
(`task_key`), so that a rerun reuses the finished tasks: an experiment
killed after hours resumes where it stopped.

  cache = parallel.TaskCache("runs/experiment/tasks.jsonl", workers=2)
  results = cache.run(play_one, tasks, desc="games")
"""

import collections
import contextlib
import dataclasses
import importlib.util
import json
import logging
import os
import pathlib
import re
import socket
import sys
import warnings
from typing import Any, Callable, Iterator, Optional, Sequence, TypeVar

from umd_meltingpot.plumbing import runs
from umd_meltingpot.plumbing import validation

Task = TypeVar("Task")
Result = TypeVar("Result")
OnResult = Callable[[int, Any], None]
"""Called with a task's position in the task list and its result."""


_HOST_PORT = r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}"
_ADDRESS = validation.matching(
    rf"auto|local|(?:ray://)?{_HOST_PORT}",
    "auto (the running cluster), local (a new Ray here), HOST:PORT (a "
    "cluster's head) or ray://HOST:PORT (Ray Client)")
# None (no Ray) is the flag left out, so the message does not offer it.
RAY_ADDRESS = dataclasses.replace(validation.optional(_ADDRESS),
                                  description=_ADDRESS.description)
"""The addresses `ray.init` takes, or None, as a config field's check."""


def uses_ray(workers: int, ray_address: Optional[str]) -> bool:
  """Whether `run_tasks` runs on Ray with these options."""
  return workers > 0 or bool(ray_address)


def check_options(workers: int, ray_address: Optional[str]) -> None:
  """Refuses a negative worker count, Ray options without Ray, and a
  ray_address that Ray does not take or at which no cluster answers.

  Raises:
    ValueError: one line naming the problem and the valid values.
  """
  if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
    raise ValueError(f"workers must be an integer >= 0 (0: no Ray), got "
                     f"{workers!r}")
  validation.check_value("ray_address", RAY_ADDRESS, ray_address)
  if uses_ray(workers, ray_address) and importlib.util.find_spec(
      "ray") is None:
    raise ValueError("--workers > 0 and --ray-address need Ray: "
                     "pip install -r requirements.txt")
  check_ray_address(ray_address)


def check_ray_address(address: Optional[str], timeout_s: float = 5.0
                      ) -> None:
  """Refuses an address (`RAY_ADDRESS`) at which no Ray cluster answers,
  so that a run stops before it writes anything, not in `ray.init`.

  None and local start a new Ray: nothing to reach. auto is resolved as Ray
  resolves it (RAY_ADDRESS, then the cluster `ray start` recorded).

  Raises:
    ValueError: one line naming ray_address, what is valid and why the
      address is not.
  """
  valid = "ray_address must be the address of a running Ray cluster, or local"
  if address is None or address == "local":
    return
  if address == "auto":
    try:
      from ray._private import services  # pylint: disable=g-import-not-at-top
      resolved = services.canonicalize_bootstrap_address_or_die("auto")
    except ConnectionError:
      raise ValueError(f"{valid}; auto found none (start one with ray start "
                       "--head, or give HOST:PORT)") from None
    except (ImportError, AttributeError, ValueError):
      return  # A Ray whose internals moved: ray.init will say it.
  else:
    resolved = address.removeprefix("ray://")
  host, _, port = resolved.rpartition(":")
  try:
    with socket.create_connection((host.strip("[]"), int(port)),
                                  timeout=timeout_s):
      pass
  except (OSError, ValueError) as error:
    reason = re.sub(r"^\[Errno -?\d+\] ", "", str(error)) or "timed out"
    raise ValueError(f"{valid}; nothing answers at {resolved} ({reason}), "
                     f"got {address!r}") from None


@contextlib.contextmanager
def ray_session(workers: int,
                address: Optional[str] = None) -> Iterator[Any]:
  """A Ray connection: `address`, or a new local Ray with `workers` CPUs.

  A Ray this process had already started is reused and left running; one
  started here is shut down on exit. `local` also starts a new local Ray,
  never joining a cluster this machine runs, with `workers` CPUs if
  `workers` > 0 (so that as many one-CPU tasks or actors run at once, as
  processes would) and else with every CPU.

  Yields:
    The `ray` module.
  """
  import ray  # pylint: disable=g-import-not-at-top
  started = not ray.is_initialized()
  if started:
    # TensorFlow, imported by Melting Pot, logs in every worker; the worker
    # logs are not forwarded either (errors come back with the results).
    runtime_env = {"env_vars": {"TF_CPP_MIN_LOG_LEVEL": "3"}}
    quiet = dict(log_to_driver=False, logging_level=logging.WARNING,
                 runtime_env=runtime_env)
    with warnings.catch_warnings():
      # Ray starts its processes by fork and exec, which is safe after JAX
      # started threads; Python warns of any fork then.
      warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
      if address == "local" and workers > 0:
        ray.init(address=address, num_cpus=workers, **quiet)
      elif address:
        ray.init(address=address, **quiet)
      else:
        ray.init(num_cpus=workers, include_dashboard=False, **quiet)
  try:
    yield ray
  finally:
    if started:
      ray.shutdown()


def run_serial(function: Callable[[Task], Result], tasks: Sequence[Task],
               on_result: Optional[OnResult] = None) -> list[Result]:
  """Runs `tasks` one after the other in this process, in order."""
  results = []
  for index, task in enumerate(tasks):
    results.append(function(task))
    if on_result is not None:
      on_result(index, results[-1])
  return results


def run_on_ray(function: Callable[[Task], Result], tasks: Sequence[Task],
               on_result: Optional[OnResult] = None, *, workers: int,
               address: Optional[str] = None) -> list[Result]:
  """Runs `tasks` as Ray tasks of one CPU each.

  Args:
    function: what to run on each task; picklable (best a top-level
      function of a module of this package, see the module docstring).
    tasks: its picklable arguments, one task each.
    on_result: called in this process with each result, in finishing
      order.
    workers: the CPUs of a new local Ray; on an existing cluster, the most
      tasks in flight at once (0: no limit).
    address: an existing cluster's address; None starts a local Ray (or
      reuses the one this process started).

  Returns:
    The results in task order.
  """
  results: dict[int, Result] = {}
  with ray_session(workers, address) as ray:
    remote = ray.remote(num_cpus=1)(function)
    limit = workers if workers > 0 else len(tasks)
    queue = collections.deque(enumerate(tasks))
    pending: dict[Any, int] = {}  # Object reference -> task position.
    while queue or pending:
      while queue and len(pending) < limit:
        index, task = queue.popleft()
        pending[remote.remote(task)] = index
      done, _ = ray.wait(list(pending), num_returns=1)
      index = pending.pop(done[0])
      results[index] = ray.get(done[0])
      if on_result is not None:
        on_result(index, results[index])
  return [results[index] for index in range(len(tasks))]


def run_tasks(function: Callable[[Task], Result], tasks: Sequence[Task],
              on_result: Optional[OnResult] = None, *, workers: int = 0,
              ray_address: Optional[str] = None) -> list[Result]:
  """Runs `function` on every task, here (workers 0, no address) or on Ray.

  Returns:
    The results in task order, whatever the number of workers.
  """
  if uses_ray(workers, ray_address):
    return run_on_ray(function, tasks, on_result, workers=workers,
                      address=ray_address)
  return run_serial(function, tasks, on_result)


def task_key(function: Callable[[Any], Any], task: Any) -> str:
  """The key of `function(task)` in a `TaskCache`: the function's name and
  every field of `task` (a dataclass), as one string.

  Infinities stay infinities (`"inf"`, not null), so a task with delta inf
  and one with delta None have different keys.
  """
  fields = runs.json_ready(dataclasses.asdict(task), non_finite=str)
  return function.__name__ + ":" + json.dumps(fields, sort_keys=True)


class TaskCache:
  """`run_tasks` whose finished results are kept in a JSON-lines file.

  `run` plays only the tasks whose `task_key` is not in the file yet (each
  once, however often it is listed) and appends each result as it
  finishes, so a killed run, started again on the same file, resumes where
  it stopped, and a task that two callers need is played once. Results
  must be JSON-ready and, as for `run_tasks`, depend only on their task.
  """

  def __init__(self, path: str | os.PathLike, *, workers: int = 0,
               ray_address: Optional[str] = None, progress: bool = True):
    """Reads the results that `path` holds (if it exists).

    Args:
      path: the `.jsonl` file; appended to.
      workers: as for `run_tasks`.
      ray_address: as for `run_tasks`.
      progress: show a progress bar on stderr while tasks run.
    """
    path = pathlib.Path(path)
    self._results: dict[str, Any] = {}
    if path.exists():
      for line in path.read_text(encoding="utf-8").splitlines():
        try:
          entry = json.loads(line)
        except json.JSONDecodeError:
          continue  # The last line of a killed run: played again.
        self._results[entry["key"]] = entry["result"]
    self._path = path
    self._workers, self._ray_address = workers, ray_address
    self._progress = progress

  def run(self, function: Callable[[Task], Result], tasks: Sequence[Task],
          desc: str = "tasks") -> list[Result]:
    """`function` on every task, in task order, reusing cached results.

    Args:
      function: as for `run_tasks`; its name is part of each key.
      tasks: dataclasses, each with JSON-ready fields.
      desc: the progress bar's label.
    """
    keys = [task_key(function, task) for task in tasks]
    todo = {key: task for key, task in zip(keys, tasks)
            if key not in self._results}
    if todo:
      import tqdm  # pylint: disable=g-import-not-at-top
      with runs.JsonLines(self._path) as log, tqdm.tqdm(
          total=len(todo), desc=desc, file=sys.stderr,
          disable=not self._progress) as bar:
        todo_keys = list(todo)

        def on_result(position: int, result: Any) -> None:
          key = todo_keys[position]
          self._results[key] = result
          log.write({"key": key, "result": result})
          bar.update(1)

        run_tasks(function, list(todo.values()), on_result,
                  workers=self._workers, ray_address=self._ray_address)
    return [self._results[key] for key in keys]
