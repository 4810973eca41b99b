-- callback(op, ...): a citizen's callback that keeps their place in the queue (state/callbacks.py).
--   keep    (call, number, deadline, retries, retry_delay, now): the waiting (or offered) call becomes a callback:
--           same entry, same score (its place), owner = CALLBACK_OWNER (any live instance may claim it), agents
--           ringing for it freed; the number and the attempts are kept in cc:callback:{call}. -> {position}
--           With `due` later than now (a rendez-vous téléphonique), it leaves the queue until then (like a retry).
--   slot    (key, capacity, expire_at): a place in a rendez-vous slot, refused when it is full.
--   failed  (call, now): an attempt did not reach the citizen. Out of the queue; then either a retry at
--           now + retry_delay (cc:callbacks:retry), or, after the last attempt or past the deadline, the callback
--           is over: -> {result = retry | failed | late, record}. The record is deleted when over.
--   done    (call): the citizen was reached: the callback record is deleted (the entry goes with the agent's
--           release). -> {done}
--   due     (now): retries whose time has come go back to the queue at their place. -> {hotlines}
--   expired (now): waiting callbacks past their deadline leave the queue. -> {late = [record, ...]}
--   recover (now): callbacks claimed by an instance that died: offered -> back at their place (agents freed);
--           connected -> done (the agent freed). -> {requeued, closed}
-- Guarantees: each step is atomic, so with several instances a callback is claimed, retried or expired once.
local op = ARGV[2]

local function record(c)
  local r = hgetall(K.callback(c))
  r.call = c
  return r
end

local function forget(c)
  redis.call('DEL', K.callback(c))
  redis.call('ZREM', K.callbacks(), c)
  redis.call('ZREM', K.callback_retries(), c)
end

if op == 'keep' then
  local c, number, deadline, retries, delay, now = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
  local due = tonumber(ARGV[9] or '') or 0
  local call = hgetall(K.call(c))
  if blank(call.status) then return fail('CALL_NOT_FOUND', {call = c}) end
  if call.status ~= 'waiting' and call.status ~= 'offered' then
    return fail('CALL_NOT_WAITING', {call = c, status = call.status})
  end
  if call.status == 'offered' then
    free_ringing(c, nil, now)
    requeue_call(c, now)
  end
  redis.call('HSET', K.call(c), 'owner', CALLBACK_OWNER, 'callback', '1')
  redis.call('HSET', K.callback(c), 'number', number, 'hotline', call.hotline, 'deadline', deadline,
    'retries', retries, 'retry_delay', delay, 'attempts', 0, 'requested_at', now,
    'caller_masked', call.caller_masked or '')
  redis.call('ZADD', K.callbacks(), deadline, c)
  if due > tonumber(now) then  -- a rendez-vous: out of the queue until its slot, then back at its place
    redis.call('ZREM', K.waiting(call.hotline), c)
    redis.call('HSET', K.call(c), 'status', 'retry')
    redis.call('HSET', K.callback(c), 'slot_at', due)
    redis.call('ZADD', K.callback_retries(), due, c)
    publish_call(c, 'left', call.hotline, nil, now, {callback = 'appointment'})
    return reply({position = 0})
  end
  publish_call(c, 'queued', call.hotline, nil, now, {callback = true})
  return reply({position = redis.call('ZRANK', K.waiting(call.hotline), c) + 1})
elseif op == 'slot' then
  -- slot(key, capacity, expire_at): one more rendez-vous in a half-day slot unless it is full -> {taken, count}
  local key, capacity, expire_at = ARGV[3], tonumber(ARGV[4]), ARGV[5]
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= capacity then return reply({taken = false, count = count}) end
  count = redis.call('INCR', key)
  redis.call('EXPIREAT', key, math.floor(tonumber(expire_at)))
  return reply({taken = true, count = count})
elseif op == 'failed' then
  local c, now = ARGV[3], tonumber(ARGV[4])
  if redis.call('EXISTS', K.callback(c)) == 0 then return fail('CALL_NOT_FOUND', {call = c}) end
  local r = record(c)
  local attempts = redis.call('HINCRBY', K.callback(c), 'attempts', 1)
  r.attempts = tostring(attempts)
  local h = redis.call('HGET', K.call(c), 'hotline')
  if h then redis.call('ZREM', K.waiting(h), c) end
  redis.call('DEL', K.call_agents(c))
  local next_at = now + (tonumber(r.retry_delay) or 0)
  local result = 'retry'
  if attempts > (tonumber(r.retries) or 0) then
    result = 'failed'
  elseif next_at > (tonumber(r.deadline) or 0) then
    result = 'late'
  end
  if result == 'retry' then
    redis.call('HSET', K.call(c), 'status', 'retry', 'agent', '', 'offered_at', '', 'claimed_by', '')
    redis.call('ZADD', K.callback_retries(), next_at, c)
  else
    delete_call(c)
    forget(c)
    publish_call(c, 'left', r.hotline, nil, now, {callback = result})
  end
  return reply({result = result, record = r})
elseif op == 'done' then
  local c = ARGV[3]
  forget(c)
  return reply({done = true})
elseif op == 'due' then
  local now = ARGV[3]
  local hotlines = {}
  for _, c in ipairs(redis.call('ZRANGEBYSCORE', K.callback_retries(), '-inf', now)) do
    redis.call('ZREM', K.callback_retries(), c)
    if redis.call('HGET', K.call(c), 'status') == 'retry' and requeue_call(c, now) then
      hotlines[#hotlines + 1] = redis.call('HGET', K.call(c), 'hotline')
    end
  end
  return reply({hotlines = hotlines})
elseif op == 'expired' then
  local now = ARGV[3]
  local late = {}
  for _, c in ipairs(redis.call('ZRANGEBYSCORE', K.callbacks(), '-inf', now)) do
    local status = redis.call('HGET', K.call(c), 'status')
    if status ~= 'offered' and status ~= 'connected' then  -- an attempt under way decides for itself
      late[#late + 1] = record(c)
      local h = redis.call('HGET', K.call(c), 'hotline')
      if status then
        delete_call(c)
        publish_call(c, 'left', h, nil, now, {callback = 'late'})
      end
      forget(c)
    end
  end
  return reply({late = late})
elseif op == 'recover' then
  local now = ARGV[3]
  local requeued, closed = {}, {}
  for _, c in ipairs(redis.call('ZRANGE', K.callbacks(), 0, -1)) do
    local call = hgetall(K.call(c))
    local by = call.claimed_by
    if (call.status == 'offered' or call.status == 'connected') and not blank(by)
        and redis.call('EXISTS', K.instance(by)) == 0 then
      if call.status == 'offered' then
        free_ringing(c, nil, now)
        requeue_call(c, now)
        requeued[#requeued + 1] = c
      else
        local a = call.agent
        local p = (not blank(a)) and presence(a) or nil
        if p and p.reserved_by == c then set_available(a, now, false) end
        delete_call(c)
        forget(c)
        closed[#closed + 1] = c
      end
    end
  end
  return reply({requeued = requeued, closed = closed})
end
return fail('BAD_OP', {op = op})
