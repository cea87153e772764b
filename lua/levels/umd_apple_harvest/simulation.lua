--[[ `UmdSimulation`: Melting Pot's `BaseSimulation`, made reproducible for a
given seed, with a hook that runs at the very end of each step.

End-of-step hook: Lab2D resolves the moves that updaters request (and so the
`onEnter` contacts that eat apples) after all updaters have run, so no updater
sees a step's harvest. The engine asks `simulation:continue()` right after
that, so this is where scene components' `onStepEnd()` run: taxes are paid
out and phases change after everything else in the step.

Determinism:

This build of Lab2D uses LuaJIT with randomised string hashing, so `pairs()`
over a string-keyed table visits keys in an order that changes from one Lua VM
to the next. `BaseSimulation` relies on that order in two places, so the same
`env_seed` did not give the same game (commons_harvest__open included):

*   the order of same-priority updaters (e.g. the density-regrowth groups),
    each of which draws from the shared random stream;
*   the order in which avatars pick spawn points and initial orientations.

This subclass fixes both orders (updaters by priority then name; avatars by
player index).

Observations: each avatar's `<i>.LAYER` observation (its view as sprite ids,
turned north) is dropped; no Melting Pot config exposes it. Each player gets
two more (`view_cells.lua`), computed only when requested:

*   `<i>.GRID`: its egocentric view as cell classes (empty, apple, wall,
    avatar), read from the same layer view that `<i>.RGB` renders, so a
    game that needs no pixels renders none;
*   `<i>.FIRST_RGB_CRC32`: the CRC-32 of its `RGB` view at the episode's
    first step, rendered once per episode.
]]

local class = require 'common.class'
local helpers = require 'common.helpers'
local log = require 'common.log'
local random = require 'system.random'
local tile = require 'system.tile'

local base_simulation = require 'meltingpot.lua.modules.base_simulation'
local view_cells = require 'view_cells'

local function updaterPriority(name)
  return tonumber(name:match('^_priority_(%-?[%d%.]+)_')) or 0
end

local function sortUpdateOrder(updateOrder)
  table.sort(updateOrder, function(a, b)
    local pa, pb = updaterPriority(a), updaterPriority(b)
    if pa ~= pb then
      return pa > pb  -- Higher priority first, as Lab2D runs them.
    end
    return a < b
  end)
end

