-- One transition of one person's survey, atomically, in one round trip.
-- KEYS[1] the person's hash: v = version, d = the session while one is in progress, and one
--         field e:<id> per platform event already applied (so a re-delivery is dropped);
-- KEYS[2] the team's counters, KEYS[3] the round's done tokens, KEYS[4] the team's round
-- hash (only used when op = c); all keys share one hash tag.
-- ARGV[1] event id ('' for none), ARGV[2] expected version, ARGV[3] op:
--   w  write ARGV[4] as the session;
--   d  delete the session;
--   c  delete it and add the counters ARGV[7..] (field, increment pairs) if round ARGV[6] is
--      still open and the done token ARGV[4] is new in KEYS[3]: a survey that outlasted its
--      round, or a second completion in one round, never counts;
--   n  nothing to change (the event is still recorded as seen).
-- ARGV[5] TTL of the hash in seconds.
-- Returns {'ok', version} | {'seen', version} | {'conflict', version, data or false}.
local eid = ARGV[1]
if eid ~= '' and redis.call('HEXISTS', KEYS[1], 'e:' .. eid) == 1 then
  return {'seen', 0}
end
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[2]) then
  return {'conflict', v, redis.call('HGET', KEYS[1], 'd')}
end
local op = ARGV[3]
if op ~= 'n' then
  v = v + 1
  redis.call('HSET', KEYS[1], 'v', v)
  if op == 'w' then
    redis.call('HSET', KEYS[1], 'd', ARGV[4])
  else
    -- the survey is over: drop the answers and the event ids of its questions (a late
    -- re-delivery of one of them meets no survey and changes nothing)
    local fields = redis.call('HKEYS', KEYS[1])
    for _, f in ipairs(fields) do
      if f == 'd' or string.sub(f, 1, 2) == 'e:' then redis.call('HDEL', KEYS[1], f) end
    end
    local open = op == 'c' and redis.call('HMGET', KEYS[4], 'status', 'id')
    if open and open[1] == 'open' and open[2] == ARGV[6]
        and (ARGV[4] == '' or redis.call('SADD', KEYS[3], ARGV[4]) == 1) then
      for i = 7, #ARGV, 2 do
        redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
      end
    end
  end
end
if eid ~= '' then
  redis.call('HSET', KEYS[1], 'e:' .. eid, 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {'ok', v}
