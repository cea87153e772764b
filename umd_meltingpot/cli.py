"""The `umd` command: parse, validate, delegate.

  umd list                      the substrates, players and phase lengths
  umd run [--substrate ...]     play one game and write runs/<timestamp>/
  umd play [--substrate ...]    play it yourself (pygame)
  umd evaluate --population P   a population against scenarios
  umd train [--substrate ...]   train PPO followers; --resume RUN continues

`umd run`'s flags are generated from `game.GameConfig`, whose field
docstrings are their help, so the defaults live only there.
"""

import argparse
import ast
import dataclasses
import inspect
import sys
import textwrap
import typing
from typing import Any, Callable, Optional, Sequence

from umd_meltingpot import game as game_lib


def _field_docs(cls: type) -> dict[str, str]:
  """The docstring under each field of dataclass `cls` and of its dataclass
  bases (CleanRL style); a subclass's redeclared field wins."""
  docs = {}
  for klass in reversed(cls.__mro__):
    if not dataclasses.is_dataclass(klass) or klass is object:
      continue
    body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body
    for node, following in zip(body, body[1:]):
      if (isinstance(node, ast.AnnAssign) and isinstance(following, ast.Expr)
          and isinstance(following.value, ast.Constant)):
        docs[node.target.id] = " ".join(following.value.value.split())
  return docs


def _float_list(text: str) -> tuple[float, ...]:
  """Comma-separated numbers; the empty string is the empty list."""
  from umd_meltingpot.principal import schedule  # pylint: disable=g-import-not-at-top
  try:
    return schedule.parse_edges(text) if text.strip() else ()
  except ValueError:
    raise argparse.ArgumentTypeError(
        f"expected comma-separated numbers, got {text!r}") from None


def _rates(text: str) -> tuple[float, ...]:
  from umd_meltingpot.principal import schedule  # pylint: disable=g-import-not-at-top
  try:
    return schedule.parse_rates(text)
  except ValueError as error:
    raise argparse.ArgumentTypeError(str(error)) from None


def _choices() -> dict[str, Sequence[str]]:
  # pylint: disable=g-import-not-at-top
  from umd_meltingpot import substrate
  from umd_meltingpot import voting
  from umd_meltingpot.principal import divergence
  from umd_meltingpot.principal import wrapper
  import umd_meltingpot.principal as principal
  return {
      "substrate": sorted(substrate.SUBSTRATES),
      "divergence": sorted(divergence.DIVERGENCES),
      "rule": list(voting.RULES),
      "principal": sorted(principal.PRINCIPALS),
      "ballots": list(wrapper.BALLOT_SOURCES),
  }


_PARSERS: dict[str, Callable[[str], Any]] = {
    "brackets": _float_list,
    "phi0": _rates,
}


def _add_config_flags(parser: argparse.ArgumentParser, cls: type,
                      free: Sequence[str] = ()) -> None:
  """One flag per field of dataclass `cls`; the fields in `free` take any
  string (checked later), their choices listed in the help."""
  docs = _field_docs(cls)
  choices = _choices()
  for name in free:
    docs[name] = docs.get(name, "") + f" (names: {', '.join(choices[name])})"
    del choices[name]
  hints = typing.get_type_hints(cls)
  for field in dataclasses.fields(cls):
    flag = "--" + field.name.replace("_", "-")
    help_text = docs.get(field.name, "")
    required = field.default is dataclasses.MISSING
    if field.default is not None and not required:
      help_text += f" (default: {field.default})"
    hint = hints[field.name]
    if hint is bool:
      parser.add_argument(flag, action="store_true", help=help_text)
      continue
    kind = typing.get_args(hint)[0] if typing.get_origin(
        hint) is typing.Union else hint
    parser.add_argument(
        flag, dest=field.name, default=None if required else field.default,
        required=required, help=help_text,
        type=_PARSERS.get(field.name, kind if kind in (int, float) else str),
        choices=choices.get(field.name),
        metavar=None if field.name in choices else field.name.upper())


