"""Episode videos: `WORLD.RGB` frames with a HUD strip, written as H.264 mp4.

Each frame is the global `WORLD.RGB` observation, upscaled by an integer
factor (nearest neighbour, so sprites stay crisp), with a dark strip below it
that shows the state of the mechanism: the round, phase and step, the apples
alive and the tax pool, the tax rates φ, the counted ranked ballots' first
preferences and the rule's scores per objective, the objective in force,
and a table with one row per player: a swatch of its avatar's colour, its
bot, and its income, tax and transfer so far in the round. The swatches are
the colour legend: they say which avatar is which bot.

The HUD text is drawn with Pillow (a matplotlib dependency) and its bundled
default font, so nothing is downloaded at run time. Identical strips (the
VOTE steps, when the world pauses) are rendered once and cached.

The file is written atomically: frames go to a temporary `.partial.mp4` in the
destination folder, which `close()` renames onto the destination. If the
`with` block raises, the partial file is removed and no video is left.

Usage:

  with EpisodeVideo("runs/demo/episode.mp4") as video:
    for rgb, hud in frames:
      video.add_frame(rgb, hud)
"""

import dataclasses
import functools
import math
import os
import pathlib
import types
from typing import Generator, Optional, Sequence

import imageio_ffmpeg
import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from umd_meltingpot.plumbing import runs
from umd_meltingpot.social_choice import welfare
from umd_meltingpot.substrates import phases

PHASES: tuple[str, ...] = phases.LABELS
"""The phases a `Hud` can show."""

SHORT_NAMES: dict[str, str] = {
    name: spec.short_name for name, spec in welfare.OBJECTIVE_SPECS.items()
}
"""Short HUD labels of the welfare objectives (each `ObjectiveSpec`'s
`short_name`); others are cut to 6 chars."""

# H.264 encoders and players expect frame sides divisible by the 16-pixel
# macroblock; we pad rather than let ffmpeg rescale (which blurs the pixels).
_MACRO_BLOCK = 16
# The default scale makes the world at least this wide, so that the HUD's
# player table fits at a legible size (the small map is 104 pixels wide).
_MIN_WIDTH = 480
_FONT_SIZE = 12
_MIN_FONT_SIZE = 7
_LINE_HEIGHT = _FONT_SIZE + 3
_MARGIN = 4
_BACKGROUND = (20, 22, 30)
_TEXT = (235, 235, 235)
_PHASE_COLOURS = {
    phases.Phase.VOTE.label: (255, 196, 64),
    phases.Phase.HARVEST.label: (120, 220, 120),
    phases.Phase.OVER.label: (170, 170, 170),
}
# x264's constant rate factor is 51 * (1 - quality / 10): quality 8 is CRF 10,
# near lossless, which keeps the one-pixel text strokes legible.
_QUALITY = 8
_SWATCH = 10
# The player table's columns: the right edge of each number, from the left.
_TABLE_COLUMNS = ("income", "tax", "transfer")
_COLUMN_WIDTH = 64


@dataclasses.dataclass(frozen=True)
class PlayerFlow:
  """One player's row of the HUD table: who it is and its round so far.

  Attributes:
    name: the player's bot (or population) name.
    colour: its avatar's RGB colour (`player_colours`).
    income: gross income so far in the round (`WORLD.ROUND_GROSS`).
    tax: tax paid so far in the round (`WORLD.ROUND_TAX`).
    transfer: transfers received so far in the round
      (`WORLD.ROUND_TRANSFER`).
  """

  name: str
  colour: tuple[int, int, int]
  income: float
  tax: float
  transfer: float

  def __post_init__(self) -> None:
    object.__setattr__(self, "colour", tuple(int(c) for c in self.colour))
    for field in ("income", "tax", "transfer"):
      object.__setattr__(self, field, float(getattr(self, field)))

  def cells(self) -> tuple[str, ...]:
    """The row's numbers, formatted as the HUD shows them."""
    return tuple(_format_amount(getattr(self, field))
                 for field in _TABLE_COLUMNS)


