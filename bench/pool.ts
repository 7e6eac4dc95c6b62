// The "pool" section of `npm run bench` (README, "Upstream pools"): the
// gateway's upstream pool measured with real replicas of the users REST service as
// separate processes.
// 1. Slow replica: two replicas, one answering every call SLOW_DELAY_MS late
//    (QUILT_DEMO_DELAY_MS), under ROUND_ROBIN, LEAST_CONNECTIONS and LEAST_RESPONSE_TIME.
//    Bar: LEAST_RESPONSE_TIME's p50 at least 2x lower than ROUND_ROBIN's.
// 2. Overhead: one replica (nothing to balance) against two equal replicas balanced.
//    Bar: the balanced pool keeps at least 95% of the single replica's throughput.
// Each configuration is its own gateway process over a schema folder generated at bench
// time from schemas/users.graphql with the replicas and `balance` substituted. A phase
// starts all its gateways up front and measures them in rounds whose order alternates;
// ratios are medians of per-round ratios, as in the rest of the bench (bench/run.ts).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_DELAY_ENV } from '../demo/backends/http-service.js';
import { type ProcessSupervisor, waitForHealthy } from '../demo/backends/process-supervisor.js';
import { DEMO_HOST, REPO_ROOT } from '../demo/backends/topology.js';
import { backendCalls, checkQueryAndCountUpstreamCalls, runLoad, waitForQuietBackends } from './measure.js';
import { medianOf, type PoolMeasurement, type PoolPhaseResult, type PoolResults } from './pool-report.js';
import { LOOKUP_QUERY } from './queries.js';

/** The bench's lookup query (bench/run.ts measures it too): one REST call. */
export const POOL_CONNECTIONS = 16;
export const SLOW_DELAY_MS = 20;
const HEALTH_TIMEOUT_MS = 20_000;
// No replica call for this long: the gateway has finished the requests autocannon left behind.
const QUIET_MS = 200;

type Algorithm = 'ROUND_ROBIN' | 'LEAST_CONNECTIONS' | 'LEAST_RESPONSE_TIME';

interface PoolBackend {
  name: string;
  port: number;
  delayMs: number;
}
const FAST_1: PoolBackend = { name: 'pool-users-fast-1', port: 4301, delayMs: 0 };
const FAST_2: PoolBackend = { name: 'pool-users-fast-2', port: 4302, delayMs: 0 };
const SLOW: PoolBackend = { name: 'pool-users-slow', port: 4303, delayMs: SLOW_DELAY_MS };
const BACKENDS = [FAST_1, FAST_2, SLOW];
const backendUrl = (backend: PoolBackend): string => `http://${DEMO_HOST}:${backend.port}`;

interface GatewayConfig {
  label: string;
  port: number;
  replicas: PoolBackend[];
  algorithm?: Algorithm; // none: the schema's default (one replica: nothing to balance)
}
const SLOW_CONFIGS: GatewayConfig[] = (['ROUND_ROBIN', 'LEAST_CONNECTIONS', 'LEAST_RESPONSE_TIME'] as const).map(
  (algorithm, i) => ({ label: algorithm, port: 4311 + i, replicas: [FAST_1, SLOW], algorithm }),
);
// Another balanced configuration (e.g. two replicas under LEAST_RESPONSE_TIME, port 4323)
// gets its own ratio and bar, for about 20 s more run time at the default settings.
const OVERHEAD_CONFIGS: GatewayConfig[] = [
  { label: 'one replica', port: 4321, replicas: [FAST_1] },
  { label: 'two, ROUND_ROBIN', port: 4322, replicas: [FAST_1, FAST_2], algorithm: 'ROUND_ROBIN' },
];

/** Every port the pool section listens on, for the up-front "is it free" check. */
export function poolPorts(): number[] {
  return [...BACKENDS, ...SLOW_CONFIGS, ...OVERHEAD_CONFIGS].map((item) => item.port);
}

export interface PoolBenchOptions {
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  /** Pin gateways to `target`, replicas to `load` (where this process runs too); unset: not pinned. */
  cpus?: { target: number; load: number };
  /** The compiled gateway CLI (bench/build-targets.ts), run by plain node. */
  gateway: string;
  /** A fresh supervisor whose children the caller stops on exit (each phase stops its own). */
  newSupervisor: () => ProcessSupervisor;
  log: (message: string) => void;
}

