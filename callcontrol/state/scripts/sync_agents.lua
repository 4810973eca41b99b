-- sync_agents(now, records_json, oncall_json): replace the static agent directory and hotline memberships in one step.
-- Guarantees: agents no longer configured lose their static data, memberships and presence (a call they were
-- ringing for goes back to its place); agents still configured keep their live presence; new agents start
-- logged_out; an agent logged in on a device that is no longer configured is logged out unless busy; a hotline an
-- agent left on her own (cc:agent:{a}:out, membership.lua) stays left.
-- On-call hotlines (oncall_json, issue 9) keep their live membership (who holds the duty: handovers, rota) among
-- the agents still configured for them; one left with none gets every configured member (today's linear list).
-- The hotlines' reachable / ready / ready_by_id indexes (_lib.lua: index_agent) are rebuilt for every agent.
local now = ARGV[2]
local records = cjson.decode(ARGV[3])
local oncall = cjson.decode(ARGV[4] or '[]')
local live = {}
for _, h in ipairs(oncall) do live[h] = redis.call('ZRANGE', K.members(h), 0, -1) end
local wanted = {}
for _, r in ipairs(records) do wanted[r.id] = true end

local removed = {}
for _, a in ipairs(redis.call('SMEMBERS', K.agents())) do
  if not wanted[a] then
    local p = hgetall(K.presence(a))
    if not blank(p.reserved_by) then drop_agent_from_call(p.reserved_by, a, now) end
    redis.call('DEL', K.agent(a), K.presence(a), P .. 'agent:' .. a .. ':out')
    redis.call('SREM', K.agents(), a)
    removed[#removed + 1] = a
  end
end

for _, h in ipairs(redis.call('SMEMBERS', K.hotlines())) do
  redis.call('DEL', K.members(h), K.reachable(h), K.ready(h), K.ready_by_id(h))
end
redis.call('DEL', K.logged_in())
redis.call('DEL', K.hotlines())

local added = {}
for _, r in ipairs(records) do
  local a = r.id
  if redis.call('EXISTS', K.agent(a)) == 0 then added[#added + 1] = a end
  redis.call('DEL', K.agent(a))
  redis.call('HSET', K.agent(a), 'id', a, 'name', r.name, 'softphone', r.softphone, 'mobile', r.mobile,
    'pin_hash', r.pin_hash, 'hotlines', r.hotlines_json)
  redis.call('SADD', K.agents(), a)
  local left = P .. 'agent:' .. a .. ':out'  -- hotlines she left (*46<code>, membership.lua): kept out
  for _, m in ipairs(r.members) do
    if redis.call('SISMEMBER', left, m[1]) == 0 then redis.call('ZADD', K.members(m[1]), m[2], a) end
    redis.call('SADD', K.hotlines(), m[1])
  end
  local p = hgetall(K.presence(a))
  if blank(p.state) then
    redis.call('HSET', K.presence(a), 'state', 'logged_out', 'missed', 0, 'changed_at', now)
  elseif not blank(p.device) and r[p.device] == '' and p.state ~= 'ringing' and p.state ~= 'on_call' then
    redis.call('HSET', K.presence(a), 'state', 'logged_out', 'device', '', 'pause_reason', '',
      'wrap_up_until', '', 'changed_at', now)
    publish_presence(a, now, 'system')
  end
  index_agent(a)  -- the hotline indexes rebuilt from the presence (also what heals them after an upgrade)
end
redis.call('DEL', K.oncall())
for _, h in ipairs(oncall) do
  redis.call('SADD', K.oncall(), h)
  local configured = {}
  for _, m in ipairs(redis.call('ZRANGE', K.members(h), 0, -1, 'WITHSCORES')) do configured[#configured + 1] = m end
  local score = {}
  for i = 1, #configured, 2 do score[configured[i]] = configured[i + 1] end
  local kept = {}
  for _, a in ipairs(live[h]) do
    if score[a] then kept[#kept + 1] = a end
  end
  if #kept > 0 then
    redis.call('DEL', K.members(h))
    for _, a in ipairs(kept) do redis.call('ZADD', K.members(h), score[a], a) end
  end
  local duty = hgetall(K.duty(h))
  for a, _ in pairs(duty) do
    if not redis.call('ZSCORE', K.members(h), a) then redis.call('HDEL', K.duty(h), a) end
  end
  for _, a in ipairs(redis.call('ZRANGE', K.members(h), 0, -1)) do
    if not duty[a] then redis.call('HSET', K.duty(h), a, cjson.encode({since = tonumber(now), relieved = ''})) end
  end
end
if #oncall > 0 then  -- the on-call memberships were trimmed to the duty holders above: the indexes follow
  for _, r in ipairs(records) do index_agent(r.id) end
end
table.sort(added)
table.sort(removed)
return reply({added = added, removed = removed})
