// `quilt serve` and tracing, as separate processes: without --otlp-endpoint no OpenTelemetry
// module is even loaded; with it (here from QUILT_OTLP_ENDPOINT, a base url), the spans of a
// request answered just before SIGTERM reach the collector because shutdown flushes them, and
// --otel-service-name wins over OTEL_SERVICE_NAME. Bad tracing settings stop serve with exit 2.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { otlpTracesUrl } from '../../src/cli/tracing-options.js';
import { httpUpstream, tempSchemasDir } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODULE_LOG_HOOK = fileURLToPath(new URL('../fixtures/module-log/register.mjs', import.meta.url));

interface Serve {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  /** The @opentelemetry modules the process resolved so far. */
  otelModules(): string[];
}

async function serve(schemas: string, args: string[], env: NodeJS.ProcessEnv): Promise<Serve> {
  const log = join(mkdtempSync(join(tmpdir(), 'quilt-modules-')), 'modules.txt');
  writeFileSync(log, '');
  const child = spawn(
    process.execPath,
    [
      '--import',
      MODULE_LOG_HOOK,
      'bin/quilt.js',
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--schemas',
      schemas,
      ...args,
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { PATH: process.env.PATH, QUILT_TEST_MODULE_LOG: log, ...env },
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    void exited.then((code) => reject(new Error(`quilt exited early with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line);
      if (entry.msg === 'quilt listening') resolve(new URL(entry.url).origin);
    });
  });
  const otelModules = () =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  return { child, url, exited, otelModules };
}

async function query(url: string): Promise<unknown> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: 'query Probe { user { id } }' }),
  });
  return res.json();
}

describe('quilt serve and tracing', () => {
  let upstream: TestServer;
  let rx: OtlpReceiver;
  let schemas: string;
  const children: ChildProcess[] = [];
  before(async () => {
    upstream = await startTestServer((_req, res) => sendJson(res, 200, { id: '7' }));
    rx = await startOtlpReceiver();
    schemas = tempSchemasDir({
      'users.graphql': `${httpUpstream('users', [upstream.url])}type User { id: ID }\ntype Query { user: User @http(GET: "/user") }\n`,
    });
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await upstream?.close();
    await rx?.close();
    rmSync(schemas, { recursive: true, force: true });
  });

  test('1 without --otlp-endpoint, serving a query loads no OpenTelemetry module and sends no traceparent', async () => {
    const s = await serve(schemas, [], {});
    children.push(s.child);
    assert.deepEqual(await query(s.url), { data: { user: { id: '7' } } });
    assert.deepEqual(s.otelModules(), []);
    assert.equal(upstream.seen.at(-1)!.headers.traceparent, undefined);
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
  });

  test('2 with QUILT_OTLP_ENDPOINT: spans flushed on SIGTERM, --otel-service-name over OTEL_SERVICE_NAME', async () => {
    const s = await serve(schemas, ['--otel-service-name', 'from-flag'], {
      QUILT_OTLP_ENDPOINT: rx.url,
      OTEL_SERVICE_NAME: 'from-env',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
    });
    children.push(s.child);
    assert.deepEqual(await query(s.url), { data: { user: { id: '7' } } });
    // The batch processor sends every 5 s: nothing has left yet, only shutdown can send these.
    assert.equal(rx.requests.length, 0);
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
    assert.deepEqual(rx.requests, [{ method: 'POST', path: '/v1/traces', contentType: 'application/json' }]);
    const op = rx.spans.find((x) => x.name === 'query Probe');
    assert.ok(op, `the operation span arrived (${rx.spans.map((x) => x.name).join(', ')})`);
    assert.equal(rx.spans.length, 3);
    assert.equal(op.resource['service.name'], 'from-flag');
    assert.equal(op.resource['deployment.environment.name'], 'test');
    const attempt = rx.spans.find((x) => x.parentSpanId !== undefined && x.parentSpanId !== op.spanId)!;
    assert.equal(upstream.seen.at(-1)!.headers.traceparent, `00-${op.traceId}-${attempt.spanId}-01`);
    assert.ok(
      s.otelModules().some((m) => m.includes('/@opentelemetry/sdk-trace-base/')),
      'the module log sees OpenTelemetry when it is loaded',
    );
  });

  test('3 bad tracing settings stop serve with exit 2, naming the flag or variable', async () => {
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          ['bin/quilt.js', 'serve', '--port', '0', '--schemas', schemas, ...args],
          { cwd: ROOT, env: { PATH: process.env.PATH, ...env } },
          (e, _stdout, stderr) => resolve({ code: e ? Number(e.code) : 0, stderr }),
        ),
      );
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [
        ['--otlp-endpoint', 'collector:4318'],
        {},
        /--otlp-endpoint: expected the http:\/\/ or https:\/\/ url of an OTLP\/HTTP collector .*received "collector:4318"/,
      ],
      [
        [],
        { QUILT_OTLP_ENDPOINT: 'http://c:4318', QUILT_OTEL_SAMPLE_RATIO: '1.5' },
        /QUILT_OTEL_SAMPLE_RATIO: expected a number from 0 to 1, received "1.5"/,
      ],
      [
        ['--otel-service-name', 'x'],
        {},
        /--otel-service-name has no effect without --otlp-endpoint \(QUILT_OTLP_ENDPOINT\)/,
      ],
    ];
    for (const [args, env, message] of cases) {
      const r = await run(args, env);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    }
  });

  test('4 --help lists the tracing flags with their variables', async () => {
    const help = await new Promise<string>((resolve) =>
      execFile(process.execPath, ['bin/quilt.js', '--help'], { cwd: ROOT }, (_e, stdout) => resolve(stdout)),
    );
    assert.match(help, /Tracing \(OpenTelemetry\):/);
    for (const [flag, variable] of [
      ['--otlp-endpoint URL', 'QUILT_OTLP_ENDPOINT'],
      ['--otel-service-name NAME', 'QUILT_OTEL_SERVICE_NAME'],
      ['--otel-sample-ratio R', 'QUILT_OTEL_SAMPLE_RATIO'],
    ])
      assert.match(help, new RegExp(`${flag} +${variable} `));
  });
});

describe('--otlp-endpoint: a base url, or the full /v1/traces url', () => {
  test('/v1/traces is appended to a base url and kept when already there', () => {
    const where = '--otlp-endpoint';
    assert.equal(otlpTracesUrl('http://collector:4318', where), 'http://collector:4318/v1/traces');
    assert.equal(otlpTracesUrl('http://collector:4318/', where), 'http://collector:4318/v1/traces');
    assert.equal(otlpTracesUrl('https://otlp.example.com/otlp', where), 'https://otlp.example.com/otlp/v1/traces');
    assert.equal(otlpTracesUrl('http://collector:4318/v1/traces', where), 'http://collector:4318/v1/traces');
    assert.throws(() => otlpTracesUrl('http://collector:4318/?x=1', where), /without a query/);
  });
});
