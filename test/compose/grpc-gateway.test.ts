// gRPC sources end to end: GraphQL in, real grpc-js servers on 127.0.0.1 behind the
// gateway. The demo's fan-out over REST -> gRPC -> REST, metadata, status mapping and
// replicas with the demo orders service; the proto <-> GraphQL type mapping, status codes
// and deadlines with the mapping fixture (test/fixtures/grpc/mapping-server.ts).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { makeOrders, type RunningGrpcService, startOrdersService } from '../../demo/backends/orders.js';
import { makeProduct, startProductsService } from '../../demo/backends/products.js';
import { type RunningService, startUsersService } from '../../demo/backends/users.js';
import { loadGrpcService } from '../../src/connectors/grpc/proto.js';
import { type MappingServer, startMappingServer } from '../fixtures/grpc/mapping-server.js';
import { type Harness, payload, startHarness } from '../helpers/gateway-harness.js';
import {
  closedPort,
  demoSchema,
  MAPPING_PROTO,
  MAPPING_SERVICE,
  mappingSchema,
  ORDERS_PROTO_TEXT,
} from '../helpers/grpc-fixtures.js';

const BIG = '9007199254740993'; // 2^53 + 1: a Number would make it ...992
const FAN_OUT = '{ users(limit: 20) { id name orders { id total items { quantity product { id name price } } } } }';

/** Calls of `method` summed over the replicas. */
const callsOf = (replicas: RunningGrpcService[], method: string) =>
  replicas.reduce((n, r) => n + (r.callsByMethod()[method] ?? 0), 0);

/** The demo folder (users, products, orders + orders.proto); the orders upstream gets forwarded and static headers. */
function demoFolder(usersUrl: string, productsUrl: string, orderTargets: string[]): Record<string, string> {
  return {
    'users.graphql': demoSchema('users.graphql', [usersUrl]),
    'products.graphql': demoSchema('products.graphql', [productsUrl]),
    'orders.graphql': demoSchema('orders.graphql', orderTargets, (t) =>
      t.replace(
        'timeoutMs: 3000',
        'timeoutMs: 3000\n    forwardHeaders: ["x-tenant"]\n    headers: [{ name: "x-api-key", value: "static-key" }]',
      ),
    ),
    'orders.proto': ORDERS_PROTO_TEXT,
  };
}

