// HTTP to one replica: one undici Pool per replica (keep-alive, capped connections,
// timeouts taken from the upstream, not undici's 300 s defaults). Knows nothing of
// balancing or GraphQL; failures become TransportFailure with whether the request reached
// the replica, which the cluster's retry rule needs.
import { type Dispatcher, Pool } from 'undici';
import { TransportFailure } from '../types.js';

export interface HttpRequest {
  method: string;
  /** Path and query, starting with "/". */
  path: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  contentType: string | undefined;
  text: string;
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

export class HttpTransport {
  #pools = new Map<string, Pool>();
  readonly #connectTimeoutMs: number;

  constructor(connectTimeoutMs: number) {
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  #pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: CONNECTIONS_PER_REPLICA,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connectTimeout: this.#connectTimeoutMs,
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  async send(origin: string, req: HttpRequest): Promise<HttpResponse> {
    // undici checks headersTimeout/bodyTimeout on a coarse timer (about 500 ms ticks: a
    // 200 ms timeout fired after 1 s), so the per-try deadline is a timer of its own.
    const deadline = AbortSignal.timeout(req.timeoutMs);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#pool(origin).request({
        method: req.method as 'GET',
        path: req.path,
        headers: req.headers,
        body: req.body,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        signal: deadline,
      });
    } catch (e) {
      throw classify(e, origin, deadline);
    }
    try {
      const text = await res.body.text();
      const contentType = res.headers['content-type'];
      return { status: res.statusCode, contentType: Array.isArray(contentType) ? contentType[0] : contentType, text };
    } catch (e) {
      throw classify(e, origin, deadline);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }
}

function classify(e: unknown, origin: string, deadline: AbortSignal): TransportFailure {
  const err = e as { code?: string; cause?: { code?: string }; message?: string };
  // The request may still have been connecting, but it may also have been sent: a write must not be repeated.
  if (deadline.aborted)
    return new TransportFailure('timeout', true, origin, `no answer within the per-try timeout ${origin}`, {
      cause: e,
    });
  const code = err.code === 'UND_ERR_CONNECT_TIMEOUT' ? err.code : (err.cause?.code ?? err.code ?? '');
  if (NOT_REACHED_CODES.has(code))
    return new TransportFailure('connect', false, origin, `${code} ${origin}`, { cause: e });
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new TransportFailure('timeout', true, origin, `${code} ${origin}`, { cause: e });
  }
  return new TransportFailure('reset', true, origin, `${code || err.message} ${origin}`, { cause: e });
}
