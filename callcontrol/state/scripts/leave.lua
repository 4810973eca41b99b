-- leave(call, now) -> {removed, freed}: the citizen hung up.
-- Guarantees: the call leaves the queue at once, whatever its status; agents still ringing for it are freed
-- (available, no miss counted); an agent already on call with it keeps its state until release(agent).
-- Publishes call_changed: left (waiting / offered) or ended (connected).
local c, now = ARGV[2], ARGV[3]
if redis.call('EXISTS', K.call(c)) == 0 then return reply({removed = false, freed = {}}) end
local call = hgetall(K.call(c))
local freed = free_ringing(c, nil, now)
delete_call(c)
if call.status == 'connected' then
  publish_call(c, 'ended', call.hotline, call.agent, now, {by = 'citizen'})
else
  publish_call(c, 'left', call.hotline, nil, now, {status = call.status})
end
return reply({removed = true, freed = freed})
