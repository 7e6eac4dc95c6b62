// `npm run bench:soak -- [--minutes 10] [--rate 150] [--write]`: the gateway over the demo
// backends for a long run of mixed queries at a moderate, paced rate, while one backend
// replica is killed (SIGKILL) and restarted every minute and a schema file is rewritten every
// 30 s (a hot reload). Every 10 s it samples the gateway's RSS, open file descriptors and
// sockets (/proc), and the event loop's delay p99 (the gateway's own metric). It reports RSS
// over time (growth of its floor after the first two minutes, bar 10%), failed queries (HTTP
// errors and GraphQL errors in bodies, bar 0), descriptors and sockets at the end against the
// load's (no leak), and the event-loop p99; --write puts the report in bench/RESULTS.md (## Soak).
import { cpSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChildSpec,
  type ManagedChild,
  ProcessSupervisor,
  waitForHealthy,
} from '../demo/backends/process-supervisor.js';
import { DEMO_BACKENDS, DEMO_HOST, GATEWAY_SCHEMAS_DIR, REPO_ROOT } from '../demo/backends/topology.js';
import { buildTargets } from './build-targets.js';
import { BENCH_QUERIES } from './queries.js';
import { writeResultsSection } from './results-section.js';

const QUERIES = BENCH_QUERIES.map((q) => q.query);
const PORT = 4160;
const SAMPLE_EVERY_MS = 10_000;
const RESTART_EVERY_MS = 60_000;
const RELOAD_EVERY_MS = 30_000;
const MAX_IN_FLIGHT = 64;
/** Replicas killed in turn; each service keeps its other replica meanwhile. */
const RESTARTED = ['users-2', 'products-2', 'orders-2'];

interface Sample {
  atS: number;
  rssMb: number;
  fds: number;
  sockets: number;
  eventLoopP99Ms: number;
  queries: number;
  failed: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function procStats(pid: number): { rssMb: number; fds: number; sockets: number } {
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  const fds = readdirSync(`/proc/${pid}/fd`);
  let sockets = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed between the listing and the read
    }
  }
  return { rssMb: rssKb / 1024, fds: fds.length, sockets };
}

async function eventLoopP99Ms(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith('quilt_nodejs_eventloop_lag_p99_seconds '));
  return line ? Number(line.split(' ')[1]) * 1000 : Number.NaN;
}

