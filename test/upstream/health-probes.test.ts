// The active health probes against real replicas on 127.0.0.1: HTTP GET, gRPC health v1 and
// remote GraphQL `{ __typename }`. Each probe is called directly: it resolves when the
// replica is up and rejects with the reason when it is down. How the checker schedules
// probes and applies thresholds is health-checker.test.ts, on a FakeClock; one test here
// runs the checker over a real probe to show the two fit together.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createSchema, createYoga } from 'graphql-yoga';
import { HealthImplementation } from 'grpc-health-check';
import { createHealthProbe, HealthChecker } from '../../src/upstream/health/index.js';
import type { HealthProbe, HealthSettings, Protocol } from '../../src/upstream/types.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { eventually } from '../helpers/wait.js';

const settings: HealthSettings = {
  path: '/health',
  service: '',
  intervalMs: 1_000,
  timeoutMs: 2_000,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function probeOf(protocol: Protocol, service = '', endpoint = '/graphql'): HealthProbe {
  const p = createHealthProbe(protocol, { ...settings, service }, endpoint);
  cleanups.push(p.close);
  return p.probe;
}

async function httpServer(handler: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const server = await startTestServer(handler);
  cleanups.push(server.close);
  return server;
}

describe('HTTP probe', () => {
  test('GET on the health path: 2xx is up, anything else is down with the status as the reason', async () => {
    let status = 200;
    const server = await httpServer((req, res) => sendJson(res, req.url === '/health' ? status : 404, { status }));
    const probe = probeOf('HTTP');
    await probe(server.url, 1_000);
    status = 204;
    await probe(server.url, 1_000);
    status = 503;
    await assert.rejects(probe(server.url, 1_000), /^Error: HTTP 503 from \/health$/);
    assert.ok(server.seen.every((r) => r.method === 'GET' && r.url === '/health'));
    assert.equal(server.seen[0].headers['user-agent'], 'quilt-health-check');
  });

  test('a hung health endpoint (accepts, never answers) is down by the probe timeout', async () => {
    const server = await httpServer(() => undefined);
    await assert.rejects(probeOf('HTTP')(server.url, 80), { message: 'health check timed out after 80 ms' });
  });

  test('connection refused is down', async () => {
    const closed = await startTestServer(() => undefined);
    await closed.close();
    await assert.rejects(probeOf('HTTP')(closed.url, 1_000), /ECONNREFUSED/);
  });

  test('the checker over the real probe: two failed checks take a replica down, two passes bring it back', async () => {
    let status = 200;
    const server = await httpServer((_req, res) => sendJson(res, status, {}));
    const probe = probeOf('HTTP');
    let settled = 0;
    const counted: HealthProbe = (url, ms) => probe(url, ms).finally(() => settled++);
    const clock = new FakeClock();
    const flips: string[] = [];
    const checker = new HealthChecker(
      settings,
      counted,
      (url, healthy, reason) => flips.push(`${url} ${healthy} ${reason}`),
      { clock, random: () => 0 },
    );
    cleanups.push(async () => checker.stop());
    checker.update([server.url]);
    const check = async () => {
      const before = settled;
      await clock.fireNext();
      await eventually(() => settled > before, { what: 'the probe to settle' });
      await clock.advance(0);
    };
    await check();
    status = 503;
    await check();
    assert.deepEqual(flips, [], 'one failure is below the threshold');
    await check();
    assert.deepEqual(flips, [`${server.url} false HTTP 503 from /health`]);
    status = 200;
    await check();
    await check();
    assert.deepEqual(flips.slice(1), [`${server.url} true passed 2 checks`]);
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

  test('grpc.health.v1 Check: SERVING is up, NOT_SERVING is down, SERVING again is up', async () => {
    const health = new HealthImplementation({ '': 'SERVING', 'quilt.Books': 'SERVING' });
    const { address } = await grpcServer(health);
    const probe = probeOf('GRPC', 'quilt.Books');
    await probe(`grpc://${address}`, 3_000);
    await probe(address, 3_000);
    health.setStatus('quilt.Books', 'NOT_SERVING');
    await assert.rejects(probe(address, 3_000), { message: 'health status NOT_SERVING for service "quilt.Books"' });
    health.setStatus('quilt.Books', 'SERVING');
    await probe(address, 3_000);
  });

  test('a service the replica does not know is down (grpc-health-check answers NOT_FOUND)', async () => {
    const { address } = await grpcServer(new HealthImplementation({ '': 'SERVING' }));
    await assert.rejects(probeOf('GRPC', 'quilt.Nope')(address, 3_000), /NOT_FOUND/);
  });

  test('a killed server is down', async () => {
    const { server, address } = await grpcServer(new HealthImplementation({ '': 'SERVING' }));
    const probe = probeOf('GRPC');
    await probe(address, 3_000);
    server.forceShutdown();
    await eventually(
      () =>
        probe(address, 500).then(
          () => false,
          (e: Error) => /UNAVAILABLE/.test(e.message),
        ),
      { what: 'UNAVAILABLE from the killed server' },
    );
  });
});

describe('GraphQL probe', () => {
  test('{ __typename } answered is up; a non-GraphQL 200 is down', async () => {
    const yoga = createYoga({ schema: createSchema({ typeDefs: 'type Query { hello: String }' }), logging: false });
    const server: Server = createServer(yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    );
    const yogaUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const notGraphql = await httpServer((_req, res) => sendJson(res, 200, { ok: true }));
    const probe = probeOf('GRAPHQL');
    await probe(yogaUrl, 3_000);
    await assert.rejects(probe(notGraphql.url, 3_000), /no data.__typename/);
    assert.equal(notGraphql.seen[0].body, '{"query":"{ __typename }"}');
    assert.equal(notGraphql.seen[0].method, 'POST');
  });
});
