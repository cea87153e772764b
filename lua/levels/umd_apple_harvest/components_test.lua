--[[ Unit tests of the umd_apple_harvest components, with fake collaborators.

Run from pytest (tests/test_lua_components.py) through `dmlab2d.Lab2d` and
dmlab2d's `testing/test_runner.lua`. Rates are dyadic (0.25, 0.5) so sums are
exact and `asserts.EQ` can compare them.
]]

local asserts = require 'testing.asserts'
local test_runner = require 'testing.test_runner'

local components = require 'components'
local PHASE = require 'phases'
local tensor = require 'system.tensor'
local view_cells = require 'view_cells'

-- A fake Avatar component with its Zapper, recording what is done to it.
-- With `dropsWaitStateRewards` it drops rewards while zapped, as Melting
-- Pot's `Avatar` does when built with `skipWaitStateRewards = true`.
local function fakeAvatar(index)
  local avatar = {reward = 0, frozen = false, actions = {vote = 0},
                  dropsWaitStateRewards = false}
  local zapper = {frozen = false}
  function zapper:disallowZapping() self.frozen = true end
  function zapper:allowZapping() self.frozen = false end
  function avatar:getIndex() return index end
  function avatar:addReward(amount)
    if not (self.dropsWaitStateRewards and self:isWait()) then
      self.reward = self.reward + amount
    end
  end
  function avatar:getReward() return self.reward end
  function avatar:getVolatileData() return {actions = self.actions} end
  function avatar:disallowMovement() self.frozen = true end
  function avatar:allowMovement() self.frozen = false end
  function avatar:isWait() return self.state == 'playerWait' end
  function avatar:getSpawnGroup() return 'spawnPoints' end
  function avatar:getAliveState() return 'player' .. index end
  avatar.state = avatar:getAliveState()
  avatar.zapper = zapper
  avatar.gameObject = {
      getComponent = function(_, name)
        return ({Avatar = avatar, Zapper = zapper})[name]
      end,
      teleportToGroup = function(_, group, state)
        avatar.state = state
        avatar.teleportedTo = group
      end,
  }
  return avatar
end

local function fakeAvatars(n)
  local avatars = {}
  for i = 1, n do
    avatars[i] = fakeAvatar(i)
  end
  return avatars
end

-- The `key` field of each item of `list`, in order.
local function pluck(list, key)
  local values = {}
  for i, item in ipairs(list) do
    values[i] = item[key]
  end
  return values
end

-- A fake simulation whose scene holds `sceneComponents`.
local function fakeSimulation(avatars, sceneComponents)
  local scene = {
      getComponent = function(_, name) return sceneComponents[name] end,
  }
  local simulation = {ended = false}
  function simulation:getNumPlayers() return #avatars end
  function simulation:getAvatarGameObjects()
    return pluck(avatars, 'gameObject')
  end
  function simulation:getSceneObject() return scene end
  function simulation:endEpisode() self.ended = true end
  return simulation
end

-- Sets `component.gameObject` as GameObject:addComponent would.
local function attach(component, simulation, siblings)
  component.gameObject = {
      simulation = simulation,
      getComponent = function(_, name) return siblings[name] end,
  }
end

-- Attaches `component`, then resets and starts it as an episode start would.
local function attachAndStart(component, simulation, siblings)
  attach(component, simulation, siblings)
  if component.reset then component:reset() end
  if component.start then component:start() end
  return component
end

local function makeTreasury(avatars, kwargs)
  local treasury = components.Treasury(kwargs)
  local siblings = {Treasury = treasury}
  return attachAndStart(treasury, fakeSimulation(avatars, siblings), siblings)
end

-- The round's totals over all players: gross, net, transfer.
local function totals(treasury)
  local gross, net, _, transfer = treasury:getRoundTotals()
  local sums = {0, 0, 0}
  for i = 1, #gross do
    sums[1] = sums[1] + gross[i]
    sums[2] = sums[2] + net[i]
    sums[3] = sums[3] + transfer[i]
  end
  return sums[1], sums[2], sums[3]
end

-- Player `i`'s tax this round.
local function roundTax(treasury, i)
  local _, _, tax = treasury:getRoundTotals()
  return tax[i]
end

local function rewards(avatars)
  return pluck(avatars, 'reward')
end

local tests = {}

function tests.treasuryTaxesEachAppleAtTheEatersMarginalRate()
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {
      rates = {0.25, 0.5}, bracketEdges = {2}, taxPeriod = 100})
  -- Period income 0 and 1 fall in bracket 1; income 2 is in bracket 2.
  treasury:collect(avatars[1], 1)
  treasury:collect(avatars[1], 1)
  treasury:collect(avatars[1], 1)
  asserts.EQ(avatars[1].reward, 0.75 + 0.75 + 0.5)
  asserts.EQ(treasury:getPool(), 0.25 + 0.25 + 0.5)
  asserts.EQ(roundTax(treasury, 1), 1)
  asserts.EQ(avatars[2].reward, 0)
end

function tests.treasuryPaysThePoolInEqualSharesAtThePeriodEnd()
  local avatars = fakeAvatars(4)
  local treasury = makeTreasury(avatars, {
      rates = {0.5}, taxPeriod = 2})
  treasury:collect(avatars[1], 1)
  treasury:collect(avatars[2], 1)
  treasury:onHarvestStep(false)
  asserts.EQ(treasury:getPool(), 1)
  treasury:onHarvestStep(false)  -- The second step ends the period.
  asserts.EQ(treasury:getPool(), 0)
  asserts.EQ(avatars[1].reward, 0.5 + 0.25)
  asserts.EQ(avatars[3].reward, 0.25)
  local _, _, _, transfer = treasury:getRoundTotals()
  asserts.EQ(transfer[4], 0.25)
