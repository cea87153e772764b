"""Reading a player's egocentric view of UMD Apple Harvest, for the bots.

A player's `RGB` observation is an 11 x 11 grid of 8 x 8 pixel cells, turned
so that the avatar always faces up: it sits at row 9, column 5, and sees 9
cells ahead, 1 behind and 5 to each side. Cells beyond the map are black.
Its `GRID` observation, when the substrate config asks for it
(`player_views`), is the same view already classified by the level, without
rendering; `cells` and `cells_of` read whichever the observation has.

`parse_cells` sorts every cell into a `Cell` class by looking for the exact
colours of the sprites, which come from Melting Pot's `commons_harvest__open`
prefabs (reused unchanged by `substrates/umd_apple_harvest.py`):

*   an apple has the red body of the apple prefab's palette;
*   a wall has the grey palette of the wall prefab, and an all-black cell
    (outside the map) counts as a wall too;
*   another avatar has the body colour of one of Melting Pot's player colours
    (`colors.human_readable`). The player's own avatar is drawn in a separate
    "Self" colour, so its cell reads as the ground under it.

`first_view_crc32` is what the bots seed themselves with: the CRC-32 of
the first view of an episode, from the pixels or from `FIRST_RGB_CRC32`.

`nearest_path` is a breadth-first search over the grid and `action_toward`
turns a cell offset into the relative move that heads there.
"""

import collections
import functools
from typing import Iterable, Mapping, NamedTuple, Optional, Sequence
import zlib

import numpy as np
from meltingpot.configs.substrates import commons_harvest__open
from meltingpot.utils.substrates import colors

from umd_meltingpot.substrates import umd_apple_harvest

# The commons action indices, by name, from the substrate's action set.
_NAMES = umd_apple_harvest.COMMONS_ACTION_NAMES
NOOP = _NAMES.index("NOOP")
FORWARD = _NAMES.index("FORWARD")
BACKWARD = _NAMES.index("BACKWARD")
STEP_LEFT = _NAMES.index("STEP_LEFT")
STEP_RIGHT = _NAMES.index("STEP_RIGHT")
TURN_LEFT = _NAMES.index("TURN_LEFT")
TURN_RIGHT = _NAMES.index("TURN_RIGHT")
FIRE_ZAP = _NAMES.index("FIRE_ZAP")
NUM_COMMONS_ACTIONS = len(_NAMES)

CELL_SIZE = 8
VIEW_SHAPE = (11, 11)
# Where the avatar sits in its own view (row, column), facing up.
SELF_POSITION = (9, 5)

# Pixels of a colour needed before a cell counts as holding that sprite. An
# apple shows 12 body pixels, an avatar 18 or more, a wall all 64.
_MIN_APPLE_PIXELS = 4
_MIN_AVATAR_PIXELS = 8
_MIN_WALL_PIXELS = 16

Offset = tuple[int, int]


class Cell:
  """The classes of a view cell, as stored in the grid of `parse_cells`.

  The one Python definition; the level's (`GRID`) is `CELL` in
  lua/levels/umd_apple_harvest/view_cells.lua, and
  tests/test_symbolic_grid.py checks that the two read views alike.
  """
  EMPTY = 0  # Ground (grass or floor), or the player's own avatar.
  APPLE = 1
  WALL = 2  # Also the black cells beyond the edge of the map.
  AVATAR = 3  # Another player's avatar.


