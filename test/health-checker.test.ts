// Active health checks (issue 4) against real replicas on 127.0.0.1: HTTP, gRPC health v1 and
// remote GraphQL probes, rise/fall thresholds, timeouts, and the checker's lifecycle (update
// removes probes, stop ends them, no report after stop). Intervals are small (50 ms) so the
// whole file runs in a few seconds; timing assertions are loose on purpose.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { createSchema, createYoga } from 'graphql-yoga';
import { createHealthProbe, HealthChecker } from '../src/upstream/health/index.js';
import type { HealthProbe, HealthSettings } from '../src/upstream/types.js';
import { sendJson, startTestServer, type TestServer } from './helpers/json-server.js';

const settings: HealthSettings = { path: '/health', service: '', intervalMs: 50, timeoutMs: 1_000, healthyThreshold: 2, unhealthyThreshold: 2 };

interface Flip { url: string; healthy: boolean; reason: string; at: number }

/** A checker that records its flips; stopped (and its probe closed) after the file. */
function watch(probe: HealthProbe, urls: string[], overrides: Partial<HealthSettings> = {}) {
  const flips: Flip[] = [];
  const checker = new HealthChecker({ ...settings, ...overrides }, probe, (url, healthy, reason) => flips.push({ url, healthy, reason, at: Date.now() }));
  cleanups.push(async () => checker.stop());
  checker.update(urls);
  return { checker, flips };
}

