-- Pool one completed survey, on the sessions Redis (memory only): take its done token and add
-- its counters to its team's pool for the round; once the pool holds k people with a result,
-- move it whole to a batch (to be written to the data Redis as one sum). A second completion in
-- one round, or one after the round was closed here, changes nothing.
-- KEYS[1] the round's done tokens, KEYS[2] the round's pool, KEYS[3] the team's batches waiting
-- to be written, KEYS[4] the round's closed mark, KEYS[5] the name a new batch would take (one
-- hash tag). ARGV[1] done token, ARGV[2] seconds the round's keys may live at most, ARGV[3] k,
-- ARGV[4] the batch's id, ARGV[5] the week of this completion, ARGV[6] the round's id,
-- ARGV[7..] counter, increment pairs (none for a survey without a result). Returns {counted,
-- batch id or ''}. Also used to merge a closed round's remainder into its parent's pool (then
-- KEYS[1] holds merged batch ids, and KEYS[4] is never set).
if redis.call('EXISTS', KEYS[4]) == 1 then return {0, ''} end
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return {0, ''} end
redis.call('EXPIRE', KEYS[1], ARGV[2])
if #ARGV < 7 then return {1, ''} end
for i = 7, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[2], '@w', ARGV[5], '@r', ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[2])
if tonumber(redis.call('HGET', KEYS[2], 'n') or '0') < tonumber(ARGV[3]) then return {1, ''} end
redis.call('RENAME', KEYS[2], KEYS[5])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return {1, ARGV[4]}