end

-- Each player's reward after one `below_mean` tax period at rate 0.5 in which
-- player i earns `gross[i]`.
local function belowMeanRewards(gross)
  local avatars = fakeAvatars(#gross)
  local treasury = makeTreasury(avatars, {
      rates = {0.5}, taxPeriod = 1, redistribution = 'below_mean'})
  for i, value in ipairs(gross) do
    treasury:collect(avatars[i], value)
  end
  treasury:onHarvestStep(false)
  return rewards(avatars)
end

function tests.treasuryPaysBelowMeanPlayersOnlyUnderBelowMean()
  -- Mean gross 1: players 3 and 4 are below and share the pool of 2.
  asserts.tablesEQ(belowMeanRewards({2, 2, 0, 0}), {1, 1, 1, 1})
end

function tests.treasuryPaysEveryoneWhenNobodyIsBelowTheMean()
  asserts.tablesEQ(belowMeanRewards({1, 1}), {0.5 + 0.5, 0.5 + 0.5})
end

function tests.treasuryBracketsRestartEachTaxPeriod()
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {
      rates = {0, 0.5}, bracketEdges = {1}, taxPeriod = 1})
  treasury:collect(avatars[1], 1)  -- Bracket 1: untaxed.
  treasury:onHarvestStep(false)
  treasury:collect(avatars[1], 1)  -- A new period: bracket 1 again.
  asserts.EQ(roundTax(treasury, 1), 0)
  treasury:collect(avatars[1], 1)  -- Period income 1: bracket 2.
  asserts.EQ(roundTax(treasury, 1), 0.5)
end

-- Two players at a flat rate of 0.5; player 1 has earned 1 this period.
local function treasuryAfterOneApple(taxPeriod)
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {rates = {0.5}, taxPeriod = taxPeriod})
  treasury:collect(avatars[1], 1)
  return treasury, avatars
end

function tests.treasuryRoundEndClosesTheOpenPeriod()
  local treasury, avatars = treasuryAfterOneApple(10)
  treasury:onHarvestStep(true)
  asserts.EQ(treasury:getPool(), 0)
  asserts.EQ(avatars[2].reward, 0.25)
end

function tests.treasuryConservesIncome()
  local avatars = fakeAvatars(3)
  local treasury = makeTreasury(avatars, {
      rates = {0.25, 0.5, 0.75}, bracketEdges = {1, 2}, taxPeriod = 3})
  for step = 1, 10 do
    treasury:collect(avatars[step % 3 + 1], 1)
    treasury:onHarvestStep(step == 10)
    local gross, net, transfer = totals(treasury)
    asserts.EQ(gross, net + transfer + treasury:getPool())
  end
  local paid = 0
  for _, reward in ipairs(rewards(avatars)) do
    paid = paid + reward
  end
  asserts.EQ(paid, 10)
end

-- Player i's apple is worth its skill; the effort cost leaves the economy.
function tests.treasuryScalesIncomeBySkillAndChargesEffort()
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {
      rates = {0.5, 0.75}, bracketEdges = {1}, taxPeriod = 10,
      skills = {0.5, 2}, effortCost = 0.25})
  treasury:collect(avatars[1], 1)  -- gross 0.5, taxed 0.5 (below 1)
  treasury:collect(avatars[2], 1)  -- gross 2, taxed 0.5: it was at 0
  treasury:collect(avatars[2], 1)  -- gross 2, taxed 0.75: now at 2 >= 1
  local gross, net, tax, transfer = treasury:getRoundTotals()
  asserts.tablesEQ(gross, {0.5, 4})
  asserts.tablesEQ(tax, {0.25, 2.5})
  asserts.tablesEQ(net, {0.25, 1.5})
  asserts.tablesEQ(transfer, {0, 0})
  asserts.tablesEQ(treasury:getRoundEffort(), {0.25, 0.5})
  asserts.tablesEQ(rewards(avatars), {0, 1})  -- net - effort
  asserts.tablesEQ(treasury:getSkills(), {0.5, 2})
  -- The pool is paid back whole; the effort is not: rewards = gross - effort.
  treasury:onHarvestStep(true)
  asserts.EQ(treasury:getPool(), 0)
  asserts.tablesEQ(rewards(avatars), {1.375, 2.375})
end

function tests.treasuryEffortCanMakeAnAppleCostItsEater()
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {
      rates = {1}, taxPeriod = 10, skills = {0.5, 1}, effortCost = 0.25})
  treasury:collect(avatars[1], 1)
  asserts.EQ(avatars[1].reward, -0.25)  -- All taxed, and the effort paid.
  treasury:onHarvestStep(true)
  asserts.tablesEQ(rewards(avatars), {0, 0.25})  -- 0.5 shared: -0.25 + 0.25
end

-- `economy.skills` replaces the skills for the rest of the episode: income
-- already earned keeps its value, and a bad write changes nothing.
function tests.treasurySetSkillsRevaluesTheNextApples()
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {
      rates = {0.5}, taxPeriod = 10, skills = {0.5, 2}})
  treasury:collect(avatars[1], 1)  -- gross 0.5
  treasury:setSkills('2, 0.25')
  asserts.tablesEQ(treasury:getSkills(), {2, 0.25})
  treasury:collect(avatars[1], 1)  -- gross 2
  treasury:collect(avatars[2], 1)  -- gross 0.25
  local gross = treasury:getRoundTotals()
  asserts.tablesEQ(gross, {2.5, 0.25})
  for _, bad in ipairs({'1', '1,2,3', '1,0', '1,-2', '1,inf', '1,x', ''}) do
    asserts.shouldFail(function() treasury:setSkills(bad) end, {'skills'})
    asserts.tablesEQ(treasury:getSkills(), {2, 0.25})
  end
  asserts.shouldFail(function() treasury:setSkills('1,0') end,
                     {'skills[1] must be a finite number > 0', "got '0'"})
  asserts.EQ(treasury:getLastError(),
             "skills[1] must be a finite number > 0, got '0'")
  treasury:setSkills('1,1')
  asserts.EQ(treasury:getLastError(), '')
