// The pool section's results (bench/pool.ts) as markdown, and how that section and the
// gateway-vs-baseline report (bench/report.ts) share bench/RESULTS.md: the pool section
// starts at POOL_HEADING and runs to the end of what mergeResults is given, so
// `BENCH_ONLY=pool` rewrites only it and `BENCH_ONLY=main` only what comes before it.
// The security section comes last and is split off first (security-report.ts).
import type { LoadResult } from './measure.js';

// The bars.
/** ROUND_ROBIN's p50 over LEAST_RESPONSE_TIME's, with one of two replicas slow. */
export const SLOW_MIN_P50_RATIO = 2;
/** Balanced pool of two equal replicas over one replica alone, in req/s: under 5% overhead. */
export const OVERHEAD_MIN_RATIO = 0.95;

export const POOL_HEADING = '## Upstream pool';

export interface PoolMeasurement extends LoadResult {
  label: string; // the configuration: an algorithm, or "one replica", ...
  upstreamCalls: number;
  /** Calls each replica received during the measured run (its /__calls counter). */
  replicaCalls: Array<{ replica: string; slow: boolean; calls: number }>;
  error?: string; // the configuration failed its response check (no load was run)
}

export interface PoolPhaseResult {
  rows: PoolMeasurement[]; // per configuration, its median round
  /** The configuration the others are compared with (ROUND_ROBIN; one replica). */
  reference: string;
  /** Per configuration compared with the reference: the median over rounds of its ratio. */
  ratios: Record<string, number | undefined>;
}

export interface PoolResults {
  date: string;
  durationSeconds: number;
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  connections: number;
  slowDelayMs: number;
  pinning: string;
  query: string;
  slow: PoolPhaseResult;
  overhead: PoolPhaseResult;
}

export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const bar = (passed: boolean): string => (passed ? 'PASS' : 'FAIL');
const tableCell = (text: string): string => text.replace(/\s+/g, ' ').replaceAll('|', '\\|').slice(0, 300);
const ratioText = (ratio: number): string => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : 'inf');

function sharesText(m: PoolMeasurement): string {
  const total = m.replicaCalls.reduce((sum, r) => sum + r.calls, 0);
  if (total === 0) return 'n/a';
  return m.replicaCalls.map((r) => `${r.replica} ${((100 * r.calls) / total).toFixed(1)}%`).join(', ');
}

/** req/s, the latencies asked for (p50, p99, ...) and the calls per replica. */
function loadCells(m: PoolMeasurement, latencies: ReadonlyArray<'p50Ms' | 'p90Ms' | 'p99Ms' | 'meanMs'>): string[] {
  if (m.error !== undefined) return [`failed: ${tableCell(m.error)}`, ...latencies.map(() => ''), ''];
  const rps = m.requestsPerSecond.toFixed(0) + (m.failures > 0 ? ` (${m.failures} failed)` : '');
  return [rps, ...latencies.map((key) => String(m[key])), sharesText(m)];
}

const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;

interface PoolBar {
  phase: 'slow' | 'overhead';
  label: string;
  ratio: number | undefined;
  passed: boolean;
}

/**
 * One bar per compared configuration: its ratio clears the minimum, and neither it nor
 * its reference failed the response check or any request.
 */
export function poolBars(results: PoolResults): PoolBar[] {
  const bars: PoolBar[] = [];
  const phases = [
    ['slow', results.slow, SLOW_MIN_P50_RATIO],
    ['overhead', results.overhead, OVERHEAD_MIN_RATIO],
  ] as const;
  for (const [phase, result, min] of phases) {
    for (const [label, ratio] of Object.entries(result.ratios)) {
      const rows = result.rows.filter((m) => m.label === label || m.label === result.reference);
      const clean = rows.every((m) => m.error === undefined && m.failures === 0);
      bars.push({ phase, label, ratio, passed: ratio !== undefined && ratio >= min && clean });
    }
  }
  return bars;
}

