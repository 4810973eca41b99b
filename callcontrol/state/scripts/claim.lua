-- claim(mode, ...): hand a waiting call to free agent(s), atomically.
--   head           (hotline, strategy, now, instance, scan_limit[, only]): the head call of the hotline, if
--                  `instance` owns it, to the agent(s) the strategy picks among the hotline's free members; with
--                  `only` (a call id), none unless that call is the one offered (a call's claim of its own, sent
--                  in the same round trip as its enqueue: state/queues.py enqueue_and_claim).
--   call_for_agent (call, agent, now, instance): a given waiting call to a given free agent (switchboard).
--   agent_for_call (call, strategy, now, instance, exclude_json, hotline): the next free member of `hotline`
--                  (not in exclude) for a waiting call (dialer retry after a no-answer).
-- Guarantees: an agent is reserved only if free (no reservation, available or expired wrap-up) and becomes
-- ringing with reserved_by=call in the same step; a call is taken out of the waiting zset and marked offered in
-- that same step, so no agent gets two calls and no call gets two claims. ring_all reserves every free member.
-- head: calls are only claimed by the instance that owns them (its Asterisk holds the citizen); if the head
-- call belongs to another live instance the claim returns none (that instance claims it: it gets the same
-- event); calls of dead instances (no heartbeat key) are skipped until reconcile adopts or drops them. A kept
-- callback (owner = CALLBACK_OWNER, state/scripts/callback.lua) has no channel: any live instance claims it, and
-- its agents are reserved for the claimer (reserved_owner), so a take-over of that instance frees them.
-- Skips: every mode leaves out the agents in the call's skip set (cc:call:{id}:skip, a voicemail answered for
-- them, deleted with the call); a head call whose every free member is skipped keeps waiting and the claim looks
-- at the calls behind it (those agents still serve the other citizens).
local mode = ARGV[2]