async function waitFor(what: string, done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function probeOf(protocol: 'HTTP' | 'GRPC' | 'GRAPHQL', service = '', endpoint = '/graphql'): HealthProbe {
  const p = createHealthProbe(protocol, { ...settings, service }, endpoint);
  cleanups.push(p.close);
  return p.probe;
}

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function httpServer(handler: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const server = await startTestServer(handler);
  cleanups.push(server.close);
  return server;
}

describe('HTTP probe', () => {
  test('2xx is up; 503 takes it down after unhealthyThreshold failures, 2xx brings it back after healthyThreshold passes', async () => {
    let status = 200;
    const server = await httpServer((req, res) => sendJson(res, req.url === '/health' ? status : 404, { status }));
    const { flips } = watch(probeOf('HTTP'), [server.url]);
    await waitFor('three probes', () => server.seen.length >= 3);
    assert.equal(flips.length, 0, 'starts healthy and stays so');

    status = 503;
    const downFrom = Date.now();
    await waitFor('down', () => flips.length === 1);
    assert.equal(flips[0].healthy, false);
    assert.match(flips[0].reason, /HTTP 503/);
    assert.ok(flips[0].at - downFrom >= settings.intervalMs * 0.9, 'needs a second failed probe, an interval later');

    status = 204;
    const upFrom = Date.now();
    await waitFor('up', () => flips.length === 2);
    assert.deepEqual([flips[1].healthy, flips[1].reason], [true, 'passed 2 checks']);
    assert.ok(flips[1].at - upFrom >= settings.intervalMs * 0.9);
        assert.ok(server.seen.every((r) => r.method === 'GET' && r.url === '/health'));
  });

  test('a hung health endpoint (accepts, never answers) is down by timeout', async () => {
    const server = await httpServer(() => undefined);
    const { flips } = watch(probeOf('HTTP'), [server.url], { timeoutMs: 80 });
    await waitFor('down', () => flips.length === 1);
    assert.deepEqual([flips[0].healthy, flips[0].reason], [false, 'health check timed out after 80 ms']);
  });

  test('connection refused is down', async () => {
    const closed = await startTestServer(() => undefined);
    await closed.close();
    const { flips } = watch(probeOf('HTTP'), [closed.url]);
    await waitFor('down', () => flips.length === 1);
    assert.equal(flips[0].healthy, false);
    assert.match(flips[0].reason, /ECONNREFUSED/);
  });
});

describe('gRPC probe', () => {
  async function grpcServer(health: HealthImplementation): Promise<{ server: grpc.Server; address: string }> {
    const server = new grpc.Server();
    health.addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    cleanups.push(async () => server.forceShutdown());
    return { server, address: `127.0.0.1:${port}` };
  }

  test('SERVING is up, NOT_SERVING takes it down, SERVING brings it back', async () => {
    const health = new HealthImplementation({ '': 'SERVING', 'quilt.Books': 'SERVING' });
    const { address } = await grpcServer(health);
    const probe = probeOf('GRPC', 'quilt.Books');
    await probe(`grpc://${address}`, 3_000);
    const { flips } = watch(probe, [address]);
    await sleep(200);
    assert.equal(flips.length, 0);
    health.setStatus('quilt.Books', 'NOT_SERVING');
    await waitFor('down', () => flips.length === 1);
    assert.deepEqual([flips[0].healthy, flips[0].reason], [false, 'health status NOT_SERVING for service "quilt.Books"']);
    health.setStatus('quilt.Books', 'SERVING');
    await waitFor('up', () => flips.length === 2);
    assert.deepEqual([flips[1].healthy, flips[1].reason], [true, 'passed 2 checks']);
  });

  test('a service the replica does not know is down (grpc-health-check answers NOT_FOUND)', async () => {
    const { address } = await grpcServer(new HealthImplementation({ '': 'SERVING' }));
    const { flips } = watch(probeOf('GRPC', 'quilt.Nope'), [address]);
    await waitFor('down', () => flips.length === 1);
    assert.match(flips[0].reason, /NOT_FOUND/);
  });

  test('a killed server is down', async () => {
    const { server, address } = await grpcServer(new HealthImplementation({ '': 'SERVING' }));
    const { flips } = watch(probeOf('GRPC'), [address]);
    await sleep(150);
    assert.equal(flips.length, 0);
    server.forceShutdown();
    await waitFor('down', () => flips.length === 1);
    assert.match(flips[0].reason, /UNAVAILABLE/);
  });
});

describe('GraphQL probe', () => {
  test('{ __typename } answered is up; a non-GraphQL 200 is down', async () => {
    const yoga = createYoga({ schema: createSchema({ typeDefs: 'type Query { hello: String }' }), logging: false });
    const server: Server = createServer(yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
    const yogaUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const notGraphql = await httpServer((_req, res) => sendJson(res, 200, { ok: true }));

    const probe = probeOf('GRAPHQL');
    await probe(yogaUrl, 3_000);
    await assert.rejects(probe(notGraphql.url, 3_000), /no data.__typename/);
    const { flips } = watch(probe, [yogaUrl, notGraphql.url]);
    await waitFor('down', () => flips.length === 1);
    await sleep(150);
    assert.deepEqual(flips.map((f) => [f.url, f.healthy]), [[notGraphql.url, false]]);
    assert.equal(notGraphql.seen[0].body, '{"query":"{ __typename }"}');
  });
});

describe('HealthChecker lifecycle', () => {
  test('update() removing a url stops its probes; stop() stops all', async () => {
    const a = await httpServer((_req, res) => sendJson(res, 200, {}));
    const b = await httpServer((_req, res) => sendJson(res, 200, {}));
    const http = probeOf('HTTP');
    const sent = new Map<string, number>();
    const { checker } = watch((url, timeoutMs) => (sent.set(url, (sent.get(url) ?? 0) + 1), http(url, timeoutMs)), [a.url, b.url]);
    await waitFor('both probed', () => a.seen.length >= 2 && b.seen.length >= 2);
    checker.update([b.url]);
    const aSent = sent.get(a.url);
    await waitFor('a probe in flight to land', () => a.seen.length === aSent);
    const bSeen = b.seen.length;
    await waitFor('b probed twice more', () => b.seen.length >= bSeen + 2);
    assert.equal(sent.get(a.url), aSent, 'no probe of a after it was removed');
    assert.equal(a.seen.length, aSent);
    checker.stop();
    const bSent = sent.get(b.url);
    await waitFor('a probe in flight to land', () => b.seen.length === bSent);
    await sleep(250);
    assert.equal(sent.get(b.url), bSent, 'no probe after stop()');
    assert.equal(b.seen.length, bSent);
  });

  test('kept urls keep their state; a url removed and added again starts over', async () => {
    const { checker, flips } = watch(async () => { throw new Error('always down'); }, ['x'], { unhealthyThreshold: 1 });
    await waitFor('x down', () => flips.length === 1);
    checker.update(['x', 'y']);
    await waitFor('y down', () => flips.length === 2);
    await sleep(150);
    assert.deepEqual(flips.map((f) => `${f.url}:${f.healthy}:${f.reason}`), ['x:false:always down', 'y:false:always down']);
    checker.update(['y']);
    checker.update(['x', 'y']);
    await waitFor('x down again', () => flips.length === 3);
    assert.equal(flips[2].url, 'x');
  });

  test('no onChange after stop(), even for a probe in flight', async () => {
    const pending: Array<(e: Error) => void> = [];
    const { checker, flips } = watch(() => new Promise((_resolve, reject) => pending.push(reject)), ['x'], { unhealthyThreshold: 1, timeoutMs: 5_000 });
    await waitFor('a probe in flight', () => pending.length === 1);
    checker.stop();
    pending[0](new Error('late'));
    await sleep(100);
    assert.equal(flips.length, 0);
    assert.equal(pending.length, 1);
  });

  test('one probe in flight per url, even when probes outlast the interval', async () => {
    let running = 0;
    let most = 0;
    let calls = 0;
    const { checker } = watch(async () => {
      calls++;
      most = Math.max(most, ++running);
      await sleep(60);
      running--;
    }, ['x'], { intervalMs: 20, timeoutMs: 200 });
    await waitFor('several probes', () => calls >= 3);
    await waitFor('a probe in flight', () => running === 1);
    checker.update([]);
    checker.update(['x']); // x again, while its old probe still runs
    await waitFor('more probes', () => calls >= 6);
    assert.equal(most, 1);
  });

  test('a probe that never settles fails by the checker\'s own deadline', async () => {
    const { flips } = watch(() => new Promise(() => undefined), ['x'], { timeoutMs: 60, intervalMs: 20 });
    await waitFor('down', () => flips.length === 1);
    assert.deepEqual([flips[0].healthy, flips[0].reason], [false, 'health check timed out after 60 ms']);
  });

  test('a probe that throws synchronously is a failure, not a crash', async () => {
    const calls: number[] = [];
    const { flips } = watch(() => { calls.push(Date.now()); throw new Error('sync boom'); }, ['x'], { intervalMs: 40, unhealthyThreshold: 3 });
    await waitFor('down', () => flips.length === 1);
    assert.equal(flips[0].reason, 'sync boom');
    assert.equal(calls.length, 3);
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i] - calls[i - 1] >= 39, `gap ${calls[i] - calls[i - 1]} ms`);
  });

  test('the first probe comes within 10% of the interval, the next ones an interval plus up to 10% apart', async () => {
    const calls: number[] = [];
    const start = Date.now();
    const checker = new HealthChecker({ ...settings, intervalMs: 200 }, async () => void calls.push(Date.now()), () => undefined, () => 0.99);
    cleanups.push(async () => checker.stop());
    checker.update(['x']);
    await waitFor('two probes', () => calls.length === 2);
    checker.stop();
    assert.ok(calls[0] - start >= 15 && calls[0] - start < 1_000, `first probe after ${calls[0] - start} ms`);
    assert.ok(calls[1] - calls[0] >= 217, `second probe ${calls[1] - calls[0]} ms later`);
  });
});
