-- claim(mode, ...): hand a waiting call to free agent(s), atomically.
--   head           (hotline, strategy, now, instance, scan_limit): the head call of the hotline, if `instance`
--                  owns it, to the agent(s) the strategy picks among the hotline's free members.
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

-- How much of the ready index a strategy needs: the first free member (longest idle of the best penalty tier),
-- every free member of the best tier (linear, round_robin: by id), or every free member (ring_all).
local WANT = {longest_idle = 'first', linear = 'tier', round_robin = 'tier', ring_all = 'all'}
local BATCH = 64

-- The hotline's free members (not in `exclude`) that `want` asks for, read from the ready index (_lib.lua) in
-- its order (penalty, then idle_since, then id): busy, paused and logged-out members are not even looked at,
-- so the cost does not grow with them. is_free is still checked (an unexpired wrap-up is in the index).
local function candidates(h, now, exclude, want)
  local cands, tier, start = {}, nil, 0
  while true do
    local flat = redis.call('ZRANGE', K.ready(h), start, start + BATCH - 1, 'WITHSCORES')
    if #flat == 0 then return cands end
    for i = 1, #flat, 2 do
      local a = flat[i]
      local penalty = math.floor(tonumber(flat[i + 1]) / READY_TIER)
      if tier and want ~= 'all' and penalty ~= tier then return cands end
      if not exclude[a] then
        local p = presence(a)
        if p and is_free(p, now) then
          cands[#cands + 1] = {id = a, penalty = penalty, idle = tonumber(p.idle_since) or 0}
          tier = tier or penalty
          if want == 'first' then return cands end
        end
      end
    end
    start = start + BATCH
  end
end

-- Members in the order the strategies read them: penalty, then id (byte order).
local function by_penalty_then_id(x, y)
  if x.penalty ~= y.penalty then return x.penalty < y.penalty end
  return bytes_gt(y.id, x.id)
end

-- The agent(s) `strategy` picks among `cands` (non-empty); nil for an unknown strategy.
local function choose(h, strategy, cands)
  table.sort(cands, by_penalty_then_id)
  if strategy == 'ring_all' then
    local all = {}
    for i, cand in ipairs(cands) do all[i] = cand.id end
    return all
  end
  if strategy == 'linear' then return {cands[1].id} end
  local tier = cands[1].penalty
  if strategy == 'longest_idle' then
    local best = cands[1]
    for _, cand in ipairs(cands) do
      if cand.penalty == tier and cand.idle < best.idle then best = cand end
    end
    return {best.id}
  end
  if strategy == 'round_robin' then
    local last = redis.call('GET', K.rr(h)) or ''
    local first, chosen = nil, nil
    for _, cand in ipairs(cands) do
      if cand.penalty == tier then
        first = first or cand.id
        if not chosen and bytes_gt(cand.id, last) then chosen = cand.id end
      end
    end
    chosen = chosen or first
    redis.call('SET', K.rr(h), chosen)
    return {chosen}
  end
  return nil
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
  local h, strategy, now, instance, limit = ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
  local want = WANT[strategy] or 'first'
  local any_free = nil  -- whether any member is free at all (skips aside), looked up once a call needs it
  for _, c in ipairs(redis.call('ZRANGE', K.waiting(h), 0, limit - 1)) do
    local call = hgetall(K.call(c))
    if blank(call.status) then
      redis.call('ZREM', K.waiting(h), c)  -- dangling entry: heal
    elseif call.owner == instance or call.owner == CALLBACK_OWNER
      or redis.call('EXISTS', K.instance(call.owner)) == 1 then
      local skip = skipped(c)
      local cands = candidates(h, now, skip, want)
      if #cands == 0 then
        if any_free == nil then any_free = next(skip) ~= nil and #candidates(h, now, {}, 'first') > 0 end
        if not any_free then return none('no_agent') end
        -- A call whose every free member is skipped for it keeps waiting; the calls behind it are served.
      else
        if call.owner ~= instance and call.owner ~= CALLBACK_OWNER then
          return none('not_owner', {call = c, owner = call.owner})
        end
        local agents = choose(h, strategy, cands)
        if agents == nil then return fail('BAD_STRATEGY', {strategy = strategy}) end
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
  local cands = candidates(h, now, skipped(c, cjson.decode(ARGV[7])), WANT[strategy] or 'first')
  if #cands == 0 then return none('no_agent') end
  local agents = choose(h, strategy, cands)
  if agents == nil then return fail('BAD_STRATEGY', {strategy = strategy}) end
  return offer(c, call, agents, now, instance)
end
return fail('BAD_OP', {op = mode})
