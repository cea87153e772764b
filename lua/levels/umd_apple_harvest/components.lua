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
local tables = require 'common.tables'
local events = require 'system.events'
local tensor = require 'system.tensor'

local meltingpot = 'meltingpot.lua.modules.'
local component = require(meltingpot .. 'component')
local component_registry = require(meltingpot .. 'component_registry')

-- Registers `DensityRegrow` and `Neighborhoods` in the component registry.
local commons_harvest = require 'meltingpot.lua.levels.commons_harvest.components'

local PHASE = require 'phases'

local unpack = unpack or table.unpack

local function isInteger(x)
  return type(x) == 'number' and x == math.floor(x)
end

-- Lab2D's `args` has no integer constraint; step counts and options need one.
local integer = args.conditional(isInteger, 'is not an integer', 'integer')

-- Tax rates are >= 0 (NaN fails); the Treasury checks the cap, `maxRate`,
-- which is another kwarg.
local taxRate = args.all(args.numberType, args.ge(0))

local function isFinite(x)
  return x == x and x ~= math.huge and x ~= -math.huge
end

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

-- The decimal forms of a number that `schedule.parse_rates` accepts, as Lua
-- patterns (which have no alternation): digits with an optional point, or a
-- point and digits, each with an optional exponent. Lua's `tonumber` alone
-- would also take hexadecimal ('0x1') and surrounding whitespace.
local DECIMAL_PATTERNS = {
    '^[+-]?%d+%.?%d*$', '^[+-]?%d+%.?%d*[eE][+-]?%d+$',
    '^[+-]?%.%d+$', '^[+-]?%.%d+[eE][+-]?%d+$',
}

--[[ Parses the tax rate `rates[index]` (0-based, as in Python) written from
outside (a property write), as `umd_meltingpot.principal.schedule.parse_rates`
parses each item, with the same messages.

`value` is text (or a number); ASCII whitespace around it is ignored. Raises
an error naming the valid range for anything that is not a decimal number in
[0, maxRate]; the caller keeps its old rates.
]]
-- `value` as text without the ASCII whitespace around it.
local function trimmed(value)
  return tostring(value):match('^%s*(.-)%s*$')
end

local function parseDecimal(text)
  for _, pattern in ipairs(DECIMAL_PATTERNS) do
    if text:match(pattern) then
      return tonumber(text)
    end
  end
  return nil
end

local function parseRate(value, index, maxRate)
  local text = trimmed(value)
  local rate = parseDecimal(text)
  if rate == nil or not isFinite(rate) or rate < 0 or rate > maxRate then
    error(string.format("rates[%d] must be a finite number in [0, %g], " ..
                        "got '%s'", index, maxRate, text), 0)
  end
  return rate
end

