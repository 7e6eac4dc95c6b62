// The life of WebSocket connections beyond one operation: the upgrade refused by the IP lists
// (before any handshake), a client without graphql-transport-ws, --no-introspection over the
// socket, a token that expires under an open subscription, graceful shutdown (a query in
// flight finishes, then 1001), and `quilt serve --workers 2` as a real process tree (each
// connection on one worker; SIGTERM closes them with 1001 and cancels their gRPC streams).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { type RunningGrpcService, startOrdersService } from '../../demo/backends/orders.js';
import { startProductsService } from '../../demo/backends/products.js';
import { type RunningService, startUsersService } from '../../demo/backends/users.js';
import { DEFAULT_SECURITY } from '../../src/security/options.js';
import { type Harness, httpUpstream, startHarness, tempSchemasDir } from '../helpers/gateway-harness.js';
import { demoSchema, ORDERS_PROTO_TEXT } from '../helpers/grpc-fixtures.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { mintToken } from '../helpers/jwt-fixtures.js';
import { freePort } from '../helpers/prism.js';
import { eventually } from '../helpers/wait.js';
import { results, WS_SECRET, wsClient, wsSecurity } from '../helpers/websocket-client.js';

const WATCH = 'subscription { orderEvents(userId: "2", count: 1000, intervalMs: 60000) { kind } }';

/** Subscribes and resolves at the first event; the subscription stays open. */
function firstEvent(client: ReturnType<typeof wsClient>): Promise<void> {
  return new Promise((resolve, reject) => {
    client.subscribe({ query: WATCH }, { next: () => resolve(), error: reject, complete: () => {} });
  });
}

/** What a plain ws client (no graphql-ws) gets: the refused upgrade's status and body, or the close. */
function rawConnect(url: string, protocol?: string) {
  return new Promise<{ status?: number; body?: string; close?: number }>((resolve) => {
    const socket = protocol === undefined ? new WebSocket(url) : new WebSocket(url, protocol);
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    socket.on('close', (code) => resolve({ close: code }));
    socket.on('error', () => {});
  });
}

