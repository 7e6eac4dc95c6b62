// Microbenchmark of what the status page costs each upstream call: StatusHistory.attempt()
// (two map lookups, two bucket counts and two histogram increments), beside the
// Prometheus metrics' attempt() that every call already pays, and the two together as the
// gateway calls them (ObserverFanOut). Also counts the garbage collections during the runs:
// an observer that allocates nothing per call triggers none.
//
//   npm run bench:status-history            (node --expose-gc; prints a table, writes nothing)
import { PerformanceObserver } from 'node:perf_hooks';
import { GatewayMetrics } from '../src/observability/gateway-metrics.js';
import { ObserverFanOut } from '../src/observability/observer-fan-out.js';
import { StatusHistory } from '../src/observability/status-history.js';
import type { AttemptOutcome, ClusterObserver } from '../src/upstream/types.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 5_000_000);
const ROUNDS = 5;

// Six replicas over two upstreams, as strings the pools would pass (the same objects each call).
const TARGETS = ['users', 'orders'].flatMap((u) =>
  [1, 2, 3].map((i) => ({ upstream: u, replica: `http://10.0.0.${i}:8080` })),
);
const OUTCOMES: AttemptOutcome[] = [
  'success',
  'success',
  'success',
  'success',
  'success',
  'success',
  'status',
  'success',
];
const LATENCIES = Float64Array.from({ length: 4096 }, () => 2 + 40 * Math.random() ** 3);

let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

function run(observer: ClusterObserver): number {
  const started = process.hrtime.bigint();
  // The cluster passes the time it read when the attempt ended; here one reading per 64 calls stands in for it.
  let now = Date.now();
  for (let i = 0; i < CALLS; i++) {
    const t = TARGETS[i % TARGETS.length];
    if ((i & 63) === 0) now = Date.now();
    observer.attempt(t.upstream, t.replica, OUTCOMES[i & 7], LATENCIES[i & 4095], now);
  }
  return Number(process.hrtime.bigint() - started) / CALLS;
}

async function measure(name: string, observer: ClusterObserver): Promise<string> {
  run(observer); // warm-up: JIT and the series' creation
  const times: number[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((r) => setImmediate(r));
  const before = gcs;
  for (let round = 0; round < ROUNDS; round++) times.push(run(observer));
  await new Promise((r) => setImmediate(r)); // gc entries are delivered asynchronously
  times.sort((a, b) => a - b);
  const median = times[Math.floor(ROUNDS / 2)];
  return `| ${name} | ${median.toFixed(1)} | ${times[0].toFixed(1)}-${times.at(-1)!.toFixed(1)} | ${gcs - before} |`;
}

const rows = [
  await measure('StatusHistory.attempt (the status page)', new StatusHistory()),
  await measure('GatewayMetrics.attempt (Prometheus, always on)', new GatewayMetrics({ processMetrics: false })),
  await measure(
    'ObserverFanOut.attempt (both, as the gateway calls them)',
    new ObserverFanOut(new GatewayMetrics({ processMetrics: false }), new StatusHistory()),
  ),
];
// Memory: 1,000 replicas over 10 upstreams, each with one call, measured as heap plus the
// typed arrays' backing stores (which live outside the V8 heap).
async function bytesPerReplica(): Promise<string> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return 'run with --expose-gc to measure memory';
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  gc();
  const before = used();
  const history = new StatusHistory();
  for (let i = 0; i < 1000; i++)
    history.attempt(`upstream-${i % 10}`, `http://10.0.${i >> 8}.${i & 255}:8080`, 'success', 5);
  gc();
  const perSeries = (used() - before) / history.seriesCount;
  return `${history.seriesCount} series (1,000 replicas, 10 upstreams): ${Math.round(perSeries)} bytes each, measured`;
}

console.log(`node ${process.version}; ${CALLS.toLocaleString('en')} calls per round, ${ROUNDS} rounds, 6 replicas`);
console.log('| observer | ns per call (median) | rounds | GCs during the rounds |');
console.log('| --- | ---: | ---: | ---: |');
for (const row of rows) console.log(row);
if (!(globalThis as { gc?: unknown }).gc)
  console.log('(run with node --expose-gc for a clean heap before each measure)');
console.log(await bytesPerReplica());