def player_colours(num_players: int) -> tuple[tuple[int, int, int], ...]:
  """The avatars' colours of players 0..num_players-1, as drawn.

  The avatars are Commons Harvest's (`substrates/umd_apple_harvest.py`
  builds them with `commons_harvest__open.create_avatar_object`), which
  paint player i in Melting Pot's `colors.human_readable[i]`. It imports
  Melting Pot, so call it where the substrate is loaded anyway.
  """
  from meltingpot.utils.substrates import colors  # pylint: disable=g-import-not-at-top
  palette = colors.human_readable
  return tuple(tuple(int(c) for c in palette[i % len(palette)])
               for i in range(num_players))


@dataclasses.dataclass(frozen=True)
class Hud:
  """What the HUD strip shows for one frame.

  Attributes:
    round: the current round, 1-based.
    rounds: the number of rounds in the episode.
    phase: one of `PHASES`.
    rates: the tax rate of each bracket, in force this round.
    objectives: the objectives on the ballot, in ballot order.
    tally: the first preferences per objective of the ballots the rule
      counts (or, while a vote is open, of those cast so far), aligned with
      `objectives`.
    objective: the voted objective in force; None before the first vote closes.
    rule: the social choice rule, shown beside its scores.
    scores: the rule's own tally per objective (Borda points, approvals,
      ...; see `voting.Outcome.scores`) once the vote has closed, else None.
    tie_broken: the objective was drawn at random from a tie.
    step: the steps played so far in the episode (None: not shown).
    steps: the steps of the whole episode.
    apples_alive: the apples alive now (`WORLD.APPLES_ALIVE`).
    pool: the tax collected and not yet paid out (`WORLD.TAX_POOL`).
    players: one `PlayerFlow` per player, in player order: the colour
      legend and each player's income, tax and transfer this round.
  """

  round: int
  rounds: int
  phase: str
  rates: Sequence[float]
  objectives: Sequence[str]
  tally: Sequence[float]
  objective: Optional[str] = None
  rule: Optional[str] = None
  scores: Optional[Sequence[float]] = None
  tie_broken: bool = False
  step: Optional[int] = None
  steps: Optional[int] = None
  apples_alive: Optional[float] = None
  pool: Optional[float] = None
  players: Sequence[PlayerFlow] = ()

  def __post_init__(self) -> None:
    if self.phase not in PHASES:
      raise ValueError(f"phase must be one of {PHASES}, got {self.phase!r}")
    if len(self.tally) != len(self.objectives):
      raise ValueError(
          f"tally has {len(self.tally)} entries for "
          f"{len(self.objectives)} objectives"
      )
    if self.scores is not None and len(self.scores) != len(self.objectives):
      raise ValueError(
          f"scores has {len(self.scores)} entries for "
          f"{len(self.objectives)} objectives"
      )
    # Tuples make a Hud immutable and hashable, and detach it from arrays
    # that the caller may go on mutating.
    object.__setattr__(self, "rates", tuple(float(r) for r in self.rates))
    object.__setattr__(self, "objectives", tuple(map(str, self.objectives)))
    object.__setattr__(self, "tally", tuple(float(v) for v in self.tally))
    if self.scores is not None:
      object.__setattr__(self, "scores",
                         tuple(float(v) for v in self.scores))
    object.__setattr__(self, "players", tuple(self.players))

  def _per_objective(self, values: Sequence[float]) -> str:
    return " · ".join(
        f"{short_name(name)} {_format_votes(value)}"
        for name, value in zip(self.objectives, values)
    )

  def lines(self) -> tuple[str, ...]:
    """Returns the HUD text, one string per line."""
    rates = " ".join(f"{rate:.2f}" for rate in self.rates)
    tally = self._per_objective(self.tally)
    rule = self.rule or "rule"
    if self.scores is not None:
      scores = f"{rule}: {self._per_objective(self.scores)}"
    else:
      scores = f"{rule}: counted when the vote closes"
    objective = self.objective if self.objective is not None else "none yet"
    if self.tie_broken:
      objective += " (tie broken at random)"
    heading = f"Round {self.round}/{self.rounds} · {self.phase.upper()}"
    if self.step is not None:
      of = f"/{self.steps}" if self.steps is not None else ""
      heading += f" · step {self.step}{of}"
    world = []
    if self.apples_alive is not None:
      world.append(f"apples {self.apples_alive:.0f}")
    if self.pool is not None:
      world.append(f"pool {_format_amount(self.pool)}")
    world.append(f"rates {rates}" if rates else "rates -")
    return (
        heading,
        " · ".join(world),
        f"1st prefs {tally}" if tally else "no ballot",
        scores,
        f"objective {objective}",
    )

  def table(self) -> tuple[tuple[str, ...], ...]:
    """The player table as text: a header row, then one row per player.

    Each row is (player, income, tax, transfer); empty without players.
    """
    if not self.players:
      return ()
    header = ("player (this round)",) + _TABLE_COLUMNS
    return (header,) + tuple(
        (f"P{index + 1} {player.name}",) + player.cells()
        for index, player in enumerate(self.players))

  @property
  def rows(self) -> int:
    """The text rows of the strip: the lines, then the table."""
    return len(self.lines()) + len(self.table())


