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

Player indices are 1-based here, as everywhere in Lua. As in Melting Pot's
component library, each component keeps its kwargs in `self._config` (set once)
and its per-episode state in `self._variables`, rebuilt in `reset()`; links to
other components are made in `start()`.
]]

local args = require 'common.args'
local class = require 'common.class'
local properties = require 'common.properties'
local strings = require 'common.strings'
local tables = require 'common.tables'
local events = require 'system.events'
local tensor = require 'system.tensor'

local meltingpot = 'meltingpot.lua.modules.'
local component = require(meltingpot .. 'component')
local component_registry = require(meltingpot .. 'component_registry')

-- Registers `DensityRegrow` and `Neighborhoods` in the component registry.
local commons_harvest = require 'meltingpot.lua.levels.commons_harvest.components'

local PHASE = require 'phases'

local function isInteger(x)
  return type(x) == 'number' and x == math.floor(x)
end

-- Lab2D's `args` has no integer constraint; step counts and options need one.
local integer = args.conditional(isInteger, 'is not an integer', 'integer')

-- Tax rates are fractions of income; NaN fails both bounds.
local taxRate = args.all(args.numberType, args.ge(0), args.le(1))

-- Constraints on lists; put them after `args.tableType`.
local nonEmpty = args.conditional(
    function(list) return #list >= 1 end, 'is empty', 'nonEmpty')

local increasing = args.conditional(
    function(list)
      for j = 2, #list do
        if list[j] <= list[j - 1] then
          return false
        end
      end
      return true
    end,
    'is not increasing', 'increasing')

local function zeros(n)
  local result = {}
  for i = 1, n do
    result[i] = 0
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
avatars' `skipWaitStateRewards = false` (checked at every payment).

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
      {'rates', args.tableType, nonEmpty, args.tableOf(taxRate)},
      -- `bracketEdges` (table of k-1 increasing numbers > 0): lower edges of
      -- brackets 2..k, on gross income within the tax period.
      {'bracketEdges', args.default({}), args.tableType,
       args.tableOf(args.numberType, args.positive), increasing},
      -- `taxPeriod` (integer >= 1): harvest steps per tax period.
      {'taxPeriod', args.numberType, args.positive, integer},
      -- `redistribution` (str): how the pool is paid out.
      {'redistribution', args.default('equal'),
       args.oneOf('equal', 'below_mean')},
  })
  Treasury.Base.__init__(self, kwargs)
  -- Two kwargs together: `args` checks each one alone.
  assert(#kwargs.rates == #kwargs.bracketEdges + 1,
         'Treasury needs one more rate than bracket edges, got ' ..
         #kwargs.rates .. ' rates and ' .. #kwargs.bracketEdges .. ' edges.')
  self._config.rates = tables.shallowCopy(kwargs.rates)
  self._config.bracketEdges = tables.shallowCopy(kwargs.bracketEdges)
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
        return numberToString(self._variables.rates[k])
      end
      local rates = tables.shallowCopy(self._variables.rates)
      rates[k] = value
      self:setRates(rates)
    end
  end
  properties.addReadWrite('principal', {
      rates = rateProperties,
      schedule = function(value)
        if value == nil then
          return ratesToString(self._variables.rates)
        end
        self:setRates(strings.split(value, ','))
      end,
  })
  properties.addReadOnly('principal', {
      lastError = function() return self:getLastError() end,
      pool = function() return numberToString(self._variables.pool) end,
      numBrackets = function() return tostring(#self._config.rates) end,
  })
end

function Treasury:reset()
  local n = self.gameObject.simulation:getNumPlayers()
  self._variables = {
      numPlayers = n,
      rates = tables.shallowCopy(self._config.rates),
      pool = 0,
      lastError = '',
  }
  self:beginRound()
end

function Treasury:start()
  self._avatars = avatarComponentsByIndex(self.gameObject.simulation)
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
    self._variables.lastError = tostring(message)
    error(self._variables.lastError, 0)
  end
  self._variables.rates = parsed
  self._variables.lastError = ''
  events:add('tax_rates_set', 'dict', 'schedule', ratesToString(parsed))
end

function Treasury:getRates()
  return self._variables.rates
end

--[[ Why the last rate write failed; empty after a good one. ]]
function Treasury:getLastError()
  return self._variables.lastError or ''
end

function Treasury:numBrackets()
  return #self._config.rates
end

function Treasury:getPool()
  return self._variables.pool
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

--[[ Adds `amount` to player `i`'s reward, checking that it arrives.

Melting Pot's `Avatar` drops rewards paid in its wait state (zapped) unless it
is built with `skipWaitStateRewards = false`, and a dropped transfer would
break the conservation invariant. `getReward` is the avatar's public view of
this step's reward, so no private config is read.
]]
function Treasury:_pay(i, amount)
  local avatar = self._avatars[i]
  local before = avatar:getReward()
  avatar:addReward(amount)
  assert(avatar:getReward() == before + amount,
         'Treasury paid player ' .. i .. ' but its avatar dropped the ' ..
         'reward: build avatars with skipWaitStateRewards = false.')
end

--[[ Taxes `value` earned by `avatar` and pays the net amount at once. ]]
function Treasury:collect(avatar, value)
  local v = self._variables
  local i = avatar:getIndex()
  local tax = value * v.rates[self:_bracketOf(v.periodGross[i])]
  local net = value - tax
  v.periodGross[i] = v.periodGross[i] + value
  v.roundGross[i] = v.roundGross[i] + value
  v.roundNet[i] = v.roundNet[i] + net
  v.roundTax[i] = v.roundTax[i] + tax
  v.pool = v.pool + tax
  self:_pay(i, net)
end

function Treasury:_recipients()
  local v = self._variables
  local everyone = {}
  for i = 1, v.numPlayers do
    everyone[i] = i
  end
  if self._config.redistribution == 'equal' then
    return everyone
  end
  local mean = sum(v.periodGross) / v.numPlayers
  local below = {}
  for i = 1, v.numPlayers do
    if v.periodGross[i] < mean then
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
  local v = self._variables
  local recipients = self:_recipients()
  local share = v.pool / #recipients
  for _, i in ipairs(recipients) do
    self:_pay(i, share)
    v.roundTransfer[i] = v.roundTransfer[i] + share
  end
  events:add('tax_period_ended', 'dict',
             'period', v.period,  -- int
             'pool', v.pool,  -- double
             'recipients', #recipients)  -- int
  v.pool = 0
  v.period = v.period + 1
  v.periodGross = zeros(v.numPlayers)
end

--[[ Called by the `RoundManager` after every harvest step. ]]
function Treasury:onHarvestStep(roundEnds)
  local v = self._variables
  v.harvestStep = v.harvestStep + 1
  if roundEnds or v.harvestStep % self._config.taxPeriod == 0 then
    self:endPeriod()
  end
end

--[[ Called by the `RoundManager` on the first step of each round. ]]
function Treasury:beginRound()
  local v = self._variables
  v.roundGross = zeros(v.numPlayers)
  v.roundNet = zeros(v.numPlayers)
  v.roundTax = zeros(v.numPlayers)
  v.roundTransfer = zeros(v.numPlayers)
  v.periodGross = zeros(v.numPlayers)
  v.harvestStep = 0
  v.period = 1
end

--[[ This round's per-player totals: gross, net, tax, transfer. ]]
function Treasury:getRoundTotals()
  local v = self._variables
  return v.roundGross, v.roundNet, v.roundTax, v.roundTransfer
end


--[[ `BallotBox` holds each player's ballot for the current round. Put it on
the scene. Choices are 1..numOptions; 0 is an abstention.
]]
local BallotBox = class.Class(component.Component)

function BallotBox:__init__(kwargs)
  kwargs = args.parse(kwargs, {
      {'name', args.default('BallotBox')},
      -- `numOptions` (integer >= 1): the objectives on the ballot.
      {'numOptions', args.numberType, args.positive, integer},
  })
  BallotBox.Base.__init__(self, kwargs)
  self._config.numOptions = kwargs.numOptions
end

function BallotBox:reset()
  self._variables = {numPlayers = self.gameObject.simulation:getNumPlayers()}
  self:clear()
end

function BallotBox:clear()
  self._variables.choices = zeros(self._variables.numPlayers)
end

function BallotBox:cast(playerIndex, choice)
  -- Not a kwarg: the `vote` action's spec bounds it, so this is an invariant.
  assert(isInteger(choice) and choice >= 0 and
         choice <= self._config.numOptions,
         'A ballot choice must be an integer in 0..' ..
         self._config.numOptions .. ', got ' .. tostring(choice))
  local choices = self._variables.choices
  if choices[playerIndex] ~= choice then
    choices[playerIndex] = choice
    events:add('vote_cast', 'dict',
               'player_index', playerIndex,  -- int
               'choice', choice)  -- int
  end
end

function BallotBox:numOptions()
  return self._config.numOptions
end

function BallotBox:getChoices()
  return self._variables.choices
end

--[[ `RoundManager` runs the game's phases inside one episode. Put it on the
scene.

Each round is `voteSteps` VOTE steps (avatars frozen, no zapping, ballots
open) then `harvestSteps` HARVEST steps. After `rounds` rounds the episode
ends, so the end state of round r is the start state of round r + 1.

Phase changes happen at the very end of a step (`onStepEnd`, called by the
level's `UmdSimulation` after moves and contacts), so an observation always
shows the phase of the coming step. Players zapped out when a round ends
respawn in the first VOTE step; otherwise nothing moves during the vote. The
round's income totals stay observable until the first step of the next round,
so the step that ends a round shows them whole.
Events: `round_started`, `vote_closed`, `round_ended` (each with `round`).
]]
local RoundManager = class.Class(component.Component)

function RoundManager:__init__(kwargs)
  kwargs = args.parse(kwargs, {
      {'name', args.default('RoundManager')},
      -- `rounds` (integer >= 1): rounds per episode (tau).
      {'rounds', args.numberType, args.positive, integer},
      -- `voteSteps` (integer >= 1): steps of each VOTE phase (V).
      {'voteSteps', args.numberType, args.positive, integer},
      -- `harvestSteps` (integer >= 1): steps of each HARVEST phase (T).
      {'harvestSteps', args.numberType, args.positive, integer},
  })
  RoundManager.Base.__init__(self, kwargs)
  self._config.rounds = kwargs.rounds
  self._config.voteSteps = kwargs.voteSteps
  self._config.harvestSteps = kwargs.harvestSteps
end

function RoundManager:reset()
  self._variables = {
      round = 1,
      phase = PHASE.VOTE,
      stepInPhase = 0,
      roundStartPending = true,
  }
end

function RoundManager:start()
  local simulation = self.gameObject.simulation
  self._avatars = avatarComponentsByIndex(simulation)
  self._treasury = self.gameObject:getComponent('Treasury')
  self._ballotBox = self.gameObject:getComponent('BallotBox')
end

function RoundManager:getPhase()
  return self._variables.phase
end

function RoundManager:getRound()
  return self._variables.round
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
  local v = self._variables
  if v.roundStartPending then
    v.roundStartPending = false
    self._treasury:beginRound()
    self:_setFrozen(true)
    events:add('round_started', 'dict', 'round', v.round)  -- int
  end
end

--[[ Runs at the very end of each step (called by `UmdSimulation`), after the
step's moves and harvest. ]]
function RoundManager:onStepEnd()
  local v = self._variables
  v.stepInPhase = v.stepInPhase + 1
  if v.phase == PHASE.VOTE then
    if v.stepInPhase >= self._config.voteSteps then
      self:_closeVote()
    end
  elseif v.phase == PHASE.HARVEST then
    local roundEnds = v.stepInPhase >= self._config.harvestSteps
    self._treasury:onHarvestStep(roundEnds)
    if roundEnds then
      self:_endRound()
    end
  end
end

function RoundManager:_closeVote()
  local v = self._variables
  v.phase = PHASE.HARVEST
  v.stepInPhase = 0
  self:_setFrozen(false)
  events:add('vote_closed', 'dict', 'round', v.round)  -- int
end

function RoundManager:_endRound()
  local v = self._variables
  events:add('round_ended', 'dict', 'round', v.round)  -- int
  v.stepInPhase = 0
  if v.round >= self._config.rounds then
    v.phase = PHASE.OVER
    self:_setFrozen(true)
    self.gameObject.simulation:endEpisode()
  else
    v.round = v.round + 1
    v.phase = PHASE.VOTE
    self:_respawnZappedPlayers()
    self._ballotBox:clear()
    v.roundStartPending = true
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
