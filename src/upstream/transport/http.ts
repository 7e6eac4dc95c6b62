// HTTP to one replica: one undici Pool per replica origin (keep-alive, capped connections,
// timeouts taken from the upstream, not undici's 300 s defaults). A replica url may carry a
// base path (`https://api.example.com/v1`): undici pools take an origin only, so the path is
// kept apart and prefixes every request's path. Knows nothing of balancing or GraphQL;
// failures become TransportFailure with whether the request reached the replica, which the
// cluster's retry rule needs. An upstream with `tls:` gets pools of its own (its CA, client
// certificate, server name), kept while those stay the same (transport/tls.ts).
import { EventEmitter } from 'node:events';
import { type Dispatcher, Pool } from 'undici';
import { cancelledCall, TransportFailure, type UpstreamTls } from '../types.js';
import { isTlsRefusal, tlsIdentity, undiciConnectOptions } from './tls.js';

export interface HttpRequest {
  method: string;
  /** Path and query, starting with "/" (or "" for the replica url itself), below the replica's base path. */
  path: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** The caller's: when it fires, the request is aborted (the connection reset if it was sent). */
  signal?: AbortSignal;
  /** The upstream's TLS settings (`@upstream(tls:)`); undefined: Node's defaults for https:// replicas. */
  tls?: UpstreamTls;
}

export interface HttpResponse {
  status: number;
  contentType: string | undefined;
  text: string;
  /** The answer's headers, lower-cased names (a repeated header is an array). */
  headers: Record<string, string | string[] | undefined>;
}

export interface ReplicaAddress {
  /** scheme://host:port, what an undici Pool connects to. */
  origin: string;
  /** The url's path without a trailing "/", "" when it has none. */
  basePath: string;
}

/** A replica url split into the origin an undici Pool takes and the base path that prefixes requests. */
export function replicaAddress(url: string): ReplicaAddress {
  const parsed = new URL(url);
  return { origin: parsed.origin, basePath: parsed.pathname.replace(/\/+$/, '') };
}

const CONNECTIONS_PER_REPLICA = 64;

// Errors raised before any byte of the request could have been processed by the replica.
const NOT_REACHED_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** An undici answer as the connectors read it: status, content type, headers and the whole body. */
export async function readHttpResponse(res: Dispatcher.ResponseData): Promise<HttpResponse> {
  const text = await res.body.text();
  const contentType = res.headers['content-type'];
  return {
    status: res.statusCode,
    contentType: Array.isArray(contentType) ? contentType[0] : contentType,
    text,
    headers: res.headers,
  };
}

export class HttpTransport {
  /** Pools by origin, for upstreams without tls:. */
  #pools = new Map<string, Pool>();
  /** Pools of upstreams with tls:, by tlsIdentity() and then origin. */
  #tlsPools = new Map<string, Map<string, Pool>>();
  #addresses = new Map<string, ReplicaAddress>();
  readonly #connectTimeoutMs: number;

  constructor(connectTimeoutMs: number) {
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  #poolsFor(tls: UpstreamTls): Map<string, Pool> {
    const identity = tlsIdentity(tls);
    let pools = this.#tlsPools.get(identity);
    if (!pools) this.#tlsPools.set(identity, (pools = new Map()));
    return pools;
  }

