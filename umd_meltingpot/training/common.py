"""What the two training jobs share: run options, config.json and resuming.

`umd train followers` (`train.py`: PPO followers) and `umd train principal`
(`principal_train.py`: a learning principal against fixed or adapting
followers) each have their own config, a subclass of `RunOptions`, and their
own budget (`total_steps`, `games`). Both write a run folder with
`config.json` and a flushed `metrics.jsonl`, and `--resume` continues one
from its checkpoint; this module holds those parts once.
"""

import dataclasses
import json
import pathlib
from typing import Any, Callable, Optional

from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.plumbing import runs
from umd_meltingpot.plumbing import validation

CONFIG = "config.json"
METRICS = "metrics.jsonl"

FOLLOWERS = "followers"
PRINCIPAL = "principal"
JOBS = (FOLLOWERS, PRINCIPAL)
"""The training jobs, as named by `umd train JOB` and by config.json's
"mode" (absent in a followers run)."""

# Before each job had its own config, both wrote all of these to config.json;
# a run of the other job ignores them on resume.
_FIELDS_BEFORE_THE_SPLIT = ("total_steps", "games", "bots")


@dataclasses.dataclass(frozen=True)
class RunOptions(game_lib.MechanismOptions, validation.Validated):
  """The options of every training run; each is a `umd train JOB` flag.

  The mechanism options mean what they mean for `umd run` and share its
  defaults, except the substrate.
  """
  substrate: str = "umd_apple_harvest__small"
  """The substrate: a name from `umd list`."""
  checkpoint_every: int = validation.checked(10, validation.integer(ge=1))
  """Write the checkpoint every this many updates (followers) or games
  (principal), and at the end."""
  seed: int = validation.checked(0, validation.integer(ge=0))
  """Seeds the games and the learner."""
  out: Optional[str] = None
  """The run folder; default: a new runs/<job>-<timestamp>."""

  def game_config(self, seed: int, **options: Any) -> game_lib.GameConfig:
    """The `umd run` options of one training game, seeded with `seed`.

    Args:
      seed: the game's seed.
      **options: other `GameConfig` fields (e.g. the principal job's bots).
    """
    mechanism = {field.name: getattr(self, field.name)
                 for field in dataclasses.fields(game_lib.MechanismOptions)}
    return game_lib.GameConfig(**mechanism, seed=seed, **options)


@dataclasses.dataclass
class PreparedRun:
  """A validated training run, ready to start or resume."""
  config: RunOptions
  substrate_config: dict[str, Any]
  """The resolved substrate config, for config.json."""
  out: Optional[pathlib.Path]
  """The run folder; None: a new one is named when training starts."""
  resume: bool = False


def job_of(folder: str) -> str:
  """Which job wrote the run in `folder`: FOLLOWERS or PRINCIPAL.

  Raises:
    ValueError: `folder` holds no training run, or a corrupt config.json.
  """
  path = pathlib.Path(folder) / CONFIG
  if not path.is_file():
    raise ValueError(f"{folder} is not a training run (no {CONFIG})")
  try:
    saved = json.loads(path.read_text())
  except json.JSONDecodeError as error:
    raise ValueError(f"{path} is corrupt: {error!r}") from None
  mode = saved.get("mode", FOLLOWERS) if isinstance(saved, dict) else None
  if mode not in JOBS:
    raise ValueError(f"{path} is corrupt: mode {mode!r}")
  return mode


def read_config(folder: pathlib.Path, config_class: type, job: str
                ) -> tuple[dict[str, Any], Any]:
  """The JSON of a run's config.json and its `config_class` options.

  Args:
    folder: a run folder written by `job`.
    config_class: that job's config, a `RunOptions` subclass.
    job: FOLLOWERS or PRINCIPAL.

  Raises:
    ValueError: no run in `folder`, a run of the other job, or a corrupt
      config.json.
  """
  written_by = job_of(str(folder))
  if written_by != job:
    raise ValueError(f"{folder} is a {written_by} training run; continue it "
                     f"with umd train {written_by} --resume {folder}")
  names = {field.name for field in dataclasses.fields(config_class)}
  try:
    saved = json.loads((folder / CONFIG).read_text())
    options = {key: value for key, value in saved["train"].items()
               if key in names or key not in _FIELDS_BEFORE_THE_SPLIT}
    config = config_class(**{**options,
                             "brackets": _tuple(options["brackets"]),
                             "phi0": _tuple(options["phi0"])})
  except (KeyError, TypeError, ValueError) as error:
    raise ValueError(f"{folder / CONFIG} is corrupt: {error!r}") from None
  return saved, config


def _tuple(value: Optional[list[float]]) -> Optional[tuple[float, ...]]:
  return None if value is None else tuple(value)


def resume_options(run: str, config_class: type, job: str, budget: str,
                   total: Optional[int]) -> tuple[pathlib.Path, dict[str, Any],
                                                  Any]:
  """The folder, saved JSON and options of a run to resume, ready for the
  job's `prepare` (no `out`: the folder exists and is not empty).

  Args:
    run: the run folder.
    config_class: the job's config class.
    job: FOLLOWERS or PRINCIPAL.
    budget: the one option that may change on resume (`total_steps`,
      `games`).
    total: its new value, to train longer than first asked; None: keep.

  Raises:
    ValueError: see `read_config`; or an invalid `total`.
  """
  folder = pathlib.Path(run)
  saved, config = read_config(folder, config_class, job)
  # The run appends to its logs and replaces its checkpoint there.
  runs.check_writable(folder, flag="--resume")
  if total is not None:
    config = dataclasses.replace(config, **{budget: total})
  return folder, saved, dataclasses.replace(config, out=None)


def mark_resumed(prepared: PreparedRun, folder: pathlib.Path) -> PreparedRun:
  """`prepared`, set to continue the run in `folder`."""
  prepared.config = dataclasses.replace(prepared.config, out=str(folder))
  prepared.out, prepared.resume = folder, True
  return prepared


def trim_metrics(path: pathlib.Path, last: int, key: str) -> None:
  """Keeps the whole JSON lines whose `key` is <= last (atomically): the
  lines a killed run wrote after its last checkpoint go."""
  if not path.exists():
    return
  kept = []
  for line in path.read_text().splitlines():
    try:
      record = json.loads(line)
    except json.JSONDecodeError:
      continue  # A line cut short by a kill.
    if isinstance(record, dict) and record.get(key, 0) <= last:
      kept.append(line)
  runs.write_text(path, "".join(line + "\n" for line in kept))


def new_folder(prepared: PreparedRun, kind: str,
               config_json: Callable[[PreparedRun], dict[str, Any]]
               ) -> pathlib.Path:
  """Makes the run folder of a new run and writes its config.json.

  Args:
    prepared: the run; without `out`, it gets runs/<kind>-<timestamp>.
    kind: the default folder's prefix.
    config_json: the config.json of the run, once its folder is named.

  Raises:
    ValueError: the folder exists and is not empty.
  """
  prepared.out = runs.new_folder(prepared.out, kind=kind)
  if prepared.config.out is None:
    prepared.config = dataclasses.replace(prepared.config,
                                          out=str(prepared.out))
  runs.write_json(prepared.out / CONFIG, config_json(prepared))
  return prepared.out
