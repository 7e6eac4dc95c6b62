// RFC 9111 caching of one HTTP upstream's answers (@upstream(httpCache: true)) by undici's
// cache interceptor (interceptors.cache, a shared cache: an answer to a request carrying
// Authorization is kept only when the upstream says public, s-maxage or must-revalidate).
// Cache-Control, Expires, Vary, ETag and Last-Modified are undici's to read; revalidation
// sends If-None-Match / If-Modified-Since and a 304 reuses the kept body.
//
// It sits in front of the upstream's cluster, not on each replica's undici Pool:
// - an entry is keyed by the upstream's name and the path below the replicas' base path, so
//   a hit does not depend on which replica the balancer would pick, and every gateway on one
//   Redis shares the entries;
// - a hit picks no replica: it is no upstream call (quilt_upstream_calls_total does not count
//   it), takes no maxInFlight slot, moves neither LEAST_RESPONSE_TIME's latency nor the
//   outlier detector, and is served while every replica is down;
// - a miss or a revalidation is one cluster call, with its retries, deadlines and health rules.
// The interceptor speaks undici's dispatch protocol; ExchangeDispatcher plays one cluster call
// (a promise of the whole answer) back as that protocol's callbacks.
import { cacheStores, Dispatcher, interceptors } from 'undici';
import { type HttpResponse, readHttpResponse } from './transport/http.js';

/** undici's CacheStore (types/cache-interceptor.d.ts): get, createWriteStream, delete. */
export type CacheStore = NonNullable<NonNullable<Parameters<typeof interceptors.cache>[0]>['store']>;

/** One call of the upstream with these request headers (the revalidation headers included). */
export type Exchange = (headers: Record<string, string>) => Promise<HttpResponse>;

/**
 * hit: answered from the cache; revalidated: the upstream said 304 and the kept body was used;
 * miss: the upstream's answer was used; stored: an answer was written to the store.
 */
export type HttpCacheOutcome = 'hit' | 'miss' | 'revalidated' | 'stored';

export interface HttpCacheObserver {
  httpCache(upstream: string, outcome: HttpCacheOutcome): void;
}

export interface HttpCacheRequest {
  method: string;
  /** Path and query below the replicas' base path. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const EXCHANGE = Symbol('quilt.http-cache.exchange');

// The in-memory store when none is given (`quilt check`, tests): undici's, bounded.
export const DEFAULT_HTTP_CACHE_LIMITS = { maxCount: 10_000, maxSize: 64 * 1024 * 1024, maxEntrySize: 5 * 1024 * 1024 };

export function memoryHttpCacheStore(limits = DEFAULT_HTTP_CACHE_LIMITS): CacheStore {
  return new cacheStores.MemoryCacheStore(limits);
}

export class HttpCache {
  readonly #dispatcher: Dispatcher;
  /** Not a replica's origin: the upstream's name, the same on every gateway. */
  readonly #origin: string;

  constructor(
    readonly upstream: string,
    store: CacheStore,
    private readonly observer?: HttpCacheObserver,
  ) {
    this.#origin = `quilt://${upstream}`;
    const counted: CacheStore = {
      get: (key) => store.get(key),
      createWriteStream: (key, value) => {
        const stream = store.createWriteStream(key, value);
        stream?.once('finish', () => observer?.httpCache(upstream, 'stored'));
        return stream;
      },
      delete: (key) => store.delete(key),
    };
    this.#dispatcher = new ExchangeDispatcher().compose(interceptors.cache({ store: counted, type: 'shared' }));
  }

  /** The answer to `req`, from the cache or from `exchange` (one cluster call). */
  async send(req: HttpCacheRequest, exchange: Exchange): Promise<HttpResponse> {
    let calls = 0;
    let upstreamStatus = 0;
    const counting: Exchange = async (headers) => {
      calls++;
      const answer = await exchange(headers);
      upstreamStatus = answer.status;
      return answer;
    };
    const res = await this.#dispatcher.request({
      origin: this.#origin,
      method: req.method as Dispatcher.HttpMethod,
      path: req.path || '/',
      headers: req.headers,
      body: req.body,
      [EXCHANGE]: counting,
    } as Dispatcher.RequestOptions);
    const answer = await readHttpResponse(res);
    if (req.method === 'GET')
      this.observer?.httpCache(
        this.upstream,
        calls === 0 ? 'hit' : upstreamStatus === 304 && res.statusCode !== 304 ? 'revalidated' : 'miss',
      );
    return answer;
  }
}

/** The bottom of the interceptor chain: runs the request's exchange and replays its answer. */
class ExchangeDispatcher extends Dispatcher {
  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const exchange = (opts as unknown as Record<symbol, Exchange>)[EXCHANGE];
    const controller = new ReplayController(handler);
    try {
      handler.onRequestStart?.(controller, {});
    } catch (e) {
      controller.abort(e);
    }
    if (controller.aborted) return true;
    exchange(requestHeaders(opts.headers))
      .then((answer) => {
        if (controller.aborted) return;
        handler.onResponseStart?.(controller, answer.status, answer.headers as Record<string, string>, '');
        if (controller.aborted) return;
        if (answer.text) handler.onResponseData?.(controller, Buffer.from(answer.text));
        if (controller.aborted) return;
        controller.ended = true;
        handler.onResponseEnd?.(controller, {});
      })
      .catch((e: unknown) => controller.abort(e));
    return true;
  }

  override close(): Promise<void> {
    return Promise.resolve();
  }

  override destroy(): Promise<void> {
    return Promise.resolve();
  }
}

/** The whole answer is in hand, so pausing is a no-op; aborting reports the reason once. */
class ReplayController implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  ended = false;

  constructor(private readonly handler: Dispatcher.DispatchHandler) {}

  abort(reason: unknown): void {
    if (this.aborted || this.ended) return;
    this.aborted = true;
    this.reason = reason instanceof Error ? reason : new Error(String(reason));
    this.handler.onResponseError?.(this, this.reason);
  }

  pause(): void {}

  resume(): void {}
}

function requestHeaders(headers: Dispatcher.DispatchOptions['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers || typeof headers !== 'object' || Array.isArray(headers)) return out;
  for (const [name, value] of Object.entries(headers as Record<string, unknown>))
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  return out;
}
