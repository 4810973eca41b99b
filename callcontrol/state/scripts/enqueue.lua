-- enqueue(call, hotline, score, priority, now, owner, max_length, caller_masked, started_at, path,
--         require_reachable) -> {position}
-- Guarantees: the length check and the insertion are one step (two instances cannot both take the last
-- place); the score (priority, then arrival) is stored with the call so a requeue restores the same place;
-- enqueueing a call already waiting on the same hotline again is harmless and returns its position.
-- started_at and path (JSON: the call's path so far) are kept with the entry, so that an instance adopting the
-- call after a restart journals it from its real start.
-- One order for every instance: with no score given (''), the arrival part of the score is Redis' own TIME in
-- ms, so two instances whose clocks differ still queue citizens in the order Redis saw them arrive.
-- require_reachable '1': not queued (NOBODY_REACHABLE) when no member could answer now (the reachable index), the
-- check the router used to make with an SCARD of its own, one round trip before.
local c, h, score, priority, now, owner, max_length, masked, started_at, path =
  ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8]), ARGV[9], ARGV[10] or '', ARGV[11] or ''
if ARGV[12] == '1' and redis.call('SCARD', K.reachable(h)) == 0 then
  return fail('NOBODY_REACHABLE', {hotline = h})
end
if blank(score) then
  local t = redis.call('TIME')
  local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  score = string.format('%.0f', (99 - tonumber(priority)) * 10000000000000 + ms)
end
local existing = hgetall(K.call(c))
if not blank(existing.status) then
  if existing.hotline == h and existing.status == 'waiting' then
    return reply({position = redis.call('ZRANK', K.waiting(h), c) + 1})
  end
  return fail('CALL_ALREADY_QUEUED', {call = c, hotline = existing.hotline, status = existing.status})
end
local length = redis.call('ZCARD', K.waiting(h))
if max_length > 0 and length >= max_length then
  return fail('QUEUE_FULL', {hotline = h, length = length})
end
redis.call('HSET', K.call(c), 'call_id', c, 'hotline', h, 'score', score, 'priority', priority,
  'enqueued_at', now, 'owner', owner, 'caller_masked', masked, 'status', 'waiting',
  'started_at', started_at, 'path', path)
redis.call('ZADD', K.waiting(h), score, c)
redis.call('SADD', K.calls(), c)
local position = redis.call('ZRANK', K.waiting(h), c) + 1
publish_call(c, 'queued', h, nil, now, {position = position, priority = tonumber(priority)})
return reply({position = position})
