// The "security" section of `npm run bench` (README, "Benchmarks"): the fan-out query against
// two gateway processes over the demo backends, in alternating paired rounds:
// - off: `quilt serve --schemas schemas`, as the main section runs it;
// - on:  JWT verification (HS256, the demo secret and issuer), --max-cost, a per-client
//        cost budget and @rateLimit on Query.users, every limit set high enough never to
//        refuse, over a copy of schemas/ generated at bench time; every request carries a
//        valid token, so each one pays for verification, costing, the budget's take and
//        refund, and the rate-limit window.
// Bar: on keeps at least SECURITY_MIN_RATIO of off's req/s (median of per-round ratios).
// Before the load: both answer the same data without errors, "on" refuses a bad token
// with 401 and reports extensions.cost with a live budget. After it: the gateways' own
// metrics show that no response had errors and no limit refused anything.

import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { type ManagedChild, type ProcessSupervisor, waitForHealthy } from '../demo/backends/process-supervisor.js';
import {
  backendPorts,
  DEMO_BACKENDS,
  DEMO_HOST,
  DEMO_JWT,
  GATEWAY_SCHEMAS_DIR,
  REPO_ROOT,
} from '../demo/backends/topology.js';
import { type LoadResult, processCpuMs, runLoad, samplePeakRss, waitForQuietBackends } from './measure.js';
import { medianOf } from './pool-report.js';
import { FAN_OUT_QUERY } from './queries.js';
import { backendAdminUrls, checkBoth, type GatewaySpec, graphqlUrl, minus, readOutcomes } from './security-probes.js';
import type { SecurityLabel, SecurityMeasurement, SecurityResults } from './security-report.js';

/** As in the main section's fan-out. */
export const SECURITY_CONNECTIONS = 20;
const HEALTH_TIMEOUT_MS = 20_000;
const OFF_PORT = 4401;
const ON_PORT = 4402;

/** On Query.users in the "on" gateway's schema copy: a window the bench can never fill. */
export const RATE_LIMIT_DIRECTIVE = '@rateLimit(max: 100000000, window: "1m")';
/** Limits high enough never to refuse the bench's load (the query is estimated at a few thousand). */
const ON_LIMIT_FLAGS = ['--max-cost', '1000000', '--cost-budget', '1000000000', '--cost-restore-rate', '1000000'];
/** The "on" gateway's flags beside its schemas folder (bench:profile --security uses them too). */
export const SECURITY_ON_FLAGS = [
  ...['--jwt-secret', DEMO_JWT.secret, '--jwt-algorithms', DEMO_JWT.algorithms, '--jwt-issuer', DEMO_JWT.issuer],
  ...ON_LIMIT_FLAGS,
];
const BENCH_SUBJECT = 'bench';

/** Every port the security section listens on, for the up-front "is it free" check. */
export function securityPorts(): number[] {
  return [...backendPorts(), OFF_PORT, ON_PORT];
}

export interface SecurityBenchOptions {
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  /** Pin the gateways to `target`, the backends to `load` (where this process runs too); unset: not pinned. */
  cpus?: { target: number; load: number };
  /** The compiled gateway CLI (bench/build-targets.ts), run by plain node. */
  gateway: string;
  /** A fresh supervisor; the section stops it before returning (the caller's finish() on an abort). */
  newSupervisor: () => ProcessSupervisor;
  log: (message: string) => void;
}

/**
 * schemas/ copied to `dir` (its files, not its examples/ folder: the gateway reads only
 * the folder's own *.graphql files, and orders.proto beside them), with RATE_LIMIT_DIRECTIVE
 * added to the `users` field of users.graphql's Query type.
 */
export function writeRateLimitedSchemas(dir: string, directive = RATE_LIMIT_DIRECTIVE): void {
  const source = join(REPO_ROOT, GATEWAY_SCHEMAS_DIR);
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    if (entry.isFile()) copyFileSync(join(source, entry.name), join(dir, entry.name));
  }
  const file = join(dir, 'users.graphql');
  const text = readFileSync(file, 'utf8');
  const queryType = /^type Query \{\n[\s\S]*?^\}/m.exec(text);
  if (!queryType) throw new Error('schemas/users.graphql has no `type Query { ... }` block to add @rateLimit to');
  // `  users(limit: Int = 20, offset: Int = 0): [User!]! @http(...)`: the directive goes
  // right after the field's type, before the field's other directives.
  const field = /^(\s*users\s*(?:\([^)]*\))?\s*:\s*[^@\n]*?)(\s*@.*)?$/m;
  if (!field.test(queryType[0]))
    throw new Error('schemas/users.graphql: no `users` field in type Query to add @rateLimit to');
  const patched = queryType[0].replace(
    field,
    (_, head: string, rest: string | undefined) => `${head} ${directive}${rest ?? ''}`,
  );
  writeFileSync(file, text.slice(0, queryType.index) + patched + text.slice(queryType.index + queryType[0].length));
}

