--[[ The phase codes of the `umd_apple_harvest` level, as observed in `PHASE`
and `WORLD.PHASE`.

The one Lua definition; Python's is `umd_meltingpot.substrates.phases.Phase`,
and tests/test_phases.py checks the two agree on a running level.
]]

return {VOTE = 0, HARVEST = 1, OVER = 2}
