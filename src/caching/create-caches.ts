// The two caches of one gateway, built from its options: the response cache plugin (used by
// schemas with @cacheControl) and the store of the upstream HTTP caches (used by upstreams with
// httpCache). Both live in memory, bounded, unless --redis-url is given: then both live in Redis
// through one connection, shared by every gateway on it. Either way nothing runs per request
// until a schema asks for it (use-response-cache.ts, src/upstream/http-cache.ts).
import type { DocumentNode, GraphQLSchema } from 'graphql';
import { Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type CacheStore, memoryHttpCacheStore } from '../upstream/http-cache.js';
import { CacheMetrics } from './cache-metrics.js';
import { CacheRedis } from './redis-connection.js';
import { RedisHttpCacheStore } from './redis-http-store.js';
import { RedisResponseStore } from './redis-response-store.js';
import { DEFAULT_MEMORY_LIMITS, type MemoryLimits, MemoryResponseStore, type ResponseStore } from './response-store.js';
import { useResponseCache } from './use-response-cache.js';

export interface CachingOptions {
  /** Bounds of each in-memory cache (response, upstream HTTP); not used with Redis. */
  memory: MemoryLimits;
  /** With it, both caches live in Redis. */
  redisUrl?: string;
  /** Longest a cache operation waits for Redis before it counts as a miss. */
  redisTimeoutMs: number;
}

export const DEFAULT_CACHING: CachingOptions = { memory: DEFAULT_MEMORY_LIMITS, redisTimeoutMs: 250 };

export interface Caches {
  /** The response cache: last in the plugin list, after the security plugins. */
  plugin: Plugin;
  /** For the upstream registry: where upstreams with httpCache keep answers, and who counts. */
  httpCache: { store: CacheStore; observer: CacheMetrics };
  close(): Promise<void>;
}

export function createCaches(
  options: CachingOptions,
  deps: {
    log: Logger;
    registry: Registry;
    /** The schema files of the schema being served: their single-field @key names identify entities. */
    sourcesOf: (schema: GraphQLSchema) => readonly DocumentNode[];
  },
): Caches {
  const metrics = new CacheMetrics(deps.registry);
  // In Redis too, no response or upstream answer bigger than an eighth of the memory bound is kept.
  const maxEntryBytes = Math.max(1, Math.floor(options.memory.maxBytes / 8));
  let responses: ResponseStore;
  let httpStore: CacheStore;
  let redis: CacheRedis | undefined;
  if (options.redisUrl) {
    redis = new CacheRedis(options.redisUrl, {
      deadlineMs: options.redisTimeoutMs,
      log: deps.log.child({ component: 'cache-store' }),
      metrics,
    });
    responses = new RedisResponseStore(redis, maxEntryBytes);
    httpStore = new RedisHttpCacheStore(redis, maxEntryBytes);
  } else {
    responses = new MemoryResponseStore(options.memory);
    httpStore = memoryHttpCacheStore({
      maxCount: options.memory.maxEntries,
      maxSize: options.memory.maxBytes,
      maxEntrySize: maxEntryBytes,
    });
  }
  const keyFields = new WeakMap<GraphQLSchema, readonly string[]>();
  const plugin = useResponseCache({
    store: responses,
    metrics,
    entityIdFields: (schema) => {
      let fields = keyFields.get(schema);
      if (!fields) keyFields.set(schema, (fields = singleKeyFields(deps.sourcesOf(schema))));
      return fields;
    },
  });
  return {
    plugin,
    httpCache: { store: httpStore, observer: metrics },
    close: async () => {
      await responses.close();
      await redis?.close();
    },
  };
}

/** `sku` of every `@key(selectionSet: "{ sku }")`: a field that identifies its entity. */
function singleKeyFields(documents: readonly DocumentNode[]): string[] {
  const fields = new Set<string>();
  for (const document of documents)
    for (const def of document.definitions) {
      if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
      for (const d of def.directives ?? []) {
        if (d.name.value !== 'key') continue;
        const arg = d.arguments?.find((a) => a.name.value === 'selectionSet');
        const match = arg?.value.kind === Kind.STRING ? /^\{\s*(\w+)\s*\}$/.exec(arg.value.value) : null;
        if (match) fields.add(match[1]!);
      }
    }
  return [...fields];
}