/** schemas/users.graphql with its replicas (and balance) replaced, as a one-file schema folder. */
function writeSchemaFolder(root: string, config: GatewayConfig, index: number): string {
  const source = readFileSync(join(REPO_ROOT, 'schemas', 'users.graphql'), 'utf8');
  const replicasPattern = /replicas:\s*\[[^\]]*\]/;
  if (!replicasPattern.test(source)) throw new Error('schemas/users.graphql has no `replicas: [...]` to substitute');
  const replicas = config.replicas.map((backend) => `{ url: "${backendUrl(backend)}" }`).join(', ');
  const balance = config.algorithm ? `\n    balance: { algorithm: ${config.algorithm} }` : '';
  const text = source
    .replace(/^\s*balance:.*\n/m, '') // a balance the checked-in file may set gives way to ours
    .replace(replicasPattern, `replicas: [${replicas}]${balance}`);
  const dir = join(root, `${index}-${config.label.replace(/[^A-Za-z0-9]+/g, '-')}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'users.graphql'), text);
  return dir;
}

async function resetCalls(): Promise<void> {
  await Promise.all(BACKENDS.map((backend) => backendCalls(backendUrl(backend), 'DELETE')));
}

/** One measured run: counters reset, load, wait for the stragglers, then read each replica's count. */
async function measureOnce(config: GatewayConfig, seconds: number): Promise<PoolMeasurement> {
  const url = `http://${DEMO_HOST}:${config.port}/graphql`;
  await resetCalls();
  const load = await runLoad(url, LOOKUP_QUERY, POOL_CONNECTIONS, seconds);
  await waitForQuietBackends(BACKENDS.map(backendUrl), QUIET_MS);
  const calls = await Promise.all(config.replicas.map((backend) => backendCalls(backendUrl(backend), 'GET')));
  return {
    label: config.label,
    ...load,
    upstreamCalls: 1,
    replicaCalls: config.replicas.map((backend, i) => ({
      replica: backend.name,
      slow: backend.delayMs > 0,
      calls: calls[i]!,
    })),
  };
}

async function runPhase(
  configs: readonly GatewayConfig[],
  schemaRoot: string,
  indexBase: number,
  options: PoolBenchOptions,
): Promise<PoolMeasurement[][]> {
  const supervisor = options.newSupervisor();
  try {
    const gateways = configs.map((config, i) => {
      const dir = writeSchemaFolder(schemaRoot, config, indexBase + i);
      const child = supervisor.start({
        name: `gateway ${config.label}`,
        script: options.gateway,
        compiled: true,
        args: ['serve', '--schemas', dir, '--port', String(config.port), '--log-level', 'warn'],
        env: { NODE_ENV: 'production' }, // as bin/quilt.js runs it
        cpu: options.cpus?.target,
      });
      return { config, child };
    });
    await Promise.all(
      gateways.map(({ config, child }) =>
        waitForHealthy(child, `http://${DEMO_HOST}:${config.port}/healthz`, HEALTH_TIMEOUT_MS),
      ),
    );

    // Every configuration must answer the same data in one upstream call before it is loaded.
    const failures = new Map<string, string>();
    let expected: string | undefined;
    for (const { config } of gateways) {
      const url = `http://${DEMO_HOST}:${config.port}/graphql`;
      try {
        await waitForQuietBackends(BACKENDS.map(backendUrl), QUIET_MS);
        const checked = await checkQueryAndCountUpstreamCalls(url, LOOKUP_QUERY, BACKENDS.map(backendUrl));
        const data = JSON.stringify(checked.data);
        expected ??= data;
        if (data !== expected) throw new Error(`answered ${data}, another configuration ${expected}`);
        if (checked.upstreamCalls !== 1) throw new Error(`made ${checked.upstreamCalls} upstream calls, expected 1`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        options.log(`pool / ${config.label}: response check failed, skipping its load runs: ${message}`);
        failures.set(config.label, message);
      }
    }
    const failedRow = (config: GatewayConfig): PoolMeasurement => ({
      label: config.label,
      requests: 0,
      requestsPerSecond: 0,
      p50Ms: 0,
      p90Ms: 0,
      p99Ms: 0,
      meanMs: 0,
      failures: 0,
      upstreamCalls: 0,
      replicaCalls: [],
      error: failures.get(config.label),
    });

    if (options.warmupSeconds > 0) {
      for (const { config } of gateways) {
        if (failures.has(config.label)) continue;
        options.log(`pool / ${config.label}: warming up ${options.warmupSeconds} s`);
        await runLoad(
          `http://${DEMO_HOST}:${config.port}/graphql`,
          LOOKUP_QUERY,
          POOL_CONNECTIONS,
          options.warmupSeconds,
        );
      }
      await waitForQuietBackends(BACKENDS.map(backendUrl), QUIET_MS);
    }

    const rounds: PoolMeasurement[][] = [];
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? configs : [...configs].reverse();
      const byLabel = new Map<string, PoolMeasurement>();
      for (const config of order) {
        if (failures.has(config.label)) {
          byLabel.set(config.label, failedRow(config));
          continue;
        }
        const m = await measureOnce(config, options.seconds);
        const shares = m.replicaCalls.map((r) => `${r.replica} ${r.calls}`).join(', ');
        options.log(
          `pool / ${config.label} (round ${round + 1}/${options.rounds}): ${m.requestsPerSecond.toFixed(0)} req/s, ` +
            `p50 ${m.p50Ms} ms, p90 ${m.p90Ms} ms, p99 ${m.p99Ms} ms, mean ${m.meanMs} ms; calls: ${shares}${m.failures > 0 ? `; ${m.failures} FAILED requests` : ''}`,
        );
        byLabel.set(config.label, m);
      }
      rounds.push(configs.map((config) => byLabel.get(config.label)!)); // configuration order, whatever the run order
    }
    return rounds;
  } finally {
    await supervisor.stopAll();
  }
}

