-- One transition of one person's survey, atomically, in one round trip, on the sessions Redis
-- (the one without persistence: in-progress answers never reach a disk).
-- KEYS[1] the person's hash: v = version, d = the session while one is in progress, and one
--         field e:<id> per platform event already applied (a keyed hash of the platform's
--         event id, so a re-delivery is dropped and no platform timestamp is stored).
-- KEYS[2] (optional, never on a Redis Cluster) a key the caller wants to know exists, in the same
--         round trip: the platform's queue of cards still waiting for this person.
-- ARGV[1] event id ('' for none), ARGV[2] expected version, ARGV[3] op:
--   w  write ARGV[4] as the session;
--   d  delete the session (cancel): the answers and the ids of its earlier events go;
--   f  the same for a completion whose counters are pooled, and mark it finished (f = 1), so
--      that a late or double click on it is ignored rather than answered over the result;
--   n  nothing to change (the event is still recorded as seen).
-- ARGV[5] TTL of the hash in seconds.
-- Returns {'ok', version, KEYS[2] exists (1/0) when given} | {'seen', version} | {'conflict', version, data or false, finished}.
local eid = ARGV[1]
if eid ~= '' and redis.call('HEXISTS', KEYS[1], 'e:' .. eid) == 1 then
  return {'seen', 0}
end
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[2]) then
  return {'conflict', v, redis.call('HGET', KEYS[1], 'd'), redis.call('HGET', KEYS[1], 'f') or ''}
end
local op = ARGV[3]
if op ~= 'n' then
  v = v + 1
  redis.call('HSET', KEYS[1], 'v', v)
  if op == 'w' then
    redis.call('HSET', KEYS[1], 'd', ARGV[4])
    redis.call('HDEL', KEYS[1], 'f')
  else
    if op == 'f' then redis.call('HSET', KEYS[1], 'f', 1) else redis.call('HDEL', KEYS[1], 'f') end
    local fields = redis.call('HKEYS', KEYS[1])
    for _, f in ipairs(fields) do
      if f == 'd' or string.sub(f, 1, 2) == 'e:' then redis.call('HDEL', KEYS[1], f) end
    end
  end
end
if eid ~= '' then
  redis.call('HSET', KEYS[1], 'e:' .. eid, 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
if KEYS[2] then return {'ok', v, redis.call('EXISTS', KEYS[2])} end
return {'ok', v}
