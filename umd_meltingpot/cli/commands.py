"""The `umd` command: parse, validate, delegate.

  umd list                      the substrates, players and phase lengths
  umd list --scenarios          umd evaluate's scenarios
  umd run [--substrate ...]     play one game and write runs/<timestamp>/
  umd play [--principal P]      play it yourself (pygame), alone or against P
  umd evaluate --population P   a population against scenarios
  umd grid --rates R --seeds S  fixed schedules scored on games (Ray)
  umd train followers [...]     train PPO followers; --resume RUN continues
  umd train principal [...]     train a learning principal; --resume RUN

`umd run`'s flags are generated from `game.GameConfig`, whose field
docstrings are their help, so the defaults live only there.

Only the given command's flags are built, and Melting Pot (with TensorFlow)
loads only when a command plays a game, so `umd --help`, `umd list` and
`umd run --help` take a fraction of a second.
"""

import argparse
import contextlib
import dataclasses
import shlex
import sys
from typing import Any, Callable, Iterator, Optional, Sequence

from umd_meltingpot import agents
from umd_meltingpot.cli import flags
from umd_meltingpot.game import loop as game_lib
from umd_meltingpot.plumbing import quiet
from umd_meltingpot.plumbing import runs
from umd_meltingpot.plumbing import validation
from umd_meltingpot.training import common as training


def _list_scenarios() -> int:
  # Scenarios are Melting Pot ScenarioConfigs: this loads Melting Pot.
  from umd_meltingpot.evaluation import scenario  # pylint: disable=g-import-not-at-top
  print(f"{'scenario':<30} {'focal':>5} {'background':<11} {'principal':<9}"
        "  description")
  for name in sorted(scenario.SCENARIOS):
    config = scenario.get_config(name)
    focal = f"{sum(config.is_focal)}/{len(config.roles)}"
    bots = ",".join(sorted(b for role in config.bots_by_role.values()
                           for b in role))
    print(f"{name:<30} {focal:>5} {bots:<11} "
          f"{config.mechanism.principal:<9}  {config.description}")
  return 0


def _cmd_list(args: argparse.Namespace) -> int:
  from umd_meltingpot.substrates import variants  # pylint: disable=g-import-not-at-top
  if args.scenarios:
    return _list_scenarios()
  width = max(len(name) for name in variants.VARIANT_MAPS)
  print(f"{'substrate':<{width}} {'players':>7} {'rounds':>6} {'vote':>5} "
        f"{'harvest':>7} {'tax period':>10}  map")
  for name in sorted(variants.VARIANT_MAPS):
    info = variants.describe(name)
    print(f"{name:<{width}} {info.num_players:>7} {info.rounds:>6} "
          f"{info.vote_steps:>5} {info.harvest_steps:>7} "
          f"{info.tax_period:>10}  {info.map_name}")
  return 0


class UsageError(Exception):
  """Bad input found after parsing; reported like an argparse error."""


@contextlib.contextmanager
def _usage_errors() -> Iterator[None]:
  """Reports the ValueError of a check (bad input) as a UsageError."""
  try:
    yield
  except ValueError as error:
    raise UsageError(error) from error


def _cmd_run(args: argparse.Namespace) -> int:
  with _usage_errors():
    game = game_lib.prepare(flags.options_of(args, game_lib.GameConfig),
                            agents.FACTORY)
    runs.check_new_folder(game.config.out)  # Before any work.
  result = game_lib.run(game, progress=not args.quiet)
  print(game_lib.format_table(result.records))
  print(f"\n{result.steps} steps; outputs in {result.out}/")
  return 0


# `umd play`: the game options of `umd run` that need --principal (each
# GameConfig field but these), and what the others are against a principal.
_PLAY_OWN_FIELDS = ("substrate", "players", "principal")
_PLAY_FIXED = {"ballots": "world", "video": False, "out": None}


def _play_game_fields() -> list[dataclasses.Field]:
  return [field for field in dataclasses.fields(game_lib.GameConfig)
          if field.name not in (*_PLAY_OWN_FIELDS, *_PLAY_FIXED)]


