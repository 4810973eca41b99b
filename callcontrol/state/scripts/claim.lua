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
-- event); calls of dead instances (no heartbeat key) are skipped until reconcile adopts or drops them.
local mode = ARGV[2]

-- Byte order, like the zset's ordering of equal scores (Lua's `>` follows the server's collation locale).
local function bytes_gt(x, y)
  for i = 1, math.min(#x, #y) do
    local bx, by = x:byte(i), y:byte(i)
    if bx ~= by then return bx > by end
  end
  return #x > #y
end

local function pick(h, strategy, now, exclude)
  local flat = redis.call('ZRANGE', K.members(h), 0, -1, 'WITHSCORES')  -- by penalty, then id
  local cands = {}
  for i = 1, #flat, 2 do
    local a = flat[i]
    if not exclude[a] then
      local p = presence(a)
      if p and is_free(p, now) then
        cands[#cands + 1] = {id = a, penalty = tonumber(flat[i + 1]), idle = tonumber(p.idle_since) or 0}
      end
    end
  end
  if #cands == 0 then return {} end
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

local function offer(c, call, agents, now, instance)
  for _, a in ipairs(agents) do reserve(a, c, call, now) end
  redis.call('ZREM', K.waiting(call.hotline), c)
  redis.call('HSET', K.call(c), 'status', 'offered', 'offered_at', now, 'claimed_by', instance)
  publish_call(c, 'offered', call.hotline, #agents == 1 and agents[1] or nil, now, {agents = agents})
  return reply({call = c, hotline = call.hotline, owner = call.owner, agents = agents})
end

local function none(reason, extra)
  extra = extra or {}
  extra.none = reason
  return reply(extra)
end

if mode == 'head' then
  local h, strategy, now, instance, limit = ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
  for _, c in ipairs(redis.call('ZRANGE', K.waiting(h), 0, limit - 1)) do
    local call = hgetall(K.call(c))
    if blank(call.status) then
      redis.call('ZREM', K.waiting(h), c)  -- dangling entry: heal
    elseif call.owner == instance then
      local agents = pick(h, strategy, now, {})
      if agents == nil then return fail('BAD_STRATEGY', {strategy = strategy}) end
      if #agents == 0 then return none('no_agent') end
      return offer(c, call, agents, now, instance)
    elseif redis.call('EXISTS', K.instance(call.owner)) == 1 then
      return none('not_owner', {call = c, owner = call.owner})
    end
  end
  return none('no_call')
elseif mode == 'call_for_agent' then
  local c, a, now, instance = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
  local call = hgetall(K.call(c))
  if blank(call.status) then return fail('CALL_NOT_FOUND', {call = c}) end
  if call.status ~= 'waiting' then return fail('CALL_NOT_WAITING', {call = c, status = call.status}) end
  local p = presence(a)
  if not p then return fail('AGENT_NOT_FOUND', {agent = a}) end
  if not is_free(p, now) then return fail('AGENT_BUSY', {agent = a, state = p.state, op = 'take call ' .. c}) end
  return offer(c, call, {a}, now, instance)
elseif mode == 'agent_for_call' then
  local c, strategy, now, instance, h = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[8]
  local exclude = {}
  for _, a in ipairs(cjson.decode(ARGV[7])) do exclude[a] = true end
  local call = hgetall(K.call(c))
  if blank(call.status) then return fail('CALL_NOT_FOUND', {call = c}) end
  if call.status ~= 'waiting' then return fail('CALL_NOT_WAITING', {call = c, status = call.status}) end
  local agents = pick(h, strategy, now, exclude)
  if agents == nil then return fail('BAD_STRATEGY', {strategy = strategy}) end
  if #agents == 0 then return none('no_agent') end
  return offer(c, call, agents, now, instance)
end
return fail('BAD_OP', {op = mode})
