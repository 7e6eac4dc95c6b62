// Measuring one GraphQL target: load (autocannon), peak memory (VmRSS
// sampling), correctness (one checked response) and upstream fan-out (the
// demo backends' /__calls counters: REST backends on their own port, gRPC ones on
// their HTTP admin port, see demo/backends/topology.ts).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// autocannon ships no type declarations; type the small part we use here
// instead of adding an ambient module declaration to the project.
interface Histogram {
  average: number;
  p50: number;
  p90: number;
  p99: number;
}
interface AutocannonResult {
  requests: Histogram & { total: number }; // requests completed per second; total: over the run
  latency: Histogram; // milliseconds
  non2xx: number;
  errors: number;
  timeouts: number;
}
interface AutocannonOptions {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number; // seconds
}
type Autocannon = (options: AutocannonOptions) => PromiseLike<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  failures: number; // non-2xx responses + connection errors + timeouts
  requests: number; // responses received
}

export async function runLoad(
  url: string,
  query: string,
  connections: number,
  seconds: number,
  headers: Record<string, string> = {}, // sent with every request (e.g. Authorization)
): Promise<LoadResult> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
    connections,
    duration: seconds,
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    meanMs: result.latency.average,
    failures: result.non2xx + result.errors + result.timeouts,
    requests: result.requests.total,
  };
}

let clockTicks: number | undefined;
/** CPU time (user + system, every thread) a process has used so far, in ms; undefined without procfs. */
export function processCpuMs(pid: number): number | undefined {
  try {
    if (clockTicks === undefined) {
      try {
        clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
      } catch {
        clockTicks = 100;
      }
    }
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state is field 3, utime 14 and stime 15 (proc(5)).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
  } catch {
    return undefined;
  }
}

/** Current resident set size of a process in kB (Linux), or undefined when unavailable. */
function readRssKb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined; // no procfs, or the process is gone
  }
}

/**
 * Samples VmRSS every `intervalMs` until stopped; returns the maximum in MB
 * (undefined without procfs). VmRSS rather than VmHWM: we want the peak of
 * this run only, not of the process's whole life.
 */
export function samplePeakRss(pid: number, intervalMs = 100): { stop(): number | undefined } {
  let peakKb = readRssKb(pid);
  const sample = (): void => {
    const kb = readRssKb(pid);
    if (kb !== undefined && (peakKb === undefined || kb > peakKb)) peakKb = kb;
  };
  const timer = setInterval(sample, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peakKb === undefined ? undefined : peakKb / 1024;
    },
  };
}

/**
 * POST the query once; throws unless the answer is 200 with non-null data and
 * no errors. Returns `data` only: extensions may legitimately differ.
 */
export async function fetchCheckedData(url: string, query: string): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let payload: { data?: unknown; errors?: unknown[] };
  try {
    payload = JSON.parse(text) as typeof payload;
  } catch {
    throw new Error(`${url} answered ${response.status} with non-JSON body: ${text.slice(0, 200)}`);
  }
  if (response.status !== 200 || payload.data == null || (payload.errors?.length ?? 0) > 0) {
    throw new Error(`${url} answered ${response.status} with an unusable result: ${text.slice(0, 500)}`);
  }
  return payload.data;
}

export async function backendCalls(backendUrl: string, method: 'GET' | 'DELETE'): Promise<number> {
  const response = await fetch(`${backendUrl}/__calls`, { method, signal: AbortSignal.timeout(5000) });
  if (response.status !== 200) throw new Error(`${method} ${backendUrl}/__calls answered ${response.status}`);
  return ((await response.json()) as { calls: number }).calls;
}

async function totalCalls(backendUrls: readonly string[]): Promise<number> {
  const counts = await Promise.all(backendUrls.map((url) => backendCalls(url, 'GET')));
  return counts.reduce((sum, count) => sum + count, 0);
}

/**
 * Wait until no backend request has arrived for `quietMs`. autocannon returns
 * when its time is up, but the target may still be working through requests
 * it already accepted; their upstream calls must not be counted against the
 * next query, and their CPU must not be billed to the next measurement.
 */
export async function waitForQuietBackends(
  backendUrls: readonly string[],
  quietMs = 500,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let previous = await totalCalls(backendUrls);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const current = await totalCalls(backendUrls);
    if (current === previous) return;
    if (Date.now() >= deadline) {
      throw new Error(`backends still receiving requests ${timeoutMs / 1000} s after the last load run`);
    }
    previous = current;
  }
}

/**
 * Run the query once, checked, and count how many backend requests it cost
 * (all replicas summed, via their /__calls counters). Call once the backends
 * are quiet (waitForQuietBackends).
 */
export async function checkQueryAndCountUpstreamCalls(
  graphqlUrl: string,
  query: string,
  backendUrls: readonly string[],
): Promise<{ data: unknown; upstreamCalls: number }> {
  await Promise.all(backendUrls.map((url) => backendCalls(url, 'DELETE')));
  const data = await fetchCheckedData(graphqlUrl, query);
  return { data, upstreamCalls: await totalCalls(backendUrls) };
}
