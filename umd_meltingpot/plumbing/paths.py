"""Where the package's Lua files are, installed or in a source checkout."""

import pathlib

# This file sits in umd_meltingpot/plumbing/.
_PACKAGE_DIR = pathlib.Path(__file__).resolve().parent.parent


def lua_root() -> pathlib.Path:
  """Returns the folder holding `levels/`.

  An installed wheel ships it as `umd_meltingpot/lua` (package data); an
  editable install or a source checkout keeps it at the repository's top
  level, beside `umd_meltingpot/`.

  Raises:
    FileNotFoundError: neither place holds the Lua levels.
  """
  candidates = (_PACKAGE_DIR / "lua", _PACKAGE_DIR.parent / "lua")
  for candidate in candidates:
    if (candidate / "levels").is_dir():
      return candidate
  raise FileNotFoundError(
      f"umd_meltingpot's Lua levels are missing; looked in {candidates}")


def level_init(level: str) -> pathlib.Path:
  """Returns the absolute path of `levels/<level>/init.lua`."""
  path = lua_root() / "levels" / level / "init.lua"
  if not path.is_file():
    raise FileNotFoundError(f"No Lua level at {path}")
  return path
