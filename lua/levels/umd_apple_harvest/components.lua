--[[ Components of the `umd_apple_harvest` level.

Commons Harvest's `DensityRegrow` and `Neighborhoods` are reused unchanged (by
`require`). This file adds the mechanism:

*   `TaxedEdible` (apple): routes an eaten apple's value through the treasury.
*   `Treasury` (scene): bracket taxes, the pool and its redistribution.
*   `RoundManager` (scene): the VOTE -> HARVEST phase machine over the rounds.
*   `BallotBox` (scene) and `Ballot` (avatar): the vote.
*   `MechanismReporter` (scene): the mechanism as one packed observation.
*   `PhasedDensityRegrow` (apple): Commons Harvest's regrowth, paused while
    voting.

Player indices are 1-based here, as everywhere in Lua.
]]

local args = require 'common.args'
local class = require 'common.class'
local properties = require 'common.properties'
local events = require 'system.events'
local tensor = require 'system.tensor'

local meltingpot = 'meltingpot.lua.modules.'
local component = require(meltingpot .. 'component')
local component_registry = require(meltingpot .. 'component_registry')

-- Registers `DensityRegrow` and `Neighborhoods` in the component registry.
local commons_harvest = require 'meltingpot.lua.levels.commons_harvest.components'

-- Phase codes, as observed in `PHASE` / `WORLD.PHASE` (see Python's
-- `umd_meltingpot.substrate.PHASES`).
local PHASE = {VOTE = 0, HARVEST = 1, OVER = 2}

local function isInteger(x)
  return type(x) == 'number' and x == math.floor(x)
end

local function zeros(n)
  local result = {}
  for i = 1, n do
    result[i] = 0
  end
  return result
end

local function copyList(list)
  local result = {}
  for i, v in ipairs(list) do
    result[i] = v
  end
  return result
end

local function sum(list)
  local total = 0
  for _, v in ipairs(list) do
    total = total + v
  end
  return total
end

local function avatarComponentsByIndex(simulation)
  local avatars = {}
  for _, avatarObject in pairs(simulation:getAvatarGameObjects()) do
    local avatar = avatarObject:getComponent('Avatar')
    avatars[avatar:getIndex()] = avatar
  end
  return avatars
end

local function sceneComponent(gameObject, name)
  return gameObject.simulation:getSceneObject():getComponent(name)
end

--[[ Parses one tax rate written from outside (a property write).

Raises an error naming the valid range for anything that is not a finite
number in [0, 1]; the caller keeps its old rates.
]]
local function parseRate(value)
  local rate = tonumber(value)
  if rate == nil or rate ~= rate or rate < 0 or rate > 1 then
    error('a tax rate must be a number in [0, 1], got ' .. tostring(value), 0)
  end
  return rate
end

-- The shortest decimal form that reads back as exactly `x`.
local function numberToString(x)
  local short = string.format('%.15g', x)
  if tonumber(short) == x then
    return short
  end
  return string.format('%.17g', x)
end

local function ratesToString(rates)
  local parts = {}
  for i, rate in ipairs(rates) do
    parts[i] = numberToString(rate)
  end
  return table.concat(parts, ',')
end


--[[ `TaxedEdible` makes a game object edible, like Melting Pot's `Edible`, but
the eater's income goes through the scene's `Treasury`, which pays the eater
the apple's value net of tax.
]]
local TaxedEdible = class.Class(component.Component)

function TaxedEdible:__init__(kwargs)
  kwargs = args.parse(kwargs, {
      {'name', args.default('TaxedEdible')},
      -- `liveState` (str): the state in which the object can be eaten.
      {'liveState', args.stringType},
      -- `waitState` (str): the state the object takes once eaten.
      {'waitState', args.stringType},
      -- `value` (number > 0): gross income from eating it, before tax.
      {'value', args.default(1.0), args.positive},
  })
  TaxedEdible.Base.__init__(self, kwargs)
  self._config.liveState = kwargs.liveState
  self._config.waitState = kwargs.waitState
  self._config.value = kwargs.value
