// `npm run bench`: the gateway against the hand-written baseline
// (bench/baseline.ts) over the same demo backends, same queries, same load.
//
//   tsx bench/run.ts [--write] [--out FILE] [--only baseline|gateway]
//   env BENCH_ONLY=main|pool|security|openapi: run only the gateway-vs-baseline queries,
//       only the upstream pool section (bench/pool.ts), only the security section
//       (bench/security.ts) or only the OpenAPI import's timings (bench/openapi-import.ts);
//       --write then rewrites only that part of the results file. Default: all four
//       (--only baseline skips the pool, security and OpenAPI sections)
//   env BENCH_SECONDS (default 5): measured seconds per query, target and round
//   env BENCH_ROUNDS (default 3): rounds per query, the targets' order alternating; the
//       report keeps each target's median round (and its peak RSS over all rounds), and
//       compares them by the median of the rounds' ratios, because one round on a shared
//       2-core VM can be off by 30% and a round measures both targets back to back
//   env BENCH_WARMUP_SECONDS (default 2): unmeasured load before a query's first round
//
// Every server runs as its own child process. With taskset and >= 2 CPUs the
// target under test (gateway or baseline) gets CPU 0 to itself while the
// backends and the load generator (this process) share CPU 1, so the target's
// CPU is what limits throughput.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  assertPortsFree,
  canPinCpus,
  describeExit,
  ProcessSupervisor,
  pinProcess,
  waitForHealthy,
} from '../demo/backends/process-supervisor.js';
import {
  backendPorts,
  DEMO_BACKENDS,
  DEMO_HOST,
  GATEWAY_ENTRY,
  GATEWAY_SCHEMAS_DIR,
  REPO_ROOT,
} from '../demo/backends/topology.js';
import { type BuiltTargets, buildTargets } from './build-targets.js';
import { measureQuery, medianRound } from './measure-query.js';
import { mergeOpenApiSection, openApiProblems, renderOpenApiSection, runOpenApiBench } from './openapi-import.js';
import { poolPorts, runPoolBench } from './pool.js';
import { poolProblems, renderPoolSection } from './pool-report.js';
import { BENCH_QUERIES } from './queries.js';
import { type Measurement, renderReport, systemFacts, type Target } from './report.js';
import { splitOffSeparateSections } from './results-section.js';
import { runSecurityBench, securityPorts } from './security.js';
import { mergeAllResults, renderSecuritySection, securityProblems } from './security-report.js';

const CONNECTIONS = 20;
const HEALTH_TIMEOUT_MS = 20_000;
const TARGET_CPU = 0;
const LOAD_CPU = 1;

interface TargetSpec {
  name: Target;
  port: number;
  /** Its compiled entry (bench/build-targets.ts). */
  script: keyof BuiltTargets;
  args: string[];
}
const TARGETS: readonly TargetSpec[] = [
  { name: 'baseline', port: 4200, script: 'baseline', args: ['--port', '4200'] },
  {
    name: 'gateway',
    port: 4100,
    script: 'gateway',
    args: ['serve', '--schemas', GATEWAY_SCHEMAS_DIR, '--port', '4100', '--log-level', 'warn'],
  },
];

function parseArgs(argv: readonly string[]) {
  const flagValue = (flag: string): string | undefined => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const only = flagValue('--only');
  if (only !== undefined && only !== 'baseline' && only !== 'gateway') {
    throw new Error(`--only must be "baseline" or "gateway", got "${only}"`);
  }
  const benchOnly = process.env.BENCH_ONLY ?? '';
  if (!['', 'main', 'pool', 'security', 'openapi'].includes(benchOnly)) {
    throw new Error(`BENCH_ONLY must be "main", "pool", "security" or "openapi", got "${benchOnly}"`);
  }
  const wholeSeconds = (name: string, fallback: string, min: number): number => {
    const text = process.env[name] ?? fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`${name} must be a whole number of seconds >= ${min}, got "${text}"`);
    }
    return value;
  };
  return {
    seconds: wholeSeconds('BENCH_SECONDS', '5', 1),
    rounds: wholeSeconds('BENCH_ROUNDS', '3', 1),
    warmupSeconds: wholeSeconds('BENCH_WARMUP_SECONDS', '2', 0),
    targets: TARGETS.filter((target) => only === undefined || target.name === only),
    runMain: benchOnly === '' || benchOnly === 'main',
    runPool: (benchOnly === '' || benchOnly === 'pool') && only !== 'baseline',
    runSecurity: (benchOnly === '' || benchOnly === 'security') && only !== 'baseline',
    runOpenApi: (benchOnly === '' || benchOnly === 'openapi') && only !== 'baseline',
    write: argv.includes('--write') || argv.includes('--out'),
    outFile: flagValue('--out') ?? join(REPO_ROOT, 'bench', 'RESULTS.md'),
  };
}