def _cmd_play(args: argparse.Namespace) -> int:
  from umd_meltingpot.game import play  # pylint: disable=g-import-not-at-top
  # play() and play_against() check their input before they build anything.
  with _usage_errors():
    if args.principal is None:
      given = [validation.flag(field.name) for field in _play_game_fields()
               if getattr(args, field.name) != field.default]
      if given:
        raise ValueError(
            f"{', '.join(given)} set{'s' if len(given) == 1 else ''} the "
            "game against a principal; add --principal NAME|CHECKPOINT "
            "(without one no principal counts the vote)")
      play.play(args.substrate, players=args.players,
                render=not args.headless, verbose=args.verbose,
                observation=args.observation)
      return 0
    game = game_lib.prepare(flags.options_of(
        argparse.Namespace(**{**_PLAY_FIXED, **vars(args)}),
        game_lib.GameConfig), agents.FACTORY)
    play.play_against(game, render=not args.headless, verbose=args.verbose,
                      observation=args.observation)
  return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
  from umd_meltingpot.evaluation import evaluate  # pylint: disable=g-import-not-at-top
  with _usage_errors():
    prepared = evaluate.prepare(flags.options_of(args, evaluate.EvaluateConfig))
  result = evaluate.run(prepared, progress=not args.quiet)
  print(result.table)
  print(f"\n{len(result.rows)} episodes; outputs in {result.out}/")
  return 0


def _cmd_grid(args: argparse.Namespace) -> int:
  """`umd grid`: fixed schedules scored on games (`grid_search.py`)."""
  from umd_meltingpot.training import grid_search  # pylint: disable=g-import-not-at-top
  with _usage_errors():
    game = game_lib.GameConfig(**{
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(game_lib.GameConfig)
        if field.name not in grid_search.GAME_FIELDS_WITHOUT_FLAGS})
    config = grid_search.GridConfig(game=game, **{
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(grid_search.GridConfig)
        if field.name != "game"})
    prepared = grid_search.prepare(config)
  print(f"{len(prepared.schedules)} schedules x {len(config.seeds)} seeds = "
        f"{len(prepared.tasks)} games", file=sys.stderr)
  result = grid_search.run(prepared, progress=not args.quiet)
  print(result.table.format())
  print(f"\n{len(prepared.tasks)} games; outputs in {result.out}/")
  return 0


def _resume_total(args: argparse.Namespace, classes: Sequence[type],
                  budget: str) -> Optional[int]:
  """The budget flag given with --resume (None: keep the run's).

  Raises:
    ValueError: a flag other than the budget was given: the run keeps the
      options in its config.json.
  """
  # A field with no flag of its own (principal_options) is left out; the
  # principal option flags are counted on their own.
  defaults = {field.name: field.default
              for cls in classes for field in dataclasses.fields(cls)
              if hasattr(args, field.name)}
  changed = [validation.flag(name)
             for name, default in defaults.items()
             if name != budget and getattr(args, name) != default]
  changed += [validation.flag(name)
              for name in flags.principal_options_of(args)]
  if changed:
    raise ValueError(
        f"--resume takes the options of {args.resume}/config.json; only "
        f"--{budget.replace('_', '-')} may change, got {changed}")
  given = getattr(args, budget)
  return None if given == defaults[budget] else given


def _train(job: str, train: Callable[..., Any], prepared: Any,
           args: argparse.Namespace) -> int:
  """Runs a prepared training job and prints its one-line summary."""
  try:
    result = train(prepared, progress=not args.quiet)
  except KeyboardInterrupt:
    print(f"\ninterrupted; continue with: umd train {job} --resume "
          f"{prepared.out}", file=sys.stderr)
    return 130
  print(result.summary())
  return 0


def _cmd_train_followers(args: argparse.Namespace) -> int:
  """`umd train followers`: PPO followers (`train.py`)."""
  from umd_meltingpot.training import followers as train  # pylint: disable=g-import-not-at-top
  with _usage_errors():
    if args.resume:
      prepared = train.prepare_resume(args.resume, _resume_total(
          args, (train.TrainConfig, train.PPOConfig), "total_steps"))
    else:
      prepared = train.prepare(flags.options_of(args, train.TrainConfig),
                               flags.options_of(args, train.PPOConfig))
  return _train(training.FOLLOWERS, train.train, prepared, args)


