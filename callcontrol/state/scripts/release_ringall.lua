-- release_ringall(call, winner, now, keep_json) -> {freed, kept, requeued}: end a ring_all offer.
-- Guarantees: every agent ringing for the call except the winner leaves the call; those in `keep` (losers whose
-- leg was dialled and may still be up) stay reserved ("dismissing": not free, not counted for the call) until
-- release_dismissed frees them once their leg is gone; the others are freed (available, no miss). With no winner
-- ('') the call goes back to its original place in the queue. Harmless if the call is gone.
local c, winner, now = ARGV[2], ARGV[3], ARGV[4]
local keep = {}
for _, a in ipairs(cjson.decode(ARGV[5] or '[]')) do keep[a] = true end
if redis.call('EXISTS', K.call(c)) == 0 then return reply({freed = {}, kept = {}, requeued = false}) end
local kept = {}
for _, a in ipairs(redis.call('SMEMBERS', K.call_agents(c))) do
  if a ~= winner and keep[a] then
    local p = presence(a)
    redis.call('SREM', K.call_agents(c), a)
    if p and p.reserved_by == c and p.state == 'ringing' then
      redis.call('HSET', K.presence(a), 'dismissing', c)
      kept[#kept + 1] = a
    end
  end
end
table.sort(kept)
local freed = free_ringing(c, (not blank(winner)) and winner or nil, now)
local requeued = false
if redis.call('HGET', K.call(c), 'status') == 'offered' and redis.call('SCARD', K.call_agents(c)) == 0 then
  requeued = requeue_call(c, now)
end
return reply({freed = freed, kept = kept, requeued = requeued})