def _cmd_list(args: argparse.Namespace) -> int:
  from umd_meltingpot import substrate  # pylint: disable=g-import-not-at-top
  del args
  print(f"{'substrate':<28} {'players':>7} {'rounds':>6} {'vote':>5} "
        f"{'harvest':>7} {'tax period':>10}  map")
  for name in sorted(substrate.SUBSTRATES):
    info = substrate.describe(name)
    print(f"{name:<28} {info.num_players:>7} {info.rounds:>6} "
          f"{info.vote_steps:>5} {info.harvest_steps:>7} "
          f"{info.tax_period:>10}  {info.map_name}")
  return 0


class UsageError(Exception):
  """Bad input found after parsing; reported like an argparse error."""


def _cmd_run(args: argparse.Namespace) -> int:
  config = game_lib.GameConfig(**{
      field.name: getattr(args, field.name)
      for field in dataclasses.fields(game_lib.GameConfig)})
  try:
    game = game_lib.prepare(config)
  except ValueError as error:
    raise UsageError(error) from error
  result = game_lib.run(game, progress=not args.quiet)
  print(game_lib.format_table(result.records))
  print(f"\n{result.steps} steps; outputs in {result.out}/")
  return 0


def _cmd_play(args: argparse.Namespace) -> int:
  from umd_meltingpot import play  # pylint: disable=g-import-not-at-top
  try:  # play() checks its input before it builds anything.
    play.play(args.substrate, players=args.players, render=not args.headless,
              verbose=args.verbose, observation=args.observation)
  except ValueError as error:
    raise UsageError(error) from error
  return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
  from umd_meltingpot import evaluate  # pylint: disable=g-import-not-at-top
  config = evaluate.EvaluateConfig(**{
      field.name: getattr(args, field.name)
      for field in dataclasses.fields(evaluate.EvaluateConfig)})
  try:
    prepared = evaluate.prepare(config)
  except ValueError as error:
    raise UsageError(error) from error
  result = evaluate.run(prepared, progress=not args.quiet)
  print(result.table)
  print(f"\n{len(result.rows)} episodes; outputs in {result.out}/")
  return 0


def _train_configs(args: argparse.Namespace):
  """The TrainConfig and PPOConfig of the parsed `umd train` flags."""
  from umd_meltingpot import train  # pylint: disable=g-import-not-at-top
  return tuple(cls(**{field.name: getattr(args, field.name)
                      for field in dataclasses.fields(cls)})
               for cls in (train.TrainConfig, train.PPOConfig))


def _check_resume_flags(args: argparse.Namespace) -> None:
  """Raises ValueError if a flag other than --total-steps or --games was
  given with --resume."""
  changed = [
      "--" + field.name.replace("_", "-")
      for config in _train_configs(args)
      for field in dataclasses.fields(config)
      if field.name not in ("total_steps", "games")
      and getattr(config, field.name) != field.default]
  if changed:
    raise ValueError(
        f"--resume takes the options of {args.resume}/config.json; only "
        f"--total-steps (--games for a principal) may change, got {changed}")


def _principal_summary(result) -> str:
  last = "none" if result.last_value is None else f"{result.last_value:.2f}"
  return (f"{result.games} games, {result.env_steps} env steps; last mean "
          f"objective value {last}; outputs in {result.out}/")


def _followers_summary(result) -> str:
  last = ("none finished" if result.last_return is None
          else f"{result.last_return:.2f}")
  return (f"{result.updates} updates, {result.env_steps} env steps; last "
          f"per-capita return {last}; outputs in {result.out}/")


def _train_mode(args: argparse.Namespace):
  """What `umd train` trains: (module, its budget flag, the new-run configs,
  the result's one-line summary). A learning --principal (or --resume of
  such a run) trains that principal against fixed followers; anything else
  trains PPO followers."""
  # pylint: disable=g-import-not-at-top
  from umd_meltingpot import principal_train
  from umd_meltingpot import train
  # pylint: enable=g-import-not-at-top
  if (principal_train.is_principal_run(args.resume) if args.resume
      else args.principal in principal_train.LEARNING):
    return (principal_train, "games", _train_configs(args)[:1],
            _principal_summary)
  return train, "total_steps", _train_configs(args), _followers_summary