const log = (message: string): void => console.log(`[bench] ${message}`);

let finishing = false;
async function finish(exitCode: number, message?: string): Promise<never> {
  if (!finishing) {
    finishing = true;
    if (message) console.error(`[bench] ${message}`);
    // Newest first: gateways before the backends they call.
    for (const each of [...supervisors].reverse()) await each.stopAll();
    process.exit(exitCode);
  }
  return new Promise<never>(() => {}); // another finish() is already stopping everything
}

// A server dying mid-run would make every later number meaningless: abort. The pool
// section stops its gateways phase by phase, so it gets supervisors of its own.
const supervisors: ProcessSupervisor[] = [];
function newSupervisor(): ProcessSupervisor {
  const created = new ProcessSupervisor((child, info) => {
    void finish(1, `${child.name} (PID ${child.pid}) exited unexpectedly with ${describeExit(info)}; aborting`);
  });
  supervisors.push(created);
  return created;
}
const supervisor = newSupervisor();
process.on('SIGINT', () => void finish(130, 'interrupted; stopping all processes'));
process.on('SIGTERM', () => void finish(143, 'terminated; stopping all processes'));

type Options = ReturnType<typeof parseArgs>;

/** The gateway against the baseline, query by query: the report's main part, and what went wrong. */
async function runQueries(
  options: Options,
  built: BuiltTargets,
  facts: Array<[string, string]>,
  pin: boolean,
  pinning: string,
) {
  const backends = DEMO_BACKENDS.map((backend) => ({
    backend,
    child: supervisor.start({
      name: backend.name,
      script: backend.script,
      args: ['--port', String(backend.port)],
      cpu: pin ? LOAD_CPU : undefined,
    }),
  }));
  await Promise.all(
    backends.map(({ backend, child }) => waitForHealthy(child, `${backend.adminUrl}/health`, HEALTH_TIMEOUT_MS)),
  );

  // Start every target up front so a gateway that cannot start fails the run
  // in seconds, not after the baseline has been measured.
  const targets = options.targets.map((target) => ({
    target,
    child: supervisor.start({
      name: target.name,
      script: built[target.script],
      compiled: true,
      args: target.args,
      // Both as `quilt serve` runs (bin/quilt.js): graphql-js without its development checks.
      env: { NODE_ENV: 'production' },
      cpu: pin ? TARGET_CPU : undefined,
    }),
  }));
  await Promise.all(
    targets.map(({ target, child }) =>
      waitForHealthy(child, `http://${DEMO_HOST}:${target.port}/healthz`, HEALTH_TIMEOUT_MS),
    ),
  );
  if (pin) pinProcess(process.pid, LOAD_CPU);

  const measurements: Measurement[] = [];
  for (const query of BENCH_QUERIES) {
    const rounds = new Map<Target, Measurement[]>();
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const { target, child } of order) {
        const m = await measureQuery(
          query,
          { ...target, pid: child.pid },
          {
            seconds: options.seconds,
            warmupSeconds: round === 0 ? options.warmupSeconds : 0,
            connections: CONNECTIONS,
          },
        );
        rounds.set(target.name, [...(rounds.get(target.name) ?? []), m]);
      }
    }
    const perTarget = targets.map(({ target }) => medianRound(rounds.get(target.name)!));
    const gateway = perTarget.find((m) => m.target === 'gateway');
    const [base, gw] = [rounds.get('baseline'), rounds.get('gateway')];
    if (gateway && base && gw && !gateway.error) {
      const ratios = gw.map((m, i) => m.requestsPerSecond / base[i].requestsPerSecond).sort((a, b) => a - b);
      gateway.roundRatio = ratios[Math.floor(ratios.length / 2)];
      gateway.roundRatios = ratios;
      const cpuRatios = gw
        .map((m, i) => (m.cpuMsPerRequest ?? Number.NaN) / (base[i].cpuMsPerRequest ?? Number.NaN))
        .filter((r) => Number.isFinite(r))
        .sort((a, b) => a - b);
      if (cpuRatios.length) gateway.cpuRatio = cpuRatios[Math.floor(cpuRatios.length / 2)];
    }
    measurements.push(...perTarget);
  }
  await supervisor.stopAll(); // free the CPUs (and ports) for the pool section

  const report = renderReport(
    {
      facts,
      seconds: options.seconds,
      rounds: options.rounds,
      warmupSeconds: options.warmupSeconds,
      connections: CONNECTIONS,
      pinning,
      queries: BENCH_QUERIES,
    },
    measurements,
  );
  const failed = measurements.filter((m) => m.error !== undefined).length;
  const problems = failed > 0 ? [`${failed} query/target pair(s) failed their response check`] : [];
  for (const m of measurements) {
    const expected = BENCH_QUERIES.find((q) => q.name === m.query)?.expectedUpstreamCalls;
    if (m.error === undefined && expected !== undefined && m.upstreamCalls !== expected) {
      problems.push(`${m.query} / ${m.target} made ${m.upstreamCalls} upstream calls per query, expected ${expected}`);
    }
  }
  return { report, problems };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const needsGateway =
    options.runPool ||
    options.runSecurity ||
    (options.runMain && options.targets.some((target) => target.name === 'gateway'));
  if (needsGateway && !existsSync(join(REPO_ROOT, GATEWAY_ENTRY))) {
    throw new Error(`gateway entry point ${GATEWAY_ENTRY} not found (use --only baseline to bench the baseline alone)`);
  }
  await assertPortsFree(
    [
      ...(options.runMain ? [...backendPorts(), ...options.targets.map((target) => target.port)] : []),
      ...(options.runPool ? poolPorts() : []),
      ...(options.runSecurity ? securityPorts() : []),
    ],
    DEMO_HOST,
    'stop whatever holds them (`npm start`?) and retry',
  );

  const facts = systemFacts(); // before pinning ourselves, or nproc would say 1
  const pin = canPinCpus();
  const pinning = pin
    ? `taskset: target (gateway/baseline) on CPU ${TARGET_CPU}; backends and load generator on CPU ${LOAD_CPU}`
    : 'not pinned (taskset unavailable or fewer than 2 CPUs)';
  log(`CPU layout: ${pinning}`);

  // Every section runs the gateway compiled, as the image does (bench/build-targets.ts).
  const built = buildTargets(log);
  const problems: string[] = [];
  const parts: { main?: string; pool?: string; security?: string; openapi?: string } = {};
  if (options.runMain) {
    const queries = await runQueries(options, built, facts, pin, pinning);
    console.log(`\n${queries.report}`);
    parts.main = queries.report;
    problems.push(...queries.problems);
  }
  // The pool and security sections run with the same timing and CPU layout.
  const sectionSettings = {
    seconds: options.seconds,
    rounds: options.rounds,
    warmupSeconds: options.warmupSeconds,
    cpus: pin ? { target: TARGET_CPU, load: LOAD_CPU } : undefined,
    gateway: built.gateway,
    newSupervisor,
    log,
  };
  if (options.runPool) {
    if (pin) pinProcess(process.pid, LOAD_CPU);
    const results = await runPoolBench(sectionSettings);
    parts.pool = renderPoolSection(results);
    console.log(`\n${parts.pool}`);
    problems.push(...poolProblems(results));
  }
  if (options.runSecurity) {
    // The earlier sections' processes (the pool's replicas) must not share the CPUs.
    for (const each of supervisors) await each.stopAll();
    if (pin) pinProcess(process.pid, LOAD_CPU);
    const results = await runSecurityBench(sectionSettings);
    parts.security = renderSecuritySection(results);
    console.log(`\n${parts.security}`);
    problems.push(...securityProblems(results));
  }

  if (options.runOpenApi) {
    for (const each of supervisors) await each.stopAll();
    const rows = await runOpenApiBench(options.rounds, log);
    parts.openapi = renderOpenApiSection(rows, new Date().toISOString().slice(0, 10));
    console.log(`\n${parts.openapi}`);
    problems.push(...openApiProblems(rows));
  }

  if (options.write) {
    const { rest: existing, separate } = splitOffSeparateSections(
      existsSync(options.outFile) ? readFileSync(options.outFile, 'utf8') : '',
    );
    const merged = mergeOpenApiSection(existing, parts.openapi, (rest) => mergeAllResults(rest, parts));
    writeFileSync(options.outFile, `${[merged.trimEnd(), ...separate].join('\n\n')}\n`);
    const shown = relative(process.cwd(), options.outFile);
    log(`wrote ${shown.startsWith('..') ? options.outFile : shown}`);
  }
  await finish(problems.length > 0 ? 1 : 0, problems.length > 0 ? problems.join('; ') : undefined);
}

main().catch((error: unknown) => finish(1, error instanceof Error ? error.message : String(error)));
