"""Flags from config dataclasses: one flag per field, its docstring the help.

`add_config_flags` builds a parser's flags from a config class (`GameConfig`,
`TrainConfig`, ...), so each default lives only in its config; the value
parsers here turn the flag's text into the field's type and name what is
wrong in one line.
"""

import argparse
import ast
import dataclasses
import functools
import inspect
import re
import sys
import typing
from typing import Any, Callable, Optional, Sequence

from umd_meltingpot.plumbing import validation


class FlagValueError(argparse.ArgumentTypeError, ValueError):
  """A bad flag value: a ValueError, whose message argparse shows as is."""


def parse_skills(text: str) -> tuple[float, ...]:
  """`--skills a,b,c`: comma-separated numbers, or "" for every skill 1
  (their range and count are checked with the substrate's fields).

  Raises:
    FlagValueError: an item that is not a number, named.
  """
  if not text.strip():
    return ()
  skills = []
  for index, item in enumerate(text.split(",")):
    try:
      skills.append(float(item))
    except ValueError:
      raise FlagValueError(
          f"skills[{index}] must be a number, got {item.strip()!r} (one "
          "number > 0 per player, e.g. 0.5,1,1,1.5)") from None
  return tuple(skills)


@functools.lru_cache(maxsize=None)
def _class_definitions(module: str) -> dict[str, ast.ClassDef]:
  """Every class statement of `module`, by name, from one parse of its
  source (`inspect.getsource` of a class parses the whole module again each
  time, which cost `umd train --help` half a second)."""
  tree = ast.parse(inspect.getsource(sys.modules[module]))
  return {node.name: node for node in ast.walk(tree)
          if isinstance(node, ast.ClassDef)}


@functools.lru_cache(maxsize=None)
def _field_docs(cls: type) -> dict[str, str]:
  """The docstring under each field of dataclass `cls` and of its dataclass
  bases (CleanRL style); a subclass's redeclared field wins."""
  docs = {}
  for klass in reversed(cls.__mro__):
    if not dataclasses.is_dataclass(klass) or klass is object:
      continue
    body = _class_definitions(klass.__module__)[klass.__name__].body
    for node, following in zip(body, body[1:]):
      if (isinstance(node, ast.AnnAssign) and isinstance(following, ast.Expr)
          and isinstance(following.value, ast.Constant)):
        docs[node.target.id] = " ".join(following.value.value.split())
  return docs


def _float_list(text: str) -> tuple[float, ...]:
  """Bracket edges; the empty string is the empty list."""
  from umd_meltingpot.principal import schedule  # pylint: disable=g-import-not-at-top
  try:
    return schedule.parse_edges(text) if text.strip() else ()
  except ValueError as error:
    # parse_edges names the problem (an item, or edges out of order).
    raise argparse.ArgumentTypeError(str(error)) from None


def _rates(text: str) -> tuple[float, ...]:
  from umd_meltingpot.principal import schedule  # pylint: disable=g-import-not-at-top
  try:
    # The game's own cap (--max-rate) is checked with the rest of the
    # mechanism; here, the widest one, named as the flag's.
    return schedule.parse_rates(text, schedule.MAX_RATE_LIMIT)
  except ValueError as error:
    raise argparse.ArgumentTypeError(str(error).replace(
        f"[0, {schedule.MAX_RATE_LIMIT:g}]", "[0, max_rate]")) from None


def _seed(text: str) -> int:
  """A seed: an integer >= 0 (NumPy's own message would not name --seed)."""
  try:
    seed = int(text)
  except ValueError:
    seed = -1
  if seed < 0:
    raise argparse.ArgumentTypeError(
        f"must be an integer >= 0, got {text!r}")
  return seed


def _schedule_list(text: str) -> tuple[tuple[float, ...], ...]:
  """`--rates`: schedules separated by ';', each rates as --phi0 takes
  them (k rates, or one flat rate)."""
  items = text.split(";")
  if not all(item.strip() for item in items):
    raise argparse.ArgumentTypeError(
        f"must be schedules separated by ';' (each k rates, or one flat "
        f"rate), e.g. '0;0.5;0,0.5,1', got {text!r}")
  return tuple(_rates(item) for item in items)


