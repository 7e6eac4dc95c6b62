// The Lua scripts of the Redis limit store. Each operation is ONE script, so Redis runs the
// read, the decision and the write as one step: two gateway instances taking from one bucket
// at once are serialized by Redis itself (graphql-rate-limit's own RedisStore does a GET and
// then a SET, which lets both instances see the same free slots). Time comes from Redis
// (TIME), never from the instances, whose clocks may disagree.

/** Redis time in (fractional) milliseconds; effects replication makes TIME safe before writes. */
const NOW = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
`;

/** Loads KEYS[1]'s bucket (absent = full) and refills it for the time since it was written. */
const REFILL = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'p', 't')
local points = tonumber(state[1])
local at = tonumber(state[2])
if points == nil or at == nil then points = capacity; at = now end
if now > at then points = points + (now - at) * rate / 1000 end
if points > capacity then points = capacity end
`;

/** Stores the bucket with a TTL of its time to refill (a full bucket is deleted: absent = full). */
const SAVE = `
if points >= capacity then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'p', tostring(points), 't', tostring(now))
  local ttl = 86400000
  if rate > 0 then ttl = math.ceil((capacity - points) / rate * 1000) + 1000 end
  redis.call('PEXPIRE', KEYS[1], ttl)
end
`;

/** KEYS[1] bucket; ARGV capacity, refillPerSec, cost. Returns {ok 0|1, remaining (string), retryAfterSec}. */
export const TAKE_SCRIPT = `${NOW}${REFILL}
local cost = tonumber(ARGV[3])
if points < cost then
  local retry = 86400
  if rate > 0 then retry = math.max(1, math.ceil((cost - points) / rate)) end
  return {0, tostring(points), retry}
end
points = points - cost
${SAVE}
return {1, tostring(points), 0}
`;

/** KEYS[1] bucket; ARGV capacity, refillPerSec, points. Returns {1, remaining (string), 0}. */
export const REFUND_SCRIPT = `${NOW}${REFILL}
points = math.min(capacity, points + math.max(0, tonumber(ARGV[3])))
${SAVE}
return {1, tostring(points), 0}
`;

/**
 * KEYS[1] the window's sorted set (score = ms, member = a sequence number, so each call is
 * its own member), KEYS[2] that sequence; ARGV windowMs, count, max entries kept.
 * Returns {now, score...}: Redis's clock and the timestamps that were in the window before.
 */
export const HIT_SCRIPT = `${NOW}
now = math.floor(now)
local windowMs = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local keep = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - windowMs)
local prior = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local last = redis.call('INCRBY', KEYS[2], count)
local batch = {}
for i = 1, count do
  batch[#batch + 1] = now
  batch[#batch + 1] = tostring(last - count + i)
  if #batch >= 1000 or i == count then
    redis.call('ZADD', KEYS[1], unpack(batch))
    batch = {}
  end
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(keep + 1))
redis.call('PEXPIRE', KEYS[1], windowMs)
redis.call('PEXPIRE', KEYS[2], windowMs)
local out = {now}
for i = 2, #prior, 2 do out[#out + 1] = tonumber(prior[i]) end
return out
`;
