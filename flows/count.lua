-- Write one batch of pooled completions (at least k people) to a team's counters, on the data
-- Redis: once per batch id, so a retry after a crash counts nothing twice. A batch is a sum:
-- nothing in it tells one person from another, nor when each finished.
-- KEYS[1] the team's counters, KEYS[2] the team's written batch ids (one hash tag).
-- ARGV[1] batch id, ARGV[2] seconds the written ids are kept, ARGV[3..] field, increment
-- pairs. Returns 1 when written, 0 when it had been written before.
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[2], ARGV[2])
for i = 3, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
