--[[ A player's view as cell classes, read from its layer view: the `GRID`
observation, which needs no rendering.

Lab2D's layer view holds, for each cell of a player's view and each render
layer, the id of the sprite drawn there: 0 for none, else 4k + 1 + o for
sprite k (from 0, in `world:spriteNames()` order) in orientation o. A cell shows
the class of its greatest-ranked sprite, as the rendered `RGB` view does in
this level: an avatar stands over the ground, an apple over the ground, a
wall is alone in its cell, and the zapping beam is opaque and hides all. The
player's own avatar (its "Self" sprite) reads as the ground under it, and
cells beyond the map's edge (the black `OutOfBounds` sprite) as walls, as
Python's `agents.observation.parse_cells` reads the pixels.

`FIRST_RGB_CRC32` is zlib's CRC-32 of the bytes of a player's `RGB` view at
the first step of an episode, the one view that the bots hash to seed
themselves; it is rendered once per episode.
]]

local bit = require 'bit'

--[[ The cell classes of `GRID`. The one Lua definition; Python's is
`agents.observation.Cell`, and tests/test_symbolic_grid.py checks that
`GRID` equals `parse_cells` of the rendered view. ]]
local CELL = {EMPTY = 0, APPLE = 1, WALL = 2, AVATAR = 3}

-- The rank of the beam, above every class: it hides what is under it.
local BEAM = CELL.AVATAR + 1

-- The rank of each sprite, by name without its orientation suffix: its
-- class, or BEAM. The avatars (`Avatar<n>`) rank as AVATAR; any other
-- sprite is transparent (spawn points, an eaten apple's wait state) and
-- ranks as EMPTY, below everything that is drawn.
local SPRITE_RANKS = {
    Apple = CELL.APPLE,
    Wall = CELL.WALL,
    OutOfBounds = CELL.WALL,
    Self = CELL.EMPTY,
    BeamZap = BEAM,
}

--[[ The rank of sprite `name` (e.g. 'Avatar3'). ]]
local function spriteRank(name)
  if name:match('^Avatar%d+$') then
    return CELL.AVATAR
  end
  return SPRITE_RANKS[name] or CELL.EMPTY
end

--[[ The sprite map that makes a layer view classify itself.

Mapping every sprite of rank r onto sprite k = r makes the greatest id among
a cell's layers that of its greatest rank (ids grow with k); `classify`
turns it back into a class. The sprites mapped onto are chosen for their k
only: this view is never rendered.

Args:
  spriteNames: `world:spriteNames()`, every sprite in every orientation:
    '' (id 0), then sprite k's 'Name.N', 'Name.E', ... at 4k + 2 to
    4k + 5 (ids 4k + 1 to 4k + 4).

Returns:
  The `spriteMap` of `world:createView`, source name -> target name.
]]
local function rankSpriteMap(spriteNames)
  local names = {}
  for k = 0, (#spriteNames - 1) / 4 - 1 do
    names[k + 1] = spriteNames[4 * k + 2]:match('^(.-)%.N$')
  end
  assert(#names >= BEAM + 1, 'too few sprites to rank')
  local spriteMap = {}
  for _, name in ipairs(names) do
    spriteMap[name] = names[spriteRank(name) + 1]
  end
  return spriteMap
end

--[[ Classifies a layer view made with a `rankSpriteMap`.

Args:
  ids: Int32Tensor of sprite ids, rows x columns x layers.

Returns:
  ByteTensor rows x columns of `CELL` classes: each cell the class of its
  greatest-ranked sprite, EMPTY under the beam or where nothing is drawn.
]]
local function classify(ids)
  -- Tensor operations only: a Lua loop over the cells took 10x as long.
  -- The greatest id, 4 rank + 1 + o, gives the rank (0 where none).
  local ranks = ids:max(3):add(-1):div(4):clamp(0, BEAM)
  local beam = ranks:clone():div(BEAM)  -- 1 under the beam, else 0.
  return ranks:csub(beam:mul(BEAM)):byte()
end

-- zlib's CRC-32 (reflected polynomial 0xEDB88320), one entry per byte.
local CRC_TABLE = {}
for byte = 0, 255 do
  local crc = byte
  for _ = 1, 8 do
    if bit.band(crc, 1) == 1 then
      crc = bit.bxor(bit.rshift(crc, 1), 0xEDB88320)
    else
      crc = bit.rshift(crc, 1)
    end
  end
  CRC_TABLE[byte] = crc
end

--[[ zlib's CRC-32 of the bytes of ByteTensor `bytes`, in layout order, as
a number in [0, 2^32). ]]
local function crc32(bytes)
  local values = bytes:reshape{bytes:size()}:val()
  local crc = bit.bnot(0)
  for i = 1, #values do
    crc = bit.bxor(CRC_TABLE[bit.band(bit.bxor(crc, values[i]), 0xFF)],
                   bit.rshift(crc, 8))
  end
  crc = bit.bnot(crc)
  -- LuaJIT's bit operations give signed 32-bit results.
  return crc < 0 and crc + 2 ^ 32 or crc
end

return {
    CELL = CELL,
    spriteRank = spriteRank,
    rankSpriteMap = rankSpriteMap,
    classify = classify,
    crc32 = crc32,
}