async function main(): Promise<void> {
  const minutes = Number(arg('minutes', '10'));
  const rate = Number(arg('rate', '150'));
  const durationMs = minutes * 60_000;
  const schemas = mkdtempSync(join(tmpdir(), 'quilt-soak-'));
  cpSync(join(REPO_ROOT, GATEWAY_SCHEMAS_DIR), schemas, { recursive: true });
  let restarting = false;
  const supervisor = new ProcessSupervisor((child) => {
    if (restarting) return;
    console.error(`[soak] ${child.name} exited unexpectedly; aborting`);
    void supervisor.stopAll().then(() => process.exit(1));
  });
  const specs = new Map<string, ChildSpec>(
    DEMO_BACKENDS.map((b) => [b.name, { name: b.name, script: b.script, args: ['--port', String(b.port)] }]),
  );
  const children = new Map<string, ManagedChild>();
  for (const b of DEMO_BACKENDS) children.set(b.name, supervisor.start(specs.get(b.name)!));
  await Promise.all(DEMO_BACKENDS.map((b) => waitForHealthy(children.get(b.name)!, `${b.adminUrl}/health`)));
  // Compiled, as the image runs it (bench/build-targets.ts): through tsx, every stack trace a
  // failing replica causes makes Node parse and keep one more module's source map.
  const gateway = supervisor.start({
    name: 'gateway',
    script: buildTargets((m) => console.log(`[soak] ${m}`)).gateway,
    compiled: true,
    args: ['serve', '--schemas', schemas, '--port', String(PORT), '--log-level', 'warn'],
    env: { NODE_ENV: 'production' }, // as bin/quilt.js runs it
  });
  await waitForHealthy(gateway, `http://${DEMO_HOST}:${PORT}/healthz`);
  const url = `http://${DEMO_HOST}:${PORT}/graphql`;

  let sent = 0;
  let done = 0;
  let failed = 0;
  const failures = new Map<string, number>();
  const fail = (why: string) => {
    failed++;
    failures.set(why, (failures.get(why) ?? 0) + 1);
  };
  const one = async (query: string) => {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
      const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
      if (res.status !== 200) fail(`HTTP ${res.status}`);
      else if (body.errors?.length) fail(String(body.errors[0]?.extensions?.code ?? 'error'));
    } catch (e) {
      fail((e as Error).message);
    } finally {
      done++;
    }
  };

  const started = Date.now();
  const samples: Sample[] = [];
  const events: string[] = [];
  const sample = async () => {
    const stats = procStats(gateway.pid);
    samples.push({
      atS: Math.round((Date.now() - started) / 1000),
      ...stats,
      eventLoopP99Ms: await eventLoopP99Ms(`http://${DEMO_HOST}:${PORT}/metrics`),
      queries: done,
      failed,
    });
    const s = samples.at(-1)!;
    console.log(
      `[soak] ${s.atS}s: RSS ${s.rssMb.toFixed(1)} MB, fds ${s.fds}, sockets ${s.sockets}, event loop p99 ${s.eventLoopP99Ms.toFixed(1)} ms, ${s.queries} queries, ${s.failed} failed`,
    );
  };
  await sample();
  const timers = [
    setInterval(() => void sample(), SAMPLE_EVERY_MS),
    setInterval(() => {
      const file = join(schemas, 'users.graphql');
      writeFileSync(
        file,
        `${readFileSync(file, 'utf8').replace(/\n# soak reload \d+\n$/, '\n')}# soak reload ${Date.now()}\n`,
      );
      events.push(`${Math.round((Date.now() - started) / 1000)}s reload`);
    }, RELOAD_EVERY_MS),
  ];
  let restarts = 0;
  timers.push(
    setInterval(() => {
      const name = RESTARTED[restarts++ % RESTARTED.length]!;
      const child = children.get(name)!;
      restarting = true;
      process.kill(child.pid, 'SIGKILL');
      events.push(`${Math.round((Date.now() - started) / 1000)}s SIGKILL ${name}`);
      void child.exited.then(() => {
        restarting = false;
        setTimeout(() => children.set(name, supervisor.start(specs.get(name)!)), 1_000);
      });
    }, RESTART_EVERY_MS),
  );
  // Paced load: one query every 1/rate s, round robin over the mix, at most MAX_IN_FLIGHT at once.
  while (Date.now() - started < durationMs) {
    const due = started + (sent * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (sent - done >= MAX_IN_FLIGHT) {
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    void one(QUERIES[sent % QUERIES.length]!);
    sent++;
  }
  for (const t of timers) clearInterval(t);
  while (done < sent) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 2_000)); // idle: connections settle
  await sample();
  await supervisor.stopAll();
  rmSync(schemas, { recursive: true, force: true });

  const report = render({ minutes, rate, samples, failed, failures, sent, events });
  console.log(report);
  if (process.argv.includes('--write')) writeResultsSection(report);
}