end

function TaxedEdible:start()
  self._treasury = sceneComponent(self.gameObject, 'Treasury')
end

function TaxedEdible:onEnter(enteringGameObject, contactName)
  if contactName == 'avatar' and
      self.gameObject:getState() == self._config.liveState then
    local avatar = enteringGameObject:getComponent('Avatar')
    self._treasury:collect(avatar, self._config.value)
    events:add('edible_consumed', 'dict',
               'player_index', avatar:getIndex())  -- int
    self.gameObject:setState(self._config.waitState)
  end
end


--[[ `Treasury` taxes income and redistributes the pool. Put it on the scene.

Taxing: an apple of value v eaten by player i is taxed at the marginal rate of
the bracket that holds i's gross income so far in the current tax period (the
whole apple at that rate). The eater is paid v - tax at once; the tax goes to
the pool.

Redistributing: at the end of every tax period (every `taxPeriod` harvest
steps, and at the end of each round) the whole pool is paid out: in equal
shares to every player (`equal`), or in equal shares to the players whose
gross income this period is below the period mean (`below_mean`; everyone
when nobody is below it). Zapped players are paid too, which needs the
avatars' `skipWaitStateRewards = false` (checked at start).

Invariant, at every step: sum(gross) = sum(net) + sum(transfer) + pool.

The principal writes rates through the read-write properties
`principal.rates.<k>` (one bracket) and `principal.schedule` (all k rates,
comma-separated, applied atomically). A bad write raises inside the property
call, which Lab2D turns into INVALID_ARGUMENT; the old rates stay in force and
the message is readable at `principal.lastError`.
]]
local Treasury = class.Class(component.Component)

