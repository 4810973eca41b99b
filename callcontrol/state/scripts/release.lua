-- release(agent, now, wrap_up_seconds) -> {presence, requeued}: the agent's call ended (or its leg was cancelled).
-- Guarantees: on_call -> wrap_up until now+wrap (or available when 0), reservation cleared, last_call_end and
-- idle_since = now, handling time pushed to the hotline's samples, the call's entry deleted; ringing ->
-- available, and the call goes back to its place if no other agent rings for it; any other state: no-op, so a
-- second release is harmless. Becoming available publishes agent_available; every change presence_changed;
-- deleting the call call_changed ended.
local a, now, wrap = ARGV[2], ARGV[3], tonumber(ARGV[4]) or 0
local p = presence(a)
if not p then return fail('AGENT_NOT_FOUND', {agent = a}) end
local key, c, requeued = K.presence(a), p.reserved_by, false
if p.state == 'on_call' then
  local started = tonumber(p.connected_at)
  if started and not blank(p.reserved_hotline) then
    redis.call('LPUSH', K.handling(p.reserved_hotline), tostring(math.max(0, tonumber(now) - started)))
    redis.call('LTRIM', K.handling(p.reserved_hotline), 0, HANDLING_SAMPLES - 1)
  end
  clear_reservation(a)
  redis.call('HSET', key, 'last_call_end', now, 'idle_since', now)
  if wrap > 0 then
    redis.call('HSET', key, 'state', 'wrap_up', 'wrap_up_until', tostring(tonumber(now) + wrap), 'changed_at', now)
    publish_presence(a, now, 'system')
  else
    set_available(a, now, false)
  end
  if not blank(c) and redis.call('HGET', K.call(c), 'agent') == a then
    publish_call(c, 'ended', p.reserved_hotline, a, now, {by = 'agent'})
    delete_call(c)
  end
elseif p.state == 'ringing' then
  set_available(a, now, false)
  requeued = drop_agent_from_call(c, a, now)
end
index_agent(a)
return reply({presence = hgetall(key), requeued = requeued})
