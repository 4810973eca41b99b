-- Shared helpers, prepended to every script by store.load_script_source.
-- ARGV[1] is always the key prefix ("cc:"); key names must match store.Keys.
-- Scripts return cjson-encoded objects; {"error": CODE, ...} is mapped to a typed exception in Python.
local P = ARGV[1]
local K = {}
function K.agents() return P .. 'agents' end
function K.agent(a) return P .. 'agent:' .. a end
function K.presence(a) return P .. 'agent:' .. a .. ':presence' end
function K.hotlines() return P .. 'hotlines' end
function K.members(h) return P .. 'hotline:' .. h .. ':members' end
function K.waiting(h) return P .. 'hotline:' .. h .. ':waiting' end
function K.rr(h) return P .. 'hotline:' .. h .. ':rr' end
function K.handling(h) return P .. 'hotline:' .. h .. ':handling' end
function K.reachable(h) return P .. 'hotline:' .. h .. ':reachable' end
function K.ready(h) return P .. 'hotline:' .. h .. ':ready' end
function K.ready_by_id(h) return P .. 'hotline:' .. h .. ':ready_by_id' end
function K.call(c) return P .. 'call:' .. c end
function K.call_agents(c) return P .. 'call:' .. c .. ':agents' end
function K.skip(c) return P .. 'call:' .. c .. ':skip' end
function K.calls() return P .. 'calls' end
function K.instance(i) return P .. 'instance:' .. i end
function K.events() return P .. 'events' end
function K.callback(c) return P .. 'callback:' .. c end
function K.callbacks() return P .. 'callbacks' end
function K.callback_retries() return P .. 'callbacks:retry' end
local CALLBACK_OWNER = 'callback'  -- the owner of a kept callback's queue entry: every live instance may claim it
function K.oncall() return P .. 'oncall' end  -- set: the on-call hotlines (hotlines.yaml on_call: true)
function K.duty(h) return P .. 'hotline:' .. h .. ':duty' end  -- hash agent -> cjson {since, relieved}
function K.relief(a) return P .. 'agent:' .. a .. ':relief' end  -- the handover her next call announces
function K.audit() return P .. 'audit' end  -- capped stream of presence changes

local AUDIT_MAX = 10000
function K.logged_in() return P .. 'agents:logged_in' end

local HANDLING_SAMPLES = 50

local function hgetall(key)
  local flat = redis.call('HGETALL', key)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local function blank(v) return v == nil or v == false or v == '' end

local function reply(t) return cjson.encode(t) end

local function fail(code, t)
  t = t or {}
  t.error = code
  return cjson.encode(t)
end

-- Presence of a configured agent (nil when the agent is not in the directory).
local function presence(a)
  if redis.call('EXISTS', K.agent(a)) == 0 then return nil end
  local p = hgetall(K.presence(a))
  if blank(p.state) then p.state = 'logged_out' end
  return p
end

-- The device the agent is logged in on can be reached: its `<device>_reachable` flag is not "0" (the app keeps
-- softphone_reachable from the ARI endpoint state; unknown or never checked counts as reachable).
local function device_reachable(p)
  return blank(p.device) or p[p.device .. '_reachable'] ~= '0'
end

-- Free to be offered a call: no reservation, a reachable device, and available or in an expired wrap-up.
local function is_free(p, now)
  if not blank(p.reserved_by) or blank(p.device) or not device_reachable(p) then return false end
  if p.state == 'available' then return true end
  return p.state == 'wrap_up' and (tonumber(p.wrap_up_until) or 0) <= tonumber(now)
end

-- Reachable for on-call duty: logged in, not paused, on a device that answers (softphone registered, mobile
-- not marked unreachable).
local function duty_reachable(p)
  if blank(p.state) or p.state == 'logged_out' or p.state == 'paused' or blank(p.device) then return false end
  return device_reachable(p)
end