def _cmd_train_principal(args: argparse.Namespace) -> int:
  """`umd train principal`: a learning principal (`principal_train.py`)."""
  from umd_meltingpot.training import principal as principal_train  # pylint: disable=g-import-not-at-top
  config_class = principal_train.PrincipalTrainConfig
  with _usage_errors():
    if args.resume:
      prepared = principal_train.prepare_resume(
          args.resume, _resume_total(args, (config_class,), "games"))
    else:
      args.principal_options = flags.principal_options_of(args)
      prepared = principal_train.prepare(flags.options_of(args, config_class))
  return _train(training.PRINCIPAL, principal_train.train, prepared,
                args)


def _new_train_spelling(argv: Sequence[str]) -> list[str]:
  """`umd train [flags]`, the spelling from before each job had its own
  command, as `umd train JOB [flags]`, with a deprecation line on stderr.

  The job is what that spelling trained: a learning --principal, or the
  --resume of a principal run, trains the principal; anything else trains
  PPO followers.
  """
  from umd_meltingpot.training import principal as principal_train  # pylint: disable=g-import-not-at-top
  peek = argparse.ArgumentParser(add_help=False, exit_on_error=False)
  peek.add_argument("--principal")
  peek.add_argument("--resume")
  try:
    given, _ = peek.parse_known_args(argv[1:])
  except argparse.ArgumentError:  # The job's own parser will say why.
    given = argparse.Namespace(principal=None, resume=None)
  job = training.FOLLOWERS
  if given.resume:
    try:
      job = training.job_of(given.resume)
    except ValueError:
      pass  # The followers command reports the missing or corrupt run.
  elif given.principal in principal_train.LEARNING:
    job = training.PRINCIPAL
  print("umd train: deprecated spelling (umd train JOB is the new one); "
        f"use: {shlex.join(['umd', argv[0], job, *argv[1:]])}",
        file=sys.stderr)
  return [argv[0], job, *argv[1:]]


_VERBOSE_HELP = ("show TensorFlow's absl, oneDNN and CUDA start-up messages "
                 "(hidden by default; also UMD_VERBOSE=1)")