end

function tests.treasuryNeedsOneSkillPerPlayer()
  asserts.shouldFail(
      function()
        makeTreasury(fakeAvatars(3), {rates = {0}, taxPeriod = 1,
                                      skills = {1, 2}})
      end,
      {'"skills"', 'one value per player (3)', 'got 2'})
  asserts.tablesEQ(makeTreasury(fakeAvatars(2), {rates = {0}, taxPeriod = 1})
                       :getSkills(), {1, 1})
end

function tests.treasuryBeginRoundZeroesTheRoundTotals()
  local treasury = treasuryAfterOneApple(1)
  treasury:onHarvestStep(true)
  treasury:beginRound()
  asserts.tablesEQ({totals(treasury)}, {0, 0, 0})
end

function tests.treasuryRejectsBadRatesAndKeepsTheOldOnes()
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {
      rates = {0.25, 0.5}, bracketEdges = {2}, taxPeriod = 1})
  for _, bad in ipairs({{'nan', '0'}, {'1.5', '0'}, {'-0.1', '0'},
                        {'abc', '0'}, {'0.1'}, {'0.1', '0.2', '0.3'}}) do
    local ok = pcall(function() treasury:setRates(bad) end)
    asserts.EQ(ok, false)
    asserts.tablesEQ(treasury:getRates(), {0.25, 0.5})
    asserts.hasSubstr(treasury:getLastError(), 'rate')
  end
  treasury:setRates({'0', '1'})
  asserts.tablesEQ(treasury:getRates(), {0, 1})
  asserts.EQ(treasury:getLastError(), '')
end

function tests.treasuryFinesAboveRateOne()
  local avatars = fakeAvatars(4)
  local treasury = makeTreasury(avatars, {
      rates = {0, 2}, bracketEdges = {1}, taxPeriod = 10, maxRate = 4})
  treasury:collect(avatars[1], 1)  -- Bracket 1: untaxed.
  treasury:collect(avatars[1], 1)  -- Bracket 2: a fine of 2, net -1.
  asserts.EQ(avatars[1].reward, 1 - 1)
  asserts.EQ(treasury:getPool(), 2)
  treasury:onHarvestStep(true)
  -- The eater gets a quarter of its fine back: 1 - 2 + 2 / 4 < 0 for the
  -- second apple, as the block comment's table says.
  asserts.EQ(avatars[1].reward, 1 - 1 + 0.5)
  asserts.EQ(avatars[2].reward, 0.5)
  local gross, net, transfer = totals(treasury)
  asserts.EQ(gross, net + transfer + treasury:getPool())
end

-- Player 1 eats `eats[s]` apples of value 1 in harvest step s; returns its
-- tax in each step.
local function taxesByStep(treasury, avatar, eats)
  local taxes = {}
  for step, count in ipairs(eats) do
    local before = roundTax(treasury, 1)
    for _ = 1, count do
      treasury:collect(avatar, 1)
    end
    taxes[step] = roundTax(treasury, 1) - before
    treasury:onHarvestStep(false)
  end
  return taxes
end

function tests.treasuryBracketsOnASlidingWindow()
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {
      rates = {0, 0.5}, bracketEdges = {2}, taxPeriod = 1,
      bracketWindow = 3})
  -- The window is the 3 steps before this one: step 3 sees steps 1-2
  -- (income 2), step 6 sees steps 3-5 (1), step 8 sees steps 5-7 (2),
  -- although every tax period (1 step) restarts period income.
  asserts.tablesEQ(taxesByStep(treasury, avatars[1], {1, 1, 1, 0, 0, 1, 1, 1}),
                   {0, 0, 0.5, 0, 0, 0, 0, 0.5})
  -- Steps 6 to 8 are the window of the coming step 9.
  asserts.tablesEQ(treasury:getBracketIncomes(), {3, 0})
  asserts.tablesEQ(treasury:getMarginalRates(), {0.5, 0})
  treasury:beginRound()
  asserts.tablesEQ(treasury:getBracketIncomes(), {0, 0})
end

-- W = 1 puts the bracket on the previous step alone.
function tests.treasuryWindowOfOneIsThePreviousStep()
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {
      rates = {0, 0.5}, bracketEdges = {1}, taxPeriod = 100,
      bracketWindow = 1})
  asserts.tablesEQ(taxesByStep(treasury, avatars[1], {1, 1, 1, 0, 1}),
                   {0, 0.5, 0.5, 0, 0})
  asserts.tablesEQ(treasury:getBracketIncomes(), {1, 0})
  asserts.tablesEQ(treasury:getMarginalRates(), {0.5, 0})
end

-- An apple counts in the window from the step after it: two in one step are
-- taxed alike, and the observation changes when the step ends.
function tests.treasuryWindowCountsAStepOnceItEnds()
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {
      rates = {0, 0.5}, bracketEdges = {1}, taxPeriod = 100,
      bracketWindow = 2})
  treasury:collect(avatars[1], 1)
  treasury:collect(avatars[1], 1)
  asserts.EQ(roundTax(treasury, 1), 0)
  asserts.tablesEQ(treasury:getBracketIncomes(), {0, 0})
  treasury:onHarvestStep(false)
  asserts.tablesEQ(treasury:getBracketIncomes(), {2, 0})
  asserts.tablesEQ(treasury:getMarginalRates(), {0.5, 0})