-- The on-call hotlines whose duty `a` holds now (member of the live membership), sorted.
local function held_duties(a)
  local held = {}
  for _, h in ipairs(redis.call('SMEMBERS', K.oncall())) do
    if redis.call('ZSCORE', K.members(h), a) then held[#held + 1] = h end
  end
  table.sort(held)
  return held
end

-- Reachable duty holders of on-call hotline h, except `but`.
local function reachable_holders(h, but)
  local n = 0
  for _, m in ipairs(redis.call('ZRANGE', K.members(h), 0, -1)) do
    if m ~= but then
      local q = presence(m)
      if q and duty_reachable(q) then n = n + 1 end
    end
  end
  return n
end

-- The on-call hotlines `a` would leave with nobody reachable (sorted); empty when `a` is not reachable now.
local function would_uncover(a, p)
  local bare = {}
  if not duty_reachable(p) then return bare end
  for _, h in ipairs(held_duties(a)) do
    if reachable_holders(h, a) == 0 then bare[#bare + 1] = h end
  end
  return bare
end

-- One audit entry (capped stream cc:audit): who, what, by which route, forced or not, by whom, when.
local function audit(a, what, now, by, forced, actor, detail)
  redis.call('XADD', K.audit(), 'MAXLEN', '~', AUDIT_MAX, '*', 'agent', a, 'what', what, 'at', now,
    'by', blank(by) and 'system' or by, 'forced', forced and '1' or '0', 'actor', actor or '', 'detail',
    detail or '')
end

-- The per-hotline indexes, so that the enqueue and the claim cost the same with 20 agents or 10,000:
--   reachable (set):  members whose state is available / ringing / on_call / wrap_up on a reachable device
--                     (the enqueue's "is anyone there to answer" check is one SCARD)
--   ready (zset):     members with no reservation, available or in a wrap-up, on a reachable device (a claim
--                     looks only there, then checks is_free: an unexpired wrap-up is skipped); score
--                     penalty * READY_TIER + idle_since, so ZRANGE is the longest-idle order within penalty tiers.
--   ready_by_id (zset, every score 0): the same members as ready, as "<penalty, 10 digits>:<id>", so its lex
--                     order is penalty then id (byte order): linear takes its first free member, round_robin the
--                     first free one of the best tier after the last one rung (ZRANGEBYLEX), without reading the
--                     whole tier (with 10,000 free agents that read took ~0.3 s per claim, session 6)
--   logged_in (set, one for all hotlines): agents not logged out (what Redis would lose with its data: the
--                     state check of upkeep.py reads these ids every second instead of every presence)
-- index_agent(a) recomputes agent a's entries from her presence and her live membership; every script that writes
-- a presence or a membership calls it after its last write (set_available and reserve do it themselves).
-- sync_agents rebuilds them all.
local READY_TIER = 1e10  -- > any idle_since (epoch seconds); exact to ~0.1 ms for penalties up to ~100
local REACHABLE_STATES = {available = true, ringing = true, on_call = true, wrap_up = true}

local function ready_score(penalty, idle_since)
  return string.format('%.17g', (tonumber(penalty) or 0) * READY_TIER + (tonumber(idle_since) or 0))
end

-- An agent's member of ready_by_id, and the inverse (the id after the 11 characters of penalty and colon).
local function by_id_member(penalty, a) return string.format('%010d:', math.floor(tonumber(penalty) or 0)) .. a end
local function by_id_agent(m) return m:sub(12) end
local function by_id_penalty(m) return tonumber(m:sub(1, 10)) end

local function index_agent(a)
  local raw = redis.call('HGET', K.agent(a), 'hotlines')
  if not raw then return end
  local p = hgetall(K.presence(a))
  local state = blank(p.state) and 'logged_out' or p.state
  if state == 'logged_out' then redis.call('SREM', K.logged_in(), a) else redis.call('SADD', K.logged_in(), a) end
  local reach = REACHABLE_STATES[state] == true and device_reachable(p)
  local ready = reach and blank(p.reserved_by) and not blank(p.device)
    and (state == 'available' or state == 'wrap_up')
  for h, _ in pairs(cjson.decode(raw)) do
    -- the live membership decides, not the directory: a hotline she left (*46<code>), an on-call duty she does
    -- not hold (handover, rota) keeps her out of its indexes; the penalty is her score there
    local penalty = redis.call('ZSCORE', K.members(h), a)
    if reach and penalty then redis.call('SADD', K.reachable(h), a) else redis.call('SREM', K.reachable(h), a) end
    -- ready and ready_by_id hold the same agents: her penalty in ready's score names her ready_by_id member
    local was = redis.call('ZSCORE', K.ready(h), a)
    local old = was and by_id_member(math.floor(tonumber(was) / READY_TIER), a)
    if ready and penalty then
      local member = by_id_member(penalty, a)
      if old and old ~= member then redis.call('ZREM', K.ready_by_id(h), old) end
      redis.call('ZADD', K.ready(h), ready_score(penalty, p.idle_since), a)
      redis.call('ZADD', K.ready_by_id(h), 0, member)
    elseif was then
      redis.call('ZREM', K.ready(h), a)
      redis.call('ZREM', K.ready_by_id(h), old)
    end
  end
end

local function agent_hotline_ids(a)
  local raw = redis.call('HGET', K.agent(a), 'hotlines')
  local ids = {}
  if raw then
    for h, _ in pairs(cjson.decode(raw)) do ids[#ids + 1] = h end
  end
  table.sort(ids)
  return ids
end

local function publish_available(a, now)
  redis.call('PUBLISH', K.events(), cjson.encode({
    type = 'agent_available', agent = a, hotlines = agent_hotline_ids(a), at = tonumber(now)}))
end

-- presence_changed with the agent's presence as it is now; `by` is the route that asked ("system" by default).
local function publish_presence(a, now, by)
  local p = hgetall(K.presence(a))
  redis.call('PUBLISH', K.events(), cjson.encode({
    type = 'presence_changed', agent = a, status = blank(p.state) and 'logged_out' or p.state,
    device = p.device or '', reason = p.pause_reason or '', at = tonumber(now), by = blank(by) and 'system' or by}))
end

-- call_changed: stage is queued / offered / connected / ended / left (ringing is published by the dialer).
local function publish_call(c, stage, hotline, a, now, detail)
  local body = {type = 'call_changed', call = c, stage = stage, hotline = hotline or '', agent = a or '',
    at = tonumber(now)}
  if detail then body.detail = detail end
  redis.call('PUBLISH', K.events(), cjson.encode(body))
end

local function clear_reservation(a)
  redis.call('HSET', K.presence(a), 'reserved_by', '', 'reserved_owner', '', 'reserved_hotline', '',
    'connected_at', '')
end

-- Agent -> available (reservation cleared); publishes presence_changed and agent_available.
local function set_available(a, now, reset_idle)
  clear_reservation(a)
  redis.call('HSET', K.presence(a), 'state', 'available', 'wrap_up_until', '', 'pause_reason', '',
    'changed_at', now)
  if reset_idle then redis.call('HSET', K.presence(a), 'idle_since', now) end
  index_agent(a)
  publish_presence(a, now, 'system')
  publish_available(a, now)
end

local function reserve(a, c, call, now)
  redis.call('HSET', K.presence(a), 'state', 'ringing', 'reserved_by', c, 'reserved_owner', call.owner,
    'reserved_hotline', call.hotline, 'wrap_up_until', '', 'changed_at', now)
  redis.call('SADD', K.call_agents(c), a)
  index_agent(a)
  publish_presence(a, now, 'system')
end

-- An offered call with no agent left goes back to the waiting zset with its original score (call_changed
-- queued, detail.requeued). `now` is only for the event; without it the event carries the call's offer time.
local function requeue_call(c, now)
  local call = hgetall(K.call(c))
  if blank(call.hotline) then return false end
  redis.call('HSET', K.call(c), 'status', 'waiting', 'offered_at', '', 'claimed_by', '')
  redis.call('DEL', K.call_agents(c))
  redis.call('ZADD', K.waiting(call.hotline), call.score, c)
  publish_call(c, 'queued', call.hotline, nil, now or call.offered_at or 0, {requeued = true})
  return true
end

-- Forget agent a for call c; returns true when that put the call back in the queue.
local function drop_agent_from_call(c, a, now)
  if blank(c) or redis.call('EXISTS', K.call(c)) == 0 then return false end
  redis.call('SREM', K.call_agents(c), a)
  if redis.call('HGET', K.call(c), 'status') == 'offered' and redis.call('SCARD', K.call_agents(c)) == 0 then
    return requeue_call(c, now)
  end
  return false
end

-- Free every agent still ringing for call c, except `keep`; returns the freed ids (sorted).
local function free_ringing(c, keep, now)
  local freed = {}
  for _, a in ipairs(redis.call('SMEMBERS', K.call_agents(c))) do
    if a ~= keep then
      local p = presence(a)
      if p and p.reserved_by == c and p.state == 'ringing' then
        set_available(a, now, false)
        freed[#freed + 1] = a
      end
      redis.call('SREM', K.call_agents(c), a)
    end
  end
  table.sort(freed)
  return freed
end

local function delete_call(c)
  local h = redis.call('HGET', K.call(c), 'hotline')
  if h then redis.call('ZREM', K.waiting(h), c) end
  redis.call('DEL', K.call(c), K.call_agents(c), K.skip(c))
  redis.call('SREM', K.calls(), c)
end
