-- One transition of one person's survey, atomically, in one round trip, on the sessions Redis
-- (the one without persistence: in-progress answers never reach a disk).
-- KEYS[1] the person's hash: v = version, d = the session while one is in progress, and one
--         field e:<id> per platform event already applied (a keyed hash of the platform's
--         event id, so a re-delivery is dropped and no platform timestamp is stored).
-- KEYS[2] (optional; on a Redis Cluster it is asked alongside instead) a key the caller wants
--         to know exists, in the same round trip: the platform's queue of cards still waiting
--         for this person.
-- ARGV[1] event id ('' for none), ARGV[2] expected version, ARGV[3] op:
--   w  write ARGV[4] as the session;
--   d  delete the session (cancel): the answers and the ids of its earlier events go;
--   f  the same for a completion whose counters are pooled, and mark it finished (f = 1), so
--      that a late or double click on it is ignored rather than answered over the result;
--   n  nothing to change (the event is still recorded as seen);
--   a  record an answer to the question on screen, whatever the version (the caller need not
--      have read the session: one round trip whichever process takes the click): ARGV[4] the
--      question's position, ARGV[6] the answer's character, ARGV[7] the number of questions,
--      ARGV[8] the questionnaire version. Applied only where the engine's rule is `record`
--      (flows.actions): the survey is asking or paused at that position, it is not the last
--      question, and it was started under this version (tests/test_store.py holds the two to
--      the same result); anywhere else it is a conflict, and the caller decides with the session.
-- ARGV[5] TTL of the hash in seconds.
-- Returns {'ok', version, KEYS[2] exists (1/0, 0 when not given), the session before (op a)}
--       | {'seen', version} | {'conflict', version, data or false, finished}.
local function answered(d, i, total, version, ch)
  -- the session `<state><lang><index>|<answers>|<round>|<version>` with answer `ch` at `i`
  if not d then return nil end
  local head, answers, tail = string.match(d, '^([^|]*)|([^|]*)|(.*)$')
  if not head then return nil end
  local state, index = string.sub(head, 1, 1), tonumber(string.sub(head, 4))
  if (state ~= 'a' and state ~= 'p') or index ~= i or i >= total - 1 or #answers ~= total
      or string.match(tail, '|(.*)$') ~= version or not string.match(ch, '^[0-4s]$') then
    return nil
  end
  local after = string.sub(answers, 1, i) .. ch .. string.sub(answers, i + 2)
  return 'a' .. string.sub(head, 2, 3) .. string.format('%02d', i + 1) .. '|' .. after .. '|' .. tail
end

local eid = ARGV[1]
if eid ~= '' and redis.call('HEXISTS', KEYS[1], 'e:' .. eid) == 1 then
  return {'seen', 0}
end
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
local op, data, before = ARGV[3], ARGV[4], false
if op == 'a' then
  before = redis.call('HGET', KEYS[1], 'd')
  data = answered(before, tonumber(ARGV[4]), tonumber(ARGV[7]), ARGV[8], ARGV[6])
  if not data then
    return {'conflict', v, before, redis.call('HGET', KEYS[1], 'f') or ''}
  end
  op = 'w'
elseif v ~= tonumber(ARGV[2]) then
  return {'conflict', v, redis.call('HGET', KEYS[1], 'd'), redis.call('HGET', KEYS[1], 'f') or ''}
end
if op ~= 'n' then
  v = v + 1
  redis.call('HSET', KEYS[1], 'v', v)
  if op == 'w' then
    redis.call('HSET', KEYS[1], 'd', data)
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
return {'ok', v, KEYS[2] and redis.call('EXISTS', KEYS[2]) or 0, before}