--[[ Splits comma-separated text into items, keeping empty ones (Lab2D's
`strings.split` drops them) so that they can be refused by name. ]]
local function splitItems(text)
  local items = {}
  for item in (text .. ','):gmatch('([^,]*),') do
    items[#items + 1] = item
  end
  return items
end

--[[ Parses the skills written from outside (`economy.skills`): `count`
comma-separated finite numbers > 0. Raises an error naming the valid values;
the caller keeps its old skills. ]]
local function parseSkills(text, count)
  local items = splitItems(tostring(text))
  if #items ~= count then
    error(string.format("skills must be %d comma-separated numbers > 0 " ..
                        "(one per player), got '%s'", count, tostring(text)),
          0)
  end
  local skills = {}
  for i, item in ipairs(items) do
    local stripped = trimmed(item)
    local skill = parseDecimal(stripped)
    if skill == nil or not isFinite(skill) or skill <= 0 then
      error(string.format("skills[%d] must be a finite number > 0, got '%s'",
                          i - 1, stripped), 0)
    end
    skills[i] = skill
  end
  return skills
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


--[[ How far (relative) below a bracket edge an income may fall and still count
as reaching it. Ten apples at skill 0.1 add up to 0.9999999999999999, six at
skill 1/3 to 1.9999999999999998, and even one product can round down
(3 * 0.7 is 2.0999999999999996): skills and edges arrive as binary floats, so
exact arithmetic cannot recover the decimal sums. A sum of N terms is off by
about N * 1e-16 of itself, far below 1e-9; the price is that an income short
of an edge by less than one part in 10^9 counts as reaching it.
`schedule.EDGE_TOLERANCE` in Python is the same number, so the Python
reference taxes as this does. ]]
local EDGE_TOLERANCE = 1e-9

--[[ `Treasury` taxes income and redistributes the pool. Put it on the scene.

Taxing: an apple of value v eaten by player i is taxed at the marginal rate of
the bracket that holds i's *bracket income* (the whole apple at that rate):
with `bracketWindow` = 0, i's gross income so far in the current tax period;
with `bracketWindow` = W > 0, i's gross income in the W harvest steps before
this one (a sliding window, as in Large Legislative Models: W = 1 is the
previous step; apples of the current step count from the next step on; a
ring buffer of per-step income per player; it restarts with each round).
Bracket j + 1 starts at edge e_j: an income counts as reaching it from
e_j (1 - `EDGE_TOLERANCE`), because incomes are sums of floating-point
numbers that can fall just short of the sum they stand for. The eater is
paid v (1 - t) at once, which is negative when a rate t > 1 makes it a fine;
the tax v t goes to the pool. Rates lie in [0, `maxRate`].

Between rounds the bracket incomes are 0 (the next apple is the next round's,
whose period and window start empty), so `getBracketIncomes` and
`getMarginalRates` always say what the next apple would be taxed on.

Why fines: under `equal` redistribution the eater gets its tax back in a
1/n share, so one more apple in bracket k is worth to its eater

    (1 - t_k) + t_k / n     (times v),

which is > 0 for every t_k < n / (n - 1): no rate in [0, 1] makes restraint
a selfish player's best response. For n = 4:

    t_k               0     0.5     1     4/3    2      4
    marginal value    1     0.625  0.25   0    -0.5   -2

Under `below_mean` the share is 1/m to the m players below the mean: an eater
above the mean gets none of its tax back (value 1 - t_k, < 0 once t_k > 1),
one below it gets t_k / m back while it stays below. Large Legislative Models
(hegasz/large-legislative-models, `environment/transforms.py`) taxes
4 x rate x reward with rates in [0, 1], so `maxRate = 4` spans their range.

Redistributing: at the end of every tax period (every `taxPeriod` harvest
steps, and at the end of each round) the whole pool is paid out: in equal
shares to every player (`equal`), or in equal shares to the players whose
gross income this period is below the period mean (`below_mean`; everyone
when nobody is below it). Zapped players are paid too, which needs the
avatars' `skipWaitStateRewards = false` (checked at every payment).

Skills and effort (the AI Economist's trade-off): player i's apple is worth
v s_i of gross income (`skills`, all 1 when empty), taxed as above, and costs
it `effortCost` c at once, which leaves the economy (it is destroyed, not
pooled; the round's effort per player is a ledger of its own). So one more
apple in bracket k is worth s_i (1 - t_k) - c + s_i t_k / n to its eater under
`equal`: a tax can make harvesting not worth the effort, a deadweight cost.

Invariant, at every step: sum(gross) = sum(net) + sum(transfer) + pool; the
rewards paid are net + transfer - effort.

The principal writes rates through the read-write properties
`principal.rates.<k>` (one bracket) and `principal.schedule` (all k rates,
comma-separated, applied atomically). A bad write raises inside the property
call, which Lab2D turns into INVALID_ARGUMENT; the old rates stay in force and
the message is readable at `principal.lastError`.

The read-write property `economy.skills` (comma-separated, one number > 0 per
player) replaces the skills until the episode ends, so that followers can
train with skills drawn per episode; reading it gives the skills in force.
Melting Pot rebuilds the level at every reset, which restores `skills`.
]]
local Treasury = class.Class(component.Component)

function Treasury:__init__(kwargs)
  kwargs = args.parse(kwargs, {
      {'name', args.default('Treasury')},
      -- `rates` (table of k numbers in [0, maxRate]): the initial rates.
      {'rates', args.tableType, nonEmpty, args.tableOf(taxRate)},
      -- `maxRate` (finite number >= 1): the cap on every rate; above 1 a rate
      -- is a fine (the eater's net is negative).
      {'maxRate', args.default(1), args.numberType, args.ge(1),
       args.conditional(isFinite, 'is not finite', 'finite')},
      -- `bracketWindow` (integer >= 0): 0 puts brackets on gross income in
      -- the tax period; W > 0 on gross income in the W harvest steps before
      -- the current one.
      {'bracketWindow', args.default(0), args.numberType, args.ge(0),
       integer},
      -- `bracketEdges` (table of k-1 increasing numbers > 0): lower edges of
      -- brackets 2..k, on bracket income (see `EDGE_TOLERANCE`).
      {'bracketEdges', args.default({}), args.tableType,
       args.tableOf(args.numberType, args.positive), increasing},
      -- `taxPeriod` (integer >= 1): harvest steps per tax period.
      {'taxPeriod', args.numberType, args.positive, integer},
      -- `redistribution` (str): how the pool is paid out.
      {'redistribution', args.default('equal'),
       args.oneOf('equal', 'below_mean')},
      -- `effortCost` (finite number >= 0): the labour cost of one harvest,
      -- deducted from the eater's reward and destroyed (not pooled).
      {'effortCost', args.default(0), args.numberType, args.ge(0),
       args.conditional(isFinite, 'is not finite', 'finite')},
      -- `skills` (empty, or one finite number > 0 per player): player i's
      -- apple is worth `value * skills[i]` of gross income; empty: all 1.
      {'skills', args.default({}), args.tableType,
       args.tableOf(args.numberType, args.positive,
                    args.conditional(isFinite, 'is not finite', 'finite'))},
  })
  Treasury.Base.__init__(self, kwargs)
  -- Two kwargs together: `args` checks each one alone.
  assert(#kwargs.rates == #kwargs.bracketEdges + 1,
         'Treasury needs one more rate than bracket edges, got ' ..
         #kwargs.rates .. ' rates and ' .. #kwargs.bracketEdges .. ' edges.')
  for k, rate in ipairs(kwargs.rates) do
    assert(rate <= kwargs.maxRate,
           'Treasury "rates" must lie in [0, maxRate = ' .. kwargs.maxRate ..
           '], got rates[' .. k .. '] = ' .. rate)
  end
  self._config.maxRate = kwargs.maxRate
  self._config.bracketWindow = kwargs.bracketWindow
  self._config.rates = tables.shallowCopy(kwargs.rates)
  self._config.bracketEdges = tables.shallowCopy(kwargs.bracketEdges)
  self._config.taxPeriod = kwargs.taxPeriod
  self._config.redistribution = kwargs.redistribution
  self._config.effortCost = kwargs.effortCost
  self._config.skills = tables.shallowCopy(kwargs.skills)
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
      self:setRates(rates, k)
    end
  end
  properties.addReadWrite('principal', {
      rates = rateProperties,
      schedule = function(value)
        if value == nil then
          return ratesToString(self._variables.rates)
        end
        self:setSchedule(value)
      end,
  })
  properties.addReadWrite('economy', {
      skills = function(value)
        if value == nil then
          return ratesToString(self:getSkills())
        end
        self:setSkills(value)
      end,
  })
  properties.addReadOnly('principal', {
      lastError = function() return self:getLastError() end,
      pool = function() return numberToString(self._variables.pool) end,
      numBrackets = function() return tostring(#self._config.rates) end,
      maxRate = function() return numberToString(self._config.maxRate) end,
  })
end

function Treasury:reset()
  local n = self.gameObject.simulation:getNumPlayers()
  -- The player count is known only here, not in `__init__`.
  local numSkills = #self._config.skills
  assert(numSkills == 0 or numSkills == n,
         'Treasury "skills" needs one value per player (' .. n .. ') or ' ..
         'none, got ' .. numSkills)
  local skills = {}
  for i = 1, n do
    skills[i] = self._config.skills[i] or 1
  end
  self._variables = {
      numPlayers = n,
      skills = skills,
      rates = tables.shallowCopy(self._config.rates),
      pool = 0,
      lastError = '',
  }
  self:beginRound()
end

function Treasury:start()
  self._avatars = avatarComponentsByIndex(self.gameObject.simulation)
end

--[[ Validates all `rates` first, then replaces the schedule in one go.

`only` (optional) is the one bracket being written (`principal.rates.<k>`):
the others are the rates in force and are not re-parsed.
]]
function Treasury:setRates(rates, only)
  local parsed = {}
  local ok, message = pcall(function()
    if #rates ~= #self._config.rates then
      error('the schedule needs ' .. #self._config.rates ..
            ' rates (one per bracket), got ' .. #rates, 0)
    end
    for k, value in ipairs(rates) do
      if only == nil or only == k then
        parsed[k] = parseRate(value, k - 1, self._config.maxRate)
      else
        parsed[k] = value
      end
    end
  end)
  self:_applyRates(ok, message, parsed)
end

--[[ Sets all k rates from comma-separated text, as `principal.schedule` is
written; it refuses what `schedule.parse_rates` refuses, with its messages. ]]
function Treasury:setSchedule(text)
  local items = splitItems(tostring(text))
  local ok, message = pcall(function()
    if not tostring(text):match('%S') then
      error(string.format('rates must be at least one comma-separated rate ' ..
                          "in [0, %g], such as '0.1,0.2', got an empty " ..
                          'string', self._config.maxRate), 0)
    end
    for _, item in ipairs(items) do
      if not item:match('%S') then
        error("rates must be comma-separated numbers such as '0.1,0.2', " ..
              "with no empty item, got '" .. tostring(text) .. "'", 0)
      end
    end
  end)
  if not ok then
    self:_applyRates(ok, message)
  end
  self:setRates(items)
end

--[[ Replaces the rates with `parsed` if `ok`, else records `message` and
raises it (the old rates stay in force). ]]
function Treasury:_applyRates(ok, message, parsed)
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

function Treasury:getMaxRate()
  return self._config.maxRate
end

--[[ Each player's bracket income, on which its next apple's bracket is
decided: gross income so far in the tax period, or in the window's W
completed harvest steps; 0 between rounds. The table is live; do not modify
it. ]]
function Treasury:getBracketIncomes()
  local v = self._variables
  if self._config.bracketWindow > 0 then
    return v.windowGross
  end
  return v.periodGross
end

--[[ Each player's marginal rate: the rate its next apple would pay. ]]
function Treasury:getMarginalRates()
  local rates = {}
  for i, income in ipairs(self:getBracketIncomes()) do
    rates[i] = self._variables.rates[self:_bracketOf(income)]
  end
  return rates
end

function Treasury:_bracketOf(income)
  local bracket = 1
  for j, edge in ipairs(self._config.bracketEdges) do
    if income >= edge * (1 - EDGE_TOLERANCE) then
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

--[[ Each player's skill in this episode: what one unit of value is worth to
it. ]]
function Treasury:getSkills()
  return tables.shallowCopy(self._variables.skills)
end

--[[ Replaces the players' skills from now until the episode ends, from text
as `economy.skills` is written (one number > 0 per player). Income already
earned keeps the value it had. A bad write raises and leaves the skills as
they were. ]]
function Treasury:setSkills(text)
  local ok, result = pcall(parseSkills, text, self._variables.numPlayers)
  if not ok then
    self._variables.lastError = tostring(result)
    error(self._variables.lastError, 0)
  end
  self._variables.skills = result
  self._variables.lastError = ''
  events:add('skills_set', 'dict', 'skills', ratesToString(result))
end

--[[ Taxes the gross income of a harvest of `value` by `avatar` (`value`
times its skill) and pays the net amount, less the effort cost, at once. ]]
function Treasury:collect(avatar, value)
  local v = self._variables
  local i = avatar:getIndex()
  value = value * self._variables.skills[i]
  local tax = value * v.rates[self:_bracketOf(self:getBracketIncomes()[i])]
  local net = value - tax
  local effort = self._config.effortCost
  v.periodGross[i] = v.periodGross[i] + value
  -- Enters the window when the step ends (`_closeWindowStep`).
  v.stepGross[i] = v.stepGross[i] + value
  v.roundGross[i] = v.roundGross[i] + value
  v.roundNet[i] = v.roundNet[i] + net
  v.roundTax[i] = v.roundTax[i] + tax
  v.roundEffort[i] = v.roundEffort[i] + effort
  v.pool = v.pool + tax
  self:_pay(i, net - effort)
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
  if roundEnds then
    -- The next apple is the next round's, taxed on an empty window: the
    -- observations say so from now on, not from the next round's first step.
    self:_clearWindow()
  elseif self._config.bracketWindow > 0 then
    self:_closeWindowStep()
  end
end

--[[ Moves the step that just ended into the window, in the slot of the
oldest step. Each player's window income is summed afresh from its W slots
(O(n W) a step): a running sum that adds and subtracts would drift, and could
leave an empty window at -1e-16. ]]
function Treasury:_closeWindowStep()
  local v = self._variables
  v.windowSlot = v.windowSlot % self._config.bracketWindow + 1
  for i = 1, v.numPlayers do
    local slots = v.windowSlots[i]
    slots[v.windowSlot] = v.stepGross[i]
    v.stepGross[i] = 0
    v.windowGross[i] = sum(slots)
  end
end

--[[ Empties the window: each player's income in the step under way
(`stepGross`), in each of the last W completed steps (`windowSlots[i]`, a
ring whose newest slot is `windowSlot`) and their sum (`windowGross`). ]]
function Treasury:_clearWindow()
  local v = self._variables
  v.stepGross = zeros(v.numPlayers)
  v.windowGross = zeros(v.numPlayers)
  v.windowSlots = {}
  for i = 1, v.numPlayers do
    v.windowSlots[i] = zeros(self._config.bracketWindow)
  end
  v.windowSlot = 0
end

--[[ Called by the `RoundManager` on the first step of each round. ]]
function Treasury:beginRound()
  local v = self._variables
  v.roundGross = zeros(v.numPlayers)
  v.roundNet = zeros(v.numPlayers)
  v.roundTax = zeros(v.numPlayers)
  v.roundTransfer = zeros(v.numPlayers)
  v.roundEffort = zeros(v.numPlayers)
  v.periodGross = zeros(v.numPlayers)
  v.harvestStep = 0
  v.period = 1
  -- The window restarts with the round, as the tax period does.
  self:_clearWindow()
end

--[[ This round's per-player totals: gross, net, tax, transfer. ]]
function Treasury:getRoundTotals()
  local v = self._variables
  return v.roundGross, v.roundNet, v.roundTax, v.roundTransfer
end

--[[ This round's per-player effort costs: the ledger beside the totals,
kept apart because effort leaves the economy (it is not pooled). ]]
function Treasury:getRoundEffort()
  return self._variables.roundEffort
end


--[[ `BallotBox` holds each player's ranked ballot for the current round. Put
it on the scene.

A ballot is built by a sequence of choices: `cast(i, k)` puts option k in
the next free position of player i's ranking, unless k is ranked already
(a repeat changes nothing). So the first choice is the top, K - 1 distinct
choices make a full ranking (the one left is last), and options never chosen
are tied last; no choice at all is an abstention. Options are 1..numOptions.
`getRanks()` gives, per player, the rank position of each option (1 = top,
0 = unranked).
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
  local v = self._variables
  -- ranks[i][k]: option k's position in player i's ranking (0: unranked);
  -- lengths[i]: how many options player i has ranked.
  v.ranks = {}
  for i = 1, v.numPlayers do
    v.ranks[i] = zeros(self._config.numOptions)
  end
  v.lengths = zeros(v.numPlayers)
end

function BallotBox:cast(playerIndex, choice)
  -- Not a kwarg: the `vote` action's spec bounds it, so this is an invariant.
  assert(isInteger(choice) and choice >= 1 and
         choice <= self._config.numOptions,
         'A ballot choice must be an integer in 1..' ..
         self._config.numOptions .. ', got ' .. tostring(choice))
  local v = self._variables
  local ranks = v.ranks[playerIndex]
  if ranks[choice] == 0 then
    v.lengths[playerIndex] = v.lengths[playerIndex] + 1
    ranks[choice] = v.lengths[playerIndex]
    events:add('vote_cast', 'dict',
               'player_index', playerIndex,  -- int
               'choice', choice,  -- int
               'rank', ranks[choice])  -- int
  end
end

function BallotBox:numOptions()
  return self._config.numOptions
end

function BallotBox:getRanks()
  return self._variables.ranks
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
so the step that ends a round shows them whole (the bracket incomes do not:
the next apple is the next round's; see `Treasury`).
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
  self:_setFrozen(true)  -- The first VOTE step too (see `_endRound`).
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
    -- Frozen now, not in the next step's `update`: the avatars' move
    -- updaters can run before it, and a move in the first VOTE step would
    -- harvest while the world is paused.
    self:_setFrozen(true)
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

--[[ `Ballot` lets its avatar rank the options with the `vote` action during
VOTE phases: action k > 0 puts option k next in its ranking (see
`BallotBox`), 0 does nothing. Outside VOTE phases, a press after the vote
closed included, the action has no effect.
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

Each observation asked for costs a call across the Python boundary at every
step, so the mechanism goes out packed in one tensor; `umd_meltingpot.substrate` unpacks it into the named observations
(`PHASE`, `TAX_RATES`, `VOTING`, `WORLD.ROUND`, ...).

What goes in, and in which order, is the `fields` kwarg: a list of
`{name = 'WORLD.<X>', shape = {...}}` whose dimensions are 'n' (players),
'k' (tax brackets) and 'K' (objectives); each field's values come from its
entry of `MECHANISM_SOURCES` and are packed row-major. Python declares the
list once (`MECHANISM_FIELDS` in `substrates/umd_apple_harvest.py`, which
also says what each field means) and passes it here.
]]
local MechanismReporter = class.Class(component.Component)

--[[ The values of each field a reporter can pack, by name: a function of the
reporter returning a number, a list of numbers, or a list of rows. ]]
local MECHANISM_SOURCES = {
    ['WORLD.ROUND'] = function(self) return self._roundManager:getRound() end,
    ['WORLD.PHASE'] = function(self) return self._roundManager:getPhase() end,
    ['WORLD.TAX_RATES'] = function(self) return self._treasury:getRates() end,
    ['WORLD.TAX_POOL'] = function(self) return self._treasury:getPool() end,
    ['WORLD.BALLOTS'] = function(self) return self._ballotBox:getRanks() end,
    ['WORLD.ROUND_GROSS'] = function(self)
      return (self._treasury:getRoundTotals())
    end,
    ['WORLD.ROUND_NET'] = function(self)
      return (select(2, self._treasury:getRoundTotals()))
    end,
    ['WORLD.ROUND_TAX'] = function(self)
      return (select(3, self._treasury:getRoundTotals()))
    end,
    ['WORLD.ROUND_TRANSFER'] = function(self)
      return (select(4, self._treasury:getRoundTotals()))
    end,
    ['WORLD.APPLES_ALIVE'] = function(self)
      return self.gameObject.simulation:getGroupCount(self._config.appleGroup)
    end,
    ['WORLD.TAGGED'] = function(self)
      local tagged = {}
      for i = 1, #self._avatars do
        tagged[i] = self._avatars[i]:isWait() and 1 or 0
      end
      return tagged
    end,
    ['WORLD.PERIOD_INCOME'] = function(self)
      return self._treasury:getBracketIncomes()
    end,
    ['WORLD.MARGINAL_RATE'] = function(self)
      return self._treasury:getMarginalRates()
    end,
    ['WORLD.ROUND_EFFORT'] = function(self)
      return self._treasury:getRoundEffort()
    end,
    ['WORLD.SKILL'] = function(self) return self._treasury:getSkills() end,
}

local function sortedKeys(map)
  local keys = {}
  for key in pairs(map) do
    keys[#keys + 1] = key
  end
  table.sort(keys)
  return keys
end

-- The schema of one `fields` entry. An empty `shape` (a number) does not
-- reach Lua: Lab2D's settings drop empty lists, hence the default.
local FIELD_SCHEMA = {
    {'name', args.stringType,
     args.oneOf(unpack(sortedKeys(MECHANISM_SOURCES)))},
    {'shape', args.default({}), args.tableType,
     args.tableOf(args.oneOf('n', 'k', 'K'))},
}

local function fieldError(field)
  local ok, message = pcall(args.parse, field, FIELD_SCHEMA)
  if not ok then
    return tostring(message)
  end
end

local mechanismField = args.conditional(
    function(field) return fieldError(field) == nil end, fieldError,
    'mechanismField')

local distinctNames = args.conditional(
    function(fields)
      local seen = {}
      for _, field in ipairs(fields) do
        if seen[field.name] then
          return false
        end
        seen[field.name] = true
      end
      return true
    end,
    'names a field twice', 'distinctNames')

function MechanismReporter:__init__(kwargs)
  kwargs = args.parse(kwargs, {
      {'name', args.default('MechanismReporter')},
      -- `fields` (non-empty table of {name, shape}): what to pack, in order.
      {'fields', args.tableType, nonEmpty,
       args.tableOf(args.tableType, mechanismField), distinctNames},
      -- `appleGroup` (str): the group whose objects `WORLD.APPLES_ALIVE`
      -- counts.
      {'appleGroup', args.default('apples'), args.stringType},
  })
  MechanismReporter.Base.__init__(self, kwargs)
  self._config.fields = {}
  for i, field in ipairs(kwargs.fields) do
    self._config.fields[i] = {
        name = field.name,
        shape = tables.shallowCopy(field.shape or {}),
    }
  end
  self._config.appleGroup = kwargs.appleGroup
end

function MechanismReporter:start()
  self._avatars = avatarComponentsByIndex(self.gameObject.simulation)
  self._treasury = self.gameObject:getComponent('Treasury')
  self._ballotBox = self.gameObject:getComponent('BallotBox')
  self._roundManager = self.gameObject:getComponent('RoundManager')
  local total
  self._sizes, total = self:sizes()
  self._values = zeros(total)
end

--[[ Each field's number of values, in the order of `fields`, and their sum:
the size of `WORLD.MECHANISM`. ]]
function MechanismReporter:sizes()
  local dimensions = {
      n = self.gameObject.simulation:getNumPlayers(),
      k = self.gameObject:getComponent('Treasury'):numBrackets(),
      K = self.gameObject:getComponent('BallotBox'):numOptions(),
  }
  local sizes, total = {}, 0
  for i, field in ipairs(self._config.fields) do
    sizes[i] = 1
    for _, dimension in ipairs(field.shape) do
      sizes[i] = sizes[i] * dimensions[dimension]
    end
    total = total + sizes[i]
  end
  return sizes, total
end

-- Writes `x` (a number, or a list of numbers or of lists) into `values`
-- after position `at`; returns the last position written.
local function pack(values, at, x)
  if type(x) == 'table' then
    for _, item in ipairs(x) do
      at = pack(values, at, item)
    end
    return at
  end
  values[at + 1] = x
  return at + 1
end

--[[ The packed values, field after field.

The observation is made at every step, so the values go into one table kept
across steps (`DoubleTensor` copies it), by position.
]]
function MechanismReporter:values()
  local values = self._values
  local at = 0
  for i, field in ipairs(self._config.fields) do
    local before = at
    at = pack(values, at, MECHANISM_SOURCES[field.name](self))
    if at - before ~= self._sizes[i] then
      error(field.name .. ' has ' .. (at - before) .. ' values, ' ..
            'its shape wants ' .. self._sizes[i])
    end
  end
  return values
end

function MechanismReporter:addObservations(tileSet, world, observations)
  local _, total = self:sizes()
  observations[#observations + 1] = {
      name = 'WORLD.MECHANISM', type = 'tensor.DoubleTensor',
      shape = {total},
      func = function(grid) return tensor.DoubleTensor(self:values()) end,
  }
end


--[[ `PhasedDensityRegrow` is Commons Harvest's `DensityRegrow`, paused outside
HARVEST phases: a VOTE phase is a pause of the world, so the state that ends a
round's harvest is exactly the state that starts the next one.

The pause is checked where an apple grows, in the regrowth updaters: Lab2D
carries out the state changes that a step asks for only after that step's
updaters have run, so moving waiting apples out of their regrowth groups (as
this component once did) paused regrowth a step late. Apples grew in the first
VOTE step of a round, and one that grew under an avatar was eaten there.
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

--[[ Registers the base class's regrowth updaters, each made to do nothing
outside HARVEST phases. ]]
function PhasedDensityRegrow:registerUpdaters(updaterRegistry)
  local harvestOnly = {}
  function harvestOnly.registerUpdater(_, updater)
    local grow = updater.updateFn
    updater.updateFn = function(...)
      if self._roundManager:getPhase() == PHASE.HARVEST then
        return grow(...)
      end
    end
    updaterRegistry:registerUpdater(updater)
  end
  PhasedDensityRegrow.Base.registerUpdaters(self, harvestOnly)
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
