-- move(call, hotline, priority, now) -> {position, from}: the switchboard moves a waiting call to another hotline.
-- Guarantees: only a waiting call moves (offered / connected: CALL_NOT_WAITING); it keeps its arrival (the
-- queue score's arrival part) and `enqueued_at`, so it keeps its waiting time and waits in the new queue where
-- its arrival puts it; the score takes the new hotline's priority. Publishes call_changed queued
-- (detail.moved_from, detail.position).
local c, h, prio, now = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local call = hgetall(K.call(c))
if blank(call.status) then return fail('CALL_NOT_FOUND', {call = c}) end
if call.status ~= 'waiting' then return fail('CALL_NOT_WAITING', {call = c, status = call.status}) end
local span = 10000000000000  -- ARRIVAL_SPAN in state/queues.py
local arrival = tonumber(call.score) % span
local score = string.format('%.0f', (99 - prio) * span + arrival)  -- never %.14g: 1e15 needs every digit
redis.call('ZREM', K.waiting(call.hotline), c)
redis.call('ZADD', K.waiting(h), score, c)
redis.call('HSET', K.call(c), 'hotline', h, 'priority', prio, 'score', score)
local position = redis.call('ZRANK', K.waiting(h), c) + 1
publish_call(c, 'queued', h, nil, now, {moved_from = call.hotline, position = position})
return reply({position = position, from = call.hotline})
