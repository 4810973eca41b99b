-- requeue(call, now) -> {position, freed}: an attempt to reach agents failed; back to the original place.
-- Guarantees: agents still ringing for it are freed (no miss counted); the call gets back its original score
-- (priority + first arrival), so it is not punished for the failed attempt; waiting calls are left alone.
local c, now = ARGV[2], ARGV[3]
local call = hgetall(K.call(c))
if blank(call.status) then return fail('CALL_NOT_FOUND', {call = c}) end
if call.status == 'connected' then return fail('CALL_NOT_WAITING', {call = c, status = call.status}) end
local freed = {}
if call.status == 'offered' then
  freed = free_ringing(c, nil, now)
  requeue_call(c, now)
end
return reply({position = redis.call('ZRANK', K.waiting(call.hotline), c) + 1, freed = freed})