function render(r: {
  minutes: number;
  rate: number;
  samples: Sample[];
  failed: number;
  failures: Map<string, number>;
  sent: number;
  events: string[];
}): string {
  // V8's heap is a sawtooth between major collections, and how high a tooth gets depends on
  // when the collector ran (a replica restart's burst of errors, a reload's compile), not on
  // what is kept. What is kept is the floor each collection comes back to: a leak raises every
  // later floor, a high tooth followed by a low floor is memory given back. So the bar compares
  // the lowest RSS of the last minute with the lowest of minute two; each minute's peak is shown
  // beside it. Descriptors and sockets: at the end, idle, against the most seen under load.
  const minuteOf = (m: number) => r.samples.filter((s) => s.atS > m * 60 && s.atS <= (m + 1) * 60);
  const minutes = Array.from({ length: Math.ceil(r.minutes) }, (_, m) => minuteOf(m).map((s) => s.rssMb)).filter(
    (m) => m.length > 0,
  );
  const floors = minutes.map((m) => Math.min(...m));
  const peaks = minutes.map((m) => Math.max(...m));
  const [floorTwo, floorLast] = [floors[1]!, floors.at(-1)!];
  const growth = (floorLast / floorTwo - 1) * 100;
  const [peakTwo, peakLater] = [peaks[1]!, Math.max(...peaks.slice(2))];
  const later = r.samples.filter((s) => s.atS > 120);
  const underLoad = later.length > 1 ? later.slice(0, -1) : r.samples;
  const mostFds = Math.max(...underLoad.map((s) => s.fds));
  const mostSockets = Math.max(...underLoad.map((s) => s.sockets));
  const last = r.samples.at(-1)!;
  const loopP99 = Math.max(...r.samples.map((s) => s.eventLoopP99Ms).filter(Number.isFinite));
  const rows = r.samples
    .filter((s, i) => i === r.samples.length - 1 || s.atS % 30 < 10)
    .map(
      (s) =>
        `| ${s.atS} | ${s.rssMb.toFixed(1)} | ${s.fds} | ${s.sockets} | ${s.eventLoopP99Ms.toFixed(1)} | ${s.queries} | ${s.failed} |`,
    );
  const pass = (ok: boolean) => (ok ? '**PASS**' : '**FAIL**');
  return [
    '## Soak (`npm run bench:soak`)',
    '',
    `- date: ${new Date().toISOString()}; ${r.minutes} min at ${r.rate} queries/s (paced, at most ${MAX_IN_FLIGHT} in flight), the five bench queries in turn; ${r.sent} queries`,
    `- faults: a replica SIGKILLed and restarted every ${RESTART_EVERY_MS / 1000} s (${RESTARTED.join(', ')} in turn), a schema file rewritten every ${RELOAD_EVERY_MS / 1000} s (hot reload); no CPU pinning; the gateway compiled to JavaScript, as the image runs it`,
    '',
    '| s | RSS MB | open fds | sockets | event loop p99 ms | queries | failed |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    ...(minutes.length < 3
      ? [
          `- RSS growth after minute two: not measured, the run is shorter than three minutes (RSS lowest ${Math.min(...floors).toFixed(0)} MB, highest ${Math.max(...peaks).toFixed(0)} MB)`,
        ]
      : [
          `- RSS growth after minute two: ${growth.toFixed(1)}% (the lowest RSS of minute two ${floorTwo.toFixed(1)} MB, of the last minute ${floorLast.toFixed(1)} MB; bar 10%): ${pass(growth <= 10)}`,
          `- RSS lowest of each minute: ${floors.map((p) => p.toFixed(0)).join(', ')} MB; highest of each minute: ${peaks.map((p) => p.toFixed(0)).join(', ')} MB (the highest after minute two ${((peakLater / peakTwo - 1) * 100).toFixed(0)}% over minute two's: not a bar, see bench/soak.ts)`,
        ]),
    `- failed queries: ${r.failed}${r.failed ? ` (${[...r.failures].map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''} (bar 0): ${pass(r.failed === 0)}`,
    `- open fds / sockets at the end, idle: ${last.fds} / ${last.sockets}, the most under load after minute two: ${mostFds} / ${mostSockets}: ${pass(last.fds <= mostFds && last.sockets <= mostSockets)}`,
    `- event loop delay p99 (highest sample of quilt_nodejs_eventloop_lag_p99_seconds): ${loopP99.toFixed(1)} ms`,
    '',
  ].join('\n');
}

await main();
