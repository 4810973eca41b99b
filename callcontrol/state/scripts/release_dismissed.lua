-- release_dismissed(call, agent, now) -> {freed}: a ring_all loser's leg is gone: free her.
-- Guarantees: only an agent still reserved for that call and ringing (kept by release_ringall) is freed
-- (available, no miss, agent_available published); anything else is a no-op, so it is harmless twice or late.
local c, a, now = ARGV[2], ARGV[3], ARGV[4]
local p = presence(a)
if not p or p.reserved_by ~= c or p.state ~= 'ringing' then return reply({freed = false}) end
if redis.call('SISMEMBER', K.call_agents(c), a) == 1 then return reply({freed = false}) end  -- still rung for it
redis.call('HSET', K.presence(a), 'dismissing', '')
set_available(a, now, false)
return reply({freed = true})