function Treasury:__init__(kwargs)
  kwargs = args.parse(kwargs, {
      {'name', args.default('Treasury')},
      -- `rates` (table of k numbers in [0, 1]): the initial bracket rates.
      {'rates', args.tableType},
      -- `bracketEdges` (table of k-1 increasing numbers > 0): lower edges of
      -- brackets 2..k, on gross income within the tax period.
      {'bracketEdges', args.default({}), args.tableType},
      -- `taxPeriod` (integer >= 1): harvest steps per tax period.
      {'taxPeriod', args.positive},
      -- `redistribution` (str): how the pool is paid out.
      {'redistribution', args.default('equal'),
       args.oneOf('equal', 'below_mean')},
  })
  Treasury.Base.__init__(self, kwargs)
  assert(#kwargs.rates >= 1, 'Treasury needs at least one rate.')
  assert(#kwargs.rates == #kwargs.bracketEdges + 1,
         'Treasury needs one more rate than bracket edges, got ' ..
         #kwargs.rates .. ' rates and ' .. #kwargs.bracketEdges .. ' edges.')
  for _, rate in ipairs(kwargs.rates) do
    parseRate(rate)
  end
  for j, edge in ipairs(kwargs.bracketEdges) do
    assert(type(edge) == 'number' and edge > 0 and
           (j == 1 or edge > kwargs.bracketEdges[j - 1]),
           'Treasury bracketEdges must be positive and increasing.')
  end
  assert(isInteger(kwargs.taxPeriod), 'Treasury taxPeriod must be an integer.')
  self._config.rates = copyList(kwargs.rates)
  self._config.bracketEdges = copyList(kwargs.bracketEdges)
  self._config.taxPeriod = kwargs.taxPeriod
  self._config.redistribution = kwargs.redistribution
end

function Treasury:awake()
  -- Properties live as long as the Lua VM, so they are registered once here
  -- and read the current episode's state through `self`.
  local rateProperties = {}
  for k = 1, #self._config.rates do
    rateProperties[k] = function(value)
      if value == nil then  -- A read.
        return numberToString(self._rates[k])
      end
      local rates = copyList(self._rates)
      rates[k] = value
      self:setRates(rates)
    end
  end
  properties.addReadWrite('principal', {
      rates = rateProperties,
      schedule = function(value)
        if value == nil then
          return ratesToString(self._rates)
        end
        local rates = {}
        for part in string.gmatch(value, '[^,]+') do
          rates[#rates + 1] = part
        end
        self:setRates(rates)
      end,
  })
  properties.addReadOnly('principal', {
      lastError = function() return self._lastError or '' end,
      pool = function() return numberToString(self._pool) end,
      numBrackets = function() return tostring(#self._config.rates) end,
  })
end

function Treasury:reset()
  self._rates = copyList(self._config.rates)
  self._pool = 0
  self._lastError = ''
  self._harvestStep = 0
  self._period = 1
end

function Treasury:start()
  self._avatars = avatarComponentsByIndex(self.gameObject.simulation)
  self._numPlayers = self.gameObject.simulation:getNumPlayers()
  for i = 1, self._numPlayers do
    assert(self._avatars[i]._config.skipWaitStateRewards == false,
           'Treasury needs avatars with skipWaitStateRewards = false, or ' ..
           'transfers to zapped players would be lost.')
  end
  self:_zeroPeriod()
  self:beginRound()
end

--[[ Validates all `rates` first, then replaces the schedule in one go. ]]
function Treasury:setRates(rates)
  local parsed = {}
  local ok, message = pcall(function()
    if #rates ~= #self._config.rates then
      error('the schedule needs ' .. #self._config.rates ..
            ' rates (one per bracket), got ' .. #rates, 0)
    end
    for k, value in ipairs(rates) do
      parsed[k] = parseRate(value)
    end
  end)
  if not ok then
    self._lastError = tostring(message)
    error(self._lastError, 0)
  end
  self._rates = parsed
  self._lastError = ''
  events:add('tax_rates_set', 'dict', 'schedule', ratesToString(parsed))
end

function Treasury:getRates()
  return self._rates
end

function Treasury:numBrackets()
  return #self._config.rates
end

function Treasury:getPool()
  return self._pool
end

function Treasury:_bracketOf(income)
  local bracket = 1
  for j, edge in ipairs(self._config.bracketEdges) do
    if income >= edge then
      bracket = j + 1
    end
  end
  return bracket
end

--[[ Taxes `value` earned by `avatar` and pays the net amount at once. ]]
function Treasury:collect(avatar, value)
  local i = avatar:getIndex()
  local rate = self._rates[self:_bracketOf(self._periodGross[i])]
  local tax = value * rate
  local net = value - tax
  self._periodGross[i] = self._periodGross[i] + value
  self._roundGross[i] = self._roundGross[i] + value
  self._roundNet[i] = self._roundNet[i] + net
  self._roundTax[i] = self._roundTax[i] + tax
  self._pool = self._pool + tax
  avatar:addReward(net)
end

function Treasury:_recipients()
  local everyone = {}
  for i = 1, self._numPlayers do
    everyone[i] = i
  end
  if self._config.redistribution == 'equal' then
    return everyone
  end
  local mean = sum(self._periodGross) / self._numPlayers
  local below = {}
  for i = 1, self._numPlayers do
    if self._periodGross[i] < mean then
      below[#below + 1] = i
    end
  end
  if #below == 0 then
    return everyone
  end
  return below
end

--[[ Pays out the pool and starts a new tax period. ]]
function Treasury:endPeriod()
  local recipients = self:_recipients()
  local share = self._pool / #recipients
  for _, i in ipairs(recipients) do
    self._avatars[i]:addReward(share)
    self._roundTransfer[i] = self._roundTransfer[i] + share
  end
  events:add('tax_period_ended', 'dict',
             'period', self._period,  -- int
             'pool', self._pool,  -- double
             'recipients', #recipients)  -- int
  self._pool = 0
  self._period = self._period + 1
  self:_zeroPeriod()
end

function Treasury:_zeroPeriod()
  self._periodGross = zeros(self._numPlayers)
end

--[[ Called by the `RoundManager` after every harvest step. ]]
function Treasury:onHarvestStep(roundEnds)
  self._harvestStep = self._harvestStep + 1
  if roundEnds or self._harvestStep % self._config.taxPeriod == 0 then
    self:endPeriod()
  end
end

--[[ Called by the `RoundManager` on the first step of each round. ]]
function Treasury:beginRound()
  local n = self._numPlayers
  self._roundGross = zeros(n)
  self._roundNet = zeros(n)
  self._roundTax = zeros(n)
  self._roundTransfer = zeros(n)
  self._harvestStep = 0
  self._period = 1
  self:_zeroPeriod()
end

--[[ This round's per-player totals: gross, net, tax, transfer. ]]
function Treasury:getRoundTotals()
  return self._roundGross, self._roundNet, self._roundTax, self._roundTransfer
end


--[[ `BallotBox` holds each player's ballot for the current round. Put it on
the scene. Choices are 1..numOptions; 0 is an abstention.
]]
local BallotBox = class.Class(component.Component)

function BallotBox:__init__(kwargs)
  kwargs = args.parse(kwargs, {
      {'name', args.default('BallotBox')},
      -- `numOptions` (integer >= 1): the objectives on the ballot.
      {'numOptions', args.positive},
  })
  BallotBox.Base.__init__(self, kwargs)
  assert(isInteger(kwargs.numOptions), 'BallotBox numOptions must be an int.')
  self._config.numOptions = kwargs.numOptions
end

function BallotBox:reset()
  self._choices = {}
end

function BallotBox:start()
  self:clear()
end

function BallotBox:clear()
  self._choices = zeros(self.gameObject.simulation:getNumPlayers())
end

function BallotBox:cast(playerIndex, choice)
  assert(isInteger(choice) and choice >= 0 and
         choice <= self._config.numOptions,
         'A ballot choice must be 0..' .. self._config.numOptions)
  if self._choices[playerIndex] ~= choice then
    self._choices[playerIndex] = choice
    events:add('vote_cast', 'dict',
               'player_index', playerIndex,  -- int
               'choice', choice)  -- int
  end
end

function BallotBox:numOptions()
  return self._config.numOptions
end

function BallotBox:getChoices()
  return self._choices
end

--[[ `RoundManager` runs the game's phases inside one episode. Put it on the
scene.

Each round is `voteSteps` VOTE steps (avatars frozen, no zapping, ballots
open) then `harvestSteps` HARVEST steps. After `rounds` rounds the episode
ends, so the end state of round r is the start state of round r + 1.

Phase changes happen at the very end of a step (`onStepEnd`, called by the
level's `UmdSimulation` after moves and contacts), so an observation always shows the
phase of the coming step. Players zapped out when a round ends respawn in the
first VOTE step; otherwise nothing moves during the vote. The round's income totals stay observable until the
first step of the next round, so the step that ends a round shows them whole.
Events: `round_started`, `vote_closed`, `round_ended` (each with `round`).
]]
local RoundManager = class.Class(component.Component)

function RoundManager:__init__(kwargs)
  kwargs = args.parse(kwargs, {
      {'name', args.default('RoundManager')},
      -- `rounds` (integer >= 1): rounds per episode (tau).
      {'rounds', args.positive},
      -- `voteSteps` (integer >= 1): steps of each VOTE phase (V).
      {'voteSteps', args.positive},
      -- `harvestSteps` (integer >= 1): steps of each HARVEST phase (T).
      {'harvestSteps', args.positive},
  })
  RoundManager.Base.__init__(self, kwargs)
  for _, key in ipairs({'rounds', 'voteSteps', 'harvestSteps'}) do
    assert(isInteger(kwargs[key]), 'RoundManager ' .. key .. ' must be an int.')
    self._config[key] = kwargs[key]
  end
end

function RoundManager:reset()
  self._round = 1
  self._phase = PHASE.VOTE
  self._stepInPhase = 0
  self._roundStartPending = true
end

function RoundManager:start()
  local simulation = self.gameObject.simulation
  self._avatars = avatarComponentsByIndex(simulation)
  self._treasury = self.gameObject:getComponent('Treasury')
  self._ballotBox = self.gameObject:getComponent('BallotBox')
end

function RoundManager:getPhase()
  return self._phase
end

function RoundManager:getRound()
  return self._round
end

function RoundManager:_setFrozen(frozen)
  for _, avatar in pairs(self._avatars) do
    local zapper = avatar.gameObject:getComponent('Zapper')
    if frozen then
      avatar:disallowMovement()
      zapper:disallowZapping()
    else
      avatar:allowMovement()
      zapper:allowZapping()
    end
  end
end

function RoundManager:update()
  if self._roundStartPending then
    self._roundStartPending = false
    self._treasury:beginRound()
    self:_setFrozen(true)
    events:add('round_started', 'dict', 'round', self._round)  -- int
  end
end

--[[ Runs at the very end of each step (called by `UmdSimulation`), after the
step's moves and harvest. ]]
function RoundManager:onStepEnd()
  self._stepInPhase = self._stepInPhase + 1
  if self._phase == PHASE.VOTE then
    if self._stepInPhase >= self._config.voteSteps then
      self:_closeVote()
    end
  elseif self._phase == PHASE.HARVEST then
    local roundEnds = self._stepInPhase >= self._config.harvestSteps
    self._treasury:onHarvestStep(roundEnds)
    if roundEnds then
      self:_endRound()
    end
  end
end

function RoundManager:_closeVote()
  self._phase = PHASE.HARVEST
  self._stepInPhase = 0
  self:_setFrozen(false)
  events:add('vote_closed', 'dict', 'round', self._round)  -- int
end

function RoundManager:_endRound()
  events:add('round_ended', 'dict', 'round', self._round)  -- int
  self._stepInPhase = 0
  if self._round >= self._config.rounds then
    self._phase = PHASE.OVER
    self:_setFrozen(true)
    self.gameObject.simulation:endEpisode()
  else
    self._round = self._round + 1
    self._phase = PHASE.VOTE
    self:_respawnZappedPlayers()
    self._ballotBox:clear()
    self._roundStartPending = true
  end
end

--[[ Brings zapped players back as the vote starts (Lab2D carries out the
teleport in the first VOTE step), rather than at a random time during it. ]]
function RoundManager:_respawnZappedPlayers()
  for _, avatar in pairs(self._avatars) do
    if avatar:isWait() then
      avatar.gameObject:teleportToGroup(avatar:getSpawnGroup(),
                                        avatar:getAliveState())
    end
  end
end

--[[ `Ballot` lets its avatar vote with the `vote` action during VOTE phases:
action k > 0 casts a ballot for option k (the last one cast counts), 0 does
nothing. Outside VOTE phases the action has no effect.
]]
local Ballot = class.Class(component.Component)

function Ballot:__init__(kwargs)
  kwargs = args.parse(kwargs, {
      {'name', args.default('Ballot')},
  })
  Ballot.Base.__init__(self, kwargs)
end

function Ballot:start()
  self._avatar = self.gameObject:getComponent('Avatar')
  self._roundManager = sceneComponent(self.gameObject, 'RoundManager')
  self._ballotBox = sceneComponent(self.gameObject, 'BallotBox')
end

function Ballot:update()
  if self._roundManager:getPhase() == PHASE.VOTE then
    local choice = self._avatar:getVolatileData().actions['vote']
    if choice and choice > 0 then
      self._ballotBox:cast(self._avatar:getIndex(), choice)
    end
  end
end


--[[ `MechanismReporter` publishes the whole mechanism as one observation,
`WORLD.MECHANISM`. Put it on the scene.

Lab2D computes every observation of a level at every step, and each costs a
call across the Python boundary, so the mechanism goes out packed in one
tensor; `umd_meltingpot.substrate` unpacks it into the named observations
(`PHASE`, `TAX_RATES`, `VOTING`, `WORLD.ROUND`, ...). The layout, for n
players, k brackets and K objectives (`substrates/umd_apple_harvest.py`
mirrors it):

    round, phase, pool, apples alive,
    rates[k], ballots[n * K] (row-major one-hot; zero row = abstention),
    gross[n], net[n], tax[n], transfer[n] (this round), tagged[n]

`tagged` is 1 for players zapped out now (Perolat et al. 2017's peacefulness
counts them); apples alive counts the objects in group `apples`.
]]
local MechanismReporter = class.Class(component.Component)

function MechanismReporter:__init__(kwargs)
  kwargs = args.parse(kwargs, {
      {'name', args.default('MechanismReporter')},
      {'appleGroup', args.default('apples'), args.stringType},
  })
  MechanismReporter.Base.__init__(self, kwargs)
  self._config.appleGroup = kwargs.appleGroup
end

function MechanismReporter:start()
  self._avatars = avatarComponentsByIndex(self.gameObject.simulation)
  self._treasury = self.gameObject:getComponent('Treasury')
  self._ballotBox = self.gameObject:getComponent('BallotBox')
  self._roundManager = self.gameObject:getComponent('RoundManager')
end

local function append(values, list)
  for _, v in ipairs(list) do
    values[#values + 1] = v
  end
end

--[[ The packed values, in the layout above. ]]
function MechanismReporter:values()
  local values = {
      self._roundManager:getRound(),
      self._roundManager:getPhase(),
      self._treasury:getPool(),
      self.gameObject.simulation:getGroupCount(self._config.appleGroup),
  }
  append(values, self._treasury:getRates())
  local numOptions = self._ballotBox:numOptions()
  for _, choice in ipairs(self._ballotBox:getChoices()) do
    for option = 1, numOptions do
      values[#values + 1] = option == choice and 1 or 0
    end
  end
  local gross, net, tax, transfer = self._treasury:getRoundTotals()
  append(values, gross)
  append(values, net)
  append(values, tax)
  append(values, transfer)
  for i = 1, #self._avatars do
    values[#values + 1] = self._avatars[i]:isWait() and 1 or 0
  end
  return values
end

function MechanismReporter:addObservations(tileSet, world, observations)
  local n = self.gameObject.simulation:getNumPlayers()
  local k = self.gameObject:getComponent('Treasury'):numBrackets()
  local numOptions = self.gameObject:getComponent('BallotBox'):numOptions()
  observations[#observations + 1] = {
      name = 'WORLD.MECHANISM', type = 'tensor.DoubleTensor',
      shape = {4 + k + n * numOptions + 5 * n},
      func = function(grid) return tensor.DoubleTensor(self:values()) end,
  }
end


--[[ `PhasedDensityRegrow` is Commons Harvest's `DensityRegrow`, paused outside
HARVEST phases: a VOTE phase is a pause of the world, so the state that ends a
round's harvest is exactly the state that starts the next one.

While paused, an eaten apple waits in the plain wait state, which belongs to
no regrowth group, so no regrowth updater can pick it.
]]
local PhasedDensityRegrow = class.Class(commons_harvest.DensityRegrow)

function PhasedDensityRegrow:__init__(kwargs)
  kwargs.name = kwargs.name or 'PhasedDensityRegrow'
  PhasedDensityRegrow.Base.__init__(self, kwargs)
end

function PhasedDensityRegrow:start()
  PhasedDensityRegrow.Base.start(self)
  self._roundManager = sceneComponent(self.gameObject, 'RoundManager')
end

function PhasedDensityRegrow:_updateWaitState()
  if self._roundManager:getPhase() == PHASE.HARVEST then
    PhasedDensityRegrow.Base._updateWaitState(self)
  elseif self.gameObject:getState() ~= self._config.liveState then
    self.gameObject:setState(self._config.waitState)
  end
end


local allComponents = {
    TaxedEdible = TaxedEdible,
    Treasury = Treasury,
    BallotBox = BallotBox,
    RoundManager = RoundManager,
    Ballot = Ballot,
    MechanismReporter = MechanismReporter,
    PhasedDensityRegrow = PhasedDensityRegrow,
}

component_registry.registerAllComponents(allComponents)

return allComponents