def short_name(objective: str) -> str:
  """Returns the HUD label of `objective` (see `SHORT_NAMES`)."""
  return SHORT_NAMES.get(objective, objective[:6])


def _format_amount(value: float) -> str:
  """Formats apples: one decimal, so a 0.7 tax on one apple shows."""
  return f"{value:.1f}" if math.isfinite(value) else "-"


def _format_votes(votes: float) -> str:
  """Formats a vote count: whole numbers bare, weighted ones to 2 places."""
  if float(votes).is_integer():
    return str(int(votes))
  return f"{votes:.2f}".rstrip("0").rstrip(".")


def _round_up(value: int, multiple: int) -> int:
  """Returns the least multiple of `multiple` that is ≥ `value`."""
  return -(-value // multiple) * multiple


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
  """Returns Pillow's bundled default font at `size` (no files, no network)."""
  return ImageFont.load_default(size=size)


def _fitting_font(
    draw: ImageDraw.ImageDraw, text: str, width: int
) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
  """Returns the largest font, down to a floor, that fits `text` in `width`."""
  for size in range(_FONT_SIZE, _MIN_FONT_SIZE - 1, -1):
    font = _font(size)
    if draw.textlength(text, font=font) <= width:
      return font
  return _font(_MIN_FONT_SIZE)


@functools.lru_cache(maxsize=256)
def _render_strip(
    lines: tuple[str, ...],
    phase: str,
    table: tuple[tuple[str, ...], ...],
    swatches: tuple[tuple[int, int, int], ...],
    width: int,
    height: int,
) -> np.ndarray:
  """Renders the HUD text as a read-only (height, width, 3) uint8 array."""
  image = Image.new("RGB", (width, height), _BACKGROUND)
  draw = ImageDraw.Draw(image)
  for index, text in enumerate(lines):
    colour = _PHASE_COLOURS[phase] if index == 0 else _TEXT
    font = _fitting_font(draw, text, width - 2 * _MARGIN)
    y = _MARGIN + index * _LINE_HEIGHT
    draw.text((_MARGIN, y), text, fill=colour, font=font)
  if table:
    _draw_table(draw, table, swatches, width,
                _MARGIN + len(lines) * _LINE_HEIGHT)
  strip = np.asarray(image, dtype=np.uint8)
  strip.setflags(write=False)
  return strip


def _draw_table(
    draw: ImageDraw.ImageDraw,
    table: tuple[tuple[str, ...], ...],
    swatches: tuple[tuple[int, int, int], ...],
    width: int,
    top: int,
) -> None:
  """Draws the player table: a swatch and a name, then right-aligned numbers.

  The numbers take the right-hand columns; the names get what is left.
  """
  numbers = len(table[0]) - 1
  column = min(_COLUMN_WIDTH, (width - 2 * _MARGIN) // (numbers + 2))
  name_width = width - 2 * _MARGIN - numbers * column - _SWATCH - 3
  font = _font(_FONT_SIZE)
  for size in range(_FONT_SIZE, _MIN_FONT_SIZE - 1, -1):
    font = _font(size)
    if all(draw.textlength(row[0], font=font) <= name_width for row in table) \
        and all(draw.textlength(cell, font=font) <= column - 4
                for row in table for cell in row[1:]):
      break
  for index, row in enumerate(table):
    y = top + index * _LINE_HEIGHT
    x = _MARGIN
    if index > 0:  # The legend: the avatar's colour beside its bot's name.
      draw.rectangle((x, y + 2, x + _SWATCH - 1, y + _SWATCH + 1),
                     fill=swatches[index - 1], outline=_TEXT)
    colour = (170, 170, 170) if index == 0 else _TEXT
    draw.text((x + _SWATCH + 3, y), row[0], fill=colour, font=font)
    for position, cell in enumerate(row[1:]):
      right = width - _MARGIN - (numbers - 1 - position) * column
      draw.text((right - draw.textlength(cell, font=font), y), cell,
                fill=colour, font=font)


def render_hud(hud: Hud, width: int, height: int) -> np.ndarray:
  """Returns the HUD strip of `hud`, (height, width, 3) uint8, read-only."""
  return _render_strip(hud.lines(), hud.phase, hud.table(),
                       tuple(player.colour for player in hud.players),
                       width, height)


def strip_height(hud: Hud) -> int:
  """The pixel height that shows every row of `hud`."""
  return 2 * _MARGIN + hud.rows * _LINE_HEIGHT


def default_scale(world_width: int) -> int:
  """The least integer scale ≥ 2 that makes the world ≥ 480 pixels wide."""
  return max(2, -(-_MIN_WIDTH // world_width))


@dataclasses.dataclass(frozen=True)
class _Layout:
  """Frame geometry, fixed by the first frame of a video."""

  world_shape: tuple[int, int, int]
  scale: int
  text_height: int

  @property
  def world_height(self) -> int:
    return self.world_shape[0] * self.scale

  @property
  def world_width(self) -> int:
    return self.world_shape[1] * self.scale

  @property
  def width(self) -> int:
    return _round_up(self.world_width, _MACRO_BLOCK)

  @property
  def height(self) -> int:
    return _round_up(self.world_height + self.text_height, _MACRO_BLOCK)

  @property
  def strip_height(self) -> int:
    return self.height - self.world_height


def _check_world_rgb(world_rgb: np.ndarray) -> np.ndarray:
  """Returns `world_rgb` as an array, or raises ValueError if not RGB uint8."""
  world_rgb = np.asarray(world_rgb)
  if world_rgb.ndim != 3 or world_rgb.shape[2] != 3:
    raise ValueError(f"WORLD.RGB must be (H, W, 3), got {world_rgb.shape}")
  if world_rgb.dtype != np.uint8:
    raise ValueError(f"WORLD.RGB must be uint8, got {world_rgb.dtype}")
  return world_rgb


def compose_frame(world_rgb: np.ndarray, hud: Hud, scale: int) -> np.ndarray:
  """Returns one video frame: `world_rgb` upscaled, padded, over its HUD.

  The result is (height, width, 3) uint8 with both sides multiples of 16; the
  world sits at the top left, black padding to its right when its scaled
  width is not a multiple of 16, and the HUD strip spans the full width.
  """
  world_rgb = _check_world_rgb(world_rgb)
  layout = _Layout(world_rgb.shape, scale, strip_height(hud))
  return _compose(world_rgb, hud, layout)


def _compose(world_rgb: np.ndarray, hud: Hud, layout: _Layout) -> np.ndarray:
  """Composes one frame for a known, already checked `layout`."""
  scaled = np.repeat(np.repeat(world_rgb, layout.scale, 0), layout.scale, 1)
  frame = np.zeros((layout.height, layout.width, 3), dtype=np.uint8)
  frame[: layout.world_height, : layout.world_width] = scaled
  frame[layout.world_height :] = render_hud(
      hud, layout.width, layout.strip_height
  )
  return frame


class EpisodeVideo:
  """Writes an episode as an mp4, atomically; usable as a context manager."""

  def __init__(
      self, path: str | os.PathLike, *, fps: int = 8,
      scale: Optional[int] = None
  ) -> None:
    """Prepares a video at `path`; nothing is written before the first frame.

    Args:
      path: the destination .mp4; it appears only when `close()` succeeds.
      fps: frames per second, ≥ 1.
      scale: integer upscaling factor of `WORLD.RGB`, ≥ 1; default: the
        least ≥ 2 that makes the world 480 pixels wide (`default_scale`),
        room for the HUD's player table.

    Raises:
      ValueError: if `fps` or `scale` is not a positive integer.
    """
    for name, value in (("fps", fps), ("scale", scale)):
      if name == "scale" and value is None:
        continue
      if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    self._path = pathlib.Path(path)
    self._fps = fps
    self._scale = scale
    self._layout: Optional[_Layout] = None
    self._partial: Optional[pathlib.Path] = None
    self._writer: Optional[Generator[None, bytes, None]] = None
    self._frames = 0
    self._closed = False

  @property
  def path(self) -> pathlib.Path:
    """The destination of the video."""
    return self._path

  @property
  def frames(self) -> int:
    """The number of frames added so far."""
    return self._frames

  @property
  def frame_size(self) -> Optional[tuple[int, int]]:
    """(width, height) of the encoded frames; None before the first frame."""
    if self._layout is None:
      return None
    return self._layout.width, self._layout.height

  def add_frame(self, world_rgb: np.ndarray, hud: Hud) -> None:
    """Appends one frame: `world_rgb` (H, W, 3) uint8 with `hud` below it.

    Raises:
      ValueError: if `world_rgb` is not RGB uint8, or its shape differs from
        the first frame's.
      RuntimeError: if the video is already closed.
    """
    if self._closed:
      raise RuntimeError(f"video {self._path} is already closed")
    world_rgb = _check_world_rgb(world_rgb)
    if self._layout is None:
      scale = self._scale or default_scale(world_rgb.shape[1])
      self._layout = _Layout(world_rgb.shape, scale, strip_height(hud))
    elif world_rgb.shape != self._layout.world_shape:
      raise ValueError(
          f"WORLD.RGB shape {world_rgb.shape} differs from the first "
          f"frame's {self._layout.world_shape}"
      )
    frame = _compose(world_rgb, hud, self._layout)
    if self._writer is None:
      self._writer = self._open(self._layout)
    self._writer.send(frame)
    self._frames += 1

  def _open(self, layout: _Layout) -> Generator[None, bytes, None]:
    """Starts ffmpeg on a temporary file beside the destination."""
    self._path.parent.mkdir(parents=True, exist_ok=True)
    # ffmpeg writes the file itself, so it gets the path of `runs`' partial
    # file (overwriting a leftover from a killed run); the .mp4 suffix tells
    # it the container.
    self._partial = runs.partial_path(self._path, suffix=".mp4")
    writer = imageio_ffmpeg.write_frames(
        str(self._partial),
        (layout.width, layout.height),
        fps=self._fps,
        codec="libx264",
        pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p",
        quality=_QUALITY,
        macro_block_size=_MACRO_BLOCK,
    )
    writer.send(None)  # Runs the generator up to its first `yield`.
    return writer

  def close(self) -> pathlib.Path:
    """Finishes the video and moves it to `path`; returns `path`.

    Closing twice is harmless.

    Raises:
      RuntimeError: if no frame was added, or ffmpeg wrote nothing.
    """
    if self._closed:
      return self._path
    self._closed = True
    if self._writer is None:
      raise RuntimeError(f"no frames were added to {self._path}")
    self._writer.close()  # Waits for ffmpeg to finish the file.
    self._writer = None
    assert self._partial is not None
    if not self._partial.exists() or self._partial.stat().st_size == 0:
      self._remove_partial()
      raise RuntimeError(f"ffmpeg wrote no video for {self._path}")
    runs.commit(self._partial, self._path)
    self._partial = None
    return self._path

  def discard(self) -> None:
    """Stops writing and removes the partial file; `path` is not touched."""
    self._closed = True
    if self._writer is not None:
      self._writer.close()
      self._writer = None
    self._remove_partial()

  def _remove_partial(self) -> None:
    if self._partial is not None:
      self._partial.unlink(missing_ok=True)
      self._partial = None

  def __enter__(self) -> "EpisodeVideo":
    return self

  def __exit__(
      self,
      exc_type: Optional[type[BaseException]],
      exc: Optional[BaseException],
      traceback: Optional[types.TracebackType],
  ) -> None:
    if exc_type is None:
      self.close()
    else:
      self.discard()