/** The round with the median throughput, per configuration (a failed check wins: it is the row to show). */
function medianRounds(rounds: PoolMeasurement[][]): PoolMeasurement[] {
  return rounds[0]!.map((_, i) => {
    const all = rounds.map((round) => round[i]!);
    const failed = all.find((m) => m.error !== undefined);
    if (failed) return failed;
    const sorted = [...all].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
    return sorted[Math.floor(sorted.length / 2)]!;
  });
}

/** Median over rounds of f(round); undefined when any configuration involved failed its check. */
function roundRatio(
  rounds: PoolMeasurement[][],
  f: (round: PoolMeasurement[]) => number,
  involved: number[],
): number | undefined {
  if (rounds.some((round) => involved.some((i) => round[i]!.error !== undefined))) return undefined;
  return medianOf(rounds.map(f));
}

export async function runPoolBench(options: PoolBenchOptions): Promise<PoolResults> {
  const startedAt = Date.now();
  const backends = options.newSupervisor(); // stopped by the caller's finish(), with everything else
  const children = BACKENDS.map((backend) => ({
    backend,
    child: backends.start({
      name: backend.name,
      script: 'demo/backends/users.ts',
      args: ['--port', String(backend.port)],
      env: { [DEMO_DELAY_ENV]: String(backend.delayMs) },
      cpu: options.cpus?.load,
    }),
  }));
  await Promise.all(
    children.map(({ backend, child }) => waitForHealthy(child, `${backendUrl(backend)}/health`, HEALTH_TIMEOUT_MS)),
  );

  const schemaRoot = mkdtempSync(join(tmpdir(), 'quilt-bench-pool-'));
  const removeSchemas = (): void => rmSync(schemaRoot, { recursive: true, force: true });
  process.once('exit', removeSchemas); // an interrupted run exits from finish(), past our finally
  try {
    options.log(
      `pool: one of two replicas ${SLOW_DELAY_MS} ms slower, ${SLOW_CONFIGS.map((c) => c.label).join(' / ')}`,
    );
    const slowRounds = await runPhase(SLOW_CONFIGS, schemaRoot, 0, options);
    const rr = SLOW_CONFIGS.findIndex((c) => c.algorithm === 'ROUND_ROBIN');
    const lrt = SLOW_CONFIGS.findIndex((c) => c.algorithm === 'LEAST_RESPONSE_TIME');
    const slow: PoolPhaseResult = {
      rows: medianRounds(slowRounds),
      reference: SLOW_CONFIGS[rr]!.label,
      ratios: {
        [SLOW_CONFIGS[lrt]!.label]: roundRatio(
          slowRounds,
          (round) => (round[lrt]!.p50Ms > 0 ? round[rr]!.p50Ms / round[lrt]!.p50Ms : Infinity),
          [rr, lrt],
        ),
      },
    };

    options.log('pool: balancing overhead, one replica against two equal ones');
    const overheadRounds = await runPhase(OVERHEAD_CONFIGS, schemaRoot, SLOW_CONFIGS.length, options);
    const single = OVERHEAD_CONFIGS.findIndex((c) => c.replicas.length === 1);
    const ratios: Record<string, number | undefined> = {};
    OVERHEAD_CONFIGS.forEach((config, i) => {
      if (i === single) return;
      ratios[config.label] = roundRatio(
        overheadRounds,
        (round) => round[i]!.requestsPerSecond / round[single]!.requestsPerSecond,
        [i, single],
      );
    });
    return {
      date: new Date(startedAt).toISOString(),
      durationSeconds: Math.round((Date.now() - startedAt) / 1000),
      seconds: options.seconds,
      rounds: options.rounds,
      warmupSeconds: options.warmupSeconds,
      connections: POOL_CONNECTIONS,
      slowDelayMs: SLOW_DELAY_MS,
      pinning: options.cpus
        ? `taskset: gateways on CPU ${options.cpus.target}; replicas and load generator on CPU ${options.cpus.load}`
        : 'not pinned (taskset unavailable or fewer than 2 CPUs)',
      query: LOOKUP_QUERY,
      slow,
      overhead: { rows: medianRounds(overheadRounds), reference: OVERHEAD_CONFIGS[single]!.label, ratios },
    };
  } finally {
    process.off('exit', removeSchemas);
    removeSchemas();
  }
}
