// GraphQL over WebSocket (graphql-transport-ws) against a real gateway: graphql-ws's own
// client (with ws) over the demo's gRPC orders service (server streaming), its REST users
// and products services, and a REST service that answers slowly, so cancellation is seen
// where it matters, at the backend. Tokens are real HS256 JWTs.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Client, ClientOptions, ExecutionResult } from 'graphql-ws';
import { type RunningGrpcService, startOrdersService } from '../../demo/backends/orders.js';
import { type RunningService, startProductsService } from '../../demo/backends/products.js';
import { startUsersService } from '../../demo/backends/users.js';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { demoSchema, expectedOrderEvent, ORDERS_PROTO_TEXT, WATCH_ORDERS } from '../helpers/grpc-fixtures.js';
import { startTestServer, type TestServer } from '../helpers/json-server.js';
import { mintToken } from '../helpers/jwt-fixtures.js';
import { eventually } from '../helpers/wait.js';
import { results, WS_SECRET as SECRET, wsSecurity as security, wsClient } from '../helpers/websocket-client.js';

const OTHER_SECRET = 'not-the-gateway-secret-0123456789-abcdef';
const withoutCost = ({ extensions: _e, ...rest }: ExecutionResult) => rest;

describe('GraphQL over WebSocket', () => {
  let orders: RunningGrpcService;
  let products: RunningService;
  let users: RunningService;
  let slow: TestServer;
  /** Slow requests whose connection the gateway closed before the answer. */
  let abandoned = 0;
  let h: Harness;
  const clients: Client[] = [];
  const client = (options: Partial<ClientOptions> = {}) => {
    const c = wsClient(h, options);
    clients.push(c);
    return c;
  };

  before(async () => {
    [orders, products, users] = await Promise.all([startOrdersService(), startProductsService(), startUsersService()]);
    slow = await startTestServer((_req, res) => {
      const timer = setTimeout(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"v":"late"}'),
        3000,
      );
      res.on('close', () => {
        if (!res.writableFinished) abandoned++;
        clearTimeout(timer);
      });
    });
    h = await startHarness(
      {
        'products.graphql': demoSchema('products.graphql', [`${products.url}/catalog/v1`]),
        'orders.graphql': demoSchema('orders.graphql', [orders.target]),
        'orders.proto': ORDERS_PROTO_TEXT,
        'users.graphql': demoSchema('users.graphql', [users.url], (t) =>
          t
            .replace('  email: String\n', '  email: String @requiresScopes(scopes: [["users:email"]])\n')
            .replace('forwardHeaders: ["accept-language"]', 'forwardHeaders: ["accept-language", "authorization"]'),
        ),
        'slow.graphql': `${httpUpstream('slow', [slow.url], 'timeoutMs: 10000')}
type Late { v: String }
type Query { late: Late @http(GET: "/late") }`,
      },
      { security: security({ cost: { maxCost: 100, restoreRate: 10, defaultListSize: 100 } }) },
    );
  });
  after(async () => {
    for (const c of clients) await c.dispose();
    await h?.close();
    await Promise.all([orders?.close(), products?.close(), users?.close(), slow?.close()]);
  });
  beforeEach(() => {
    orders.reset();
    users.reset();
  });

  test('a subscription streams every event of the gRPC server stream, then completes', async () => {
    const got = await results(client(), WATCH_ORDERS, { u: '7', n: 5, ms: 10 });
    assert.deepEqual(
      got.map(withoutCost),
      Array.from({ length: 5 }, (_, i) => ({ data: { orderEvents: expectedOrderEvent(7, i) } })),
    );
    assert.deepEqual(orders.callsByMethod(), { WatchOrders: 1 });
    assert.equal(orders.cancellations(), 0, 'a stream that ended on its own is not cancelled');
  });

  test('a stream that fails before its first event sends the coded error as a next message, then completes', async () => {
    const got = await results(client(), WATCH_ORDERS, { u: '7', n: -1, ms: 1 });
    assert.equal(got.length, 1, JSON.stringify(got));
    assert.deepEqual(
      got[0]!.errors?.map((e) => e.extensions?.code),
      ['BAD_USER_INPUT'],
    );
    assert.doesNotMatch(JSON.stringify(got), /must not be negative|127\.0\.0\.1/, 'upstream details stay in the log');
  });

  test('a query and a mutation run over the same connection, and are counted in /metrics', async () => {
    const token = await mintToken(SECRET, { sub: 'ada' });
    const c = client({ connectionParams: { Authorization: `Bearer ${token}` } });
    const [query] = await results(c, 'query OneUser { user(id: "3") { id name fullName } }');
    assert.deepEqual(withoutCost(query!), {
      data: { user: { id: '3', name: 'User 3', fullName: 'User Three Example' } },
    });
    const [created] = await results(c, 'mutation Add($i: NewUser!) { createUser(input: $i) { name email } }', {
      i: { name: 'Grace', email: 'grace@example.com' },
    });
    assert.deepEqual(created!.data, { createUser: { name: 'Grace', email: null } });
    assert.deepEqual(
      created!.errors?.map((e) => [e.extensions?.code, e.path]),
      [['FORBIDDEN', ['createUser', 'email']]],
      'email needs the users:email scope',
    );
    const posts = users.requests.filter((r) => r.method === 'POST');
    assert.equal(posts.length, 1);
    assert.equal(posts[0]!.headers.authorization, `Bearer ${token}`, "forwardHeaders passes connection_init's token");
    const ids = users.requests.map((r) => r.headers['x-request-id']);
    assert.equal(new Set(ids).size, 2, `a request id per operation, sent upstream: ${ids}`);
    for (const id of ids) assert.match(String(id), /^[0-9a-f-]{36}$/);
    const metrics = await (await fetch(`${h.gateway.url}/metrics`)).text();
    assert.match(metrics, /quilt_graphql_requests_total\{operation="OneUser",type="query",outcome="success"\} 1/);
    assert.match(metrics, /quilt_graphql_requests_total\{operation="Add",type="mutation",outcome="error"\} 1/);
    assert.match(metrics, /quilt_websocket_connections [1-9]/);
  });

  test('the token in connection_init is the caller: scopes open @requiresScopes fields', async () => {
    const token = await mintToken(SECRET, { sub: 'ada', claims: { scope: 'users:email' } });
    for (const params of [
      { Authorization: `Bearer ${token}` },
      { authorization: `Bearer ${token}` },
      { headers: { Authorization: `Bearer ${token}` } },
    ]) {
      const [r] = await results(client({ connectionParams: params }), '{ user(id: "4") { email } }');
      assert.deepEqual(withoutCost(r!), { data: { user: { email: 'user4@example.com' } } }, JSON.stringify(params));
    }
  });

  test('no token: anonymous, and @authenticated fields are denied one by one', async () => {
    const c = client();
    const [r] = await results(c, 'mutation { createUser(input: { name: "Eve", email: "eve@example.com" }) { name } }');
    assert.deepEqual(r!.data, { createUser: null });
    assert.equal(r!.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.deepEqual(r!.errors?.[0]?.path, ['createUser']);
    assert.equal(
      users.requests.filter((q) => q.method === 'POST').length,
      0,
      'a denied mutation never reaches its upstream',
    );
    const [q] = await results(c, '{ user(id: "5") { name email } }');
    assert.deepEqual(q!.data, { user: { name: 'User 5', email: null } });
    assert.equal(q!.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });

  for (const [what, params] of [
    ['a forged token', async () => ({ Authorization: `Bearer ${await mintToken(OTHER_SECRET, { sub: 'mallory' })}` })],
    ['an expired token', async () => ({ Authorization: `Bearer ${await mintToken(SECRET, { expiresInSec: -5 })}` })],
    ['a value that is not "Bearer <token>"', async () => ({ Authorization: 'Token abc' })],
  ] as const) {
    test(`${what} in connection_init closes the socket with 4403, and nothing runs`, async () => {
      const c = client({ connectionParams: await params() });
      await assert.rejects(results(c, '{ user(id: "1") { name } }'), (e: CloseEvent) => {
        assert.equal(e.code, 4403);
        assert.match(e.reason, /^Forbidden: (Invalid token signature|Token expired|Malformed Authorization)/);
        return true;
      });
      assert.equal(users.calls(), 0);
    });
  }

  // The stream sends its first event at once and the next a minute later: the cancel has to
  // reach the backend while the stream is idle, not at its next event.
  test('a client that completes a subscription cancels its idle gRPC stream; the connection stays usable', async () => {
    // Not lazy: the socket stays open when its last operation ends, so only `complete` can cancel.
    const c = client({ lazy: false });
    const seen: unknown[] = [];
    for await (const r of c.iterate({ query: WATCH_ORDERS, variables: { u: '3', n: 1000, ms: 60_000 } })) {
      seen.push((r.data as any).orderEvents);
      break; // iterate's return() sends `complete`
    }
    assert.deepEqual(seen, [expectedOrderEvent(3, 0)]);
    await eventually(() => orders.cancellations() === 1, { what: 'the orders service sees the stream cancelled' });
    assert.deepEqual(c.closes, [], 'the connection stays open');
    const [r] = await results(c, '{ order(id: "3-1") { id } }');
    assert.deepEqual(withoutCost(r!), { data: { order: { id: '3-1' } } });
  });

  test('a socket that closes cancels its idle gRPC stream', async () => {
    const c = client();
    let first: () => void;
    const started = new Promise<void>((r) => (first = r));
    c.subscribe(
      { query: WATCH_ORDERS, variables: { u: '4', n: 1000, ms: 60_000 } },
      { next: () => first(), error: () => {}, complete: () => {} },
    );
    await started;
    c.terminate();
    await eventually(() => orders.cancellations() === 1, { what: 'the orders service sees the stream cancelled' });
  });

  test('a client that completes a running query cancels its upstream call', async () => {
    const before = abandoned;
    const c = client({ lazy: false });
    const unsubscribe = c.subscribe(
      { query: 'query Late { late { v } }' },
      { next: () => {}, error: () => {}, complete: () => {} },
    );
    await eventually(() => slow.seen.length > 0 && abandoned === before, {
      what: 'the slow call reaching its upstream',
    });
    unsubscribe();
    await eventually(() => abandoned === before + 1, { what: 'the slow upstream sees its request abandoned' });
    assert.equal(slow.seen.length, 1, 'a cancelled call is not retried');
    assert.deepEqual(c.closes, [], 'the connection stays open');
    const metrics = await eventually(async (): Promise<string> => {
      const text = await (await fetch(`${h.gateway.url}/metrics`)).text();
      return text.includes('operation="Late",type="query",outcome="cancelled"} 1') ? text : '';
    });
    assert.match(metrics, /quilt_upstream_calls_total\{upstream="slow",replica="[^"]+",outcome="cancelled"\} 1/);
  });

  test('an operation over --max-cost is refused with COST_LIMIT_EXCEEDED before any upstream call', async () => {
    const [r] = await results(client(), '{ users { id posts { id } orders { id } } }');
    assert.equal(r!.data, undefined);
    assert.equal(r!.errors?.[0]?.extensions?.code, 'COST_LIMIT_EXCEEDED');
    assert.equal(r!.errors?.[0]?.extensions?.http, undefined, 'HTTP details stay off the socket');
    assert.equal(users.calls() + orders.calls(), 0);
  });

  test('a document that does not parse or validate gets an error message; the connection stays open', async () => {
    const c = client();
    await assert.rejects(results(c, '{ user(id: "1") { name '), (errors: any) =>
      /Syntax Error/.test(errors[0].message),
    );
    await assert.rejects(
      results(c, '{ nope }'),
      (errors: any) => errors[0].extensions.code === 'GRAPHQL_VALIDATION_FAILED',
    );
    const [r] = await results(c, '{ order(id: "2-1") { id } }');
    assert.deepEqual(r!.data, { order: { id: '2-1' } });
  });
});