def _levels(text: str) -> tuple[float, ...]:
  """`--levels`: rates as --phi0 takes them, named as levels."""
  try:
    return _rates(text)
  except argparse.ArgumentTypeError as error:
    raise argparse.ArgumentTypeError(
        str(error).replace("rates[", "levels[")) from None


def _seed_list(text: str) -> tuple[int, ...]:
  """`--seeds`: comma-separated seeds and inclusive ranges, e.g. 100-103,7."""
  seeds = []
  for item in text.split(","):
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", item)
    if match is None or (match[2] and int(match[2]) < int(match[1])):
      raise argparse.ArgumentTypeError(
          f"must be seeds >= 0 and ranges FIRST-LAST (FIRST <= LAST), "
          f"comma-separated, e.g. 100-103 or 1,5,9, got {text!r}")
    last = int(match[2]) if match[2] else int(match[1])
    seeds.extend(range(int(match[1]), last + 1))
  return tuple(seeds)


def _name_list(text: str) -> tuple[str, ...]:
  """Comma-separated names (checked by the config)."""
  return tuple(name.strip() for name in text.split(","))


def negative_values_joined(argv: Sequence[str]) -> list[str]:
  """`--flag -0.1,0,0` as `--flag=-0.1,0,0`.

  argparse reads a word that starts with "-" as an option unless it is one
  plain negative number, so `--phi0 -0.1,0,0` failed with "expected one
  argument". No option of umd starts with "-" and a digit, so such a word
  after an option is that option's value (and the option's own check then
  says what is wrong with it).
  """
  joined: list[str] = []
  for word in argv:
    previous = joined[-1] if joined else ""
    if (re.match(r"-\.?\d", word) and previous.startswith("--")
        and "=" not in previous):
      joined[-1] = f"{previous}={word}"
    else:
      joined.append(word)
  return joined


def default_choices() -> dict[str, Sequence[str]]:
  # pylint: disable=g-import-not-at-top
  # All light modules: reading the choices loads no Melting Pot.
  from umd_meltingpot.social_choice import voting
  from umd_meltingpot.principal import divergence
  from umd_meltingpot.principal import registry
  from umd_meltingpot.substrates import variants
  return {
      "substrate": sorted(variants.VARIANT_MAPS),
      "divergence": sorted(divergence.DIVERGENCES),
      "rule": list(voting.RULES),
      "principal": registry.help_names(),
      "ballots": list(voting.BALLOT_SOURCES),
      "redistribution": list(variants.REDISTRIBUTION_RULES),
  }


_PARSERS: dict[str, Callable[[str], Any]] = {
    "brackets": _float_list,
    "phi0": _rates,
    "seed": _seed,
    # umd grid's own fields.
    "rates": _schedule_list,
    "levels": _levels,
    "seeds": _seed_list,
    "objectives": _name_list,
    "skills": parse_skills,
}


def add_config_flags(parser: argparse.ArgumentParser, cls: type,
                      free: Sequence[str] = (),
                      choices: Optional[dict[str, Sequence[str]]] = None,
                      exclude: Sequence[str] = ()) -> None:
  """One flag per field of dataclass `cls` but those in `exclude`; the
  fields in `free` take any string (checked later), their choices listed in
  the help; `choices` narrows the choices of some fields."""
  docs = dict(_field_docs(cls))  # A copy: the cached one is shared.
  choices = {**default_choices(), **(choices or {})}
  for name in free:
    docs[name] = docs.get(name, "") + f" (names: {', '.join(choices[name])})"
    del choices[name]
  hints = typing.get_type_hints(cls)
  for field in dataclasses.fields(cls):
    if field.name in exclude:
      continue
    flag = validation.flag(field.name)
    help_text = docs.get(field.name, "")
    required = field.default is dataclasses.MISSING
    if field.default is not None and not required:
      shown = (",".join(f"{value:g}" if isinstance(value, float) else
                        str(value) for value in field.default)
               if isinstance(field.default, tuple) else field.default)
      help_text += f" (default: {shown})"  # As typed: 0.7, not (0.7,).
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


