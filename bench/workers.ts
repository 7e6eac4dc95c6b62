// `npm run bench:workers`: the fan-out query against `quilt serve --workers 1` and
// `--workers 2` over the same demo backends, in alternating rounds, on this 2-core machine.
// Nothing is pinned: the second worker can only use the core that the backends and the load
// generator also need, so the gain is bounded by what they leave free: each run reports how
// much of the machine was idle (/proc/stat), which says whether a second worker had a core to
// use. Both gateways run compiled, as the image runs them (bench/build-targets.ts). --write puts
// the table in bench/RESULTS.md (## Workers).
import { readFileSync } from 'node:fs';
import {
  describeExit,
  type ManagedChild,
  ProcessSupervisor,
  waitForHealthy,
} from '../demo/backends/process-supervisor.js';
import { DEMO_BACKENDS, DEMO_HOST, GATEWAY_SCHEMAS_DIR } from '../demo/backends/topology.js';
import { buildTargets } from './build-targets.js';
import { type LoadResult, runLoad } from './measure.js';
import { FAN_OUT_QUERY } from './queries.js';
import { writeResultsSection } from './results-section.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 20;
const CONFIGS = [
  { workers: 1, port: 4170 },
  { workers: 2, port: 4171 },
];

async function main(): Promise<void> {
  const supervisor = new ProcessSupervisor((child, info) => {
    console.error(`[workers] ${child.name} exited unexpectedly with ${describeExit(info)}`);
    void supervisor.stopAll().then(() => process.exit(1));
  });
  const backends = DEMO_BACKENDS.map((b) => ({
    b,
    child: supervisor.start({ name: b.name, script: b.script, args: ['--port', String(b.port)] }),
  }));
  await Promise.all(backends.map(({ b, child }) => waitForHealthy(child, `${b.adminUrl}/health`)));
  const gateway = buildTargets((m) => console.log(`[workers] ${m}`)).gateway;
  const gateways: ManagedChild[] = CONFIGS.map(({ workers, port }) =>
    supervisor.start({
      name: `gateway-${workers}`,
      script: gateway,
      compiled: true,
      args: ['serve', '--schemas', GATEWAY_SCHEMAS_DIR, '--port', String(port), '--workers', String(workers)],
      env: { QUILT_LOG_LEVEL: 'warn', NODE_ENV: 'production' }, // as bin/quilt.js runs it
    }),
  );
  await Promise.all(
    CONFIGS.map((c, i) => waitForHealthy(gateways[i]!, `http://${DEMO_HOST}:${c.port}/healthz`, 30_000)),
  );
  const results = new Map<number, (LoadResult & { idle: number })[]>();
  for (const c of CONFIGS) await runLoad(`http://${DEMO_HOST}:${c.port}/graphql`, FAN_OUT_QUERY, CONNECTIONS, 2);
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of round % 2 === 0 ? CONFIGS : [...CONFIGS].reverse()) {
      const before = cpuTimes();
      const load = await runLoad(`http://${DEMO_HOST}:${c.port}/graphql`, FAN_OUT_QUERY, CONNECTIONS, SECONDS);
      const after = cpuTimes();
      const r = { ...load, idle: (after.idle - before.idle) / (after.total - before.total) };
      console.log(
        `[workers] --workers ${c.workers}: ${r.requestsPerSecond.toFixed(0)} req/s, p99 ${r.p99Ms} ms, machine ${(r.idle * 100).toFixed(0)}% idle`,
      );
      results.set(c.workers, [...(results.get(c.workers) ?? []), r]);
    }
  }
  await supervisor.stopAll();
  const median = <T extends LoadResult>(rs: T[]): T =>
    [...rs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[rs.length >> 1]!;
  const one = results.get(1)!;
  const two = results.get(2)!;
  const idleOf = (workers: number) => (median(results.get(workers)!).idle * 100).toFixed(0);
  const ratios = two.map((r, i) => r.requestsPerSecond / one[i]!.requestsPerSecond).sort((a, b) => a - b);
  const section = [
    '## Workers (`npm run bench:workers`)',
    '',
    `- date: ${new Date().toISOString()}; the fan-out query (\`${FAN_OUT_QUERY}\`), ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s per configuration, alternating; no CPU pinning (2 cores shared by the gateway's processes, the seven backend replicas and the load generator)`,
    '',
    '| --workers | req/s (median round) | p50 ms | p99 ms | failed | machine idle (what a second worker could use) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...CONFIGS.map(({ workers }) => {
      const m = median(results.get(workers)!);
      const failed = results.get(workers)!.reduce((n, r) => n + r.failures, 0);
      return `| ${workers} | ${m.requestsPerSecond.toFixed(0)} | ${m.p50Ms} | ${m.p99Ms} | ${failed} | ${idleOf(workers)}% |`;
    }),
    '',
    `- --workers 2 against 1: ${ratios[ratios.length >> 1]!.toFixed(2)}x req/s (rounds ${ratios.map((r) => `${r.toFixed(2)}x`).join(', ')})`,
    '',
  ].join('\n');
  console.log(section);
  if (process.argv.includes('--write')) writeResultsSection(section);
}

/** Jiffies of all CPUs since boot: idle (idle + iowait) and total, from /proc/stat's first line. */
function cpuTimes(): { idle: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: fields[3]! + fields[4]!, total: fields.reduce((a, b) => a + b, 0) };
}

await main();
