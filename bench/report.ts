// Turns benchmark measurements into the markdown report printed by
// `npm run bench` and written to bench/RESULTS.md.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export type Target = 'baseline' | 'gateway';

export interface Measurement {
  query: string; // short name: lookup, list, ...
  target: Target;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  upstreamCalls: number;
  peakRssMb: number | undefined;
  /** The target's CPU time (user + system) over the run, per response. */
  cpuMsPerRequest?: number;
  response: unknown; // the checked response's data, compared across targets
  error?: string; // set when the target failed the response check (no load was run)
  /** Gateway only: median over rounds of gateway/baseline req/s, each round's pair measured back to back. */
  roundRatio?: number;
  /** Every round's gateway/baseline req/s ratio, sorted: the spread. */
  roundRatios?: number[];
  /** Gateway only: median over rounds of gateway/baseline CPU per request (not a bar). */
  cpuRatio?: number;
}

export interface BenchQuery {
  name: string;
  query: string;
  expectedUpstreamCalls?: number; // a bar of its own (README, "Benchmarks": the fan-out makes exactly 3)
}

// The bars the gateway must clear, relative to the hand-written baseline (DESIGN.md section 8:
// every query, every run).
export const MIN_THROUGHPUT_RATIO = 0.9;
export const MAX_P99_RATIO = 1.2;
export const MAX_RSS_RATIO = 1.25;

export interface RunInfo {
  facts: Array<[string, string]>; // from systemFacts(), captured before CPU pinning
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  connections: number;
  pinning: string; // human description of the CPU layout used
  queries: readonly BenchQuery[];
}

/**
 * Date, CPU count, node version, CPU model. Call before pinning this process
 * to one CPU: `nproc` reports the CPUs the caller may run on.
 */
export function systemFacts(): Array<[string, string]> {
  let cpuCount = String(availableParallelism());
  try {
    cpuCount = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // nproc missing: keep node's view
  }
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // no procfs
  }
  return [
    ['date', new Date().toISOString()],
    ['nproc', cpuCount],
    ['node', process.version],
    ['cpu', cpuModel],
  ];
}

const fixed = (value: number, digits: number): string => value.toFixed(digits);
// Keep free text from breaking the markdown table: one line, escaped pipes, bounded length.
const tableCell = (text: string): string => text.replace(/\s+/g, ' ').replaceAll('|', '\\|').slice(0, 300);
const bar = (passed: boolean): string => (passed ? 'PASS' : 'FAIL');
const expectedCallsOf = (queries: readonly BenchQuery[], name: string): number | undefined =>
  queries.find((q) => q.name === name)?.expectedUpstreamCalls;

function measurementRow(m: Measurement, expectedCalls: number | undefined): string {
  if (m.error !== undefined) return `| ${m.query} | ${m.target} | failed: ${tableCell(m.error)} | | | | | |`;
  const rps = fixed(m.requestsPerSecond, 0) + (m.failures > 0 ? ` (${m.failures} failed)` : '');
  const rss = m.peakRssMb === undefined ? 'n/a' : fixed(m.peakRssMb, 1);
  const calls =
    expectedCalls === undefined || m.upstreamCalls === expectedCalls
      ? String(m.upstreamCalls)
      : `${m.upstreamCalls} (FAIL: expected ${expectedCalls})`;
  const cpu = m.cpuMsPerRequest === undefined ? 'n/a' : fixed(m.cpuMsPerRequest, 3);
  return `| ${m.query} | ${m.target} | ${rps} | ${m.p50Ms} | ${m.p99Ms} | ${calls} | ${rss} | ${cpu} |`;
}