export async function mintToken(secret: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(BENCH_SUBJECT)
    .setIssuer(DEMO_JWT.issuer)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

type RoundMeasurement = LoadResult & { peakRssMb: number | undefined; cpuMsPerRequest: number | undefined };

/**
 * One measured run. Besides autocannon's figures: the gateway's CPU time per answered
 * request, from the moment the load starts until its last straggler is answered (the
 * gateway's own request counter over the same span). On a machine shared with other work
 * throughput swings with what else runs, the CPU a request costs much less.
 */
async function measureOnce(spec: GatewaySpec, child: ManagedChild, seconds: number): Promise<RoundMeasurement> {
  // A previous run's stragglers must be done, or their CPU is billed to this one.
  await waitForQuietBackends(backendAdminUrls());
  const [outcomesBefore, cpuBefore] = [await readOutcomes(spec), processCpuMs(child.pid)];
  const rss = samplePeakRss(child.pid);
  const load = await runLoad(graphqlUrl(spec), FAN_OUT_QUERY, SECURITY_CONNECTIONS, seconds, spec.headers);
  const peakRssMb = rss.stop();
  await waitForQuietBackends(backendAdminUrls());
  const cpuAfter = processCpuMs(child.pid);
  const outcomes = minus(await readOutcomes(spec), outcomesBefore);
  const answered = outcomes.success + outcomes.error;
  const cpuMsPerRequest =
    cpuBefore !== undefined && cpuAfter !== undefined && answered > 0 ? (cpuAfter - cpuBefore) / answered : undefined;
  return { ...load, peakRssMb, cpuMsPerRequest };
}

export async function runSecurityBench(options: SecurityBenchOptions): Promise<SecurityResults> {
  const startedAt = Date.now();
  const supervisor = options.newSupervisor();
  const schemaDir = mkdtempSync(join(tmpdir(), 'quilt-bench-security-'));
  const removeSchemas = (): void => rmSync(schemaDir, { recursive: true, force: true });
  process.once('exit', removeSchemas); // an interrupted run exits from finish(), past our finally
  try {
    writeRateLimitedSchemas(schemaDir);
    const token = await mintToken(DEMO_JWT.secret);
    const badToken = await mintToken(`${DEMO_JWT.secret}-but-not-this-one`);
    const onFlags = SECURITY_ON_FLAGS;
    const specs: [GatewaySpec, GatewaySpec] = [
      { label: 'off', port: OFF_PORT, args: ['--schemas', GATEWAY_SCHEMAS_DIR], headers: {} },
      {
        label: 'on',
        port: ON_PORT,
        args: ['--schemas', schemaDir, ...onFlags],
        headers: { authorization: `Bearer ${token}` },
      },
    ];

    const backends = DEMO_BACKENDS.map((backend) => ({
      backend,
      child: supervisor.start({
        name: backend.name,
        script: backend.script,
        args: ['--port', String(backend.port)],
        cpu: options.cpus?.load,
      }),
    }));
    await Promise.all(
      backends.map(({ backend, child }) => waitForHealthy(child, `${backend.adminUrl}/health`, HEALTH_TIMEOUT_MS)),
    );
    const gateways = specs.map((spec) => ({
      spec,
      child: supervisor.start({
        name: `gateway ${spec.label}`,
        script: options.gateway,
        compiled: true,
        args: ['serve', ...spec.args, '--port', String(spec.port), '--log-level', 'warn'],
        env: { NODE_ENV: 'production' }, // as bin/quilt.js runs it
        cpu: options.cpus?.target,
      }),
    }));
    await Promise.all(
      gateways.map(({ spec, child }) =>
        waitForHealthy(child, `http://${DEMO_HOST}:${spec.port}/healthz`, HEALTH_TIMEOUT_MS),
      ),
    );

    const { checks, sameData, badTokenStatus, badTokenUpstreamCalls } = await checkBoth(specs, badToken, options.log);
    const failed = checks.some((c) => c.error !== undefined);

    const base: Omit<SecurityResults, 'durationSeconds' | 'rows' | 'roundRatios' | 'ratio' | 'cpuRatio' | 'outcomes'> =
      {
        date: new Date(startedAt).toISOString(),
        seconds: options.seconds,
        rounds: options.rounds,
        warmupSeconds: options.warmupSeconds,
        connections: SECURITY_CONNECTIONS,
        pinning: options.cpus
          ? `taskset: gateways on CPU ${options.cpus.target}; backends and load generator on CPU ${options.cpus.load}`
          : 'not pinned (taskset unavailable or fewer than 2 CPUs)',
        query: FAN_OUT_QUERY,
        onFlags: `--schemas <copy> --jwt-secret <DEMO_JWT.secret> --jwt-algorithms ${DEMO_JWT.algorithms} --jwt-issuer ${DEMO_JWT.issuer} ${ON_LIMIT_FLAGS.join(' ')}`,
        rateLimitDirective: RATE_LIMIT_DIRECTIVE,
        checks,
        sameData,
        badTokenStatus,
        badTokenUpstreamCalls,
      };
    if (failed) {
      // One configuration alone measures nothing the bar can use.
      return {
        ...base,
        durationSeconds: Math.round((Date.now() - startedAt) / 1000),
        rows: [],
        roundRatios: [],
        ratio: undefined,
        cpuRatio: undefined,
        outcomes: {},
      };
    }

    const before = await Promise.all(specs.map((spec) => readOutcomes(spec)));
    if (options.warmupSeconds > 0) {
      for (const { spec } of gateways) {
        options.log(`security / ${spec.label}: warming up ${options.warmupSeconds} s`);
        await runLoad(graphqlUrl(spec), FAN_OUT_QUERY, SECURITY_CONNECTIONS, options.warmupSeconds, spec.headers);
      }
    }
    const rounds: Array<Record<SecurityLabel, RoundMeasurement>> = [];
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? gateways : [...gateways].reverse();
      const results: Partial<Record<SecurityLabel, RoundMeasurement>> = {};
      for (const { spec, child } of order) {
        const m = await measureOnce(spec, child, options.seconds);
        results[spec.label] = m;
        options.log(
          `security / ${spec.label} (round ${round + 1}/${options.rounds}): ${m.requestsPerSecond.toFixed(0)} req/s, ` +
            `p50 ${m.p50Ms} ms, p99 ${m.p99Ms} ms, peak RSS ${m.peakRssMb?.toFixed(1) ?? 'n/a'} MB, ` +
            `gateway CPU ${m.cpuMsPerRequest?.toFixed(2) ?? 'n/a'} ms/request` +
            (m.failures > 0 ? `, ${m.failures} FAILED requests` : ''),
        );
      }
      rounds.push(results as Record<SecurityLabel, RoundMeasurement>);
    }
    await waitForQuietBackends(backendAdminUrls());
    const after = await Promise.all(specs.map((spec) => readOutcomes(spec)));

    const rows: SecurityMeasurement[] = specs.map(({ label }) => {
      const all = rounds.map((r) => r[label]);
      const median = [...all].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(all.length / 2)]!;
      const peaks = all.map((m) => m.peakRssMb).filter((v): v is number => v !== undefined);
      const cpu = all.map((m) => m.cpuMsPerRequest).filter((v): v is number => v !== undefined);
      return {
        label,
        ...median,
        peakRssMb: peaks.length > 0 ? Math.max(...peaks) : undefined,
        cpuMsPerRequest: cpu.length === all.length ? medianOf(cpu) : undefined,
      };
    });
    const roundRatios = rounds.map((r) =>
      r.off.requestsPerSecond > 0 ? r.on.requestsPerSecond / r.off.requestsPerSecond : 0,
    );
    const cpuRatios = rounds.flatMap((r) =>
      r.on.cpuMsPerRequest !== undefined && r.off.cpuMsPerRequest !== undefined
        ? [r.on.cpuMsPerRequest / r.off.cpuMsPerRequest]
        : [],
    );
    return {
      ...base,
      durationSeconds: Math.round((Date.now() - startedAt) / 1000),
      rows,
      roundRatios,
      ratio: medianOf(roundRatios),
      cpuRatio: cpuRatios.length === rounds.length ? medianOf(cpuRatios) : undefined,
      outcomes: { off: minus(after[0]!, before[0]!), on: minus(after[1]!, before[1]!) },
    };
  } finally {
    await supervisor.stopAll();
    process.off('exit', removeSchemas);
    removeSchemas();
  }
}
