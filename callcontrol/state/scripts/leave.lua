-- leave(call, now) -> {removed, freed}: the citizen hung up.
-- Guarantees: the call leaves the queue at once, whatever its status; agents still ringing for it are freed
-- (available, no miss counted); an agent already on call with it keeps its state until release(agent).
local c, now = ARGV[2], ARGV[3]
if redis.call('EXISTS', K.call(c)) == 0 then return reply({removed = false, freed = {}}) end
local freed = free_ringing(c, nil, now)
delete_call(c)
return reply({removed = true, freed = freed})
