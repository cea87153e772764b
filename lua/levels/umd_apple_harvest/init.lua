--[[ The `umd_apple_harvest` level: the Universal Mechanism Design game's
induced economy M^phi.

Commons Harvest (density-dependent apple regrowth, avatars, zapping) with a
taxing `Treasury`, a `RoundManager` running VOTE and HARVEST phases for
`rounds` rounds inside one episode, and `Ballot`s. Melting Pot's own Lua is
reused by `require`; this folder adds the components (`components.lua`),
their phase codes (`phases.lua`) and the simulation (`simulation.lua`).
]]

local meltingpot = 'meltingpot.lua.modules.'
local api_factory = require(meltingpot .. 'api_factory')
local simulation = require 'simulation'

-- Registered for their side effect: the component registry.
local component_library = require(meltingpot .. 'component_library')
local avatar_library = require(meltingpot .. 'avatar_library')
local components = require 'components'

return api_factory.apiFactory{
    Simulation = simulation.UmdSimulation,
    settings = {
        spriteSize = 8,
        -- Python's config sets this to rounds * (voteSteps + harvestSteps).
        maxEpisodeLengthFrames = 1000,
        simulation = {},
    }
}
