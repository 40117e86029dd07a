-- One transition of one person's survey, atomically.
-- KEYS[1] session hash (fields v = version, d = data), KEYS[2] seen-event set,
-- KEYS[3] team counters, KEYS[4] the round's done tokens (both only used when op = c; all four
-- keys share one hash tag).
-- ARGV[1] event id ('' for none), ARGV[2] expected version, ARGV[3] op:
--   w write ARGV[4] as the session, d delete the session data, c delete it and add the
--   counters ARGV[7..] (name, increment pairs) unless the done token ARGV[4] was already in
--   KEYS[4] (a second completion in the same round never counts), n nothing to change.
-- ARGV[5] session TTL in seconds, ARGV[6] seen-set TTL in seconds.
-- Returns {status, version}: status 'ok', 'seen' (event already applied) or 'conflict'.
local eid = ARGV[1]
if eid ~= '' and redis.call('SISMEMBER', KEYS[2], eid) == 1 then
  return {'seen', 0}
end
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[2]) then
  return {'conflict', v}
end
local op = ARGV[3]
if op ~= 'n' then
  v = v + 1
  redis.call('HSET', KEYS[1], 'v', v)
  if op == 'w' then
    redis.call('HSET', KEYS[1], 'd', ARGV[4])
  else
    redis.call('HDEL', KEYS[1], 'd')
    if op == 'c' and (ARGV[4] == '' or redis.call('SADD', KEYS[4], ARGV[4]) == 1) then
      for i = 7, #ARGV, 2 do
        redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1])
      end
    end
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
end
if eid ~= '' then
  redis.call('SADD', KEYS[2], eid)
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
return {'ok', v}
