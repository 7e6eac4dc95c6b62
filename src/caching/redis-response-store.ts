// The response cache in Redis (--redis-url), shared by every gateway on it: an entry is a
// string key holding the answer's data and when it was stored, expiring with its maxAge; each
// entity it holds ({ typename, id }, and the typename alone) is a set of the entries holding
// it, kept at least as long as they are, so a mutation on any gateway drops them everywhere.
// Both writes are one Lua script each (an entry and its index never disagree). Through
// CacheRedis: a lookup that fails or is late is a miss; a failed write or drop is dropped.
import type { Redis } from 'ioredis';
import { CACHE_KEY_PREFIX, type CacheRedis } from './redis-connection.js';
import { type CacheEntity, entityKey, type ResponseStore, type StoredResponse } from './response-store.js';

const ENTRY_PREFIX = `${CACHE_KEY_PREFIX}response:`;
const ENTITY_PREFIX = `${CACHE_KEY_PREFIX}response-entity:`;

// KEYS[1]: the entry, KEYS[2..]: its entities' sets; ARGV: json, ttl ms, entry id.
const SET_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[3])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1`;

// KEYS: entity sets; ARGV[1]: the entry key prefix. Returns the entries dropped.
const INVALIDATE_SCRIPT = `
local dropped = 0
for i = 1, #KEYS do
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    dropped = dropped + redis.call('DEL', ARGV[1] .. id)
  end
  redis.call('DEL', KEYS[i])
end
return dropped`;

interface ResponseCommands {
  quiltCacheSet(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
  quiltCacheInvalidate(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
}

export class RedisResponseStore implements ResponseStore {
  readonly #redis: CacheRedis;
  readonly #maxEntryBytes: number;

  /** `maxEntryBytes`: a bigger answer is not kept (as in memory, an eighth of --cache-max-bytes). */
  constructor(redis: CacheRedis, maxEntryBytes: number) {
    this.#redis = redis;
    this.#maxEntryBytes = maxEntryBytes;
    redis.onClient((client) => {
      client.defineCommand('quiltCacheSet', { lua: SET_SCRIPT });
      client.defineCommand('quiltCacheInvalidate', { lua: INVALIDATE_SCRIPT });
    });
  }

  async get(id: string): Promise<StoredResponse | undefined> {
    const text = await this.#redis.run('response', 'get', (r) => r.get(ENTRY_PREFIX + id));
    if (!text) return undefined;
    try {
      return JSON.parse(text) as StoredResponse;
    } catch {
      return undefined;
    }
  }

  async set(id: string, entry: StoredResponse, entities: Iterable<CacheEntity>, ttlMs: number): Promise<boolean> {
    const json = JSON.stringify(entry);
    if (ttlMs <= 0 || json.length > this.#maxEntryBytes) return false;
    const keys = new Set<string>();
    for (const e of entities) {
      keys.add(ENTITY_PREFIX + entityKey(e.typename));
      if (e.id !== undefined) keys.add(ENTITY_PREFIX + entityKey(e.typename, e.id));
    }
    const reply = await this.#redis.run('response', 'set', (client) =>
      (client as Redis & ResponseCommands).quiltCacheSet(
        keys.size + 1,
        ENTRY_PREFIX + id,
        ...keys,
        json,
        Math.ceil(ttlMs),
        id,
      ),
    );
    return reply !== undefined;
  }

  async invalidate(entities: Iterable<CacheEntity>): Promise<void> {
    const keys = new Set<string>();
    for (const e of entities) keys.add(ENTITY_PREFIX + entityKey(e.typename, e.id));
    if (keys.size === 0) return;
    await this.#redis.run('response', 'invalidate', (client) =>
      (client as Redis & ResponseCommands).quiltCacheInvalidate(keys.size, ...keys, ENTRY_PREFIX),
    );
  }

  async close(): Promise<void> {
    // The connection is CacheRedis's, closed by whoever made it.
  }
}
