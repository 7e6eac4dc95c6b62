// `quilt serve --workers 2` as a real process tree: two workers share one port, each
// connection goes to one of them (their access-log lines carry their pid), /metrics on any
// worker counts the requests of both, a schema file dropped in the folder reaches both, a
// worker killed with SIGKILL is replaced while requests keep succeeding, and SIGTERM to the
// primary stops every process with exit code 0.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { httpUpstream, tempSchemasDir } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { freePort } from '../helpers/prism.js';
import { eventually } from '../helpers/wait.js';

const repoRoot = new URL('../..', import.meta.url).pathname;

/** One POST /graphql on a connection of its own, so that the primary hands it to the next worker. */
function queryOnNewConnection(port: number, query: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', connection: 'close' },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.end(JSON.stringify({ query }));
  });
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('quilt serve --workers 2', () => {
  let upstream: TestServer;
  let child: ChildProcess;
  let port = 0;
  let dir = '';
  const lines: Record<string, any>[] = [];
  const listening = () => lines.filter((l) => l.msg === 'quilt listening').map((l) => l.pid as number);
  const servedBy = (from: number) =>
    lines
      .slice(from)
      .filter((l) => l.msg === 'request' && l.status === 200)
      .map((l) => l.pid as number);

  before(async () => {
    upstream = await startTestServer((req, res) => sendJson(res, 200, { id: req.url }));
    dir = tempSchemasDir({
      'a.graphql': `${httpUpstream('a', [upstream.url])}
type Thing { id: ID }
type Query { thing: Thing @http(GET: "/thing") }`,
    });
    port = await freePort();
    child = spawn(
      process.execPath,
      ['bin/quilt.js', 'serve', '--workers', '2', '--port', String(port), '--host', '127.0.0.1', '--schemas', dir],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, QUILT_LOG_LEVEL: 'info' } },
    );
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line)));
    await eventually(() => new Set(listening()).size === 2, { what: 'two workers listening', timeoutMs: 30_000 });
  });
  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    for (const pid of listening()) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await upstream?.close();
  });

  test('connections are spread over both workers; /metrics on either counts the requests of both', async () => {
    const from = lines.length;
    for (let i = 0; i < 20; i++) {
      const r = await queryOnNewConnection(port, '{ thing { id } }');
      assert.deepEqual(r.body, { data: { thing: { id: '/thing' } } });
    }
    await eventually(() => servedBy(from).length === 20, { what: 'twenty access-log lines' });
    const perWorker = new Map<number, number>();
    for (const pid of servedBy(from)) perWorker.set(pid, (perWorker.get(pid) ?? 0) + 1);
    assert.equal(perWorker.size, 2, `both workers served: ${JSON.stringify([...perWorker])}`);
    for (const n of perWorker.values()) assert.ok(n < 20);
    for (let i = 0; i < 2; i++) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: 'close' } })).text();
      const line = text
        .split('\n')
        .find((l) =>
          l.startsWith('quilt_graphql_requests_total{operation="anonymous",type="query",outcome="success"}'),
        );
      assert.equal(line?.split(' ')[1], '20', `the instance's count, whichever worker answered: ${line}`);
    }
  });

  test('/status/history answers for the worker that takes the request, and says it is one of 2', async () => {
    // The first test's queries are in the workers' histories once their second is over.
    await new Promise((r) => setTimeout(r, 1100));
    const byWorker = new Map<number, number>();
    for (let i = 0; i < 10 && byWorker.size < 2; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/status/history`, { headers: { connection: 'close' } });
      const body = (await res.json()) as {
        process: { pid: number; workers: number };
        upstreams: { name: string; series: { calls: number[] } }[];
      };
      assert.equal(body.process.workers, 2);
      assert.ok(listening().includes(body.process.pid), `pid ${body.process.pid} is a worker's`);
      byWorker.set(
        body.process.pid,
        body.upstreams[0].series.calls.reduce((a, b) => a + b, 0),
      );
    }
    assert.equal(byWorker.size, 2, 'both workers answered');
    const counts = [...byWorker.values()];
    assert.ok(
      counts.every((n) => n > 0 && n < upstream.seen.length),
      `each its own share: ${counts}`,
    );
    assert.equal(counts[0] + counts[1], upstream.seen.length, 'together, every call the upstream received');
  });

  test('a schema file dropped into the folder reaches every worker', async () => {
    const from = lines.length;
    writeFileSync(
      join(dir, 'b.graphql'),
      `${httpUpstream('b', [upstream.url])}\nextend type Query { other: Thing @http(GET: "/other") }\ntype Thing { id: ID }\n`,
    );
    await eventually(
      () =>
        new Set(
          lines
            .slice(from)
            .filter((l) => l.msg === 'schema loaded' && l.version === 2)
            .map((l) => l.pid),
        ).size === 2,
      { what: 'both workers load version 2', timeoutMs: 10_000 },
    );
    for (let i = 0; i < 4; i++) {
      const r = await queryOnNewConnection(port, '{ other { id } }');
      assert.deepEqual(r.body, { data: { other: { id: '/other' } } });
    }
  });

  test('a worker killed with SIGKILL is replaced (and logged); requests keep succeeding', async () => {
    const [victim, survivor] = [...new Set(listening())] as [number, number];
    const from = lines.length;
    process.kill(victim, 'SIGKILL');
    await eventually(() => lines.slice(from).some((l) => l.msg === 'worker died; starting another'), {
      what: 'the primary logs the death',
    });
    const died = lines.slice(from).find((l) => l.msg === 'worker died; starting another')!;
    assert.deepEqual([died.role, died.workerPid, died.signal], ['primary', victim, 'SIGKILL']);
    // While the replacement starts, the survivor takes every new connection.
    const during = lines.length;
    for (let i = 0; i < 10; i++) {
      const r = await queryOnNewConnection(port, '{ thing { id } }');
      assert.equal(r.status, 200);
    }
    await eventually(() => lines.slice(from).some((l) => l.msg === 'quilt listening'), {
      what: 'a new worker listening',
      timeoutMs: 30_000,
    });
    const replacement = lines.slice(from).find((l) => l.msg === 'quilt listening')!.pid as number;
    assert.ok(replacement !== victim && replacement !== survivor);
    const duringPids = new Set(servedBy(during).filter((pid) => pid !== replacement));
    assert.deepEqual([...duringPids], [survivor], 'the survivor served while the replacement started');
    const after = lines.length;
    for (let i = 0; i < 10; i++) assert.equal((await queryOnNewConnection(port, '{ thing { id } }')).status, 200);
    await eventually(() => servedBy(after).length === 10, { what: 'ten access-log lines' });
    assert.ok(servedBy(after).includes(replacement), 'the replacement serves requests');
  });

  test('SIGTERM to the primary stops every worker, then the primary exits 0', async () => {
    const workers = [...new Set(listening())].filter(isAlive);
    assert.equal(workers.length, 2);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    for (const pid of workers) assert.equal(isAlive(pid), false, `worker ${pid} is gone`);
    assert.ok(lines.some((l) => l.msg === 'signal received: stopping every worker'));
  });
});