end

-- After a round's last harvest step the next apple is the next round's,
-- taxed on an empty period and window: the observations say so at once.
function tests.treasuryRoundEndShowsTheNextRoundsBrackets()
  for _, window in ipairs({0, 3}) do
    local avatars = fakeAvatars(2)
    local treasury = makeTreasury(avatars, {
        rates = {0.25, 0.5}, bracketEdges = {1}, taxPeriod = 100,
        bracketWindow = window})
    taxesByStep(treasury, avatars[1], {1, 1})
    asserts.tablesEQ(treasury:getMarginalRates(), {0.5, 0.25})
    treasury:collect(avatars[2], 1)
    treasury:onHarvestStep(true)
    asserts.tablesEQ(treasury:getBracketIncomes(), {0, 0})
    asserts.tablesEQ(treasury:getMarginalRates(), {0.25, 0.25})
    treasury:beginRound()
    treasury:collect(avatars[1], 1)
    asserts.EQ(roundTax(treasury, 1), 0.25)
  end
end

-- Float sums fall short of the decimal sums they stand for (ten apples at
-- skill 0.1 add up to 0.9999999999999999); they still reach their edge, in
-- the period and in a window.
function tests.treasuryFloatSumsThatReachAnEdgeAreInTheBracketAbove()
  local cases = {
      {skill = 0.1, apples = 10, edge = 1},
      {skill = 1 / 3, apples = 3, edge = 1},
      {skill = 1 / 3, apples = 6, edge = 2},
      {skill = 0.3, apples = 3, edge = 0.9},
  }
  for _, case in ipairs(cases) do
    for _, window in ipairs({0, 20}) do
      local avatars = fakeAvatars(2)
      local treasury = makeTreasury(avatars, {
          rates = {0, 1}, bracketEdges = {case.edge}, taxPeriod = 100,
          bracketWindow = window, skills = {case.skill, 1}})
      local eats = {}
      for step = 1, case.apples do
        eats[step] = 1
      end
      taxesByStep(treasury, avatars[1], eats)
      asserts.EQ(roundTax(treasury, 1), 0)
      asserts.tablesEQ(treasury:getMarginalRates(), {1, 0})
      treasury:collect(avatars[1], 1)
      asserts.EQ(roundTax(treasury, 1), case.skill)
    end
  end
end

function tests.treasuryEdgeToleranceIsOnePartInABillion()
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {
      rates = {0, 1}, bracketEdges = {2}, taxPeriod = 100})
  treasury:collect(avatars[1], 2 * (1 - 0.5e-9))
  treasury:collect(avatars[2], 2 * (1 - 2e-9))
  asserts.tablesEQ(treasury:getMarginalRates(), {1, 0})
end

function tests.treasuryReportsMarginalRates()
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {
      rates = {0.25, 1.5}, bracketEdges = {1}, taxPeriod = 5, maxRate = 2})
  asserts.tablesEQ(treasury:getMarginalRates(), {0.25, 0.25})
  treasury:collect(avatars[2], 1)
  asserts.tablesEQ(treasury:getBracketIncomes(), {0, 1})
  asserts.tablesEQ(treasury:getMarginalRates(), {0.25, 1.5})
end

-- `principal.schedule` accepts exactly what Python's `parse_rates` accepts,
-- with its messages (tests/test_schedule.py checks the same strings there).
function tests.treasuryParsesSchedulesStrictly()
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {
      rates = {0.25, 0.5, 0.75}, bracketEdges = {1, 2}, taxPeriod = 1,
      maxRate = 2})
  local refused = {
      ['0.5,,0.6'] = 'with no empty item',
      [',0.1,0.2,0.3,'] = 'with no empty item',
      ['0.1,0.2,'] = 'with no empty item',
      ['  '] = 'got an empty string',
      ['0x1,0,0'] = "rates[0] must be a finite number in [0, 2], got '0x1'",
      ['0,0,1e'] = "rates[2] must be a finite number in [0, 2], got '1e'",
      ['0,inf,0'] = "rates[1] must be a finite number in [0, 2], got 'inf'",
      ['0,nan,0'] = "got 'nan'",
      ['0,2.5,0'] = "got '2.5'",
      ['0,-0.1,0'] = "got '-0.1'",
      ['0,1_0,0'] = "got '1_0'",
      ['0,.,0'] = "got '.'",
      ['0,0'] = 'needs 3 rates',
  }
  for text, message in pairs(refused) do
    asserts.shouldFail(function() treasury:setSchedule(text) end, {message})
    asserts.hasSubstr(treasury:getLastError(), message)
    asserts.tablesEQ(treasury:getRates(), {0.25, 0.5, 0.75})
  end
  local accepted = {
      [' 0.5 ,1e-1,\t2 '] = {0.5, 0.1, 2},
      ['+.5,1.,1E0'] = {0.5, 1, 1},
      ['0,-0,2e+0'] = {0, 0, 2},
  }
  for text, rates in pairs(accepted) do
    treasury:setSchedule(text)
    asserts.tablesEQ(treasury:getRates(), rates)
    asserts.EQ(treasury:getLastError(), '')
  end
end

