// `node --import tsx bench/tracing.ts`: what tracing costs on the bench's fan-out query
// (README, "Tracing (OpenTelemetry)"). Gateway processes over the demo backends, measured in
// alternating rounds (env BENCH_SECONDS, default 8; BENCH_ROUNDS, default 3):
// - off:    `quilt serve` without --otlp-endpoint;
// - on:     --otlp-endpoint to a receiver in this process that accepts every export;
// - ratio0: the same with --otel-sample-ratio 0 (traceparent still sent, nothing recorded);
// - als:    "on", plus an AsyncLocalStorage run() around every request (bench/als-shim.mjs):
//           the cost of carrying the trace context in OpenTelemetry's AsyncLocalStorage
//           context manager instead of the request's context, as Quilt does.
// Prints per variant (medians of the rounds) the gateway's CPU time per request (user + system,
// from /proc), req/s, p50/p99 and peak RSS, and what the receiver got.
// `--profile`: "on", "ratio0" and "als" under node --cpu-prof, then the share of each one's CPU samples
// during its measured load (windows read on the monotonic clock, which this process and V8's
// profiler share) spent in tracing (a stack through src/observability/tracing/ or
// @opentelemetry/, the operation's wrapper itself excepted) and in async hooks (what
// AsyncLocalStorage runs on every promise): ratios that hold even on a machine too loaded for
// req/s to mean much. Neither counts the garbage collection the spans cause.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  canPinCpus,
  type ManagedChild,
  ProcessSupervisor,
  pinProcess,
  waitForHealthy,
} from '../demo/backends/process-supervisor.js';
import { DEMO_BACKENDS, DEMO_HOST, GATEWAY_ENTRY, GATEWAY_SCHEMAS_DIR, REPO_ROOT } from '../demo/backends/topology.js';
import { runLoad, samplePeakRss } from './measure.js';
import { FAN_OUT_QUERY } from './queries.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 20;

