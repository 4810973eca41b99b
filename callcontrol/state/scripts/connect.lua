-- connect(call, agent, now) -> {presence, freed}: the agent answered (accepted) the call.
-- Guarantees: only the agent ringing for that call can be connected (ringing -> on_call, misses reset);
-- the other agents ringing for it (ring_all losers) are freed in the same step; connecting twice is harmless.
-- Publishes call_changed connected and presence_changed on_call.
local c, a, now = ARGV[2], ARGV[3], ARGV[4]
local p = presence(a)
if not p then return fail('AGENT_NOT_FOUND', {agent = a}) end
if p.reserved_by ~= c or (p.state ~= 'ringing' and p.state ~= 'on_call') then
  return fail('INVALID_TRANSITION', {agent = a, state = p.state, op = 'connect to call ' .. c})
end
local freed = {}
if p.state == 'ringing' then
  redis.call('HSET', K.presence(a), 'state', 'on_call', 'connected_at', now, 'missed', 0, 'changed_at', now)
  if redis.call('EXISTS', K.call(c)) == 1 then
    freed = free_ringing(c, a, now)
    redis.call('HSET', K.call(c), 'status', 'connected', 'agent', a, 'connected_at', now)
    publish_call(c, 'connected', p.reserved_hotline, a, now, nil)
  end
  index_agent(a)
  publish_presence(a, now, 'system')
end
return reply({presence = hgetall(K.presence(a)), freed = freed})
