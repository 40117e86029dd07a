-- Count one completed survey, on the data Redis: add its counters to its team's cell if its
-- round is still open and its done token is new. A survey that outlasted its round, or a
-- second completion in one round, never counts. Runs before the session is deleted, so a crash
-- between the two never loses a count, and a retry meets the done token and counts nothing.
-- KEYS[1] the team's counters, KEYS[2] the round's done tokens, KEYS[3] the team's round hash
-- (one hash tag). ARGV[1] done token, ARGV[2] round id, ARGV[3] seconds the done tokens may
-- live at most (the round's end plus a margin; they are deleted when it closes),
-- ARGV[4..] field, increment pairs. Returns 1 when counted, else 0.
local open = redis.call('HMGET', KEYS[3], 'status', 'id')
if open[1] ~= 'open' or open[2] ~= ARGV[2] then return 0 end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[2], ARGV[3])
for i = 4, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
