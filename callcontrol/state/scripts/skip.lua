-- skip(call, agent) -> {skipped}: never offer this call to this agent again (a voicemail answered for her).
-- Guarantees: only for a call still known (the set is deleted with the call, so none outlives it); every claim
-- mode honours the set (claim.lua); the agent's presence and the other calls are left alone.
local c, a = ARGV[2], ARGV[3]
if redis.call('EXISTS', K.call(c)) == 0 then return reply({skipped = false}) end
redis.call('SADD', K.skip(c), a)
return reply({skipped = true})