local function avatarsByIndex(avatarObjects)
  local ordered = {}
  for _, avatarObject in pairs(avatarObjects) do
    ordered[#ordered + 1] = avatarObject
  end
  table.sort(ordered, function(a, b)
    return a:getComponent('Avatar'):getIndex() <
           b:getComponent('Avatar'):getIndex()
  end)
  return ordered
end


--[[ Calls `fn(...)` with `helpers.tostring` stubbed out unless verbose
logging is on. `BaseSimulation:worldConfig` and `:stateCallbacks` end with
`log.v(1, '...' .. helpers.tostring(all of it))`, whose argument is built
even when the level is off: about 0.4 s of every reset, which Melting Pot
runs on a fresh Lua VM per episode (issue 20). ]]
local function withoutDebugStrings(fn, ...)
  if log.getLogLevel() > log.INFO then
    return fn(...)
  end
  local tostring_ = helpers.tostring
  helpers.tostring = function() return '' end
  local ok, result = pcall(fn, ...)
  helpers.tostring = tostring_
  if not ok then
    error(result, 0)
  end
  return result
end


local UmdSimulation = class.Class(base_simulation.BaseSimulation)

function UmdSimulation:worldConfig()
  local config = withoutDebugStrings(UmdSimulation.Base.worldConfig, self)
  sortUpdateOrder(config.updateOrder)
  return config
end

function UmdSimulation:stateCallbacks(callbacks)
  withoutDebugStrings(UmdSimulation.Base.stateCallbacks, self, callbacks)
end

function UmdSimulation:addObservations(tileSet, world, observations)
  UmdSimulation.Base.addObservations(self, tileSet, world, observations)
  for i = #observations, 1, -1 do
    if observations[i].name:match('^%d+%.LAYER$') then
      table.remove(observations, i)
    end
  end
  local rankMap = view_cells.rankSpriteMap(world:spriteNames())
  self._firstViewCrcs = {}
  for _, avatarObject in ipairs(avatarsByIndex(self._variables.avatarObjects))
  do
    self:_addViewObservations(avatarObject, rankMap, tileSet, world,
                              observations)
  end
end

--[[ Adds `<i>.GRID` and `<i>.FIRST_RGB_CRC32` for one avatar, from layer
views of the window that its `<i>.RGB` renders (`Avatar:addObservations`).
]]
function UmdSimulation:_addViewObservations(avatarObject, rankMap, tileSet,
                                            world, observations)
  local avatar = avatarObject:getComponent('Avatar')
  local index = avatar:getIndex()
  -- Melting Pot's `Avatar` keeps its view and sprite map in `_config` only.
  local view, ownMap = avatar._config.view, avatar._config.spriteMap
  local function createView(spriteMap)
    return world:createView{
        left = view.left,
        right = view.right,
        forward = view.forward,
        backward = view.backward,
        centered = view.centered,
        spriteMap = spriteMap,
    }
  end
  local function observe(layerView, grid)
    return layerView:observation{grid = grid,
                                 piece = avatarObject:getPiece()}
  end
  -- The avatar's own sprite map (its avatar drawn as "Self"), then ranks.
  local ranked = {}
  for source, target in pairs(rankMap) do
    ranked[source] = target
  end
  for source, target in pairs(ownMap) do
    ranked[source] = rankMap[target]
  end
  local rankView = createView(ranked)
  local shape = rankView:observationSpec('GRID').shape
  observations[#observations + 1] = {
      name = index .. '.GRID',
      type = 'tensor.ByteTensor',
      shape = {shape[1], shape[2]},
      func = function(grid)
        return view_cells.classify(observe(rankView, grid))
      end,
  }
  local rgbView = createView(ownMap)
  local scene = tile.Scene{shape = rgbView:gridSize(), set = tileSet}
  observations[#observations + 1] = {
      name = index .. '.FIRST_RGB_CRC32',
      type = 'Doubles',
      shape = {},
      func = function(grid)
        -- The first call of an episode is its first step (`start` clears).
        if not self._firstViewCrcs[index] then
          self._firstViewCrcs[index] = view_cells.crc32(
              scene:render(observe(rgbView, grid)))
        end
        return self._firstViewCrcs[index]
      end,
  }
end

function UmdSimulation:start(grid)
  UmdSimulation.Base.start(self, grid)
  self._firstViewCrcs = {}
  self._stepEndComponents = {}
  for _, component in ipairs(self:getSceneObject():getComponents()) do
    if component.onStepEnd then
      table.insert(self._stepEndComponents, component)
    end
  end
end

--[[ Called by the engine once per step, after all moves and contacts. ]]
function UmdSimulation:continue()
  for _, component in ipairs(self._stepEndComponents) do
    component:onStepEnd()
  end
  return UmdSimulation.Base.continue(self)
end

--[[ Starts the avatars in player-index order, drawing spawn points for each
spawn group in order of first use. Same bookkeeping as the base class. ]]
function UmdSimulation:_avatarStart(grid)
  local avatars = avatarsByIndex(self._variables.avatarObjects)
  local groups, counts = {}, {}
  for _, avatarObject in ipairs(avatars) do
    local group = avatarObject:getComponent('Avatar'):getSpawnGroup()
    if not counts[group] then
      groups[#groups + 1] = group
      counts[group] = 0
    end
    counts[group] = counts[group] + 1
  end
  local pointsByGroup, used = {}, {}
  for _, group in ipairs(groups) do
    pointsByGroup[group] = grid:groupShuffledWithCount(
        random, group, counts[group])
    assert(#pointsByGroup[group] == counts[group],
           'Insufficient spawn points in group ' .. group)
    used[group] = 0
  end
  for _, avatarObject in ipairs(avatars) do
    local avatar = avatarObject:getComponent('Avatar')
    local group = avatar:getSpawnGroup()
    used[group] = used[group] + 1
    avatarObject:start(grid, pointsByGroup[group][used[group]])
    local piece = avatarObject:getPiece()
    self._variables.avatarPieceToIndex[piece] = avatar:getIndex()
    self._variables.avatarIndexToPiece[avatar:getIndex()] = piece
    self._variables.pieceToGameObject[piece] = avatarObject
  end
  local postStartObjects = self._variables.objectsByFunctionName.postStart
  for _, gameObject in ipairs(postStartObjects) do
    gameObject:postStart(grid)
  end
end

return {UmdSimulation = UmdSimulation}
