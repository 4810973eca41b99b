-- release_no_answer(call, agent, now, max_misses) -> {presence, missed, auto_paused, requeued}
-- Guarantees: only acts if the agent is ringing for that call (otherwise a harmless no-op); the miss is counted
-- and the agent either auto-paused ("no_answer") at max_misses or made available at the back of the
-- longest-idle order (idle_since = now); the call, if no other agent rings for it, is back at its original place.
local c, a, now, max = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]) or 0
local p = presence(a)
if not p then return fail('AGENT_NOT_FOUND', {agent = a}) end
local key = K.presence(a)
if p.state ~= 'ringing' or p.reserved_by ~= c then
  return reply({presence = hgetall(key), missed = tonumber(p.missed) or 0, auto_paused = false, requeued = false})
end
local missed = redis.call('HINCRBY', key, 'missed', 1)
local auto_paused = max > 0 and missed >= max
clear_reservation(a)
local uncovered = nil
if auto_paused then
  -- ringing counts as reachable: the holders this auto-pause leaves with nobody on call (logged by the caller)
  local bare = would_uncover(a, p)
  redis.call('HSET', key, 'state', 'paused', 'pause_reason', 'no_answer', 'changed_at', now)
  publish_presence(a, now, 'auto-pause')
  if #bare > 0 then uncovered = bare end
  audit(a, 'paused:no_answer@' .. (p.device or ''), now, 'auto-pause', false, '',
    uncovered and ('left uncovered: ' .. table.concat(bare, ',')) or '')
else
  set_available(a, now, true)
end
index_agent(a)
local requeued = drop_agent_from_call(c, a, now)
return reply({presence = hgetall(key), missed = missed, auto_paused = auto_paused, requeued = requeued,
  uncovered = uncovered})