def _add_train_commands(commands, with_flags: bool = True) -> None:
  """`umd train followers` and `umd train principal`, each with the flags
  of its own config (unless not `with_flags`: just the commands)."""
  train = commands.add_parser(
      "train", help="train PPO followers or a learning principal",
      description="Train PPO followers (umd train followers) or a learning "
      "principal against fixed followers, or followers that keep adapting "
      "(umd train principal --adapt-followers N); see "
      "umd train JOB --help. The old spelling umd train [flags] still works "
      "(deprecated): a learning --principal trains that principal, anything "
      "else the followers.")
  jobs = train.add_subparsers(dest="job", required=True, metavar="JOB")

  followers = jobs.add_parser(
      training.FOLLOWERS, help="train PPO followers and write "
      "runs/train-<timestamp>/",
      description="Train parameter-shared PPO followers on the HARVEST "
      "reward under a mechanism (as in umd run); write config.json, "
      "metrics.jsonl, TensorBoard events and checkpoint.npz.")
  followers.set_defaults(handler=_cmd_train_followers)

  principal = jobs.add_parser(
      training.PRINCIPAL, help="train a learning principal against fixed "
      "or adapting followers and write runs/principal-<timestamp>/",
      description="Train one learning principal over --games whole games of "
      "umd run against the --bots (best_response: followers that "
      "best-respond to phi), fixed, or fine-tuned after each game with "
      "--adapt-followers N (one PPO follower, e.g. ppo_conditioned); write "
      "config.json, metrics.jsonl and principal.npz (and followers/).")
  principal.set_defaults(handler=_cmd_train_principal)
  if not with_flags:
    return

  # pylint: disable=g-import-not-at-top
  from umd_meltingpot.training import principal as principal_train
  from umd_meltingpot.training import followers as train_lib
  # pylint: enable=g-import-not-at-top
  # Any principal of umd run, a checkpoint's path included (game.prepare
  # checks it).
  flags.add_config_flags(followers, train_lib.TrainConfig, free=("principal",))
  flags.add_config_flags(followers, train_lib.PPOConfig)
  flags.add_config_flags(principal, principal_train.PrincipalTrainConfig,
                    choices={"principal": principal_train.LEARNING},
                    exclude=("principal_options",))
  flags.add_principal_option_flags(principal, principal_train.LEARNING)

  for job, budget in ((followers, "--total-steps"), (principal, "--games")):
    job.add_argument("--resume", metavar="RUN", default=None,
                     help="continue the run in folder RUN from its last "
                     f"checkpoint (only {budget} may change)")
    job.add_argument("--quiet", action="store_true", help="no progress bar")
    job.add_argument("--verbose", action="store_true", help=_VERBOSE_HELP)


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
  """The `umd` parser.

  Args:
    command: the command to build the flags of (the others get only their
      help line, so that reading them imports nothing heavy); None builds
      every command's flags.
  """
  def wanted(name: str) -> bool:
    return command is None or command == name

  parser = argparse.ArgumentParser(
      prog="umd", description=(
          "The Universal Mechanism Design game on Melting Pot: players vote "
          "on a welfare objective, a principal taxes apple harvests, and "
          "they play, round after round."))
  commands = parser.add_subparsers(dest="command", required=True)

  listing = commands.add_parser(
      "list", help="list the substrates (--scenarios: the scenarios)")
  listing.add_argument(
      "--scenarios", action="store_true",
      help="list umd evaluate's scenarios instead: focal players / all, "
      "background bot, principal and description (loads Melting Pot)")
  listing.set_defaults(handler=_cmd_list)

  run = commands.add_parser(
      "run", help="play one game with bots and write runs/<name>/",
      description="Play one game (tau rounds of vote, principal, harvest) "
      "and write config.json, rounds.jsonl, summary.png (and episode.mp4).")
  if wanted("run"):
    from umd_meltingpot.social_choice import welfare  # pylint: disable=g-import-not-at-top
    # The ballot's objectives are listed in the help, checked by the
    # substrate config (a flag's choices cannot check a list).
    flags.add_config_flags(run, game_lib.GameConfig,
                           free=("principal", "objectives"),
                           choices={"objectives": welfare.OBJECTIVES})
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--verbose", action="store_true", help=_VERBOSE_HELP)
  run.set_defaults(handler=_cmd_run)

  play = commands.add_parser(
      "play", help="play the game yourself (pygame), alone or against the "
      "principal (--principal)",
      description="Play in a pygame window. Without --principal: free play, "
      "one player at a time (TAB switches), the others stand still, and no "
      "principal counts the vote. With --principal NAME|CHECKPOINT: you are "
      "P1 in the game of umd run, bots play the others, your ranked ballot "
      "(number keys; the game waits for it in each VOTE) is counted with "
      "theirs, the principal sets phi each round within --delta, and the "
      "HUD shows the tally, the winner, phi and your income, tax and "
      "transfer.")
  if wanted("play"):
    _add_play_flags(play)
  play.set_defaults(handler=_cmd_play)

  evaluate = commands.add_parser(
      "evaluate", help="evaluate a population on scenarios (Melting Pot)",
      description="Play a focal population against scenarios with Melting "
      "Pot's harness, beside the random and greedy baselines on the same "
      "episodes; write per-episode rows, a summary per scenario (mean and "
      "95% CI), scores normalised against the baselines, paired "
      "differences with bootstrap CIs and evaluate.png.")
  if wanted("evaluate"):
    # pylint: disable-next=g-import-not-at-top
    from umd_meltingpot.evaluation import options as evaluate_options
    flags.add_config_flags(evaluate, evaluate_options.EvaluateConfig)
    evaluate.add_argument("--quiet", action="store_true",
                          help="no progress bar")
    evaluate.add_argument("--verbose", action="store_true",
                          help=_VERBOSE_HELP)
  evaluate.set_defaults(handler=_cmd_evaluate)

  grid = commands.add_parser(
      "grid", help="score fixed tax schedules on games (Ray: --workers)",
      description="Play every schedule (--rates, --flat-step, --levels) on "
      "every seed under the fixed principal, one game each, here or as Ray "
      "tasks (--workers, --ray-address); print and write per schedule the "
      "mean over the seeds of each objective's O (the mean over the rounds "
      "of O(round returns)), the per-capita return, the gross harvest per "
      "round and the apples alive at the end, and each objective's best "
      "schedule. The table does not depend on the number of workers.")
  if wanted("grid"):
    # pylint: disable-next=g-import-not-at-top
    from umd_meltingpot.training import grid_search
    flags.add_config_flags(grid, game_lib.GameConfig,
                      exclude=grid_search.GAME_FIELDS_WITHOUT_FLAGS)
    flags.add_config_flags(grid, grid_search.GridConfig, exclude=("game",))
    grid.add_argument("--quiet", action="store_true", help="no progress bar")
    grid.add_argument("--verbose", action="store_true", help=_VERBOSE_HELP)
  grid.set_defaults(handler=_cmd_grid)

  _add_train_commands(commands, with_flags=wanted("train"))
  return parser


