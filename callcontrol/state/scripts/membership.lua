-- membership(op, agent, now, hotline, oncall_json, by): which of her configured hotlines an agent takes calls for.
-- An agent is a member (cc:hotline:{h}:members) of every hotline agents.yaml gives her, except those she left
-- with *46<code> (kept in cc:agent:{a}:out, which sync_agents.lua honours, so a restart does not put her back).
-- ops: join(h)  back in one hotline;  leave(h)  out of one hotline;  only(h)  in h alone (out of the others);
--      all      back in every configured hotline (the out set emptied).
-- On-call hotlines (oncall_json from hotlines.yaml, and the cc:oncall set the duty side keeps) are not hers to
-- join or leave here: their membership is the duty (handover, rota: duty.lua). `all` and `only` leave them as
-- they are; join / leave / only of one is refused (ON_CALL_DUTY).
-- Refusals are replies {refused = NOT_MEMBER | ON_CALL_DUTY, hotline} (state/membership.py types them).
-- Returns {hotlines = [the hotlines she is in now], changed = bool}; publishes agent_available when she joined
-- a hotline while free (its waiting citizens may go to her at once), presence_changed (by) and an audit entry
-- (cc:audit) on any change.
local op, a, now, h, by = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[7]
local p = presence(a)
if not p then return fail('AGENT_NOT_FOUND', {agent = a}) end
local out_key = P .. 'agent:' .. a .. ':out'
local configured = cjson.decode(redis.call('HGET', K.agent(a), 'hotlines') or '{}')
local on_call = {}
for _, id in ipairs(cjson.decode(ARGV[6] or '[]')) do on_call[id] = true end
for _, id in ipairs(redis.call('SMEMBERS', P .. 'oncall')) do on_call[id] = true end

if op ~= 'all' then
  if configured[h] == nil then return reply({refused = 'NOT_MEMBER', hotline = h}) end
  if on_call[h] then return reply({refused = 'ON_CALL_DUTY', hotline = h}) end
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
  take_out(h)
elseif op == 'only' or op == 'all' then
  if op == 'all' then redis.call('DEL', out_key) end
  for hotline, _ in pairs(configured) do
    if not on_call[hotline] then
      if op == 'all' or hotline == h then put_in(hotline) else take_out(hotline) end
    end
  end
else
  return fail('BAD_OP', {op = op})
end

index_agent(a)  -- the hotline indexes follow the membership (_lib.lua)

local now_in = {}
for hotline, _ in pairs(configured) do
  if redis.call('ZSCORE', K.members(hotline), a) then now_in[#now_in + 1] = hotline end
end
table.sort(now_in)
if changed then
  publish_presence(a, now, by)
  -- the presence audit (cc:audit, capped; the duty side's format): who, what, by which route, when
  local what = (op == 'join' and 'joined ' .. h) or (op == 'leave' and 'left ' .. h)
    or (op == 'only' and 'only in ' .. h) or 'in all her hotlines'
  redis.call('XADD', P .. 'audit', 'MAXLEN', '~', 10000, '*', 'agent', a, 'what', what, 'at', now,
    'by', blank(by) and 'system' or by, 'forced', '0', 'actor', '', 'detail', table.concat(now_in, ','))
end
if joined and is_free(p, now) then publish_available(a, now) end
return reply({hotlines = now_in, changed = changed})
