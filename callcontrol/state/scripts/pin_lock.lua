-- pin_lock(op, who, limit, ttl): wrong PINs on the agents' line, counted per caller in cc:pinlock:{who}.
-- ops: fail    one more wrong PIN; the count lives `ttl` seconds from the first failure, and `limit` failures
--              lock `who` out for `ttl` seconds from that last one (the expiry restarts).
--      check   the count now (0 when none or expired)
--      clear   a right PIN: forget the failures (never while locked: the caller is refused before).
-- Returns {count, locked, ttl}: one counter shared by every instance.
local op, who, limit, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local key = P .. 'pinlock:' .. who
local count = tonumber(redis.call('GET', key) or '0')
if op == 'fail' then
  count = redis.call('INCR', key)
  if count == 1 or count >= limit then redis.call('EXPIRE', key, ttl) end
elseif op == 'clear' then
  if count < limit then redis.call('DEL', key); count = 0 end
elseif op ~= 'check' then
  return fail('BAD_OP', {op = op})
end
return reply({count = count, locked = count >= limit, ttl = redis.call('TTL', key)})
