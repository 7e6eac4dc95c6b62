// The upstream HTTP cache in Redis (--redis-url): undici's CacheStore interface
// (node_modules/undici/types/cache-interceptor.d.ts) over one hash per upstream and path,
// holding one field per method and Vary values, each the kept answer (its headers, validators,
// freshness times and body), the hash expiring with its last-kept answer. A lookup picks what
// undici's own MemoryCacheStore would: the method matches, the request's headers match the
// answer's Vary values, and it is not past deleteAt (the newest such). Through CacheRedis: a
// lookup that fails or is late is a miss; a failed write or delete is dropped.
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import type { CacheStore } from '../upstream/http-cache.js';
import { CACHE_KEY_PREFIX, type CacheRedis } from './redis-connection.js';

type CacheKey = Parameters<CacheStore['get']>[0];
type CacheValue = Parameters<CacheStore['createWriteStream']>[1];
type GetResult = NonNullable<Awaited<ReturnType<CacheStore['get']>>>;

interface Kept extends CacheValue {
  method: string;
  /** Base64. */
  body: string;
}

const HTTP_PREFIX = `${CACHE_KEY_PREFIX}http:`;

// KEYS[1]: the hash; ARGV: field, value, ms to keep it.
const SET_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`;

interface HttpCommands {
  quiltHttpCacheSet(key: string, field: string, value: string, ttlMs: number): Promise<number>;
}

export class RedisHttpCacheStore implements CacheStore {
  readonly #redis: CacheRedis;

  constructor(
    redis: CacheRedis,
    private readonly maxEntryBytes: number,
  ) {
    this.#redis = redis;
    redis.onClient((client) => client.defineCommand('quiltHttpCacheSet', { numberOfKeys: 1, lua: SET_SCRIPT }));
  }

  async get(key: CacheKey): Promise<GetResult | undefined> {
    const fields = await this.#redis.run('http', 'get', (r) => r.hgetall(hashKey(key)));
    if (!fields) return undefined;
    const now = Date.now();
    let best: Kept | undefined;
    for (const text of Object.values(fields)) {
      let kept: Kept;
      try {
        kept = JSON.parse(text) as Kept;
      } catch {
        continue;
      }
      if (kept.method !== key.method || kept.deleteAt <= now || !varyMatches(key, kept.vary)) continue;
      if (!best || kept.cachedAt > best.cachedAt) best = kept;
    }
    if (!best) return undefined;
    const { method: _method, body, ...value } = best;
    return { ...value, cacheControlDirectives: value.cacheControlDirectives ?? {}, body: Buffer.from(body, 'base64') };
  }

  createWriteStream(key: CacheKey, value: CacheValue): Writable {
    const chunks: Buffer[] = [];
    let size = 0;
    const store = this;
    return new Writable({
      write(chunk: Buffer | string, encoding, callback) {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
        size += buffer.byteLength;
        // Too big to keep: the answer still reaches its caller, it is just not stored.
        if (size > store.maxEntryBytes) this.destroy();
        else chunks.push(buffer);
        callback();
      },
      final(callback) {
        const kept: Kept = { ...value, method: key.method, body: Buffer.concat(chunks).toString('base64') };
        const ttlMs = Math.max(1, Math.ceil(value.deleteAt - Date.now()));
        void store.#redis.run('http', 'set', (client) =>
          (client as Redis & HttpCommands).quiltHttpCacheSet(
            hashKey(key),
            fieldOf(key.method, value.vary),
            JSON.stringify(kept),
            ttlMs,
          ),
        );
        // The caller does not wait for Redis.
        callback();
      },
    });
  }

  delete(key: CacheKey): Promise<void> {
    return this.#redis.run('http', 'delete', (r) => r.del(hashKey(key))).then(() => undefined);
  }
}

function hashKey(key: CacheKey): string {
  return `${HTTP_PREFIX}${key.origin}:${key.path}`;
}

function fieldOf(method: string, vary: CacheValue['vary']): string {
  return vary ? `${method} ${JSON.stringify(Object.entries(vary).sort(([a], [b]) => a.localeCompare(b)))}` : method;
}

function varyMatches(key: CacheKey, vary: CacheValue['vary']): boolean {
  if (!vary) return true;
  for (const [name, expected] of Object.entries(vary)) {
    const actual = key.headers?.[name];
    if (expected === null || expected === undefined) {
      if (actual !== undefined && actual !== null) return false;
    } else if (String(actual ?? '') !== String(expected) || actual === undefined) return false;
  }
  return true;
}