function comparisonRow(
  query: string,
  baseline: Measurement,
  gateway: Measurement,
  expectedCalls: number | undefined,
): string {
  if (baseline.error !== undefined || gateway.error !== undefined) {
    return `| ${query} | n/a | n/a | FAIL | n/a | FAIL | n/a | FAIL | n/a | FAIL | n/a | n/a |`;
  }
  const throughputRatio = gateway.roundRatio ?? gateway.requestsPerSecond / baseline.requestsPerSecond;
  const rssRatio =
    gateway.peakRssMb !== undefined && baseline.peakRssMb !== undefined
      ? gateway.peakRssMb / baseline.peakRssMb
      : undefined;
  const sameResponse = JSON.stringify(gateway.response) === JSON.stringify(baseline.response);
  const p99Ratio = gateway.p99Ms / Math.max(1, baseline.p99Ms);
  const spread = gateway.roundRatios?.length
    ? `${fixed(gateway.roundRatios[0]!, 2)}-${fixed(gateway.roundRatios.at(-1)!, 2)}x`
    : 'n/a';
  return [
    query,
    `${fixed(throughputRatio, 2)}x`,
    spread,
    bar(throughputRatio >= MIN_THROUGHPUT_RATIO && gateway.failures === 0),
    `${fixed(p99Ratio, 2)}x`,
    bar(p99Ratio <= MAX_P99_RATIO),
    rssRatio === undefined ? 'n/a' : `${fixed(rssRatio, 2)}x`,
    rssRatio === undefined ? 'n/a' : bar(rssRatio <= MAX_RSS_RATIO),
    `${gateway.upstreamCalls} vs ${baseline.upstreamCalls}`,
    bar(
      gateway.upstreamCalls === baseline.upstreamCalls &&
        (expectedCalls === undefined || gateway.upstreamCalls === expectedCalls),
    ),
    sameResponse ? 'yes' : 'NO',
    gateway.cpuRatio === undefined ? 'n/a' : `${fixed(gateway.cpuRatio, 2)}x`,
  ].reduce((row, cell) => `${row} ${cell} |`, '|');
}

export function renderReport(info: RunInfo, measurements: readonly Measurement[]): string {
  const lines: string[] = ['# Quilt benchmark results', ''];
  for (const [key, value] of info.facts) lines.push(`- ${key}: ${value}`);
  lines.push(
    `- BENCH_SECONDS: ${info.seconds} per query, target and round; BENCH_ROUNDS: ${info.rounds} (targets alternate; ` +
      `each row is the target's median round, peak RSS the highest of its rounds); ${info.warmupSeconds} s warm-up ` +
      `before a query's first round (BENCH_WARMUP_SECONDS); ${info.connections} connections; POST /graphql`,
    `- CPU layout: ${info.pinning}`,
    '- Targets: both compiled to JavaScript with tsc and started by plain node with NODE_ENV=production, as the Docker image runs the gateway (bench/build-targets.ts: tsx would add about 45 MB to the gateway and little to the one-file baseline)',
    '',
    '| query | target | req/s | p50 ms | p99 ms | upstream calls/query | peak RSS MB | CPU ms/request |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...measurements.map((m) => measurementRow(m, expectedCallsOf(info.queries, m.query))),
    '',
  );

  const comparisons: string[] = [];
  for (const { name, expectedUpstreamCalls } of info.queries) {
    const baseline = measurements.find((m) => m.query === name && m.target === 'baseline');
    const gateway = measurements.find((m) => m.query === name && m.target === 'gateway');
    if (baseline && gateway) comparisons.push(comparisonRow(name, baseline, gateway, expectedUpstreamCalls));
  }
  if (comparisons.length > 0) {
    lines.push(
      `Gateway vs baseline. The req/s ratio is the median of the rounds' ratios (each round measures both targets back to back, ` +
        `so a slow moment of the shared machine hits both; the rounds' spread is shown). Bars: throughput >= ${MIN_THROUGHPUT_RATIO}x baseline, ` +
        `p99 <= ${MAX_P99_RATIO}x baseline's (of the median rounds), peak RSS <= ${MAX_RSS_RATIO}x baseline, same number of upstream calls (and the expected number, where a query has one). ` +
        `CPU/request is the median of the rounds' gateway/baseline ratios of CPU time per response (user + system of the target process over its run): ` +
        `not a bar, but far less swayed than req/s by whatever else the machine is doing.`,
      '',
      '| query | req/s ratio | rounds | throughput bar | p99 ratio | p99 bar | RSS ratio | RSS bar | upstream calls (gateway vs baseline) | calls bar | same response JSON | CPU/request ratio |',
      '| --- | ---: | ---: | --- | ---: | --- | ---: | --- | --- | --- | --- | ---: |',
      ...comparisons,
      '',
    );
  } else {
    lines.push('Gateway vs baseline: not compared (only one target was measured).', '');
  }

  lines.push('Queries:', '');
  for (const { name, query, expectedUpstreamCalls } of info.queries) {
    const expected =
      expectedUpstreamCalls === undefined ? '' : ` (expected: exactly ${expectedUpstreamCalls} upstream calls)`;
    lines.push(`- ${name}: \`${query}\`${expected}`);
  }
  return `${lines.join('\n')}\n`;
}
