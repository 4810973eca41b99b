-- presence(op, agent, now, arg, by, force, actor): one agent's presence transitions, each a check-then-set done atomically.
-- ops: login(device) logout pause(reason) unpause set_wrap_up(until) end_wrap_up record_miss(max) reset_misses
--      set_reachable("softphone=1" / "softphone=0"): whether that device answers at all (ARI endpoint state)
--      own_call_begin(call) own_call_end(call): an agent's own call (colleague, dial-out)
-- Guarantees: a ringing / on-call agent is never logged out, paused or moved to another device (AGENT_BUSY);
-- login, unpause and end_wrap_up publish agent_available; record_miss auto-pauses ("no_answer") at `max`;
-- every change of state, device or pause reason publishes presence_changed (with `by`, the route that asked:
-- "system" when empty; "auto-pause" for record_miss) in the same step. A no-op publishes nothing.
-- An agent's own call (routing/agent_calls.py): own_call_begin(call) shows her on_call (so no hotline call is
-- offered on top; AGENT_BUSY when ringing or already on a call), remembering the state she was in;
-- own_call_end(call) puts that state back (available publishes agent_available; an expired wrap-up becomes
-- available); it is a no-op unless her own call is that call.
-- set_reachable only sets `<device>_reachable`; a device becoming reachable while the agent is free on it
-- publishes agent_available (the longest waiting citizen is offered to her at once). An unreachable device is
-- never free (is_free), whatever the state.
-- Never nobody on call (issue 9): logout, pause, or a move to an unreachable device of the last reachable holder
-- of an on-call hotline is refused (ON_CALL_UNCOVERED, with the hotlines) unless `force` is "1" (a supervisor);
-- checked here, in the same step as the change, so two instances cannot both let the last two holders go.
-- Any change that leaves an on-call hotline with nobody reachable (forced, registration lost, auto-pause) returns
-- `uncovered` (the hotlines) for the caller to log. Every change of state, device, pause reason or
-- reachability is appended to the capped audit stream (cc:audit) with the route, forced or not, and the actor.
local op, a, now, arg, by = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local forced, actor = ARGV[7] == '1', ARGV[8] or ''
local p = presence(a)
if not p then return fail('AGENT_NOT_FOUND', {agent = a}) end
local bare = would_uncover(a, p)
if #bare > 0 and not forced then
  local leaves = op == 'logout' or op == 'pause'
    or (op == 'login' and p.device ~= arg and p[arg .. '_reachable'] == '0')
  if leaves then return fail('ON_CALL_UNCOVERED', {agent = a, op = op, hotlines = bare}) end
end
local key = K.presence(a)
local busy = p.state == 'ringing' or p.state == 'on_call'
local extra = {}
local announce = false  -- publish agent_available (after presence_changed)

local function invalid(what)
  return fail('INVALID_TRANSITION', {agent = a, state = p.state, op = what})
end

if op == 'own_call_begin' then
  if blank(arg) then return fail('BAD_OP', {op = op}) end
  if busy then return fail('AGENT_BUSY', {agent = a, state = p.state, op = 'place a call'}) end
  redis.call('HSET', key, 'state', 'on_call', 'own_call', arg, 'own_call_prev', p.state, 'changed_at', now)
elseif op == 'own_call_end' then
  if blank(arg) or p.own_call ~= arg then
    extra.presence = hgetall(key)
    return reply(extra)
  end
  local prev = blank(p.own_call_prev) and 'logged_out' or p.own_call_prev
  if prev == 'wrap_up' and (tonumber(p.wrap_up_until) or 0) <= tonumber(now) then prev = 'available' end
  redis.call('HSET', key, 'state', prev, 'own_call', '', 'own_call_prev', '', 'changed_at', now)
  if prev == 'available' then
    redis.call('HSET', key, 'wrap_up_until', '', 'idle_since', now)
    announce = true
  end
elseif op == 'login' then
  local endpoint = redis.call('HGET', K.agent(a), arg)
  if (arg ~= 'softphone' and arg ~= 'mobile') or blank(endpoint) then
    return fail('DEVICE_NOT_CONFIGURED', {agent = a, device = arg})
  end
  if busy then return fail('AGENT_BUSY', {agent = a, state = p.state, op = 'change device'}) end
  redis.call('HSET', key, 'device', arg, 'changed_at', now)
  if p.state == 'logged_out' then
    redis.call('HSET', key, 'state', 'available', 'missed', 0, 'pause_reason', '', 'wrap_up_until', '',
      'idle_since', now)
    announce = true
  end