def _cmd_train(args: argparse.Namespace) -> int:
  """`umd train`: see `_train_mode`."""
  from umd_meltingpot import train  # pylint: disable=g-import-not-at-top
  module, budget, configs, summary = _train_mode(args)
  try:
    if args.resume:
      _check_resume_flags(args)
      given = getattr(args, budget)
      default = getattr(train.TrainConfig(), budget)
      prepared = module.prepare_resume(
          args.resume, **{budget: None if given == default else given})
    else:
      prepared = module.prepare(*configs)
  except ValueError as error:
    raise UsageError(error) from error
  try:
    result = module.train(prepared, progress=not args.quiet)
  except KeyboardInterrupt:
    print(f"\ninterrupted; continue with: umd train --resume {prepared.out}",
          file=sys.stderr)
    return 130
  print(summary(result))
  return 0


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog="umd", description=(
          "The Universal Mechanism Design game on Melting Pot: players vote "
          "on a welfare objective, a principal taxes apple harvests, and "
          "they play, round after round."))
  commands = parser.add_subparsers(dest="command", required=True)

  commands.add_parser("list", help="list the substrates").set_defaults(
      handler=_cmd_list)

  run = commands.add_parser(
      "run", help="play one game with bots and write runs/<name>/",
      description="Play one game (tau rounds of vote, principal, harvest) "
      "and write config.json, rounds.jsonl, summary.png (and episode.mp4).")
  _add_config_flags(run, game_lib.GameConfig, free=("principal",))
  run.add_argument("--quiet", action="store_true", help="no progress bar")
  run.set_defaults(handler=_cmd_run)

  play = commands.add_parser("play", help="play the game yourself (pygame)")
  play.add_argument("--substrate", default="umd_apple_harvest__small",
                    choices=_choices()["substrate"])
  play.add_argument("--players", type=int, default=None,
                    help="2 to 16; default: the substrate's")
  play.add_argument("--headless", action="store_true",
                    help="no window: random actions (for testing)")
  play.add_argument("--verbose", action="store_true",
                    help="print the round, phase, ballots and rates each step")
  play.add_argument("--observation", default="RGB",
                    choices=["RGB", "WORLD.RGB"],
                    help="your own view (RGB) or the whole map (WORLD.RGB)")
  play.set_defaults(handler=_cmd_play)

  # pylint: disable-next=g-import-not-at-top
  from umd_meltingpot import evaluate as evaluate_lib
  evaluate = commands.add_parser(
      "evaluate", help="evaluate a population on scenarios (Melting Pot)",
      description="Play a focal population against scenarios with Melting "
      "Pot's harness; write per-episode rows, a summary per scenario (mean "
      "and 95% CI) and normalised scores.")
  _add_config_flags(evaluate, evaluate_lib.EvaluateConfig)
  evaluate.add_argument("--quiet", action="store_true",
                        help="no progress bar")
  evaluate.set_defaults(handler=_cmd_evaluate)

  from umd_meltingpot import train as train_lib  # pylint: disable=g-import-not-at-top
  train = commands.add_parser(
      "train", help="train PPO followers (or a learning principal) and "
      "write runs/train-<timestamp>/",
      description="Train parameter-shared PPO followers on the HARVEST "
      "reward under a mechanism; write config.json, metrics.jsonl, "
      "TensorBoard events and checkpoint.npz. With --principal bandit, "
      "thompson, cma or rl, train that principal instead, over --games games "
      "against the fixed --bots (best_response: followers that best-respond "
      "to phi); write config.json, metrics.jsonl and principal.npz.")
  _add_config_flags(train, train_lib.TrainConfig)
  _add_config_flags(train, train_lib.PPOConfig)
  train.add_argument("--resume", metavar="RUN", default=None,
                     help="continue the run in folder RUN from its last "
                     "checkpoint (only --total-steps may change)")
  train.add_argument("--quiet", action="store_true", help="no progress bar")
  train.set_defaults(handler=_cmd_train)
  return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
  parser = build_parser()
  args = parser.parse_args(argv)
  try:
    return args.handler(args)
  except UsageError as error:
    # Checked before anything is written.
    parser.exit(2, f"umd {args.command}: error: {error}\n")
  except KeyboardInterrupt:
    parser.exit(130, "interrupted; finished rounds are kept\n")


if __name__ == "__main__":
  sys.exit(main())
