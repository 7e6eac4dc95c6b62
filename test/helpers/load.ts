// Bounded load against the gateway for the fault-injection tests: `total` GraphQL POSTs at
// most `concurrency` at a time over one undici Pool (keep-alive), each timed; a response is
// failed when its status is not 200 or its body carries any error. Bounded on purpose:
// these run inside `npm test` on a 2-core machine.
import { Pool } from 'undici';

export const MAX_TOTAL = 2000;
export const MAX_CONCURRENCY = 16;

export interface GraphQLBody {
  data?: Record<string, any> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
}

export interface LoadOptions {
  /** The gateway's GraphQL endpoint, e.g. `${gateway.url}/graphql`. */
  url: string;
  query: string;
  /** The same variables for every query, or per query (i = 0 .. total - 1). */
  variables?: Record<string, unknown> | ((i: number) => Record<string, unknown>);
  total: number;
  concurrency: number;
  headers?: Record<string, string>;
  /** Called after each response with how many are done: a test may inject a fault here. */
  onProgress?: (done: number) => void;
  /** Sees every response (status, parsed body, latency); e.g. to tally who answered. */
  inspect?: (response: { i: number; status: number; body: GraphQLBody | undefined; latencyMs: number }) => void;
}

export interface FailureSample {
  i: number;
  status: number;
  latencyMs: number;
  errors?: GraphQLBody['errors'];
  error?: string;
}

export interface LoadResult {
  total: number;
  ok: number;
  failed: number;
  /**
   * Codes of the failures: each error's extensions.code (or "NO_CODE") in a failed body,
   * "HTTP_<status>" for a non-200 answer without errors, "CLIENT_<error code>" when no
   * answer came at all.
   */
  byCode: Record<string, number>;
  /** The first few failures as they were (for assertion messages). */
  failures: FailureSample[];
  /** Every query's latency, ascending. */
  latenciesMs: number[];
  p50: number;
  p99: number;
  max: number;
  durationMs: number;
}

/** The value at quantile q (0..1) of an ascending list (nearest rank). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const { total, concurrency } = opts;
  if (!(Number.isInteger(total) && total >= 1 && total <= MAX_TOTAL))
    throw new Error(`runLoad: total must be 1..${MAX_TOTAL}; got ${total}`);
  if (!(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= MAX_CONCURRENCY)) {
    throw new Error(`runLoad: concurrency must be 1..${MAX_CONCURRENCY}; got ${concurrency}`);
  }
  const target = new URL(opts.url);
  const pool = new Pool(target.origin, { connections: concurrency, pipelining: 1 });
  const path = target.pathname + target.search;
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...opts.headers };

  const latencies: number[] = [];
  const byCode: Record<string, number> = {};
  const failures: FailureSample[] = [];
  let ok = 0;
  let failed = 0;
  let next = 0;
  let done = 0;
  const count = (code: string): void => {
    byCode[code] = (byCode[code] ?? 0) + 1;
  };

  const one = async (i: number): Promise<void> => {
    const variables = typeof opts.variables === 'function' ? opts.variables(i) : opts.variables;
    const body = JSON.stringify(variables === undefined ? { query: opts.query } : { query: opts.query, variables });
    const started = performance.now();
    let status = 0;
    let parsed: GraphQLBody | undefined;
    let clientError: string | undefined;
    try {
      const res = await pool.request({ path, method: 'POST', headers, body });
      status = res.statusCode;
      const text = await res.body.text();
      try {
        parsed = JSON.parse(text) as GraphQLBody;
      } catch {
        parsed = undefined;
      }
    } catch (error) {
      clientError = String((error as NodeJS.ErrnoException).code ?? (error as Error).name ?? 'ERROR');
    }
    const latencyMs = performance.now() - started;
    latencies.push(latencyMs);
    const errors = parsed?.errors ?? [];
    if (clientError !== undefined) {
      failed++;
      count(`CLIENT_${clientError}`);
    } else if (status !== 200 || errors.length > 0) {
      failed++;
      if (errors.length === 0) count(`HTTP_${status}`);
      for (const e of errors) count(String(e.extensions?.code ?? 'NO_CODE'));
    } else {
      ok++;
    }
    if ((clientError !== undefined || status !== 200 || errors.length > 0) && failures.length < 5) {
      failures.push({ i, status, latencyMs: Math.round(latencyMs), errors: parsed?.errors, error: clientError });
    }
    opts.inspect?.({ i, status, body: parsed, latencyMs });
    done++;
    opts.onProgress?.(done);
  };

  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) await one(next++);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  } finally {
    await pool.close();
  }
  const durationMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    total,
    ok,
    failed,
    byCode,
    failures,
    latenciesMs: latencies,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies[latencies.length - 1] ?? NaN,
    durationMs,
  };
}

/** One line for assertion messages and the test log. */
export function describeLoad(r: LoadResult): string {
  return (
    `${r.total} queries in ${Math.round(r.durationMs)} ms: ok ${r.ok}, failed ${r.failed} ${JSON.stringify(r.byCode)}, ` +
    `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms` +
    (r.failures.length ? `; first failures: ${JSON.stringify(r.failures)}` : '')
  );
}