elseif op == 'logout' then
  if busy then return fail('AGENT_BUSY', {agent = a, state = p.state, op = 'log out'}) end
  if p.state ~= 'logged_out' then
    redis.call('HSET', key, 'state', 'logged_out', 'device', '', 'pause_reason', '', 'wrap_up_until', '',
      'changed_at', now)
  end
elseif op == 'pause' then
  if busy then return fail('AGENT_BUSY', {agent = a, state = p.state, op = 'pause'}) end
  if p.state == 'logged_out' then return invalid('pause') end
  redis.call('HSET', key, 'state', 'paused', 'pause_reason', arg, 'wrap_up_until', '', 'changed_at', now)
elseif op == 'unpause' then
  if p.state == 'paused' then
    redis.call('HSET', key, 'state', 'available', 'pause_reason', '', 'missed', 0, 'idle_since', now,
      'changed_at', now)
    announce = true
  elseif p.state ~= 'available' then
    return invalid('unpause')
  end
elseif op == 'set_wrap_up' then
  if busy then return fail('AGENT_BUSY', {agent = a, state = p.state, op = 'start wrap-up'}) end
  if p.state ~= 'available' and p.state ~= 'wrap_up' then return invalid('start wrap-up') end
  redis.call('HSET', key, 'state', 'wrap_up', 'wrap_up_until', arg, 'changed_at', now)
elseif op == 'end_wrap_up' then
  -- harmless in any other state (a claim may already have ended an expired wrap-up)
  if p.state == 'wrap_up' then
    redis.call('HSET', key, 'state', 'available', 'wrap_up_until', '', 'changed_at', now)
    announce = true
  end
elseif op == 'record_miss' then
  local missed = redis.call('HINCRBY', key, 'missed', 1)
  local max = tonumber(arg) or 0
  extra.auto_paused = false
  if max > 0 and missed >= max and (p.state == 'available' or p.state == 'wrap_up') then
    redis.call('HSET', key, 'state', 'paused', 'pause_reason', 'no_answer', 'wrap_up_until', '',
      'changed_at', now)
    extra.auto_paused = true
  end
elseif op == 'set_reachable' then
  local device, flag = string.match(arg or '', '^(%a+)=([01])$')
  if device ~= 'softphone' and device ~= 'mobile' then return fail('DEVICE_NOT_CONFIGURED', {agent = a, device = arg}) end
  local field = device .. '_reachable'
  extra.changed = (p[field] or '') ~= flag
  if extra.changed then
    redis.call('HSET', key, field, flag)
    p[field] = flag
    announce = flag == '1' and p.device == device and is_free(p, now)
  end
elseif op == 'reset_misses' then
  redis.call('HSET', key, 'missed', 0)
else
  return fail('BAD_OP', {op = op})
end
index_agent(a)
extra.presence = hgetall(key)
local after = extra.presence
if #bare > 0 and not duty_reachable(after) then extra.uncovered = bare end
if (after.state or 'logged_out') ~= p.state or (after.device or '') ~= (p.device or '')
    or (after.pause_reason or '') ~= (p.pause_reason or '') then
  if op == 'record_miss' then by = 'auto-pause' end
  publish_presence(a, now, by)
  if op ~= 'set_wrap_up' and op ~= 'end_wrap_up' and op ~= 'own_call_begin' and op ~= 'own_call_end' then
    local what = after.state or 'logged_out'
    if what == 'paused' and not blank(after.pause_reason) then what = what .. ':' .. after.pause_reason end
    if what ~= 'logged_out' and not blank(after.device) then what = what .. '@' .. after.device end
    audit(a, what, now, by, forced, actor, extra.uncovered and ('left uncovered: ' .. table.concat(bare, ',')) or '')
  end
elseif op == 'set_reachable' and extra.changed then
  audit(a, (arg:gsub('=1$', ' reachable'):gsub('=0$', ' unreachable')), now, by, false, actor, '')
end
if announce then publish_available(a, now) end
return reply(extra)