def _add_play_flags(play: argparse.ArgumentParser) -> None:
  play.add_argument("--substrate", default="umd_apple_harvest__small",
                    choices=flags.default_choices()["substrate"])
  play.add_argument("--players", type=int, default=None,
                    help="2 to 16; default: the substrate's")
  play.add_argument("--headless", action="store_true",
                    help="no window: random actions (for testing)")
  play.add_argument("--verbose", action="store_true",
                    help="print the round, phase, ballots and rates each "
                    "step (and " + _VERBOSE_HELP.split(" (")[0] + ")")
  play.add_argument("--observation", default="RGB",
                    choices=["RGB", "WORLD.RGB"],
                    help="your own view (RGB) or the whole map (WORLD.RGB)")
  from umd_meltingpot.principal import registry  # pylint: disable=g-import-not-at-top
  play.add_argument(
      "--principal", default=None, metavar="NAME|CHECKPOINT",
      help="play P1 against this principal, bots playing the others, as in "
      "umd run: a name (" + ", ".join(sorted(registry.PRINCIPALS)) + "; "
      "umd run --help describes each) or the path of a checkpoint written "
      "by umd train principal (e.g. runs/x/principal.npz); default: free "
      "play, no principal")
  against = play.add_argument_group(
      "against the principal", "the game options of umd run; they need "
      "--principal. The --bots are cycled over the other players, the "
      "first on P2; the ballots are always world (your VOTE presses "
      "count).")
  flags.add_config_flags(against, game_lib.GameConfig, exclude=(
      *_PLAY_OWN_FIELDS, *_PLAY_FIXED))


def main(argv: Optional[Sequence[str]] = None) -> int:
  argv = flags.negative_values_joined(sys.argv[1:] if argv is None else argv)
  # The command is the first word; only its flags are built (none for
  # `umd --help`).
  parser = build_parser(next(
      (word for word in argv if not word.startswith("-")), ""))
  if argv[:1] == ["train"] and not {*argv[1:2]} & {*training.JOBS, "-h",
                                                   "--help"}:
    argv = _new_train_spelling(argv)
  args, unknown = parser.parse_known_args(argv)
  command = " ".join(filter(None, (args.command, getattr(args, "job", None))))
  if getattr(args, "verbose", False):
    quiet.set_verbose(True)  # Before anything imports TensorFlow.
  try:
    if unknown:  # E.g. a followers flag given to umd train principal.
      raise UsageError(f"unrecognized arguments: {shlex.join(unknown)} (see "
                       f"umd {command} --help)")
    return args.handler(args)
  except UsageError as error:
    # Checked before anything is written.
    parser.exit(2, f"umd {command}: error: {error}\n")
  except KeyboardInterrupt:
    parser.exit(130, "interrupted; finished rounds are kept\n")


if __name__ == "__main__":
  sys.exit(main())