describe('WebSocket connections', () => {
  let users: RunningService;
  let products: RunningService;
  let orders: RunningGrpcService;
  let slow: TestServer;
  before(async () => {
    [users, products, orders] = await Promise.all([startUsersService(), startProductsService(), startOrdersService()]);
    slow = await startTestServer((_req, res) => setTimeout(() => sendJson(res, 200, { v: 'done' }), 400));
  });
  after(async () => {
    await Promise.all([users?.close(), products?.close(), orders?.close(), slow?.close()]);
  });
  const files = () => ({
    'users.graphql': demoSchema('users.graphql', [users.url]),
    'products.graphql': demoSchema('products.graphql', [`${products.url}/catalog/v1`]),
    'orders.graphql': demoSchema('orders.graphql', [orders.target]),
    'orders.proto': ORDERS_PROTO_TEXT,
    'slow.graphql': `${httpUpstream('slow', [slow.url])}\ntype Slow { v: String }\ntype Query { slow: Slow @http(GET: "/slow") }`,
  });

  test('an address outside --ip-allow is refused at the upgrade with 403, before any handshake', async () => {
    const h = await startHarness(files(), {
      security: { ...DEFAULT_SECURITY, hardening: { ...DEFAULT_SECURITY.hardening, ipAllow: ['10.0.0.0/8'] } },
    });
    try {
      const r = await rawConnect(`${h.gateway.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
      assert.equal(r.status, 403);
      assert.equal(JSON.parse(r.body!).errors[0].extensions.code, 'FORBIDDEN');
      const metrics = await (await fetch(`${h.gateway.url}/metrics`)).text();
      assert.match(metrics, /quilt_limit_rejections_total\{reason="ip"\} 1/);
    } finally {
      await h.close();
    }
  });

  test('no graphql-transport-ws: 4406; another path: 404; a message over --max-body-bytes: 1009', async () => {
    const h = await startHarness(files(), {
      security: { ...DEFAULT_SECURITY, hardening: { ...DEFAULT_SECURITY.hardening, maxBodyBytes: 2048 } },
    });
    try {
      const url = `${h.gateway.url.replace('http', 'ws')}`;
      assert.deepEqual(await rawConnect(`${url}/graphql`), { close: 4406 });
      assert.equal((await rawConnect(`${url}/elsewhere`, 'graphql-transport-ws')).status, 404);
      const socket = new WebSocket(`${url}/graphql`, 'graphql-transport-ws');
      await once(socket, 'open');
      socket.send(JSON.stringify({ type: 'connection_init' }));
      socket.send(
        JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `{ ${'__typename '.repeat(300)}}` } }),
      );
      const [code] = await once(socket, 'close');
      assert.equal(code, 1009);
    } finally {
      await h.close();
    }
  });

  test('--trusted-documents and --no-websocket: no WebSocket is served', async () => {
    const dir = tempSchemasDir({ 'trusted.json': '{}' });
    for (const options of [
      {
        security: {
          ...DEFAULT_SECURITY,
          hardening: { ...DEFAULT_SECURITY.hardening, trustedDocuments: join(dir, 'trusted.json') },
        },
      },
      { websocket: false },
    ]) {
      const h = await startHarness(files(), options);
      try {
        const r = await rawConnect(`${h.gateway.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
        // Answered as a plain GET by yoga (no 101 Switching Protocols): never a socket.
        assert.equal(r.close, undefined, JSON.stringify(r));
        assert.ok(r.status! >= 400, JSON.stringify(r));
        assert.ok(!h.logs.some((l) => l.msg === 'websocket opened'));
      } finally {
        await h.close();
      }
    }
  });

  test('--no-introspection and --no-graphiql hold over the socket too', async () => {
    const h = await startHarness(files(), {
      graphiql: false,
      security: { ...DEFAULT_SECURITY, hardening: { ...DEFAULT_SECURITY.hardening, introspection: false } },
    });
    const client = wsClient(h);
    try {
      await assert.rejects(results(client, '{ __schema { types { name } } }'), (errors: any) => {
        assert.equal(errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
        return true;
      });
      const [r] = await results(client, '{ user(id: "1") { name } }');
      assert.deepEqual(r!.data, { user: { name: 'User 1' } });
    } finally {
      await client.dispose();
      await h.close();
    }
  });

  test('a token that expires closes its connection with 4403 and cancels its gRPC stream', async () => {
    const h = await startHarness(files(), { security: wsSecurity() });
    orders.reset();
    const token = await mintToken(WS_SECRET, { sub: 'ada', expiresInSec: 2 });
    const client = wsClient(h, { connectionParams: { Authorization: `Bearer ${token}` } });
    try {
      await firstEvent(client);
      await eventually(() => client.closes.length === 1, { what: 'the connection closed', timeoutMs: 8_000 });
      assert.equal(client.closes[0]!.code, 4403);
      assert.equal(client.closes[0]!.reason, 'Forbidden: Token expired');
      await eventually(() => orders.cancellations() === 1, { what: 'the stream cancelled upstream' });
    } finally {
      await client.dispose();
      await h.close();
    }
  });

  test('graceful shutdown: a query in flight is answered, then every connection closes with 1001', async () => {
    const h = await startHarness(files());
    orders.reset();
    const watching = wsClient(h);
    const querying = wsClient(h, { lazy: false });
    await firstEvent(watching);
    const answer = results(querying, '{ slow { v } }');
    await eventually(() => slow.seen.length > 0, { what: 'the slow call started' });
    const started = performance.now();
    await h.close();
    assert.ok(performance.now() - started < 5_000, 'shutdown did not wait for the grace period');
    const [r] = await answer;
    assert.deepEqual(r!.data, { slow: { v: 'done' } });
    assert.deepEqual([watching.closes[0]?.code, querying.closes[0]?.code], [1001, 1001]);
    await eventually(() => orders.cancellations() === 1, { what: 'the subscription cancelled upstream' });
  });
});

describe('a WebSocket token from the upgrade request', () => {
  let users: RunningService;
  let h: Harness;
  const EMAIL = '{ user(id: "4") { email } }';
  /** ws with headers on its upgrade request, as a non-browser client (or a browser's cookies) sends them. */
  const withHeaders = (headers: Record<string, string>) =>
    class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers });
      }
    };
  before(async () => {
    users = await startUsersService();
    h = await startHarness(
      {
        'users.graphql': demoSchema('users.graphql', [users.url], (t) =>
          t.replace('  email: String\n', '  email: String @requiresScopes(scopes: [["users:email"]])\n'),
        ),
      },
      { security: wsSecurity({ jwt: { ...wsSecurity().jwt!, cookie: 'quilt_token' } }) },
    );
  });
  after(async () => {
    await h?.close();
    await users?.close();
  });
  const emailWith = async (headers: Record<string, string>) => {
    const client = wsClient(h, { webSocketImpl: withHeaders(headers) });
    try {
      const [r] = await results(client, EMAIL);
      return r!;
    } finally {
      await client.dispose();
    }
  };

  test('the Authorization header of the upgrade request, and the cookie from the same origin, are read', async () => {
    const token = await mintToken(WS_SECRET, { claims: { scope: 'users:email' } });
    const expected = { user: { email: 'user4@example.com' } };
    assert.deepEqual((await emailWith({ authorization: `Bearer ${token}` })).data, expected);
    assert.deepEqual((await emailWith({ cookie: `quilt_token=${token}`, origin: h.gateway.url })).data, expected);
    assert.deepEqual((await emailWith({ cookie: `quilt_token=${token}` })).data, expected, 'no Origin: not a browser');
  });

  test("a cross-origin page's cookie is ignored: the connection is anonymous", async () => {
    const token = await mintToken(WS_SECRET, { claims: { scope: 'users:email' } });
    const r = await emailWith({ cookie: `quilt_token=${token}`, origin: 'https://elsewhere.example' });
    assert.deepEqual(r.data, { user: { email: null } });
    assert.equal(r.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });
});