-- Each bad kwarg fails when the component is built, naming the kwarg.
function tests.treasuryRejectsBadConfig()
  local function build(kwargs)
    return function() components.Treasury(kwargs) end
  end
  asserts.shouldFail(build{rates = {0.1, 0.2}, taxPeriod = 1},
                     {'one more rate than bracket edges', '2 rates'})
  asserts.shouldFail(build{rates = {}, taxPeriod = 1}, {'"rates"', 'empty'})
  asserts.shouldFail(build{rates = {1.5}, taxPeriod = 1}, {'"rates"', '1.5'})
  asserts.shouldFail(build{rates = {0 / 0}, taxPeriod = 1}, {'"rates"'})
  asserts.shouldFail(build{rates = {'0.1'}, taxPeriod = 1}, {'"rates"'})
  asserts.shouldFail(
      build{rates = {0.1, 0.2, 0.3}, bracketEdges = {2, 1}, taxPeriod = 1},
      {'"bracketEdges"', 'not increasing'})
  asserts.shouldFail(build{rates = {0.1, 0.2}, bracketEdges = {0},
                           taxPeriod = 1}, {'"bracketEdges"'})
  asserts.shouldFail(build{rates = {0.1}, taxPeriod = 0}, {'"taxPeriod"'})
  asserts.shouldFail(build{rates = {0.1}, taxPeriod = 1.5},
                     {'"taxPeriod"', 'not an integer'})
  asserts.shouldFail(build{rates = {0.1}, taxPeriod = 1, redistribution = 'x'},
                     {'"redistribution"'})
  asserts.shouldFail(build{rates = {1.5}, taxPeriod = 1, maxRate = 1.25},
                     {'maxRate = 1.25', 'rates[1] = 1.5'})
  asserts.shouldFail(build{rates = {0.1}, taxPeriod = 1, maxRate = 0.5},
                     {'"maxRate"'})
  asserts.shouldFail(build{rates = {0.1}, taxPeriod = 1, maxRate = 1 / 0},
                     {'"maxRate"', 'not finite'})
  asserts.shouldFail(build{rates = {0.1}, taxPeriod = 1, bracketWindow = 1.5},
                     {'"bracketWindow"', 'not an integer'})
  asserts.shouldFail(build{rates = {0.1}, taxPeriod = 1, bracketWindow = -1},
                     {'"bracketWindow"'})
  asserts.shouldFail(build{rates = {0.1}, taxPeriod = 1, effortCost = -0.5},
                     {'"effortCost"'})
  asserts.shouldFail(build{rates = {0.1}, taxPeriod = 1, effortCost = 1 / 0},
                     {'"effortCost"', 'not finite'})
  asserts.shouldFail(build{rates = {0.1}, taxPeriod = 1, skills = {1, 0}},
                     {'"skills"'})
  asserts.shouldFail(build{rates = {0.1}, taxPeriod = 1, skills = {0 / 0}},
                     {'"skills"'})
  asserts.shouldFail(build{rates = {0.1}, taxPeriod = 1, skills = {1 / 0}},
                     {'"skills"', 'not finite'})
  asserts.shouldFail(build{rates = {0.1}, taxPeriod = 1, skills = 2},
                     {'"skills"'})
end

function tests.componentsRejectNonIntegerCounts()
  asserts.shouldFail(function() components.BallotBox{numOptions = 2.5} end,
                     {'"numOptions"', 'not an integer'})
  asserts.shouldFail(function() components.BallotBox{numOptions = 0} end,
                     {'"numOptions"'})
  for _, key in ipairs({'rounds', 'voteSteps', 'harvestSteps'}) do
    local kwargs = {rounds = 1, voteSteps = 1, harvestSteps = 1}
    kwargs[key] = 1.5
    asserts.shouldFail(function() components.RoundManager(kwargs) end,
                       {'"' .. key .. '"', 'not an integer'})
    kwargs[key] = 0
    asserts.shouldFail(function() components.RoundManager(kwargs) end,
                       {'"' .. key .. '"'})
  end
end

function tests.treasuryPaysZappedPlayers()
  local treasury, avatars = treasuryAfterOneApple(1)
  avatars[2].state = 'playerWait'
  treasury:onHarvestStep(false)
  asserts.EQ(avatars[2].reward, 0.25)
end

function tests.treasuryFailsWhenAnAvatarDropsATransfer()
  local treasury, avatars = treasuryAfterOneApple(1)
  avatars[2].dropsWaitStateRewards = true
  avatars[2].state = 'playerWait'
  asserts.shouldFail(function() treasury:onHarvestStep(false) end,
                     {'player 2', 'skipWaitStateRewards = false'})
end

function tests.treasuryResetStartsAFreshEpisode()
  local avatars = fakeAvatars(2)
  local treasury = makeTreasury(avatars, {rates = {0.25, 0.5},
                                          bracketEdges = {1}, taxPeriod = 5})
  treasury:setRates({'1', '1'})
  treasury:collect(avatars[1], 1)
  treasury:reset()
  asserts.tablesEQ(treasury:getRates(), {0.25, 0.5})
  asserts.EQ(treasury:getPool(), 0)
  asserts.tablesEQ({totals(treasury)}, {0, 0, 0})
end

-- A RoundManager with fake treasury and ballot box, stepped like the engine:
-- `update` at the start of a step, `onStepEnd` at its very end.
local function makeRoundManager(kwargs)
  local avatars = fakeAvatars(2)
  local treasury = {harvestSteps = 0, periodsClosed = 0, roundsBegun = 0}
  function treasury:onHarvestStep(roundEnds)
    self.harvestSteps = self.harvestSteps + 1
    if roundEnds then self.periodsClosed = self.periodsClosed + 1 end
  end
  function treasury:beginRound() self.roundsBegun = self.roundsBegun + 1 end
  local ballotBox = {cleared = 0}
  function ballotBox:clear() self.cleared = self.cleared + 1 end
  local roundManager = components.RoundManager(kwargs)
  local siblings = {Treasury = treasury, BallotBox = ballotBox,
                    RoundManager = roundManager}
  local simulation = fakeSimulation(avatars, siblings)
  attachAndStart(roundManager, simulation, siblings)
  local function step()
    roundManager:update()
    roundManager:onStepEnd()
  end
  return roundManager, step, avatars, treasury, simulation