export function renderPoolSection(results: PoolResults): string {
  const bars = poolBars(results);
  const lines: string[] = [
    `${POOL_HEADING} (balancing across replicas)`,
    '',
    `- date: ${results.date}; the section took ${results.durationSeconds} s`,
    `- BENCH_SECONDS: ${results.seconds} per configuration and round; BENCH_ROUNDS: ${results.rounds} (configurations ` +
      `alternate; each row is the configuration's median round by req/s); ${results.warmupSeconds} s warm-up per ` +
      `configuration (BENCH_WARMUP_SECONDS); ${results.connections} connections; POST /graphql \`${results.query}\``,
    `- CPU layout: ${results.pinning}; the gateways compiled to JavaScript and run by node with NODE_ENV=production, as the image runs them`,
    `- Replicas: the users REST service (demo/backends/users.ts), one process each; the slow one answers every call ` +
      `${results.slowDelayMs} ms late (QUILT_DEMO_DELAY_MS). One gateway process per configuration, over a schema folder ` +
      'generated from schemas/users.graphql with its `replicas` and `balance: { algorithm }` substituted. ' +
      "Calls per replica are the replicas' own /__calls counts over the measured run.",
    '',
    `### One of two replicas ${results.slowDelayMs} ms slower`,
    '',
    '| algorithm | req/s | p50 ms | p90 ms | p99 ms | mean ms | calls per replica |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...results.slow.rows.map((m) => row([m.label, ...loadCells(m, ['p50Ms', 'p90Ms', 'p99Ms', 'meanMs'])])),
    '',
    'ROUND_ROBIN sends exactly half the calls to the slow replica, so its p50 sits on the edge between the fast half ' +
      "and the slow half: it is the slow half's fastest call as soon as a few fast calls take longer than that (GC, " +
      "scheduling), else the fast half's slowest call. The mean shows the mix whichever side p50 falls on.",
    '',
  ];
  for (const b of bars.filter((x) => x.phase === 'slow')) {
    lines.push(
      `Bar: ${b.label}'s p50 at least ${SLOW_MIN_P50_RATIO}x lower than ${results.slow.reference}'s (median of the rounds' ` +
        `${results.slow.reference} p50 / ${b.label} p50, no failed requests): ${b.ratio === undefined ? 'n/a' : ratioText(b.ratio)}, **${bar(b.passed)}**`,
      '',
    );
  }

  lines.push(
    '### Balancing overhead: two equal replicas against one',
    '',
    `The req/s ratio is the median of the rounds' ratios to the ${results.overhead.reference} gateway (measured in the same round). ` +
      `Bar: at least ${OVERHEAD_MIN_RATIO}x (overhead under ${Math.round((1 - OVERHEAD_MIN_RATIO) * 100)}% of throughput), no failed requests.`,
    '',
    `| replicas | req/s | p50 ms | p99 ms | calls per replica | req/s ratio to ${results.overhead.reference} | bar |`,
    '| --- | ---: | ---: | ---: | --- | ---: | --- |',
  );
  for (const m of results.overhead.rows) {
    const b = bars.find((x) => x.phase === 'overhead' && x.label === m.label);
    const ratio = b === undefined ? '' : b.ratio === undefined ? 'n/a' : ratioText(b.ratio);
    lines.push(row([m.label, ...loadCells(m, ['p50Ms', 'p99Ms']), ratio, b === undefined ? '' : bar(b.passed)]));
  }
  return `${lines.join('\n')}\n`;
}

/** What makes `npm run bench` exit non-zero: a configuration that failed its response check. */
export function poolProblems(results: PoolResults): string[] {
  return [...results.slow.rows, ...results.overhead.rows]
    .filter((m) => m.error !== undefined)
    .map((m) => `pool / ${m.label} failed its response check`);
}

/**
 * bench/RESULTS.md with one or both parts replaced: `main` is everything before
 * POOL_HEADING (the gateway-vs-baseline report), `pool` the section from it to the end.
 * A part not given keeps what `existing` has.
 */
export function mergeResults(existing: string, parts: { main?: string; pool?: string }): string {
  const at = existing.search(new RegExp(`^${POOL_HEADING}`, 'm'));
  const oldMain = at >= 0 ? existing.slice(0, at) : existing;
  const oldPool = at >= 0 ? existing.slice(at) : '';
  const kept = [parts.main ?? oldMain, parts.pool ?? oldPool].map((part) => part.trim()).filter((part) => part !== '');
  return `${kept.join('\n\n')}\n`;
}
