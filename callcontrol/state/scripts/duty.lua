-- duty(op, now, by, actor, ...): who holds the on-call duty (the live membership of an on-call hotline).
-- ops: handover(from, to, to_name_of_from): `from` out of every on-call hotline they hold that `to` may serve,
--        `to` in, in this one step (no instant with nobody, no call offered to `from` after it). `to` must be
--        reachable: logged in on a device that answers, or else logged in here on the mobile (not marked
--        unreachable) or on a registered softphone; a paused colleague is unpaused. The relief record (since,
--        from, hotlines) is kept for the colleague's next offered call to announce.
--      shift(hotline, shift_key, holders_json): the rota's shift change, applied once per shift (SET NX on
--        shift_key: every instance may try, one does it): the holders become the membership; a holder who cannot
--        be reached is skipped; when none can, the previous holders stay (never nobody) and `kept` is returned.
-- Refusals: AGENT_NOT_FOUND, HANDOVER_TO_SELF, NOTHING_TO_HAND_OVER, NOT_IN_HOTLINE, COLLEAGUE_UNREACHABLE.
-- Every change publishes duty_changed (and presence_changed / agent_available for a colleague logged in or
-- unpaused) and is appended to the audit stream.
local op, now, by, actor = ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local function penalty(a, h)
  local raw = redis.call('HGET', K.agent(a), 'hotlines')
  if not raw then return nil end
  return cjson.decode(raw)[h]
end

-- Make `a` reachable for duty (login on the mobile or a registered softphone, or unpause); false when impossible.
-- Already reachable and free: agent_available again, so that the calls waiting on her new hotlines reach her now.
local function make_reachable(a)
  local p = presence(a)
  if duty_reachable(p) then
    if is_free(p, now) then publish_available(a, now) end
    return true
  end
  local key = K.presence(a)
  local busy = p.state == 'ringing' or p.state == 'on_call'
  if busy then return false end
  local device = nil
  if not blank(p.device) and device_reachable(p) then
    device = p.device
  elseif not blank(redis.call('HGET', K.agent(a), 'mobile')) and p.mobile_reachable ~= '0' then
    device = 'mobile'
  elseif not blank(redis.call('HGET', K.agent(a), 'softphone')) and p.softphone_reachable == '1' then
    device = 'softphone'
  end
  if not device then return false end
  redis.call('HSET', key, 'state', 'available', 'device', device, 'missed', 0, 'pause_reason', '',
    'wrap_up_until', '', 'idle_since', now, 'changed_at', now)
  publish_presence(a, now, by)
  audit(a, 'available@' .. device, now, by, false, actor, 'taking the on-call duty')
  publish_available(a, now)
  return true
end

local function publish_duty(h, holders, relieved)
  redis.call('PUBLISH', K.events(), cjson.encode({type = 'duty_changed', hotline = h, agents = holders,
    relieved = relieved or '', at = tonumber(now), by = blank(by) and 'system' or by}))
end

local function holders_of(h)
  local list = redis.call('ZRANGE', K.members(h), 0, -1)
  if #list == 0 then return {} end
  return list
end

if op == 'handover' then
  local from, to = ARGV[6], ARGV[7]
  if redis.call('EXISTS', K.agent(from)) == 0 then return fail('AGENT_NOT_FOUND', {agent = from}) end
  if redis.call('EXISTS', K.agent(to)) == 0 then return fail('AGENT_NOT_FOUND', {agent = to}) end
  if from == to then return fail('HANDOVER_TO_SELF', {agent = from}) end
  local held = held_duties(from)
  if #held == 0 then return fail('NOTHING_TO_HAND_OVER', {agent = from}) end
  local moving = {}
  for _, h in ipairs(held) do
    if penalty(to, h) ~= nil then moving[#moving + 1] = h end
  end
  if #moving == 0 then return fail('NOT_IN_HOTLINE', {agent = to, hotlines = held}) end
  if not make_reachable(to) then return fail('COLLEAGUE_UNREACHABLE', {agent = to}) end
  local record = cjson.encode({since = tonumber(now), relieved = from})
  for _, h in ipairs(moving) do
    redis.call('ZADD', K.members(h), penalty(to, h), to)
    redis.call('HSET', K.duty(h), to, record)
    redis.call('ZREM', K.members(h), from)
    redis.call('HDEL', K.duty(h), from)
    publish_duty(h, holders_of(h), from)
  end
  index_agent(from)  -- the hotline indexes follow the duty (_lib.lua)
  index_agent(to)
  redis.call('SET', K.relief(to), cjson.encode({since = tonumber(now), relieved = from, hotlines = moving}))
  audit(from, 'handed over ' .. table.concat(moving, ','), now, by, false, actor, 'to ' .. to)
  audit(to, 'on duty ' .. table.concat(moving, ','), now, by, false, actor, 'relief of ' .. from)
  return reply({hotlines = moving, at = tonumber(now)})
elseif op == 'shift' then
  local h, shift_key, wanted = ARGV[6], ARGV[7], cjson.decode(ARGV[8])
  if not redis.call('SET', shift_key, now, 'NX', 'EX', 8 * 86400) then return reply({applied = false}) end
  local previous = holders_of(h)
  local taking = {}
  local skipped = {}
  for _, a in ipairs(wanted) do
    if redis.call('EXISTS', K.agent(a)) == 1 and penalty(a, h) ~= nil and make_reachable(a) then
      taking[#taking + 1] = a
    else
      skipped[#skipped + 1] = a
    end
  end
  if #taking == 0 then
    return reply({applied = true, kept = previous, skipped = skipped})
  end
  local keep = {}
  for _, a in ipairs(taking) do keep[a] = true end
  local relieved = {}
  for _, a in ipairs(previous) do
    if not keep[a] then relieved[#relieved + 1] = a end
  end
  local relieved_by = table.concat(relieved, ',')
  for _, a in ipairs(taking) do
    if not redis.call('ZSCORE', K.members(h), a) then
      redis.call('ZADD', K.members(h), penalty(a, h), a)
      redis.call('HSET', K.duty(h), a, cjson.encode({since = tonumber(now), relieved = relieved_by}))
      audit(a, 'on duty ' .. h, now, by, false, actor, 'rota shift')
    end
  end
  for _, a in ipairs(relieved) do
    redis.call('ZREM', K.members(h), a)
    redis.call('HDEL', K.duty(h), a)
    audit(a, 'off duty ' .. h, now, by, false, actor, 'rota shift')
  end
  for _, a in ipairs(taking) do index_agent(a) end  -- the hotline indexes follow the duty (_lib.lua)
  for _, a in ipairs(relieved) do index_agent(a) end
  publish_duty(h, holders_of(h), relieved_by)
  return reply({applied = true, holders = holders_of(h), skipped = skipped})
end
return fail('BAD_OP', {op = op})
