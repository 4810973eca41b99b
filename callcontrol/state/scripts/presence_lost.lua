-- presence_lost(now, agents_json) -> {marked}: Redis lost its data (restarted empty, flushed) while these agents
-- were logged in. Each one still logged out (nobody logged it in again meanwhile) shows the reason
-- 'presence_lost' until it logs in again (login clears the reason). Publishes presence_changed for each.
local now, agents = ARGV[2], cjson.decode(ARGV[3])
local marked = {}
for _, a in ipairs(agents) do
  local p = presence(a)
  if p and p.state == 'logged_out' and blank(p.pause_reason) then
    redis.call('HSET', K.presence(a), 'state', 'logged_out', 'pause_reason', 'presence_lost', 'changed_at', now)
    index_agent(a)
    publish_presence(a, now, 'system')
    marked[#marked + 1] = a
  end
end
return reply({marked = marked})
