-- take_over(dead, taker, now) -> {taken, alive, adopted, connected, dismissing, freed, wrap_ups}
-- A live instance takes over an instance whose heartbeat expired. Exactly one taker: the dead instance leaves the
-- set of known instances in this same step, so a second taker (or a second run) finds nothing (taken = false);
-- an instance heartbeating again is not dead (alive = true, nothing done).
-- Guarantees, in one step: the dead instance's waiting and offered calls belong to the taker, at their place
-- (offered ones back in the queue with their original score); agents ringing for the dead instance leave those
-- calls but stay reserved ("dismissing", owner = taker) until release_dismissed, once their leg is gone, so that
-- no agent is rung again while a leg of hers may still be up; expired wrap-ups (anyone's: the timers of the dead
-- instance are gone) end now, with agent_available; wrap-ups still running are returned for the taker to end.
-- Connected calls keep their agent (the conversation goes on in Asterisk) and are only counted.
local dead, taker, now = ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', K.instance(dead)) == 1 then return reply({taken = false, alive = true}) end
if redis.call('SREM', P .. 'instances', dead) == 0 then return reply({taken = false, alive = false}) end
local adopted, connected, dismissing, freed, wrap_ups = {}, {}, {}, {}, {}
for _, a in ipairs(redis.call('SMEMBERS', K.agents())) do
  local p = presence(a)
  if p and p.reserved_owner == dead and p.state == 'ringing' then
    redis.call('SREM', K.call_agents(p.reserved_by), a)
    redis.call('HSET', K.presence(a), 'reserved_owner', taker, 'dismissing', p.reserved_by)
    dismissing[#dismissing + 1] = {agent = a, call = p.reserved_by}
  elseif p and p.reserved_owner == dead and p.state == 'on_call' then
    redis.call('HSET', K.presence(a), 'reserved_owner', taker)
  elseif p and p.state == 'wrap_up' and blank(p.reserved_by) then
    if (tonumber(p.wrap_up_until) or 0) <= tonumber(now) then
      set_available(a, now, false)
      freed[#freed + 1] = a
    else
      wrap_ups[#wrap_ups + 1] = {agent = a, ['until'] = p.wrap_up_until}  -- as stored (exact)
    end
  end
end
for _, c in ipairs(redis.call('SMEMBERS', K.calls())) do
  local call = hgetall(K.call(c))
  if call.owner == dead then
    redis.call('HSET', K.call(c), 'owner', taker)
    if call.status == 'offered' then
      if redis.call('SCARD', K.call_agents(c)) == 0 then requeue_call(c, now) end
      adopted[#adopted + 1] = c
    elseif call.status == 'waiting' then
      adopted[#adopted + 1] = c
    else
      connected[#connected + 1] = c
    end
  end
end
table.sort(adopted)
table.sort(connected)
table.sort(freed)
return reply({taken = true, alive = false, adopted = adopted, connected = connected, dismissing = dismissing,
  freed = freed, wrap_ups = wrap_ups})