def options_of(args: argparse.Namespace, cls: type) -> Any:
  """The `cls` config of the parsed flags (one per field of `cls`).

  Raises:
    ValueError: a field's check refused its flag's value; the message
      starts with the flag.
  """
  names = [field.name for field in dataclasses.fields(cls)]
  try:
    return cls(**{name: getattr(args, name) for name in names})
  except ValueError as error:
    raise ValueError(validation.with_flag(
        str(error), {name: name for name in names})) from None


# The dest prefix of the principal-option flags, apart from the job's own.
_OPTION = "principal_option_"


def _attribute_docs(cls: type) -> dict[str, str]:
  """Each field's entry in the Google "Attributes:" section of `cls`'s
  docstring (the principals' configs), joined to one line."""
  docs: dict[str, str] = {}
  lines = inspect.cleandoc(cls.__doc__ or "").splitlines()
  inside, name = False, None
  for line in lines:
    if line.strip() == "Attributes:":
      inside = True
      continue
    match = re.fullmatch(r"  (\w+): (.*)", line) if inside else None
    if match:
      name, docs[match[1]] = match[1], match[2]
    elif inside and name and line.startswith("    "):
      docs[name] += " " + line.strip()
    elif inside and line.strip():
      inside = False
  return docs


def _option_value(hint: Any) -> Callable[[str], Any]:
  """The parser of a principal option's text, by its field's type: "none"
  for an Optional one's None, commas between a tuple's items."""
  if typing.get_origin(hint) is typing.Union:
    inner = _option_value(typing.get_args(hint)[0])
    return lambda text: None if text.strip().lower() == "none" else inner(text)
  if typing.get_origin(hint) is tuple:
    item = _option_value(typing.get_args(hint)[0])
    return lambda text: tuple(item(part) for part in text.split(","))
  kind = hint if hint in (int, float) else str
  what = "an integer" if kind is int else "a number"

  def parse(text: str) -> Any:
    try:
      return kind(text)
    except ValueError:
      raise FlagValueError(f"must be {what}, got {text!r}") from None

  return parse


def add_principal_option_flags(parser: argparse.ArgumentParser,
                               names: Sequence[str]) -> None:
  """One flag per option of the principals `names` (their registered
  config's fields), its help each config's docstring of the field, its
  default and the principals that take it; unset, the config's default."""
  from umd_meltingpot.principal import registry  # pylint: disable=g-import-not-at-top
  takers: dict[str, list[str]] = {}
  for name in names:
    for option in registry.PRINCIPALS[name].option_names():
      takers.setdefault(option, []).append(name)
  group = parser.add_argument_group(
      "principal options", "the options of the --principal (its config's "
      "fields); another principal's option is refused")
  for option, principals in sorted(takers.items()):
    meanings: dict[str, list[str]] = {}  # One help line per meaning.
    for name in principals:
      cls = registry.PRINCIPALS[name].config_class
      doc = {**_attribute_docs(cls), **_field_docs(cls)}.get(option, "")
      default = {field.name: field.default
                 for field in dataclasses.fields(cls)}[option]
      meanings.setdefault(f"{doc} (default: {default})", []).append(name)
    hint = typing.get_type_hints(registry.PRINCIPALS[principals[0]]
                                 .config_class)[option]
    group.add_argument(
        validation.flag(option), dest=_OPTION + option, default=None,
        type=_option_value(hint), metavar=option.upper(),
        help="; ".join(f"{', '.join(takers)}: {text}" for text, takers in
                       meanings.items()).replace("%", "%%"))


def principal_options_of(args: argparse.Namespace) -> dict[str, Any]:
  """The principal options given (`add_principal_option_flags`)."""
  return {dest.removeprefix(_OPTION): value
          for dest, value in sorted(vars(args).items())
          if dest.startswith(_OPTION) and value is not None}