-- Byte order, like the zset's ordering of equal scores (Lua's `>` follows the server's collation locale).
local function bytes_gt(x, y)
  for i = 1, math.min(#x, #y) do
    local bx, by = x:byte(i), y:byte(i)
    if bx ~= by then return bx > by end
  end
  return #x > #y
end

-- The ready index (_lib.lua) in its order (penalty, then idle_since, then id) is what longest_idle and ring_all
-- read; linear and round_robin read ready_by_id (penalty, then id). Busy, paused and logged-out members are not
-- even looked at, and longest_idle, linear and round_robin stop at the first free member they need, so the cost
-- of a claim does not grow with the agents (ring_all reads every free member: it rings them all). is_free is
-- still checked (an unexpired wrap-up is in the index). The first read is small (the first member is nearly
-- always free: a bigger one cost ~60 us of the claim's ~150 us, session 6), the next ones BATCH.
local FIRST, BATCH = 4, 64

local function free_member(a, now, exclude)
  if exclude[a] then return nil end
  local p = presence(a)
  return p and is_free(p, now) and p or nil
end

-- The hotline's free members (not in `exclude`) from the ready index: the first one (want 'first') or all.
local function candidates(h, now, exclude, want)
  local cands, start, size = {}, 0, want == 'first' and FIRST or BATCH
  while true do
    local flat = redis.call('ZRANGE', K.ready(h), start, start + size - 1, 'WITHSCORES')
    if #flat == 0 then return cands end
    for i = 1, #flat, 2 do
      local p = free_member(flat[i], now, exclude)
      if p then
        cands[#cands + 1] = {id = flat[i], penalty = math.floor(tonumber(flat[i + 1]) / READY_TIER)}
        if want == 'first' then return cands end
      end
    end
    start, size = start + size, BATCH
  end
end

-- The first free member (not in `exclude`) of ready_by_id in the lex range (min, max], and her penalty; nil when
-- there is none. Each read starts after the last member read, so a long run of busy ones costs one pass.
local function first_by_id(h, now, exclude, min, max)
  local size = FIRST
  while true do
    local batch = redis.call('ZRANGEBYLEX', K.ready_by_id(h), min, max, 'LIMIT', 0, size)
    for _, m in ipairs(batch) do
      if free_member(by_id_agent(m), now, exclude) then return by_id_agent(m), by_id_penalty(m) end
    end
    if #batch < size then return nil end
    min, size = '(' .. batch[#batch], BATCH
  end
end

-- Members in the order the strategies read them: penalty, then id (byte order).
local function by_penalty_then_id(x, y)
  if x.penalty ~= y.penalty then return x.penalty < y.penalty end
  return bytes_gt(y.id, x.id)
end

-- The agent(s) `strategy` picks among the hotline's free members not in `exclude`: {} when nobody is free,
-- nil for an unknown strategy (when someone is free). Writes nothing: see remember.
--   longest_idle: the longest idle of the best penalty tier; ring_all: every free member (penalty, then id);
--   linear: the first of the best tier by id; round_robin: the next one of the best tier by id after the last
--   one it rang (hotline:rr), from the first again after the last id.
local function pick(h, strategy, now, exclude)
  if strategy == 'linear' or strategy == 'round_robin' then
    local first, tier = first_by_id(h, now, exclude, '-', '+')
    if not first then return {} end
    if strategy == 'linear' then return {first} end
    local last = redis.call('GET', K.rr(h)) or ''
    local tier_prefix = string.format('%010d', tier)
    return {first_by_id(h, now, exclude, '(' .. tier_prefix .. ':' .. last, '(' .. tier_prefix .. ';') or first}
  end
  local cands = candidates(h, now, exclude, strategy == 'ring_all' and 'all' or 'first')
  if #cands == 0 then return {} end
  if strategy == 'longest_idle' then return {cands[1].id} end
  if strategy ~= 'ring_all' then return nil end
  table.sort(cands, by_penalty_then_id)
  local all = {}
  for i, cand in ipairs(cands) do all[i] = cand.id end
  return all
end

-- What a pick leaves behind once its call is offered: round_robin's last agent rung.
local function remember(h, strategy, agents)
  if strategy == 'round_robin' then redis.call('SET', K.rr(h), agents[1]) end
end

-- The agents skipped for call c (a voicemail answered for them), as a set, plus `extra` ids.
local function skipped(c, extra)
  local set = {}
  for _, a in ipairs(redis.call('SMEMBERS', K.skip(c))) do set[a] = true end
  for _, a in ipairs(extra or {}) do set[a] = true end
  return set
end

local function offer(c, call, agents, now, instance)
  local owner = call.owner
  if owner == CALLBACK_OWNER then call.owner = instance end  -- a callback's agents are the claimer's to ring
  for _, a in ipairs(agents) do reserve(a, c, call, now) end
  redis.call('ZREM', K.waiting(call.hotline), c)
  redis.call('HSET', K.call(c), 'status', 'offered', 'offered_at', now, 'claimed_by', instance)
  publish_call(c, 'offered', call.hotline, #agents == 1 and agents[1] or nil, now, {agents = agents})
  -- each agent's directory record and presence, as ringing her needs them: no read of its own before the ring
  local known = {}
  for _, a in ipairs(agents) do known[a] = {record = hgetall(K.agent(a)), presence = hgetall(K.presence(a))} end
  return reply({call = c, hotline = call.hotline, owner = owner, agents = agents, known = known})
end

local function none(reason, extra)
  extra = extra or {}
  extra.none = reason
  return reply(extra)
end

if mode == 'head' then
  local h, strategy, now, instance, limit, only = ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8]
  local any_free = nil  -- whether any member is free at all (skips aside), looked up once a call needs it
  for _, c in ipairs(redis.call('ZRANGE', K.waiting(h), 0, limit - 1)) do
    local call = hgetall(K.call(c))
    if blank(call.status) then
      redis.call('ZREM', K.waiting(h), c)  -- dangling entry: heal
    elseif call.owner == instance or call.owner == CALLBACK_OWNER
      or redis.call('EXISTS', K.instance(call.owner)) == 1 then
      local skip = skipped(c)
      local agents = pick(h, strategy, now, skip)
      if agents ~= nil and #agents == 0 then
        if any_free == nil then any_free = next(skip) ~= nil and #candidates(h, now, {}, 'first') > 0 end
        if not any_free then return none('no_agent') end
        -- A call whose every free member is skipped for it keeps waiting; the calls behind it are served.
      else
        if call.owner ~= instance and call.owner ~= CALLBACK_OWNER then
          return none('not_owner', {call = c, owner = call.owner})
        end
        if agents == nil then return fail('BAD_STRATEGY', {strategy = strategy}) end
        if not blank(only) and c ~= only then return none('not_this_call', {call = c}) end
        remember(h, strategy, agents)
        return offer(c, call, agents, now, instance)
      end
    end
  end
  if any_free then return none('all_skipped') end
  return none('no_call')
elseif mode == 'call_for_agent' then
  local c, a, now, instance = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
  local call = hgetall(K.call(c))
  if blank(call.status) then return fail('CALL_NOT_FOUND', {call = c}) end
  if call.status ~= 'waiting' then return fail('CALL_NOT_WAITING', {call = c, status = call.status}) end
  local p = presence(a)
  if not p then return fail('AGENT_NOT_FOUND', {agent = a}) end
  if not is_free(p, now) then return fail('AGENT_BUSY', {agent = a, state = p.state, op = 'take call ' .. c}) end
  if skipped(c)[a] then
    return fail('AGENT_BUSY', {agent = a, state = 'skipped for this call (a voicemail answered)', op = 'take call ' .. c})
  end
  return offer(c, call, {a}, now, instance)
elseif mode == 'agent_for_call' then
  local c, strategy, now, instance, h = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[8]
  local call = hgetall(K.call(c))
  if blank(call.status) then return fail('CALL_NOT_FOUND', {call = c}) end
  if call.status ~= 'waiting' then return fail('CALL_NOT_WAITING', {call = c, status = call.status}) end
  local agents = pick(h, strategy, now, skipped(c, cjson.decode(ARGV[7])))
  if agents == nil then return fail('BAD_STRATEGY', {strategy = strategy}) end
  if #agents == 0 then return none('no_agent') end
  remember(h, strategy, agents)
  return offer(c, call, agents, now, instance)
end
return fail('BAD_OP', {op = mode})
