// One query measured against one target of the main section (bench/run.ts): its answer
// checked and its upstream calls counted first, then warm-up and a measured load with the
// target's peak RSS and CPU time per request; and the median of a target's rounds.
import { DEMO_BACKENDS, DEMO_HOST } from '../demo/backends/topology.js';
import {
  checkQueryAndCountUpstreamCalls,
  processCpuMs,
  runLoad,
  samplePeakRss,
  waitForQuietBackends,
} from './measure.js';
import type { BenchQuery, Measurement, Target } from './report.js';

const log = (message: string): void => console.log(`[bench] ${message}`);

export async function measureQuery(
  query: BenchQuery,
  target: { name: Target; port: number; pid: number },
  { seconds, warmupSeconds, connections }: { seconds: number; warmupSeconds: number; connections: number },
): Promise<Measurement> {
  const url = `http://${DEMO_HOST}:${target.port}/graphql`;
  const label = `${query.name} / ${target.name}`;
  // REST backends count their calls at /__calls on their own port, gRPC ones on
  // their admin port (topology.ts): every upstream call is counted, whatever the protocol.
  const backendUrls = DEMO_BACKENDS.map((backend) => backend.adminUrl);
  await waitForQuietBackends(backendUrls);
  let checked: { data: unknown; upstreamCalls: number };
  try {
    checked = await checkQueryAndCountUpstreamCalls(url, query.query, backendUrls);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`[bench] ${label}: response check failed, skipping its load run: ${message}`);
    return {
      query: query.name,
      target: target.name,
      requestsPerSecond: 0,
      p50Ms: 0,
      p99Ms: 0,
      failures: 0,
      upstreamCalls: 0,
      peakRssMb: undefined,
      response: undefined,
      error: message,
    };
  }

  log(`${label}: ${checked.upstreamCalls} upstream call(s)/query; warming up ${warmupSeconds} s`);
  if (warmupSeconds > 0) await runLoad(url, query.query, connections, warmupSeconds);
  log(`${label}: measuring ${seconds} s with ${connections} connections`);
  const rss = samplePeakRss(target.pid);
  const cpuBefore = processCpuMs(target.pid);
  const load = await runLoad(url, query.query, connections, seconds);
  const peakRssMb = rss.stop();
  // Requests still in flight when the load stops are answered before the CPU is read.
  await waitForQuietBackends(backendUrls);
  const cpuAfter = processCpuMs(target.pid);
  const cpuMsPerRequest =
    cpuBefore !== undefined && cpuAfter !== undefined && load.requests > 0
      ? (cpuAfter - cpuBefore) / load.requests
      : undefined;
  log(
    `${label}: ${load.requestsPerSecond.toFixed(0)} req/s, p50 ${load.p50Ms} ms, p99 ${load.p99Ms} ms, ` +
      `peak RSS ${peakRssMb?.toFixed(1) ?? 'n/a'} MB${load.failures > 0 ? `, ${load.failures} FAILED requests` : ''}`,
  );
  return {
    query: query.name,
    target: target.name,
    ...load,
    upstreamCalls: checked.upstreamCalls,
    peakRssMb,
    cpuMsPerRequest,
    response: checked.data,
  };
}

/** The round with the median throughput, with the highest peak RSS of all rounds. */
export function medianRound(rounds: Measurement[]): Measurement {
  const failed = rounds.find((m) => m.error !== undefined);
  if (failed) return failed;
  const sorted = [...rounds].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const peaks = rounds.map((m) => m.peakRssMb).filter((v): v is number => v !== undefined);
  return { ...sorted[Math.floor(sorted.length / 2)], peakRssMb: peaks.length ? Math.max(...peaks) : undefined };
}