describe('WebSocket under quilt serve --workers 2', () => {
  let orders: RunningGrpcService;
  let products: RunningService;
  let child: ChildProcess;
  let port = 0;
  const lines: Record<string, any>[] = [];

  before(async () => {
    [orders, products] = await Promise.all([startOrdersService(), startProductsService()]);
    const dir = tempSchemasDir({
      'products.graphql': demoSchema('products.graphql', [`${products.url}/catalog/v1`]),
      'orders.graphql': demoSchema('orders.graphql', [orders.target]),
      'orders.proto': ORDERS_PROTO_TEXT,
    });
    port = await freePort();
    child = spawn(
      process.execPath,
      ['bin/quilt.js', 'serve', '--workers', '2', '--port', String(port), '--host', '127.0.0.1', '--schemas', dir],
      { cwd: new URL('../..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line)));
    await eventually(() => lines.filter((l) => l.msg === 'quilt listening').length === 2, {
      what: 'two workers listening',
      // Each worker compiles the sources through tsx when there is no dist/: slow on a busy machine.
      timeoutMs: 90_000,
    });
  });
  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all([orders?.close(), products?.close()]);
  });

  test('each connection lands on one worker; SIGTERM closes them with 1001 and cancels their streams', async () => {
    const h = { gateway: { url: `http://127.0.0.1:${port}` } } as Harness;
    const clients = [wsClient(h), wsClient(h)];
    await Promise.all(clients.map(firstEvent));
    const opened = lines.filter((l) => l.msg === 'websocket opened').map((l) => l.pid);
    assert.equal(new Set(opened).size, 2, `one connection per worker: ${JSON.stringify(opened)}`);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.deepEqual(
      clients.map((c) => c.closes[0]?.code),
      [1001, 1001],
    );
    await eventually(() => orders.cancellations() === 2, { what: 'both streams cancelled upstream' });
  });
});
