-- membership(op, agent, now, hotline, guard, by): which of her configured hotlines an agent takes calls for.
-- An agent is a member (cc:hotline:{h}:members) of every hotline agents.yaml gives her, except those she left
-- with *46<code> (kept in cc:agent:{a}:out, which sync_agents.lua honours, so a restart does not put her back).
-- ops: join(h)  back in one hotline;  leave(h)  out of one hotline;  only(h)  in h alone (out of the others);
--      all      back in every configured hotline (the out set emptied).
-- guard "1" on leave / only: refused (ON_CALL_UNCOVERED) when she is a reachable member of h (logged in, not
-- paused, on a reachable device) and no other member of h is: an on-call hotline is never left with nobody.
-- Refusals are replies {refused = NOT_MEMBER | ON_CALL_UNCOVERED, hotline} (state/membership.py types them).
-- Returns {hotlines = [the hotlines she is in now], changed = bool}; publishes agent_available when she joined
-- a hotline while free (its waiting citizens may go to her at once), presence_changed (by) on any change.
local op, a, now, h, guard, by = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local p = presence(a)
if not p then return fail('AGENT_NOT_FOUND', {agent = a}) end
local out_key = P .. 'agent:' .. a .. ':out'
local configured = cjson.decode(redis.call('HGET', K.agent(a), 'hotlines') or '{}')
if op ~= 'all' and configured[h] == nil then return reply({refused = 'NOT_MEMBER', hotline = h}) end

local function reachable(q)
  return q and (q.state == 'available' or q.state == 'wrap_up' or q.state == 'ringing' or q.state == 'on_call')
    and device_reachable(q) and not blank(q.device)
end

local function uncovered(hotline)
  if not reachable(p) or redis.call('ZSCORE', K.members(hotline), a) == false then return false end
  for _, other in ipairs(redis.call('ZRANGE', K.members(hotline), 0, -1)) do
    if other ~= a and reachable(presence(other)) then return false end
  end
  return true
end

local changed, joined = false, false
local function put_in(hotline)
  redis.call('SREM', out_key, hotline)
  if redis.call('ZADD', K.members(hotline), configured[hotline], a) == 1 then changed, joined = true, true end
  redis.call('SADD', K.hotlines(), hotline)
end
local function take_out(hotline)
  redis.call('SADD', out_key, hotline)
  if redis.call('ZREM', K.members(hotline), a) == 1 then changed = true end
end

if op == 'join' then
  put_in(h)
elseif op == 'leave' then
  if guard == '1' and uncovered(h) then return reply({refused = 'ON_CALL_UNCOVERED', hotline = h}) end
  take_out(h)
elseif op == 'only' then
  for other, _ in pairs(configured) do
    if other ~= h and guard == '1' and uncovered(other) then
      return reply({refused = 'ON_CALL_UNCOVERED', hotline = other})
    end
  end
  for other, _ in pairs(configured) do
    if other == h then put_in(other) else take_out(other) end
  end
elseif op == 'all' then
  redis.call('DEL', out_key)
  for hotline, _ in pairs(configured) do put_in(hotline) end
else
  return fail('BAD_OP', {op = op})
end

local now_in = {}
for hotline, _ in pairs(configured) do
  if redis.call('ZSCORE', K.members(hotline), a) ~= false then now_in[#now_in + 1] = hotline end
end
table.sort(now_in)
if changed then publish_presence(a, now, by) end
if joined and is_free(p, now) then publish_available(a, now) end
return reply({hotlines = now_in, changed = changed})
