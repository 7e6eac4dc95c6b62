// `npm run bench:profile -- [--query lookup|list|batched|merged|fan-out] [--seconds N] [--security]`:
// one gateway under load with V8's CPU profiler on (node --cpu-prof), over the demo backends
// (--security: the security section's "on" gateway, JWT, cost budget and @rateLimit, and its token),
// then the profile's top frames by self time, grouped by function and file: where the
// gateway's time goes, to read before optimizing (bench/RESULTS.md keeps the findings).
// The .cpuprofile is left in .tmp/profile/ for Chrome DevTools or speedscope.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type ManagedChild, ProcessSupervisor, waitForHealthy } from '../demo/backends/process-supervisor.js';
import { DEMO_BACKENDS, DEMO_HOST, DEMO_JWT, GATEWAY_SCHEMAS_DIR, REPO_ROOT } from '../demo/backends/topology.js';
import { runLoad } from './measure.js';
import { BENCH_QUERIES } from './queries.js';
import { mintToken, SECURITY_ON_FLAGS, writeRateLimitedSchemas } from './security.js';

const QUERIES: Record<string, string> = Object.fromEntries(BENCH_QUERIES.map((q) => [q.name, q.query]));
const PORT = 4150;
const OUT = join(REPO_ROOT, '.tmp/profile');
const TOP = 25;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** Self time per function (name, file:line), as shares of all samples. */
function topFrames(file: string): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const byFrame = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${relative(REPO_ROOT, url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '(native)';
    const key = `${functionName || '(anonymous)'} ${where}`;
    byFrame.set(key, (byFrame.get(key) ?? 0) + hits);
  }
  return [...byFrame.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)
    .map(([frame, hits]) => `${((hits / total) * 100).toFixed(1).padStart(5)}%  ${frame}`);
}

async function main(): Promise<void> {
  const name = arg('query', 'lookup');
  const query = QUERIES[name];
  if (!query) throw new Error(`--query must be one of ${Object.keys(QUERIES).join(', ')}`);
  const seconds = Number(arg('seconds', '10'));
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const supervisor = new ProcessSupervisor((child) => {
    console.error(`[profile] ${child.name} exited unexpectedly`);
    void supervisor.stopAll().then(() => process.exit(1));
  });
  const backends = DEMO_BACKENDS.map((b) => ({
    b,
    child: supervisor.start({ name: b.name, script: b.script, args: ['--port', String(b.port)] }),
  }));
  await Promise.all(backends.map(({ b, child }) => waitForHealthy(child, `${b.adminUrl}/health`)));
  const security = process.argv.includes('--security');
  const schemas = security ? join(OUT, 'schemas') : GATEWAY_SCHEMAS_DIR;
  if (security) {
    mkdirSync(schemas);
    writeRateLimitedSchemas(schemas);
  }
  const headers: Record<string, string> = security
    ? { authorization: `Bearer ${await mintToken(DEMO_JWT.secret)}` }
    : {};
  const gateway: ManagedChild = supervisor.start({
    name: 'gateway',
    script: 'src/cli/main.ts',
    args: [
      ...['serve', '--schemas', schemas, '--port', String(PORT), '--log-level', 'warn'],
      ...(security ? SECURITY_ON_FLAGS : []),
    ],
    nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${OUT}`],
    env: { NODE_ENV: 'production' }, // as bin/quilt.js runs it
  });
  await waitForHealthy(gateway, `http://${DEMO_HOST}:${PORT}/healthz`);
  const url = `http://${DEMO_HOST}:${PORT}/graphql`;
  await runLoad(url, query, 20, 2, headers); // warm-up, so the profile shows steady state more than start-up
  const load = await runLoad(url, query, 20, seconds, headers);
  console.log(`[profile] ${name}: ${load.requestsPerSecond.toFixed(0)} req/s over ${seconds} s`);
  await supervisor.stopAll();
  const files = readdirSync(OUT).filter((f) => f.endsWith('.cpuprofile'));
  // The gateway's own profile is the largest (tsx's loader threads write small ones).
  const largest = files.map((f) => ({ f, size: readFileSync(join(OUT, f)).length })).sort((a, b) => b.size - a.size)[0];
  if (!largest) throw new Error(`no .cpuprofile in ${OUT}`);
  console.log(`[profile] top ${TOP} frames by self time (${relative(REPO_ROOT, join(OUT, largest.f))}):`);
  for (const line of topFrames(join(OUT, largest.f))) console.log(line);
}

await main();