  #pool(origin: string, tls: UpstreamTls | undefined): Pool {
    const pools = tls ? this.#poolsFor(tls) : this.#pools;
    let pool = pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: CONNECTIONS_PER_REPLICA,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connectTimeout: this.#connectTimeoutMs,
        ...(tls && { connect: undiciConnectOptions(tls) }),
      });
      pools.set(origin, pool);
    }
    return pool;
  }

  #address(replicaUrl: string): ReplicaAddress {
    let address = this.#addresses.get(replicaUrl);
    if (!address) this.#addresses.set(replicaUrl, (address = replicaAddress(replicaUrl)));
    return address;
  }

  /** `replicaUrl` as declared (it may carry a base path); failures name it. */
  async send(replicaUrl: string, req: HttpRequest): Promise<HttpResponse> {
    const { origin, basePath } = this.#address(replicaUrl);
    const path = basePath + req.path || '/';
    // undici checks headersTimeout/bodyTimeout on a coarse timer (about 500 ms ticks: a
    // 200 ms timeout fired after 1 s), so the per-try deadline is a timer of its own.
    const abort = new AttemptAbort(req.timeoutMs, req.signal);
    try {
      const res = await this.#pool(origin, req.tls).request({
        method: req.method as 'GET',
        path,
        headers: req.headers,
        body: req.body,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        signal: abort,
      });
      return await readHttpResponse(res);
    } catch (e) {
      throw classify(e, replicaUrl, abort, req.signal);
    } finally {
      abort.dispose();
    }
  }

  /**
   * Closes the pools no replica in `used` sends on any more (a replica removed by a reload,
   * or an upstream whose TLS files changed); requests still running on them finish first.
   */
  async closeUnused(used: Iterable<{ url: string; tls?: UpstreamTls }>): Promise<void> {
    const keep = new Set<string>();
    for (const { url, tls } of used) keep.add(`${tlsIdentity(tls)} ${this.#address(url).origin}`);
    const closing: Promise<void>[] = [];
    const groups: [string, Map<string, Pool>][] = [['', this.#pools], ...this.#tlsPools];
    for (const [identity, pools] of groups) {
      for (const [origin, pool] of pools) {
        if (keep.has(`${identity} ${origin}`)) continue;
        pools.delete(origin);
        closing.push(pool.close());
      }
      if (identity && pools.size === 0) this.#tlsPools.delete(identity);
    }
    this.#addresses.clear();
    await Promise.all(closing);
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values(), ...[...this.#tlsPools.values()].flatMap((p) => [...p.values()])];
    this.#pools.clear();
    this.#tlsPools.clear();
    await Promise.all(pools.map((p) => p.close()));
  }
}

/**
 * What ends one attempt early: its per-try deadline or the caller's signal, whichever fires
 * first. undici takes an EventEmitter with `aborted` and `reason` as its signal. A profile of
 * the batched query showed AbortSignal.timeout() plus AbortSignal.any() per attempt among the
 * top frames (bench/RESULTS.md); this costs a timer and one listener, both released as soon as
 * the attempt ends (AbortSignal.timeout's timer and signal lived for the whole timeout).
 */
class AttemptAbort extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;
  /** The per-try deadline fired (rather than the caller's signal). */
  timedOut = false;
  readonly #timer: NodeJS.Timeout;
  readonly #caller?: AbortSignal;
  readonly #onCaller = () => this.#abort(this.#caller?.reason);

  constructor(timeoutMs: number, caller?: AbortSignal) {
    super();
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.#abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError'));
    }, timeoutMs);
    this.#caller = caller;
    if (caller?.aborted) this.#abort(caller.reason);
    else caller?.addEventListener('abort', this.#onCaller, { once: true });
  }

  #abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#caller?.removeEventListener('abort', this.#onCaller);
  }
}

function classify(e: unknown, replica: string, deadline: AttemptAbort, caller?: AbortSignal): TransportFailure {
  const err = e as { code?: string; cause?: { code?: string; message?: string }; message?: string };
  if (caller?.aborted) return cancelledCall(replica, caller);
  // The request may still have been connecting, but it may also have been sent: a write must not be repeated.
  if (deadline.timedOut)
    return new TransportFailure('timeout', true, replica, `no answer within the per-try timeout ${replica}`, {
      cause: e,
    });
  const code = err.code === 'UND_ERR_CONNECT_TIMEOUT' ? err.code : (err.cause?.code ?? err.code ?? '');
  if (NOT_REACHED_CODES.has(code))
    return new TransportFailure('connect', false, replica, `${code} ${replica}`, { cause: e });
  if (isTlsRefusal(code))
    return new TransportFailure(
      'connect',
      false,
      replica,
      `TLS handshake failed: ${code} ${(err.cause?.code ? err.cause : err).message} ${replica}`,
      {
        cause: e,
      },
    );
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new TransportFailure('timeout', true, replica, `${code} ${replica}`, { cause: e });
  }
  return new TransportFailure('reset', true, replica, `${code || err.message} ${replica}`, { cause: e });
}