describe('gRPC through the gateway: the demo orders service', () => {
  let users: RunningService;
  let products: RunningService;
  let orders: RunningGrpcService[];
  let h: Harness;

  before(async () => {
    [users, products, ...orders] = await Promise.all([
      startUsersService(),
      startProductsService(),
      startOrdersService(),
      startOrdersService(),
    ]);
    h = await startHarness(
      demoFolder(
        users.url,
        products.url,
        orders.map((o) => o.target),
      ),
    );
  });
  after(async () => {
    await h?.close();
    await Promise.all([users?.close(), products?.close(), ...(orders ?? []).map((o) => o.close())]);
  });
  beforeEach(() => {
    users.reset();
    products.reset();
    for (const o of orders) o.reset();
  });

  test('fan-out users -> orders -> products: correct data in exactly 3 upstream calls', async () => {
    const r = await h.query(FAN_OUT);
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    const list = r.body.data!.users as any[];
    assert.equal(list.length, 20);
    for (const [i, user] of list.entries()) {
      assert.equal(user.id, String(i + 1));
      const expected = makeOrders(i + 1);
      assert.deepEqual(
        user.orders.map((o: { id: string }) => o.id),
        expected.map((o) => o.id),
      );
      for (const [k, order] of user.orders.entries()) {
        const seed = expected[k]!;
        assert.deepEqual(
          order.items.map((it: any) => [it.quantity, it.product.id, it.product.name, it.product.price]),
          seed.items.map((it) => [
            it.quantity,
            it.product_id,
            `Product ${it.product_id}`,
            makeProduct(Number(it.product_id)).price,
          ]),
        );
        const cents = order.items.reduce(
          (sum: number, it: any) => sum + it.quantity * Math.round(it.product.price * 100),
          0,
        );
        assert.equal(order.total, cents / 100, `total of order ${order.id}`);
      }
    }
    assert.deepEqual(
      { users: users.calls(), products: products.calls(), orders: callsOf(orders, 'ListUserOrders') },
      { users: 1, products: 1, orders: 1 },
    );
    assert.equal(orders[0]!.calls() + orders[1]!.calls(), 1, 'no other gRPC call');
    const sent = [...orders[0]!.requests, ...orders[1]!.requests][0]!.request as { user_ids: string[] };
    assert.deepEqual(
      sent.user_ids,
      Array.from({ length: 20 }, (_, i) => String(i + 1)),
    );
  });

  test('x-request-id, a forwarded header and static @upstream headers reach the server as metadata', async () => {
    const r = await h.query('{ order(id: "4-2") { id userId status } }', undefined, {
      'x-request-id': 'rid-grpc-42',
      'x-tenant': 'acme',
      'x-other': 'no',
    });
    assert.deepEqual(payload(r.body), { data: { order: { id: '4-2', userId: '4', status: 'PAID' } } });
    const [call] = [...orders[0]!.requests, ...orders[1]!.requests];
    assert.equal(call!.method, 'GetOrder');
    assert.equal(call!.metadata['x-request-id'], 'rid-grpc-42');
    assert.equal(call!.metadata['x-tenant'], 'acme');
    assert.equal(call!.metadata['x-api-key'], 'static-key');
    assert.equal(call!.metadata['x-other'], undefined, 'only forwardHeaders are forwarded');
  });

  test('proto fields as GraphQL returns them: int64 as a string, Timestamp as ISO, wrapper null when unset', async () => {
    const r = await h.query('{ a: order(id: "1-1") { totalCents createdAt note } b: order(id: "1-3") { note } }');
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    const seed = makeOrders(1)[0]!;
    assert.deepEqual(r.body.data!.a, { totalCents: seed.total_cents, createdAt: '2026-01-01T00:00:00Z', note: null });
    assert.equal(r.body.data!.b.note, 'Order 1-3: leave the parcel at the door');
  });

  test('NOT_FOUND on a nullable single field is null without an error', async () => {
    const r = await h.query('{ order(id: "no-such-order") { id } }');
    assert.deepEqual(payload(r.body), { data: { order: null } });
    assert.equal(callsOf(orders, 'GetOrder'), 1);
  });

  test('INVALID_ARGUMENT is BAD_USER_INPUT; the status details stay in the log', async () => {
    const r = await h.query('mutation { createOrder(userId: "3", items: []) { id } }', undefined, {
      'x-request-id': 'rid-invalid',
    });
    assert.deepEqual(r.body.data, { createOrder: null });
    assert.equal(r.body.errors?.length, 1);
    assert.equal(r.body.errors![0]!.extensions?.code, 'BAD_USER_INPUT');
    assert.deepEqual(r.body.errors![0]!.path, ['createOrder']);
    assert.doesNotMatch(JSON.stringify(r.body), /at least one item|127\.0\.0\.1/);
    const line = h.logs.find(
      (l) => l.requestId === 'rid-invalid' && JSON.stringify(l).includes('an order needs at least one item'),
    );
    assert.ok(line, 'the upstream details are logged with the request id');
    assert.equal(callsOf(orders, 'CreateOrder'), 1);
  });

  test('identical reads in one request are made once', async () => {
    const r = await h.query(
      '{ a: order(id: "2-1") { id } b: order(id: "2-1") { total status } c: order(id: "2-2") { id } }',
    );
    assert.equal(r.body.errors, undefined);
    assert.deepEqual(r.body.data!.a, { id: '2-1' });
    assert.equal(r.body.data!.b.status, 'PENDING');
    assert.equal(callsOf(orders, 'GetOrder'), 2);
  });

  test('a mutation is sent once and its reply completed from the products source', async () => {
    const r = await h.query(
      'mutation { createOrder(userId: "5", items: [{ productId: "3", quantity: 2 }]) { userId status total items { quantity unitPrice product { name price } } } }',
    );
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    assert.deepEqual(r.body.data!.createOrder, {
      userId: '5',
      status: 'PENDING',
      total: 25.98,
      items: [{ quantity: 2, unitPrice: 12.99, product: { name: 'Product 3', price: 12.99 } }],
    });
    assert.equal(callsOf(orders, 'CreateOrder'), 1);
  });
});

describe('gRPC through the gateway: one replica of two down', () => {
  let users: RunningService;
  let products: RunningService;
  let live: RunningGrpcService;
  let h: Harness;

  before(async () => {
    [users, products, live] = await Promise.all([startUsersService(), startProductsService(), startOrdersService()]);
    h = await startHarness(demoFolder(users.url, products.url, [`127.0.0.1:${await closedPort()}`, live.target]));
  });
  after(async () => {
    await h?.close();
    await Promise.all([users?.close(), products?.close(), live?.close()]);
  });

  test('every read moves to the live replica', async () => {
    for (let i = 1; i <= 4; i++) {
      const r = await h.query(`{ order(id: "${i}-1") { id } }`);
      assert.deepEqual(payload(r.body), { data: { order: { id: `${i}-1` } } }, `query ${i}`);
    }
    const r = await h.query(FAN_OUT);
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    assert.equal(r.body.data!.users[19].orders.length, 3);
    assert.deepEqual(live.callsByMethod(), { GetOrder: 4, ListUserOrders: 1 });
  });

  test('each write is sent exactly once', async () => {
    live.reset();
    for (let i = 0; i < 4; i++) {
      const r = await h.query(
        'mutation { createOrder(userId: "9", items: [{ productId: "1", quantity: 1 }]) { userId total } }',
      );
      assert.deepEqual(payload(r.body), { data: { createOrder: { userId: '9', total: 10.99 } } }, `mutation ${i}`);
      assert.equal(live.callsByMethod().CreateOrder, i + 1);
    }
  });
});