def _pack(rgb: np.ndarray) -> np.ndarray:
  """Packs the last (RGB) axis of a uint8 array into one code per pixel,
  r | g << 8 | b << 16 (uint32).

  Each code is one unaligned little-endian 4-byte read starting at the
  pixel's red byte, masked to 24 bits: one pass over the bytes, about 4x
  faster than widening each channel and shifting (the training workers
  parse every player's view every step).
  """
  flat = np.empty(rgb.size + 1, dtype=np.uint8)  # +1: the last read's 4th.
  flat[:-1] = rgb.reshape(-1)
  flat[-1] = 0
  words = np.ndarray((rgb.size // 3,), dtype="<u4", buffer=flat, strides=(3,))
  return (words & 0xFFFFFF).reshape(rgb.shape[:-1])


def _packed(colours: Iterable[tuple[int, ...]]) -> np.ndarray:
  """The packed codes of some (r, g, b[, a]) colours, sorted."""
  return np.unique(_pack(np.array([c[:3] for c in colours], dtype=np.uint8)))


def _appearance_palette(prefab: dict) -> dict[str, tuple[int, ...]]:
  """The first palette of the `Appearance` component of a prefab."""
  for entry in prefab["components"]:
    if entry["component"] == "Appearance":
      return entry["kwargs"]["palettes"][0]
  raise ValueError(f"prefab {prefab['name']!r} has no Appearance")


def _apple_colours() -> np.ndarray:
  # The red body ('*') and its shade ('#'); the leaf and stem are too small.
  palette = _appearance_palette(commons_harvest__open.create_apple_prefab())
  return _packed([palette["*"], palette["#"]])


def _wall_colours() -> np.ndarray:
  return _packed(_appearance_palette(commons_harvest__open.WALL).values())


def _avatar_colours() -> np.ndarray:
  # The body ('*') of every player colour; the "Self" sprite differs.
  return _packed(colors.human_readable)


_APPLE_COLOURS = _apple_colours()
_WALL_COLOURS = _wall_colours()
_AVATAR_COLOURS = _avatar_colours()


# Pixel classes: the cell classes, plus black (beyond the map's edge).
_BLACK = 4
_NUM_PIXEL_CLASSES = 5


def _colour_classes() -> np.ndarray:
  """A lookup table from a packed colour to the class it marks (or EMPTY).

  16 MiB, built once: classifying a view is then one gather and one
  bincount, several times faster than searching the colour lists.
  """
  table = np.zeros(1 << 24, dtype=np.uint8)
  for cell, colours in ((Cell.WALL, _WALL_COLOURS),
                        (Cell.APPLE, _APPLE_COLOURS),
                        (Cell.AVATAR, _AVATAR_COLOURS)):
    table[colours] = cell
  table[0] = _BLACK
  return table


_COLOUR_CLASSES = _colour_classes()


@functools.lru_cache(maxsize=8)
def _cell_of_pixel(height: int, width: int) -> np.ndarray:
  """For an image of `height` x `width` pixels, each pixel's cell index
  (row-major over cells), times the number of pixel classes."""
  rows = np.arange(height) // CELL_SIZE
  cols = np.arange(width) // CELL_SIZE
  cells = rows[:, None] * (width // CELL_SIZE) + cols[None, :]
  return cells * _NUM_PIXEL_CLASSES


def parse_cells(rgb: np.ndarray) -> np.ndarray:
  """Classifies each 8 x 8 cell of an RGB view, or of a batch of views.

  Args:
    rgb: a uint8 array of shape (..., 8 * rows, 8 * columns, 3), such as a
      player's `RGB` observation or every player's stacked (one call for
      all of them saves the per-call overhead in the training workers).

  Returns:
    An int8 array of shape (..., rows, columns) holding `Cell` classes.
    Where sprites overlap, an avatar wins over an apple and an apple over a
    wall.
  """
  rgb = np.asarray(rgb, dtype=np.uint8)
  if (rgb.ndim < 3 or rgb.shape[-1] != 3 or rgb.shape[-3] % CELL_SIZE
      or rgb.shape[-2] % CELL_SIZE):
    raise ValueError(f"rgb must have shape (..., 8 * rows, 8 * columns, 3), "
                     f"got {rgb.shape}")
  batch, (height, width) = rgb.shape[:-3], rgb.shape[-3:-1]
  views = int(np.prod(batch, dtype=int))
  rows, cols = height // CELL_SIZE, width // CELL_SIZE
  per_view = rows * cols * _NUM_PIXEL_CLASSES
  # counts[..., r, c, k]: the pixels of cell (r, c) in pixel class k; each
  # view counts into its own range of bins.
  slots = (_COLOUR_CLASSES[_pack(rgb)].reshape(views, height, width)
           + _cell_of_pixel(height, width))
  if views > 1:
    slots += (np.arange(views) * per_view)[:, None, None]
  counts = np.bincount(slots.ravel(), minlength=views * per_view).reshape(
      batch + (rows, cols, _NUM_PIXEL_CLASSES))
  grid = np.full(batch + (rows, cols), Cell.EMPTY, dtype=np.int8)
  walls = ((counts[..., Cell.WALL] >= _MIN_WALL_PIXELS)
           | (counts[..., _BLACK] == CELL_SIZE * CELL_SIZE))
  grid[walls] = Cell.WALL
  grid[counts[..., Cell.APPLE] >= _MIN_APPLE_PIXELS] = Cell.APPLE
  grid[counts[..., Cell.AVATAR] >= _MIN_AVATAR_PIXELS] = Cell.AVATAR
  return grid


def cells(observation: Mapping[str, np.ndarray]) -> np.ndarray:
  """The cell classes of one player's view: its `GRID` observation if it
  has one, else `parse_cells` of its `RGB` (the same grid, int8)."""
  if "GRID" in observation:
    return np.asarray(observation["GRID"], dtype=np.int8)
  return parse_cells(observation["RGB"])


def cells_of(observations: Sequence[Mapping[str, np.ndarray]]) -> np.ndarray:
  """`cells` of several players' views, stacked (one parsing call for all
  of them when they have only pixels)."""
  if all("GRID" in o for o in observations):
    return np.array([o["GRID"] for o in observations], dtype=np.int8)
  return parse_cells(np.array([o["RGB"] for o in observations], np.uint8))


def first_view_crc32(observation: Mapping[str, np.ndarray]) -> int:
  """zlib's CRC-32 of a player's `RGB` view, the bots' seed at the first
  step of an episode: of the pixels if the observation has them, else its
  `FIRST_RGB_CRC32` (the same, computed by the level at the episode's first
  step)."""
  if "RGB" in observation:
    return zlib.crc32(np.ascontiguousarray(observation["RGB"]).tobytes())
  return int(observation["FIRST_RGB_CRC32"])


def neighbour_counts(mask: np.ndarray, radius: float = 2.0) -> np.ndarray:
  """For each cell, the number of *other* set cells within `radius`.

  Distances are Euclidean between cell centres, as in the Lua
  `Neighborhoods` component that drives apple regrowth. Cells outside the
  grid count as unset.

  Args:
    mask: a 2-D boolean array.
    radius: the neighbourhood radius, in cells.

  Returns:
    An int array shaped like `mask`.
  """
  mask = np.asarray(mask, dtype=bool)
  reach = int(np.floor(radius))
  padded = np.pad(mask, reach).astype(np.int32)
  rows, cols = mask.shape
  counts = np.zeros(mask.shape, dtype=np.int32)
  for dr in range(-reach, reach + 1):
    for dc in range(-reach, reach + 1):
      if (dr, dc) != (0, 0) and dr * dr + dc * dc <= radius * radius:
        counts += padded[reach + dr:reach + dr + rows,
                         reach + dc:reach + dc + cols]
  return counts


class Path(NamedTuple):
  """The start of a shortest path to a target cell.

  Attributes:
    target: the (row, column) of the target reached.
    first_step: the offset (d_row, d_column) of the first move, one of
      (-1, 0) ahead, (1, 0) behind, (0, -1) left and (0, 1) right.
    length: the number of moves to the target.
  """
  target: tuple[int, int]
  first_step: Offset
  length: int


# Ahead first, so ties between equally near targets favour going forward.
_STEPS: tuple[Offset, ...] = ((-1, 0), (0, -1), (0, 1), (1, 0))


def nearest_path(targets: np.ndarray,
                 passable: np.ndarray,
                 start: tuple[int, int] = SELF_POSITION) -> Optional[Path]:
  """Breadth-first search for the nearest target cell.

  Args:
    targets: boolean grid of the cells worth reaching.
    passable: boolean grid of the cells that may be crossed; a target must
      also be passable to be entered.
    start: the cell the search starts from (the avatar's).

  Returns:
    The path to the nearest target (in moves), or None if none is reachable.
    Among equally near targets the first found wins, with moves tried in the
    order ahead, left, right, behind.
  """
  if not targets.any():  # Common once a patch is gone: skip the search.
    return None
  rows, cols = targets.shape
  first_steps: dict[tuple[int, int], Optional[Offset]] = {start: None}
  distances = {start: 0}
  queue = collections.deque([start])
  while queue:
    cell = queue.popleft()
    for dr, dc in _STEPS:
      nxt = (cell[0] + dr, cell[1] + dc)
      if (nxt in first_steps or not 0 <= nxt[0] < rows
          or not 0 <= nxt[1] < cols or not passable[nxt]):
        continue
      step = first_steps[cell] or (dr, dc)
      if targets[nxt]:
        return Path(target=nxt, first_step=step, length=distances[cell] + 1)
      first_steps[nxt] = step
      distances[nxt] = distances[cell] + 1
      queue.append(nxt)
  return None


def action_toward(offset: Offset) -> int:
  """The relative move that heads towards a cell at `offset` from the avatar.

  Args:
    offset: (d_row, d_column) in the egocentric view; a negative d_row is
      ahead, a negative d_column is to the left.

  Returns:
    FORWARD, BACKWARD, STEP_LEFT or STEP_RIGHT along the longer axis of the
    offset (ahead or behind on a tie), or NOOP for (0, 0).
  """
  d_row, d_col = offset
  if d_row == 0 and d_col == 0:
    return NOOP
  if abs(d_row) >= abs(d_col):
    return FORWARD if d_row < 0 else BACKWARD
  return STEP_LEFT if d_col < 0 else STEP_RIGHT


def in_beam(grid: np.ndarray,
            length: int = 3,
            radius: int = 1,
            start: tuple[int, int] = SELF_POSITION) -> bool:
  """Whether another avatar stands in the zap beam's reach.

  The beam covers the `length` cells ahead of the avatar and `radius` cells
  to either side of them (Melting Pot's `Zapper`: beamLength 3, beamRadius 1
  in Commons Harvest). Walls that would block the beam are ignored.

  Args:
    grid: a grid from `cells` or `parse_cells`.
    length: how many cells ahead the beam reaches.
    radius: how many cells to each side it reaches.
    start: the avatar's cell.
  """
  row, col = start
  area = grid[max(row - length, 0):row, max(col - radius, 0):col + radius + 1]
  return bool((area == Cell.AVATAR).any())
