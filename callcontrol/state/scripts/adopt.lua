-- adopt(call, owner) -> {}: another instance takes over a call (start-up reconcile).
-- Guarantees: the call and the reservations of its agents name the new owner; a call gone meanwhile is not
-- re-created (CALL_NOT_FOUND).
local c, owner = ARGV[2], ARGV[3]
if redis.call('EXISTS', K.call(c)) == 0 then return fail('CALL_NOT_FOUND', {call = c}) end
redis.call('HSET', K.call(c), 'owner', owner)
for _, a in ipairs(redis.call('SMEMBERS', K.call_agents(c))) do
  if redis.call('HGET', K.presence(a), 'reserved_by') == c then
    redis.call('HSET', K.presence(a), 'reserved_owner', owner)
  end
end
return reply({})