describe('gRPC through the gateway: the mapping fixture', () => {
  let server: MappingServer;
  let h: Harness;

  before(async () => {
    server = await startMappingServer(loadGrpcService(MAPPING_PROTO, MAPPING_SERVICE));
    h = await startHarness({ 'mapping.graphql': mappingSchema(server.address, 'timeoutMs: 200') });
  });
  after(async () => {
    await h?.close();
    await server?.close();
  });

  const echo = async (input: unknown, selection: string) => {
    const r = await h.query(`query($in: JSON!) { echo(input: $in) { ${selection} } }`, { in: input });
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    return r.body.data!.echo as Record<string, any>;
  };

  test('int64 survives a round trip as a string (argument and JSON input alike)', async () => {
    const r = await h.query(
      `{ echoArgs(big: "${BIG}", color: GREEN, small: -7, blob: "AAEC/w==") { big color small blob } }`,
    );
    assert.deepEqual(payload(r.body), {
      data: { echoArgs: { big: BIG, color: 'GREEN', small: -7, blob: 'AAEC/w==' } },
    });
    assert.equal(server.lastEchoRequest().big, BIG, 'on the wire');
    const out = await echo(
      { big: BIG, ubig: '18446744073709551615', sbig: `-${BIG}`, bigs: [BIG, '-1'] },
      'big ubig sbig bigs',
    );
    assert.deepEqual(out, { big: BIG, ubig: '18446744073709551615', sbig: `-${BIG}`, bigs: [BIG, '-1'] });
  });

  test('enums by name, bytes as base64, Timestamp and Duration as strings', async () => {
    const out = await echo(
      { color: 'RED', colors: ['GREEN', 'RED'], blob: 'AAEC/w==', at: '2024-05-01T12:00:00.123Z', took: 'PT1.5S' },
      'color colors blob at took',
    );
    // Duration as ISO-8601 (README, "gRPC mapping"), in seconds: "PT1.5S" (trailing zeros allowed).
    assert.match(out.took, /^PT1\.50*S$/);
    assert.deepEqual(
      { ...out, took: undefined },
      { color: 'RED', colors: ['GREEN', 'RED'], blob: 'AAEC/w==', at: '2024-05-01T12:00:00.123Z', took: undefined },
    );
    const negative = await echo({ took: '-PT0.25S', at: '1969-12-31T23:59:59.500Z' }, 'took at');
    assert.deepEqual([negative.took.replace(/0+S$/, 'S'), negative.at], ['-PT0.25S', '1969-12-31T23:59:59.500Z']);
  });

  test('wrappers: null when unset, the value (even empty) when set', async () => {
    const unset = await echo({}, 'maybeText maybeInt maybeBig maybeFlag maybeBytes');
    assert.deepEqual(unset, { maybeText: null, maybeInt: null, maybeBig: null, maybeFlag: null, maybeBytes: null });
    const set = await echo(
      { maybeText: '', maybeInt: 0, maybeBig: BIG, maybeFlag: false, maybeBytes: 'AA==' },
      'maybeText maybeInt maybeBig maybeFlag maybeBytes',
    );
    assert.deepEqual(set, { maybeText: '', maybeInt: 0, maybeBig: BIG, maybeFlag: false, maybeBytes: 'AA==' });
  });

  test('nested and repeated messages; maps through a custom scalar', async () => {
    const input = {
      tag: { name: 'a', weight: BIG, color: 'RED' },
      tags: [{ name: 'b', weight: '1', color: 'GREEN' }, { name: 'c' }],
      tagsByName: { x: { name: 'x', weight: '2', color: 'RED' } },
      namesById: { [BIG]: 'big', '-5': 'minus five' },
    };
    const out = await echo(input, 'tag { name weight color } tags { name weight color } tagsByName namesById');
    assert.deepEqual(out, {
      tag: { name: 'a', weight: BIG, color: 'RED' },
      tags: [
        { name: 'b', weight: '1', color: 'GREEN' },
        { name: 'c', weight: '0', color: 'COLOR_UNSPECIFIED' },
      ],
      tagsByName: { x: { name: 'x', weight: '2', color: 'RED' } },
      namesById: { [BIG]: 'big', '-5': 'minus five' },
    });
  });

  test('oneof: the set member and the oneof name; the other members null', async () => {
    const out = await echo(
      { choiceTag: { name: 't', weight: '3', color: 'GREEN' } },
      'choice choiceText choiceBig choiceTag { name weight color }',
    );
    assert.deepEqual(out, {
      choice: 'choiceTag',
      choiceText: null,
      choiceBig: null,
      choiceTag: { name: 't', weight: '3', color: 'GREEN' },
    });
    const big = await echo({ choiceBig: BIG }, 'choice choiceBig choiceTag { name }');
    assert.deepEqual(big, { choice: 'choiceBig', choiceBig: BIG, choiceTag: null });
    const none = await echo({}, 'choice choiceText');
    assert.deepEqual(none, { choice: null, choiceText: null });
  });

  test('proto3 optional is null when unset and 0/"" when set so; plain scalars default to 0/""/false', async () => {
    const unset = await echo(
      {},
      'optInt optText optColor big small ratio flag text blob color tag { name } tags { name } bigs tagsByName',
    );
    assert.deepEqual(unset, {
      optInt: null,
      optText: null,
      optColor: null,
      big: '0',
      small: 0,
      ratio: 0,
      flag: false,
      text: '',
      blob: '',
      color: 'COLOR_UNSPECIFIED',
      tag: null,
      tags: [],
      bigs: [],
      tagsByName: {},
    });
    const zero = await echo({ optInt: 0, optText: '', optColor: 'COLOR_UNSPECIFIED' }, 'optInt optText optColor');
    assert.deepEqual(zero, { optInt: 0, optText: '', optColor: 'COLOR_UNSPECIFIED' });
  });

  test('status codes map onto the error catalog; details reach the log, never the client', async () => {
    const secret = 'db-password-hunter2';
    const r = await h.query(
      `query($d: String) { unauth: fail(code: 16, details: $d) denied: fail(code: 7, details: $d) internal: fail(code: 13, details: $d)
        exhausted: fail(code: 8, details: $d) missing: fail(code: 5, details: $d) ok: echoArgs(big: "7") { big } }`,
      { d: secret },
      { 'x-request-id': 'rid-statuses' },
    );
    assert.deepEqual(r.body.data, {
      unauth: null,
      denied: null,
      internal: null,
      exhausted: null,
      missing: null,
      ok: { big: '7' },
    });
    const byPath = new Map(r.body.errors!.map((e) => [e.path!.join('.'), e.extensions ?? {}]));
    assert.deepEqual([...byPath.keys()].sort(), ['denied', 'exhausted', 'internal', 'unauth']);
    // UNAUTHENTICATED and FORBIDDEN are the catalog's own codes; any other status is UPSTREAM_ERROR naming it.
    assert.deepEqual([byPath.get('unauth')!.code, byPath.get('unauth')!.upstream], ['UNAUTHENTICATED', 'mapping']);
    assert.deepEqual([byPath.get('denied')!.code, byPath.get('denied')!.upstream], ['FORBIDDEN', 'mapping']);
    assert.deepEqual(byPath.get('internal'), { code: 'UPSTREAM_ERROR', upstream: 'mapping', status: 'INTERNAL' });
    assert.deepEqual(byPath.get('exhausted'), {
      code: 'UPSTREAM_ERROR',
      upstream: 'mapping',
      status: 'RESOURCE_EXHAUSTED',
    });
    assert.ok(!byPath.has('missing'), 'NOT_FOUND on a nullable field: null without an error');
    assert.doesNotMatch(JSON.stringify(r.body), new RegExp(`${secret}|127\\.0\\.0\\.1|${server.port}`));
    const logged = h.logs.filter((l) => l.requestId === 'rid-statuses' && JSON.stringify(l).includes(secret));
    assert.ok(logged.length >= 4, `the details of each failure are logged (${logged.length} lines)`);
  });

  test('a deadline that expires is UPSTREAM_TIMEOUT; sibling fields still resolve', async () => {
    const cancelled = server.cancelled('Slow');
    const started = Date.now();
    const r = await h.query(`{ slow(delayMs: 3000) ok: echoArgs(big: "${BIG}") { big } }`);
    assert.ok(Date.now() - started < 2000, `answered after ${Date.now() - started} ms`);
    assert.deepEqual(r.body.data, { slow: null, ok: { big: BIG } });
    assert.equal(r.body.errors?.length, 1);
    assert.deepEqual([r.body.errors![0]!.path, r.body.errors![0]!.extensions?.code], [['slow'], 'UPSTREAM_TIMEOUT']);
    // The gateway gave up on the call: the server sees it cancelled.
    await Promise.race([
      cancelled,
      new Promise((_, reject) => setTimeout(() => reject(new Error('Slow was never cancelled')), 1000)),
    ]);
  });
});