let exportedBytes = 0;
let exports = 0;
const receiver = createServer((req, res) => {
  req.on('data', (c: Buffer) => (exportedBytes += c.length));
  req.on('end', () => {
    exports++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((r) => receiver.listen(0, DEMO_HOST, r));
const otlp = `http://${DEMO_HOST}:${(receiver.address() as AddressInfo).port}`;

const supervisor = new ProcessSupervisor((child) => {
  console.error(`[tracing bench] ${child.name} exited unexpectedly`);
  void supervisor.stopAll().then(() => process.exit(1));
});
const pin = canPinCpus();
for (const b of DEMO_BACKENDS) {
  const child = supervisor.start({
    name: b.name,
    script: b.script,
    args: ['--port', String(b.port)],
    cpu: pin ? 1 : undefined,
  });
  await waitForHealthy(child, `${b.adminUrl}/health`);
}
const PROFILE = process.argv.includes('--profile');
const profileDir = (variant: string) => join(REPO_ROOT, '.tmp/profile-tracing', variant);
const profiled = (variant: string) => (PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profileDir(variant)}`] : []);
const variants = [
  { name: 'off', port: 4501, args: [] as string[], nodeFlags: [] as string[] },
  { name: 'on', port: 4502, args: ['--otlp-endpoint', otlp], nodeFlags: profiled('on') },
  {
    name: 'ratio0',
    port: 4503,
    args: ['--otlp-endpoint', otlp, '--otel-sample-ratio', '0'],
    nodeFlags: profiled('ratio0'),
  },
  {
    name: 'als',
    port: 4504,
    args: ['--otlp-endpoint', otlp],
    nodeFlags: ['--import', './bench/als-shim.mjs', ...profiled('als')],
  },
].filter((v) => !PROFILE || v.nodeFlags.includes('--cpu-prof'));
if (PROFILE) {
  rmSync(join(REPO_ROOT, '.tmp/profile-tracing'), { recursive: true, force: true });
  for (const v of variants) mkdirSync(profileDir(v.name), { recursive: true });
}
/** Per variant, the monotonic-clock windows (µs) of its measured load. */
const windows = new Map<string, [number, number][]>();
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const children = new Map<string, ManagedChild>();
for (const v of variants) {
  const child = supervisor.start({
    name: v.name,
    script: GATEWAY_ENTRY,
    args: ['serve', '--schemas', GATEWAY_SCHEMAS_DIR, '--port', String(v.port), '--log-level', 'warn', ...v.args],
    nodeFlags: v.nodeFlags,
    env: { NODE_ENV: 'production' },
    cpu: pin ? 0 : undefined,
  });
  // Generous: four gateways start at once, on one CPU when pinned.
  await waitForHealthy(child, `http://${DEMO_HOST}:${v.port}/healthz`, 90_000);
  children.set(v.name, child);
}
if (pin) pinProcess(process.pid, 1);

/** CPU time (user + system) a process has used, in ms (Linux /proc, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Round {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  cpuPerRequestMs: number;
  rss?: number;
}

const load = (port: number, seconds: number) =>
  runLoad(`http://${DEMO_HOST}:${port}/graphql`, FAN_OUT_QUERY, CONNECTIONS, seconds);

const results = new Map<string, Round[]>();
for (const v of variants) await load(v.port, 2);
for (let round = 0; round < ROUNDS; round++) {
  for (const v of round % 2 ? [...variants].reverse() : variants) {
    const pid = children.get(v.name)!.pid;
    const rss = samplePeakRss(pid);
    const cpuBefore = cpuMs(pid);
    const started = nowUs();
    const r = await load(v.port, SECONDS);
    windows.set(v.name, [...(windows.get(v.name) ?? []), [started, nowUs()]]);
    const cpuPerRequestMs = (cpuMs(pid) - cpuBefore) / (r.requestsPerSecond * SECONDS);
    results.set(v.name, [...(results.get(v.name) ?? []), { ...r, cpuPerRequestMs, rss: rss.stop() }]);
    console.log(
      `[tracing bench] round ${round + 1} ${v.name}: ${r.requestsPerSecond.toFixed(0)} req/s, ${cpuPerRequestMs.toFixed(3)} ms CPU/request`,
    );
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const offCpu = median((results.get('off') ?? results.get(variants[0]!.name)!).map((r) => r.cpuPerRequestMs));
for (const v of variants) {
  const rs = results.get(v.name)!;
  const cpu = median(rs.map((r) => r.cpuPerRequestMs));
  console.log(
    `${v.name.padEnd(7)} CPU ${cpu.toFixed(3)} ms/request (${(cpu / offCpu).toFixed(2)}x ${PROFILE ? variants[0]!.name : 'off'})  ${median(rs.map((r) => r.requestsPerSecond)).toFixed(0)} req/s  p50 ${median(rs.map((r) => r.p50Ms))} ms  p99 ${median(rs.map((r) => r.p99Ms))} ms  peak RSS ${Math.max(...rs.map((r) => r.rss ?? 0)).toFixed(0)} MB  failures ${rs.reduce((n, r) => n + r.failures, 0)}`,
  );
}
console.log(`exports received: ${exports}, ${(exportedBytes / 1e6).toFixed(1)} MB`);
await supervisor.stopAll();
receiver.close();
if (PROFILE) for (const v of variants) printShares(v.name);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** The shares of a variant's samples, during its measured load, whose stack runs through tracing code or async hooks. */
function printShares(variant: string): void {
  const dir = profileDir(variant);
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => readFileSync(b).length - readFileSync(a).length)[0]!;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const isTracing = (n: ProfileNode, leaf: boolean) => {
    const { url, functionName } = n.callFrame;
    // The operation's instrumentation wraps the whole operation: only its own time is tracing's.
    if (url.includes('/src/observability/tracing/use-tracing.ts') && functionName === 'operation') return leaf;
    return url.includes('/src/observability/tracing/') || url.includes('/node_modules/@opentelemetry/');
  };
  const isAsyncHook = (n: ProfileNode) => /^node:(internal\/)?async_(hooks|local_storage)/.test(n.callFrame.url);
  const measured = windows.get(variant) ?? [];
  let total = 0;
  let tracing = 0;
  let hooks = 0;
  for (let i = 0, t = profile.startTime; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if (!measured.some(([from, to]) => t >= from && t <= to)) continue;
    const leaf = byId.get(profile.samples[i]!)!;
    if (leaf.callFrame.functionName === '(idle)') continue;
    total++;
    const stack: ProfileNode[] = [];
    for (let n: ProfileNode | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) stack.push(n);
    if (stack.some((n) => isTracing(n, n === leaf))) tracing++;
    if (stack.some(isAsyncHook)) hooks++;
  }
  const share = (n: number) => `${((n / total) * 100).toFixed(1)}%`;
  console.log(
    `${variant}: of ${total} samples under load, tracing ${share(tracing)} (about ${((tracing / (total - tracing)) * 100).toFixed(1)}% more CPU than untraced), async hooks ${share(hooks)}`,
  );
}
