// The caches' Prometheus counters, on the gateway's own registry (gateway-metrics.ts keeps one
// per gateway): lookups that hit or missed, answers stored, entries dropped by a mutation, and
// store failures. `cache` is "response" (the response cache, `upstream` empty) or "http" (an
// upstream's RFC 9111 cache, `upstream` its name). It implements the HTTP cache's observer, so
// src/upstream never sees prom-client.
import { Counter, type Registry } from 'prom-client';
import type { HttpCacheObserver, HttpCacheOutcome } from '../upstream/http-cache.js';

export type CacheName = 'response' | 'http';

export class CacheMetrics implements HttpCacheObserver {
  readonly #hits: Counter<'cache' | 'upstream'>;
  readonly #misses: Counter<'cache' | 'upstream'>;
  readonly #revalidations: Counter<'cache' | 'upstream'>;
  readonly #stores: Counter<'cache' | 'upstream'>;
  readonly #invalidations: Counter<'cache'>;
  readonly #storeErrors: Counter<'cache' | 'operation'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['cache', 'upstream'] as const;
    this.#hits = new Counter({
      name: 'quilt_cache_hits_total',
      help: 'Answers served from a cache (cache: response, or http for an upstream with httpCache).',
      labelNames,
      registers,
    });
    this.#misses = new Counter({
      name: 'quilt_cache_misses_total',
      help: 'Cache lookups that found nothing usable (the operation ran, or the upstream was called).',
      labelNames,
      registers,
    });
    this.#revalidations = new Counter({
      name: 'quilt_cache_revalidations_total',
      help: 'Upstream answers of 304 Not Modified that let a kept answer be used again.',
      labelNames,
      registers,
    });
    this.#stores = new Counter({
      name: 'quilt_cache_stores_total',
      help: 'Answers written to a cache.',
      labelNames,
      registers,
    });
    this.#invalidations = new Counter({
      name: 'quilt_cache_invalidations_total',
      help: 'Mutations whose result named entities, dropping the cached responses holding them.',
      labelNames: ['cache'],
      registers,
    });
    this.#storeErrors = new Counter({
      name: 'quilt_cache_store_errors_total',
      help: 'Cache store (Redis) operations that failed or timed out; a failed lookup is a miss.',
      labelNames: ['cache', 'operation'],
      registers,
    });
  }

  hit(cache: CacheName, upstream = ''): void {
    this.#hits.inc({ cache, upstream });
  }

  miss(cache: CacheName, upstream = ''): void {
    this.#misses.inc({ cache, upstream });
  }

  stored(cache: CacheName, upstream = ''): void {
    this.#stores.inc({ cache, upstream });
  }

  invalidated(cache: CacheName): void {
    this.#invalidations.inc({ cache });
  }

  storeError(cache: CacheName, operation: string): void {
    this.#storeErrors.inc({ cache, operation });
  }

  httpCache(upstream: string, outcome: HttpCacheOutcome): void {
    if (outcome === 'hit') this.hit('http', upstream);
    else if (outcome === 'miss') this.miss('http', upstream);
    else if (outcome === 'revalidated') this.#revalidations.inc({ cache: 'http', upstream });
    else this.stored('http', upstream);
  }
}
