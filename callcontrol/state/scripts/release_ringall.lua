-- release_ringall(call, winner, now) -> {freed, requeued}: end a ring_all offer.
-- Guarantees: every agent ringing for the call except the winner is freed (available, no miss); with no winner
-- ('') the call goes back to its original place in the queue. Harmless if the call is gone.
local c, winner, now = ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', K.call(c)) == 0 then return reply({freed = {}, requeued = false}) end
local freed = free_ringing(c, (not blank(winner)) and winner or nil, now)
local requeued = false
if redis.call('HGET', K.call(c), 'status') == 'offered' and redis.call('SCARD', K.call_agents(c)) == 0 then
  requeued = requeue_call(c, now)
end
return reply({freed = freed, requeued = requeued})