end

function tests.roundManagerRunsVoteThenHarvestForEachRound()
  local roundManager, step, _, treasury, simulation = makeRoundManager{
      rounds = 2, voteSteps = 2, harvestSteps = 3}
  local seen = {}
  for _ = 1, 10 do
    asserts.EQ(simulation.ended, false)
    seen[#seen + 1] = roundManager:getRound() * 10 + roundManager:getPhase()
    step()
  end
  -- Observed before each step: the phase that step runs in.
  asserts.tablesEQ(seen, {10, 10, 11, 11, 11, 20, 20, 21, 21, 21})
  asserts.EQ(simulation.ended, true)
  asserts.EQ(roundManager:getPhase(), PHASE.OVER)
  asserts.EQ(treasury.harvestSteps, 6)
  asserts.EQ(treasury.periodsClosed, 2)
  asserts.EQ(treasury.roundsBegun, 2)
end

function tests.roundManagerFreezesAvatarsOnTheFirstVoteStep()
  local roundManager, _, avatars = makeRoundManager{
      rounds = 2, voteSteps = 1, harvestSteps = 1}
  roundManager:update()  -- First step of round 1: a VOTE step.
  asserts.EQ(avatars[1].frozen, true)
  asserts.EQ(avatars[2].zapper.frozen, true)
end

function tests.roundManagerUnfreezesAvatarsForTheHarvest()
  local roundManager, step, avatars = makeRoundManager{
      rounds = 2, voteSteps = 1, harvestSteps = 1}
  step()  -- The vote closes.
  asserts.EQ(avatars[1].frozen, false)
  asserts.EQ(avatars[1].zapper.frozen, false)
  -- The harvest ends: frozen at once, so no move of round 2's first VOTE
  -- step (its move updaters may run before `update`) can harvest.
  step()
  asserts.EQ(avatars[2].frozen, true)
  asserts.EQ(avatars[2].zapper.frozen, true)
  roundManager:update()
  asserts.EQ(avatars[2].frozen, true)
end

function tests.roundManagerRespawnsZappedPlayersWhenARoundEnds()
  local _, step, avatars = makeRoundManager{
      rounds = 2, voteSteps = 1, harvestSteps = 2}
  step()  -- The vote closes.
  step()
  avatars[2].state = 'playerWait'  -- Zapped during the last harvest step.
  step()  -- The round ends.
  asserts.EQ(avatars[2].state, 'player2')
  asserts.EQ(avatars[2].teleportedTo, 'spawnPoints')
  asserts.EQ(avatars[1].teleportedTo, nil)
end

function tests.roundManagerResetStartsAFreshEpisode()
  local roundManager, step = makeRoundManager{
      rounds = 2, voteSteps = 1, harvestSteps = 1}
  step()
  step()  -- Now in round 2.
  roundManager:reset()
  asserts.EQ(roundManager:getRound(), 1)
  asserts.EQ(roundManager:getPhase(), PHASE.VOTE)
end

local function makeBallotBox(n, numOptions)
  local ballotBox = components.BallotBox{numOptions = numOptions}
  return attachAndStart(ballotBox, fakeSimulation(fakeAvatars(n), {}), {})
end

function tests.ballotBoxRanksInTheOrderCastAndClears()
  local ballotBox = makeBallotBox(4, 3)
  ballotBox:cast(1, 2)
  ballotBox:cast(1, 2)  -- A repeat changes nothing.
  ballotBox:cast(1, 3)
  ballotBox:cast(3, 3)  -- A full ranking: 3, 1, 2.
  ballotBox:cast(3, 1)
  ballotBox:cast(3, 2)
  ballotBox:cast(4, 1)  -- Top only: 2 and 3 tied last.
  -- Rank position per option; player 2 abstains (all zeros).
  asserts.tablesEQ(ballotBox:getRanks(),
                   {{0, 1, 2}, {0, 0, 0}, {2, 3, 1}, {1, 0, 0}})
  ballotBox:clear()
  asserts.tablesEQ(ballotBox:getRanks(),
                   {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}})
end

function tests.ballotBoxRejectsUnknownOptions()
  local ballotBox = makeBallotBox(2, 3)
  asserts.shouldFail(function() ballotBox:cast(1, 4) end)
  asserts.shouldFail(function() ballotBox:cast(1, 0) end)
  asserts.shouldFail(function() ballotBox:cast(1, 1.5) end)
  asserts.tablesEQ(ballotBox:getRanks(), {{0, 0, 0}, {0, 0, 0}})
end

-- Every field a reporter can pack, in an order of the test's own (Python
-- declares the game's in `MECHANISM_FIELDS`): it packs in the given order.
local ALL_FIELDS = {
    {name = 'WORLD.SKILL', shape = {'n'}}, {name = 'WORLD.ROUND'},
    {name = 'WORLD.PHASE'}, {name = 'WORLD.TAX_POOL'},
    {name = 'WORLD.APPLES_ALIVE'}, {name = 'WORLD.TAX_RATES', shape = {'k'}},
    {name = 'WORLD.BALLOTS', shape = {'n', 'K'}},
    {name = 'WORLD.ROUND_GROSS', shape = {'n'}},
    {name = 'WORLD.ROUND_NET', shape = {'n'}},
    {name = 'WORLD.ROUND_TAX', shape = {'n'}},
    {name = 'WORLD.ROUND_TRANSFER', shape = {'n'}},
    {name = 'WORLD.TAGGED', shape = {'n'}},
    {name = 'WORLD.PERIOD_INCOME', shape = {'n'}},
    {name = 'WORLD.MARGINAL_RATE', shape = {'n'}},
    {name = 'WORLD.ROUND_EFFORT', shape = {'n'}},
}

