-- sync_agents(now, records_json): replace the static agent directory and hotline memberships in one step.
-- Guarantees: agents no longer configured lose their static data, memberships and presence (a call they were
-- ringing for goes back to its place); agents still configured keep their live presence; new agents start
-- logged_out; an agent logged in on a device that is no longer configured is logged out unless busy; the
-- hotlines' reachable / ready indexes (_lib.lua: index_agent) are rebuilt for every agent.
local now = ARGV[2]
local records = cjson.decode(ARGV[3])
local wanted = {}
for _, r in ipairs(records) do wanted[r.id] = true end

local removed = {}
for _, a in ipairs(redis.call('SMEMBERS', K.agents())) do
  if not wanted[a] then
    local p = hgetall(K.presence(a))
    if not blank(p.reserved_by) then drop_agent_from_call(p.reserved_by, a, now) end
    redis.call('DEL', K.agent(a), K.presence(a))
    redis.call('SREM', K.agents(), a)
    removed[#removed + 1] = a
  end
end

for _, h in ipairs(redis.call('SMEMBERS', K.hotlines())) do
  redis.call('DEL', K.members(h), K.reachable(h), K.ready(h))
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
  for _, m in ipairs(r.members) do
    redis.call('ZADD', K.members(m[1]), m[2], a)
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
table.sort(added)
table.sort(removed)
return reply({added = added, removed = removed})
