// @defer and @stream through yoga's defer-stream plugin, against the demo's REST users and
// products services and gRPC orders service, and a REST service that answers late: a
// multipart/mixed client (test/helpers/multipart.ts) sees the first payload before the late
// part is ready, then the deferred and streamed parts; SSE and WebSocket carry the same
// payloads. Entity completion, authorization and cost apply to the deferred parts, and the
// calls each backend received are counted.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { makeOrders, type RunningGrpcService, startOrdersService } from '../../demo/backends/orders.js';
import { makeProduct, type RunningService, startProductsService } from '../../demo/backends/products.js';
import { startUsersService } from '../../demo/backends/users.js';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { demoSchema, ORDERS_PROTO_TEXT, sseEvents } from '../helpers/grpc-fixtures.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { mintToken } from '../helpers/jwt-fixtures.js';
import { multipartParts, type TimedPart } from '../helpers/multipart.js';
import { type ReviewsService, startReviewsService } from '../helpers/reviews-service.js';
import { results, wsSecurity as security, WS_SECRET, wsClient } from '../helpers/websocket-client.js';

/** The late service answers when the test lets it (or after this, so a broken gateway fails rather than hangs). */
const LATE_FALLBACK_MS = 5_000;

describe('@defer and @stream', () => {
  let orders: RunningGrpcService;
  let products: RunningService;
  let users: RunningService;
  let late: TestServer;
  /** Lets the late service answer; each test gets a new one. */
  let release: () => void = () => {};
  /** How each late answer was let go: by the test ('released') or by the fallback timer. */
  let answers: ('released' | 'fallback')[] = [];
  let h: Harness;

  const post = (query: string, accept: string, headers: Record<string, string> = {}) =>
    fetch(`${h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, ...headers },
      body: JSON.stringify({ query }),
    });
  /** Every part of a multipart/mixed answer, with `extensions` (the cost) left out. */
  async function multipart(query: string, headers: Record<string, string> = {}): Promise<TimedPart[]> {
    const res = await post(query, 'multipart/mixed', headers);
    assert.equal(res.status, 200);
    const parts: TimedPart[] = [];
    for await (const part of multipartParts(res)) {
      delete part.body.extensions;
      parts.push(part);
    }
    return parts;
  }
  const bodies = (parts: TimedPart[]) => parts.map((p) => p.body);

  before(async () => {
    [orders, products, users] = await Promise.all([startOrdersService(), startProductsService(), startUsersService()]);
    late = await startTestServer((_req, res) => {
      let timer: NodeJS.Timeout | undefined;
      const released = new Promise<'released'>((r) => (release = () => r('released')));
      const fallback = new Promise<'fallback'>((r) => (timer = setTimeout(() => r('fallback'), LATE_FALLBACK_MS)));
      void Promise.race([released, fallback]).then((how) => {
        clearTimeout(timer);
        answers.push(how);
        sendJson(res, 200, { v: 'late' });
      });
    });
    h = await startHarness(
      {
        'products.graphql': demoSchema('products.graphql', [`${products.url}/catalog/v1`]),
        'orders.graphql': demoSchema('orders.graphql', [orders.target]),
        'orders.proto': ORDERS_PROTO_TEXT,
        'users.graphql': demoSchema('users.graphql', [users.url], (t) =>
          t.replace('  email: String\n', '  email: String @requiresScopes(scopes: [["users:email"]])\n'),
        ),
        'late.graphql': `${httpUpstream('late', [late.url])}
type Late { v: String }
type Query { late: Late @http(GET: "/late") }`,
      },
      { security: security({ cost: { maxCost: 30, restoreRate: 10, defaultListSize: 10 } }) },
    );
  });
  after(async () => {
    await h?.close();
    await Promise.all([orders?.close(), products?.close(), users?.close(), late?.close()]);
  });
  beforeEach(() => {
    orders.reset();
    products.reset();
    users.reset();
    answers = [];
  });

  test('multipart: the first payload comes before the deferred part is ready, then the part', async () => {
    // The late upstream answers only once the client holds the first payload.
    const res = await post('{ product(id: "1") { id name } ... @defer { late { v } } }', 'multipart/mixed');
    const parts: unknown[] = [];
    for await (const part of multipartParts(res)) {
      delete part.body.extensions;
      parts.push(part.body);
      if (parts.length === 1) release();
    }
    assert.deepEqual(parts, [
      { data: { product: { id: '1', name: 'Product 1' } }, hasNext: true },
      { incremental: [{ data: { late: { v: 'late' } }, path: [] }], hasNext: false },
    ]);
    assert.deepEqual(answers, ['released'], 'the first payload did not wait for the deferred call');
  });

  test('a deferred entity field of another source is fetched in the deferred part, once', async () => {
    const parts = await multipart('{ product(id: "2") { name ... @defer(label: "who") { seller { id name } } } }');
    assert.deepEqual(bodies(parts), [
      { data: { product: { name: 'Product 2' } }, hasNext: true },
      {
        incremental: [{ data: { seller: { id: '2', name: 'User 2' } }, path: ['product'], label: 'who' }],
        hasNext: false,
      },
    ]);
    assert.equal(products.calls(), 1);
    assert.deepEqual(
      users.requests.map((r) => r.url),
      ['/users?ids=2'],
    );
  });

  test('fields of a deferred fragment below an entity come from the one completion call', async () => {
    // OrderItem.product is a Product the orders source knows by id: it is completed from the
    // products source where it enters the result, with every field selected below it,
    // deferred ones included; the deferred parts then need no call of their own.
    const [first, second] = makeOrders(5)[0]!.items.map((i) => makeProduct(Number(i.product_id)));
    const parts = await multipart('{ order(id: "5-1") { id items { product { id ... @defer { name price } } } } }');
    const [initial, ...rest] = bodies(parts);
    assert.deepEqual(initial, {
      data: { order: { id: '5-1', items: [{ product: { id: first!.id } }, { product: { id: second!.id } }] } },
      hasNext: true,
    });
    const incremental = rest.flatMap((b) => b.incremental).sort((a, b) => a.path[2] - b.path[2]);
    assert.deepEqual(incremental, [
      { data: { name: first!.name, price: first!.price }, path: ['order', 'items', 0, 'product'] },
      { data: { name: second!.name, price: second!.price }, path: ['order', 'items', 1, 'product'] },
    ]);
    assert.equal(rest.at(-1).hasNext, false);
    assert.deepEqual(
      products.requests.map((r) => r.path),
      ['/products'],
      'one batched lookup for both products, none for the deferred parts',
    );
  });

  test('@stream: the first items, then one part per remaining item', async () => {
    const parts = await multipart('{ users(limit: 4) @stream(initialCount: 2) { id name } }');
    const [initial, ...rest] = bodies(parts);
    assert.deepEqual(initial, {
      data: {
        users: [
          { id: '1', name: 'User 1' },
          { id: '2', name: 'User 2' },
        ],
      },
      hasNext: true,
    });
    const items = rest.flatMap((b) => b.incremental ?? []);
    assert.deepEqual(items, [
      { items: [{ id: '3', name: 'User 3' }], path: ['users', 2] },
      { items: [{ id: '4', name: 'User 4' }], path: ['users', 3] },
    ]);
    assert.equal(rest.at(-1).hasNext, false);
    assert.equal(users.calls(), 1);
  });

  test('a denied field in a deferred fragment is null, with its error, in the deferred part', async () => {
    const parts = await multipart('{ user(id: "3") { name ... @defer { email fullName } } }');
    assert.deepEqual(bodies(parts), [
      { data: { user: { name: 'User 3' } }, hasNext: true },
      {
        incremental: [
          {
            data: { email: null, fullName: 'User Three Example' },
            path: ['user'],
            errors: [
              {
                message: 'Access to User.email requires authentication',
                locations: [{ line: 1, column: 37 }],
                path: ['user', 'email'],
                extensions: { code: 'UNAUTHENTICATED' },
              },
            ],
          },
        ],
        hasNext: false,
      },
    ]);
    // With the scope, the same operation gets the email in the same part.
    const token = await mintToken(WS_SECRET, { claims: { scope: 'users:email' } });
    const allowed = await multipart('{ user(id: "3") { name ... @defer { email fullName } } }', {
      authorization: `Bearer ${token}`,
    });
    assert.deepEqual(allowed[1]!.body.incremental[0].data, {
      email: 'user3@example.com',
      fullName: 'User Three Example',
    });
  });

  test('a denied field in streamed items is null, with its error, in each item part', async () => {
    const parts = await multipart('{ users(limit: 2) @stream(initialCount: 1) { id email } }');
    const [initial, ...rest] = bodies(parts);
    assert.deepEqual(initial.data, { users: [{ id: '1', email: null }] });
    assert.deepEqual(
      initial.errors.map((e: any) => [e.extensions.code, e.path]),
      [['UNAUTHENTICATED', ['users', 0, 'email']]],
    );
    const [item] = rest.flatMap((b) => b.incremental ?? []);
    assert.deepEqual(item.items, [{ id: '2', email: null }]);
    assert.deepEqual(item.path, ['users', 1]);
    assert.deepEqual(
      item.errors.map((e: any) => [e.extensions.code, e.path]),
      [['UNAUTHENTICATED', ['users', 1, 'email']]],
    );
    assert.equal(item.label, undefined, "the gateway's own labels never reach the client");
  });

  test('the cost of deferred parts counts: over --max-cost the whole operation is refused', async () => {
    const deferred = await post(
      '{ users { id ... @defer { posts { id } orders { id } products { id } } } }',
      'multipart/mixed',
    );
    const plain = await post('{ users { id posts { id } orders { id } products { id } } }', 'application/json');
    for (const res of [deferred, plain]) {
      const text = await res.text();
      assert.match(text, /"code":"COST_LIMIT_EXCEEDED"/);
      assert.match(text, /"requestedQueryCost":31/);
    }
    assert.equal(users.calls() + orders.calls() + products.calls(), 0);
  });

  test('SSE carries the same payloads as events', async () => {
    const res = await post('{ product(id: "3") { name ... @defer { seller { name } } } }', 'text/event-stream');
    const events: { event: string; data: any }[] = [];
    for await (const e of sseEvents(res.body!)) events.push({ event: e.event, data: e.data && JSON.parse(e.data) });
    assert.deepEqual(
      events.map((e) => e.event),
      ['next', 'next', 'complete'],
    );
    assert.deepEqual(events[0]!.data.data, { product: { name: 'Product 3' } });
    assert.deepEqual(events[1]!.data.incremental, [{ data: { seller: { name: 'User 3' } }, path: ['product'] }]);
  });

  test('a WebSocket client gets each payload as a next message', async () => {
    const client = wsClient(h);
    try {
      const got = await results(client, '{ product(id: "4") { name ... @defer { seller { name } } } }');
      assert.deepEqual(
        got.map(({ extensions: _e, ...r }) => r),
        [
          { data: { product: { name: 'Product 4' } }, hasNext: true },
          { incremental: [{ data: { seller: { name: 'User 4' } }, path: ['product'] }], hasNext: false },
        ],
      );
    } finally {
      await client.dispose();
    }
  });
});

describe('@defer and @stream below a remote GraphQL source', () => {
  let reviews: ReviewsService;
  let h: Harness;
  before(async () => {
    reviews = await startReviewsService();
    h = await startHarness({
      'reviews.graphql': `extend schema @upstream(name: "reviews", protocol: GRAPHQL, introspect: true, replicas: [{ url: "${reviews.url}" }])\n`,
    });
  });
  after(async () => {
    await h?.close();
    await reviews?.close();
  });

  test('the remote is asked for the whole selection once; the gateway defers and streams it', async () => {
    const sent = reviews.requests.length;
    const res = await fetch(`${h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed' },
      body: JSON.stringify({ query: '{ reviews(limit: 2) @stream(initialCount: 1) { id ... @defer { stars } } }' }),
    });
    const parts: any[] = [];
    for await (const part of multipartParts(res)) parts.push(part.body);
    assert.deepEqual(parts[0], { data: { reviews: [{ id: '1-1' }] }, hasNext: true });
    // Parts may come in any order: compared sorted by path, then kind.
    const incremental = parts
      .slice(1)
      .flatMap((p) => p.incremental)
      .map((i) => ({ path: i.path, value: i.items ?? i.data, errors: i.errors }))
      .sort((a, b) => JSON.stringify([a.path, a.value]).localeCompare(JSON.stringify([b.path, b.value])));
    assert.deepEqual(incremental, [
      { path: ['reviews', 0], value: { stars: 3 }, errors: undefined },
      { path: ['reviews', 1], value: [{ id: '2-1' }], errors: undefined },
      { path: ['reviews', 1], value: { stars: 3 }, errors: undefined },
    ]);
    assert.equal(parts.at(-1).hasNext, false);
    const queries = reviews.requests.slice(sent).map((r) => r.query);
    assert.equal(queries.length, 1);
    assert.doesNotMatch(queries[0]!, /@defer|@stream/, 'the remote never sees the directives');
  });
});

describe('--no-defer-stream', () => {
  let users: RunningService;
  let h: Harness;
  before(async () => {
    users = await startUsersService();
    h = await startHarness({ 'users.graphql': demoSchema('users.graphql', [users.url]) }, { deferStream: false });
  });
  after(async () => {
    await h?.close();
    await users?.close();
  });

  test('@defer is an unknown directive, and nothing is called', async () => {
    const r = await h.query('{ user(id: "1") { name ... @defer { email } } }');
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.match(r.body.errors![0]!.message, /Unknown directive "@defer"/);
    assert.equal(users.calls(), 0);
  });
});