-- A reporter of `fields` for 2 players, 2 brackets and 3 objectives, after
-- player 1 ranks objectives 3, 1 (2 last) and eats one apple; player 2 is
-- zapped out.
local function makeReporter(fields)
  local avatars = fakeAvatars(2)
  avatars[2].state = 'playerWait'
  local treasury = components.Treasury{
      rates = {0.25, 0.5}, bracketEdges = {2}, taxPeriod = 10}
  local ballotBox = components.BallotBox{numOptions = 3}
  local roundManager = {getRound = function() return 2 end,
                        getPhase = function() return PHASE.HARVEST end}
  local reporter = components.MechanismReporter{fields = fields}
  local siblings = {Treasury = treasury, BallotBox = ballotBox,
                    RoundManager = roundManager}
  local simulation = fakeSimulation(avatars, siblings)
  function simulation:getGroupCount(group)
    return group == 'apples' and 17 or 0
  end
  for _, component in ipairs({treasury, ballotBox, reporter}) do
    attachAndStart(component, simulation, siblings)
  end
  ballotBox:cast(1, 3)
  ballotBox:cast(1, 1)
  treasury:collect(avatars[1], 1)
  return reporter
end

function tests.mechanismReporterPacksTheFieldsInTheirOrder()
  local reporter = makeReporter(ALL_FIELDS)
  asserts.tablesEQ(reporter:values(), {
      1, 1,  -- skill: none given, so 1
      2, PHASE.HARVEST, 0.25, 17,  -- round, phase, pool, apples alive
      0.25, 0.5,  -- rates
      2, 0, 1, 0, 0, 0,  -- ranks: player 1 ranks 3, 1 (2 last); 2 none
      1, 0,  -- gross
      0.75, 0,  -- net
      0.25, 0,  -- tax
      0, 0,  -- transfer
      0, 1,  -- tagged: player 2 is zapped out
      1, 0,  -- bracket income
      0.25, 0.25,  -- marginal rate: both below the edge 2
      0, 0,  -- effort: no effort cost
  })
  local observations = {}
  reporter:addObservations(nil, nil, observations)
  asserts.EQ(observations[1].name, 'WORLD.MECHANISM')
  asserts.tablesEQ(observations[1].shape, {1 + 1 + 1 + 1 + 2 + 2 * 3 + 9 * 2})
end

function tests.mechanismReporterPacksOnlyItsFields()
  local reporter = makeReporter{
      {name = 'WORLD.TAGGED', shape = {'n'}}, {name = 'WORLD.ROUND'}}
  asserts.tablesEQ(reporter:values(), {0, 1, 2})
  local observations = {}
  reporter:addObservations(nil, nil, observations)
  asserts.tablesEQ(observations[1].shape, {3})
end

function tests.mechanismReporterRejectsBadFields()
  local function build(fields)
    return function() components.MechanismReporter{fields = fields} end
  end
  asserts.shouldFail(build(nil), {"'fields' missing"})
  asserts.shouldFail(build{}, {'"fields"', 'empty'})
  asserts.shouldFail(build{{name = 'WORLD.NOPE'}}, {'"fields"', 'WORLD.NOPE'})
  asserts.shouldFail(build{{name = 'WORLD.TAGGED', shape = {'m'}}},
                     {'"fields"', 'm'})
  asserts.shouldFail(build{{name = 'WORLD.ROUND'}, {name = 'WORLD.ROUND'}},
                     {'"fields"', 'twice'})
end

function tests.mechanismReporterFailsWhenAShapeIsWrong()
  -- Skills are per player: a shape of K objectives does not fit them.
  local reporter = makeReporter{{name = 'WORLD.SKILL', shape = {'K'}}}
  asserts.shouldFail(function() reporter:values() end,
                     {'WORLD.SKILL has 2 values', 'wants 3'})
end

-- A Ballot for player 2 of 2; `roundManager.phase` may be changed.
local function makeBallot(phase)
  local avatar = fakeAvatar(2)
  local ballotBox = makeBallotBox(2, 3)
  local roundManager = {phase = phase}
  function roundManager:getPhase() return self.phase end
  local ballot = components.Ballot{}
  local simulation = fakeSimulation({fakeAvatar(1), avatar},
      {BallotBox = ballotBox, RoundManager = roundManager})
  attachAndStart(ballot, simulation, {Avatar = avatar})
  return ballot, avatar, ballotBox, roundManager
end

-- Steps `ballot` once per entry of `presses`, the `vote` action of a step.
local function press(ballot, avatar, presses)
  for _, action in ipairs(presses) do
    avatar.actions.vote = action
    ballot:update()
  end
end

-- Player 2's rank positions after a sequence of `vote` actions in one phase.
local BALLOT_CASES = {
    -- NOOPs and repeats in between change nothing: the ranking is 3, 1, 2.
    ballotRanksTheVoteActionsInOrder = {
        PHASE.VOTE, {0, 3, 0, 3, 1, 3, 0, 2, 1}, {2, 3, 1}},
    ballotKeepsAPartialRanking = {PHASE.VOTE, {2, 2, 0}, {0, 1, 0}},
    ballotAbstainsWithoutAVoteAction = {PHASE.VOTE, {0, 0, 0}, {0, 0, 0}},
    ballotIgnoresTheVoteActionDuringHarvest = {
        PHASE.HARVEST, {1, 3}, {0, 0, 0}},
}

for name, case in pairs(BALLOT_CASES) do
  local phase, presses, expected = case[1], case[2], case[3]
  tests[name] = function()
    local ballot, avatar, ballotBox = makeBallot(phase)
    press(ballot, avatar, presses)
    asserts.tablesEQ(ballotBox:getRanks(), {{0, 0, 0}, expected})
  end
