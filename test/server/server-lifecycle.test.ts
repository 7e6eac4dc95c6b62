// `quilt serve` as a real process: health endpoints, JSON logs with the request id, and a
// graceful shutdown on SIGTERM that lets the request in flight finish.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { httpUpstream, payload, tempSchemasDir } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

const repoRoot = new URL('../..', import.meta.url).pathname;

describe('quilt serve process', () => {
  let upstream: TestServer;
  let child: ChildProcess;
  let url = '';
  const lines: Record<string, any>[] = [];

  before(async () => {
    upstream = await startTestServer((req, res) => {
      const delay = req.url.startsWith('/slow') ? 600 : 0;
      setTimeout(() => sendJson(res, 200, { id: req.url }), delay);
    });
    const dir = tempSchemasDir({
      'a.graphql': `${httpUpstream('a', [upstream.url])}
type Thing { id: ID }
type Query { fast: Thing @http(GET: "/fast") slow: Thing @http(GET: "/slow") }`,
    });
    child = spawn(process.execPath, ['bin/quilt.js', 'serve', '--port', '0', '--host', '127.0.0.1', '--schemas', dir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, QUILT_LOG_LEVEL: 'info' },
    });
    const rl = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`quilt exited early with ${code}`)));
      rl.on('line', (line) => {
        const entry = JSON.parse(line);
        lines.push(entry);
        if (entry.msg === 'quilt listening') {
          url = new URL(entry.url).origin;
          resolve();
        }
      });
    });
  });
  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await upstream?.close();
  });

  test('GET /healthz and GET /readyz', async () => {
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { status: string; upstreams: string[] };
    assert.equal(body.status, 'ready');
    assert.deepEqual(body.upstreams, ['a']);
  });

  test('each request is logged as JSON with its request id', async () => {
    await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'log-me-1' },
      body: '{"query":"{ fast { id } }"}',
    });
    await new Promise((r) => setTimeout(r, 100));
    const line = lines.find((l) => l.requestId === 'log-me-1' && l.msg === 'request');
    assert.ok(line, 'an access log line carries the request id');
    assert.equal(line.status, 200);
    assert.equal(typeof line.ms, 'number');
  });

  test('SIGTERM: the request in flight finishes, then the process exits 0', async () => {
    const inFlight = fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ slow { id } }"}',
    });
    await new Promise((r) => setTimeout(r, 150));
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const res = await inFlight;
    assert.deepEqual(payload(await res.json()), { data: { slow: { id: '/slow' } } });
    const [code] = await exited;
    assert.equal(code, 0);
    await assert.rejects(fetch(`${url}/healthz`), 'no new connections after shutdown');
    assert.ok(lines.some((l) => l.msg === 'stopped'));
  });
});