end

function tests.ballotIgnoresAPressAfterTheVoteCloses()
  local ballot, avatar, ballotBox, roundManager = makeBallot(PHASE.VOTE)
  press(ballot, avatar, {1})
  roundManager.phase = PHASE.HARVEST  -- The vote has closed.
  press(ballot, avatar, {3, 2})
  asserts.tablesEQ(ballotBox:getRanks(), {{0, 0, 0}, {1, 0, 0}})
end

local function makeApple()
  local collected = {}
  local treasury = {}
  function treasury:collect(avatar, value)
    collected[#collected + 1] = {avatar:getIndex(), value}
  end
  local apple = components.TaxedEdible{
      liveState = 'apple', waitState = 'appleWait', value = 2}
  local state = 'apple'
  apple.gameObject = {
      simulation = fakeSimulation({}, {Treasury = treasury}),
      getState = function() return state end,
      setState = function(_, newState) state = newState end,
  }
  apple:start()
  return apple, collected, function() return state end
end

function tests.taxedEdiblePaysThroughTheTreasuryOnce()
  local apple, collected, getState = makeApple()
  local eater = fakeAvatar(3)
  apple:onEnter(eater.gameObject, 'avatar')
  asserts.tablesEQ(collected, {{3, 2}})
  asserts.EQ(getState(), 'appleWait')
  apple:onEnter(eater.gameObject, 'avatar')  -- Already eaten.
  asserts.EQ(#collected, 1)
  asserts.EQ(eater.reward, 0)  -- Paid by the treasury, not directly.
end

function tests.taxedEdibleIgnoresNonAvatarContacts()
  local apple, collected, getState = makeApple()
  apple:onEnter(fakeAvatar(1).gameObject, 'other')
  asserts.EQ(#collected, 0)
  asserts.EQ(getState(), 'apple')
end

-- `world:spriteNames()` of a world with these sprites: '' (id 0), then each
-- sprite in its four orientations.
local function spriteNames(sprites)
  local names = {''}
  for _, sprite in ipairs(sprites) do
    for _, orientation in ipairs{'N', 'E', 'S', 'W'} do
      names[#names + 1] = sprite .. '.' .. orientation
    end
  end
  return names
end

local CELL = view_cells.CELL
local SPRITES = {'Apple', 'AppleWait', 'Avatar1', 'Avatar12', 'BeamZap',
                 'Floor', 'Grass', 'OutOfBounds', 'Self', 'Wall'}

function tests.viewCellsRankSpritesByWhatTheyShow()
  asserts.EQ(view_cells.spriteRank('Apple'), CELL.APPLE)
  asserts.EQ(view_cells.spriteRank('Wall'), CELL.WALL)
  asserts.EQ(view_cells.spriteRank('OutOfBounds'), CELL.WALL)
  asserts.EQ(view_cells.spriteRank('Avatar12'), CELL.AVATAR)
  asserts.EQ(view_cells.spriteRank('Self'), CELL.EMPTY)
  asserts.EQ(view_cells.spriteRank('Grass'), CELL.EMPTY)
  asserts.EQ(view_cells.spriteRank('AppleWait'), CELL.EMPTY)
  asserts.GT(view_cells.spriteRank('BeamZap'), CELL.AVATAR)
end

function tests.viewCellsMapEachSpriteOntoTheSpriteOfItsRank()
  local map = view_cells.rankSpriteMap(spriteNames(SPRITES))
  -- Sprite k (from 0) stands for rank k.
  asserts.EQ(map.Grass, 'Apple')
  asserts.EQ(map.AppleWait, 'Apple')
  asserts.EQ(map.Self, 'Apple')
  asserts.EQ(map.Apple, 'AppleWait')
  asserts.EQ(map.Wall, 'Avatar1')
  asserts.EQ(map.OutOfBounds, 'Avatar1')
  asserts.EQ(map.Avatar1, 'Avatar12')
  asserts.EQ(map.Avatar12, 'Avatar12')
  asserts.EQ(map.BeamZap, 'BeamZap')
end

-- The layer-view id of the sprite standing for `rank`, in orientation o.
local function rankId(rank, o)
  return 4 * rank + 1 + (o or 0)
end

function tests.viewCellsClassifyByTheGreatestRankInACell()
  local empty, apple = rankId(CELL.EMPTY), rankId(CELL.APPLE, 2)
  local wall, avatar = rankId(CELL.WALL, 1), rankId(CELL.AVATAR, 3)
  local beam = rankId(CELL.AVATAR + 1)
  -- Two rows of three cells, three layers each (lowest first).
  local ids = tensor.Int32Tensor{
      {{0, 0, 0}, {empty, 0, 0}, {empty, apple, 0}},
      {{wall, wall, wall}, {empty, 0, avatar}, {empty, avatar, beam}},
  }
  asserts.EQ(view_cells.classify(ids), tensor.ByteTensor{
      {CELL.EMPTY, CELL.EMPTY, CELL.APPLE},
      {CELL.WALL, CELL.AVATAR, CELL.EMPTY},
  })
end

function tests.viewCellsCrc32IsZlibs()
  local bytes = {}
  for i = 1, #'123456789' do
    bytes[i] = ('123456789'):byte(i)
  end
  -- The CRC-32 check value; zlib.crc32(b'123456789') == 0xCBF43926.
  asserts.EQ(view_cells.crc32(tensor.ByteTensor(bytes)), 0xCBF43926)
  asserts.EQ(view_cells.crc32(tensor.ByteTensor{{0, 255}, {7, 128}}),
             1025900054)
end

return test_runner.run(tests)
