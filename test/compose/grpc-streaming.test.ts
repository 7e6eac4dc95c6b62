// Server-streaming gRPC methods through the gateway: a Subscription field streamed to a
// real SSE client (fetch with Accept: text/event-stream), cancellation reaching the
// upstream when the client goes away, and a Query field collecting the stream into a list.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type RunningGrpcService, startOrdersService } from '../../demo/backends/orders.js';
import { type RunningService, startProductsService } from '../../demo/backends/products.js';
import { type Harness, payload, startHarness } from '../helpers/gateway-harness.js';
import {
  closedPort,
  demoSchema,
  expectedOrderEvent,
  ORDERS_PROTO_TEXT,
  type SseEvent,
  sseEvents,
  WATCH_ORDERS,
} from '../helpers/grpc-fixtures.js';
import { multipartParts, type TimedPart } from '../helpers/multipart.js';
import { eventually } from '../helpers/wait.js';

/** POST /graphql asking for an event stream. */
function subscribe(
  h: Harness,
  variables: Record<string, unknown>,
  signal?: AbortSignal,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${h.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query: WATCH_ORDERS, variables }),
    signal,
  });
}

describe('gRPC server streaming through the gateway', () => {
  let orders: RunningGrpcService;
  let products: RunningService;
  let h: Harness;

  before(async () => {
    [orders, products] = await Promise.all([startOrdersService(), startProductsService()]);
    // The demo's orders source, with products, which completes its Product.
    h = await startHarness({
      'products.graphql': demoSchema('products.graphql', [products.url]),
      'orders.graphql': demoSchema('orders.graphql', [orders.target]),
      'orders.proto': ORDERS_PROTO_TEXT,
    });
  });
  after(async () => {
    await h?.close();
    await Promise.all([orders?.close(), products?.close()]);
  });
  beforeEach(() => orders.reset());

  test('a Subscription streams every event in order, then complete', async () => {
    const res = await subscribe(h, { u: '7', n: 5, ms: 20 });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events: SseEvent[] = [];
    for await (const e of sseEvents(res.body!)) events.push(e);
    assert.deepEqual(
      events.map((e) => e.event),
      ['next', 'next', 'next', 'next', 'next', 'complete'],
    );
    const payloads = events.slice(0, 5).map((e) => JSON.parse(e.data));
    assert.deepEqual(
      payloads,
      Array.from({ length: 5 }, (_, i) => ({ data: { orderEvents: expectedOrderEvent(7, i) } })),
    );
    assert.deepEqual(orders.callsByMethod(), { WatchOrders: 1 });
    assert.deepEqual(orders.requests[0]!.request, { user_id: '7', count: 5, interval_ms: 20 });
    assert.equal(orders.cancellations(), 0, 'a stream that ended on its own is not cancelled');
  });

  test('the request id reaches the streaming call as metadata', async () => {
    const res = await subscribe(h, { u: '2', n: 1, ms: 1 }, undefined, { 'x-request-id': 'rid-stream-1' });
    const events: SseEvent[] = [];
    for await (const e of sseEvents(res.body!)) events.push(e);
    assert.deepEqual(
      events.map((e) => e.event),
      ['next', 'complete'],
    );
    assert.equal(orders.requests[0]!.metadata['x-request-id'], 'rid-stream-1');
  });

  test('a client that goes away cancels the upstream call', async () => {
    const abort = new AbortController();
    const res = await subscribe(h, { u: '3', n: 1000, ms: 50 }, abort.signal);
    const seen: unknown[] = [];
    try {
      for await (const e of sseEvents(res.body!)) {
        if (e.event !== 'next') continue;
        seen.push(JSON.parse(e.data).data.orderEvents);
        if (seen.length === 2) break;
      }
    } finally {
      abort.abort();
    }
    assert.deepEqual(seen, [expectedOrderEvent(3, 0), expectedOrderEvent(3, 1)]);
    await eventually(() => orders.cancellations() === 1, { what: 'the orders service sees the call cancelled' });
    assert.equal(orders.callsByMethod().WatchOrders, 1);
  });

  test('a stream that fails before its first event ends with an error event', async () => {
    const res = await subscribe(h, { u: '7', n: -1, ms: 1 });
    const events: SseEvent[] = [];
    for await (const e of sseEvents(res.body!)) events.push(e);
    assert.equal(events.at(-1)?.event, 'complete');
    const errors = events.filter((e) => e.event === 'next').flatMap((e) => JSON.parse(e.data).errors ?? []);
    assert.equal(errors.length, 1, JSON.stringify(events));
    assert.equal(errors[0].extensions?.code, 'BAD_USER_INPUT');
    assert.doesNotMatch(JSON.stringify(events), /must not be negative|127\.0\.0\.1/);
  });
});

// A small schema file of its own: WatchOrders behind a Query list field.
const FEED_SCHEMA = (
  target: string,
) => `extend schema @upstream(name: "order-feed", protocol: GRPC, proto: "orders.proto", service: "shop.orders.v1.OrderService", replicas: [{ url: "${target}" }], timeoutMs: 500)

enum OrderStatus { ORDER_STATUS_UNSPECIFIED PENDING PAID SHIPPED }

type Order {
  id: ID!
  userId: ID!
  status: OrderStatus!
  totalCents: String!
}

type OrderEvent {
  kind: String!
  order: Order
}

type Query {
  recentOrderEvents(userId: ID!, count: Int!, intervalMs: Int = 5): [OrderEvent!]! @grpc(method: "WatchOrders", request: { userId: "{args.userId}", count: "{args.count}", intervalMs: "{args.intervalMs}" })
}
`;

describe('a server-streaming method on a Query list field', () => {
  let orders: RunningGrpcService;
  let h: Harness;

  before(async () => {
    orders = await startOrdersService();
    h = await startHarness({ 'order-feed.graphql': FEED_SCHEMA(orders.target), 'orders.proto': ORDERS_PROTO_TEXT });
  });
  after(async () => {
    await h?.close();
    await orders?.close();
  });
  beforeEach(() => orders.reset());

  test('the stream is collected into the list, in order', async () => {
    const r = await h.query(
      '{ recentOrderEvents(userId: "4", count: 4) { kind order { id userId status totalCents } } }',
    );
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    assert.deepEqual(
      r.body.data!.recentOrderEvents,
      Array.from({ length: 4 }, (_, i) => expectedOrderEvent(4, i)),
    );
    assert.deepEqual(orders.callsByMethod(), { WatchOrders: 1 });
  });

  test('with @stream, each reply is a part of the response as the upstream sends it', async () => {
    const res = await fetch(`${h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed' },
      body: JSON.stringify({
        query: '{ recentOrderEvents(userId: "4", count: 3, intervalMs: 150) @stream(initialCount: 0) { kind } }',
      }),
    });
    const parts: TimedPart[] = [];
    for await (const part of multipartParts(res)) parts.push(part);
    assert.deepEqual(parts[0]!.body, { data: { recentOrderEvents: [] }, hasNext: true });
    const items = parts.slice(1).filter((p) => p.body.incremental);
    assert.deepEqual(
      items.flatMap((p) => p.body.incremental.map((i: { items: unknown[]; path: unknown[] }) => [i.path, i.items])),
      [0, 1, 2].map((i) => [['recentOrderEvents', i], [{ kind: expectedOrderEvent(4, i).kind }]]),
    );
    // The orders service sends a reply every 150 ms: collected first, all would come at once.
    assert.ok(items.at(-1)!.at - items[0]!.at >= 200, `parts at ${items.map((p) => Math.round(p.at))}`);
    assert.equal(parts.at(-1)!.body.hasNext, false);
    assert.deepEqual(orders.callsByMethod(), { WatchOrders: 1 });
  });

  test('NOT_FOUND (an unknown user): nothing to collect', async () => {
    const r = await h.query('{ recentOrderEvents(userId: "nobody", count: 2) { kind } }');
    assert.deepEqual(payload(r.body), { data: { recentOrderEvents: [] } });
  });

  test('a stream that outlasts the deadline is UPSTREAM_TIMEOUT and is cancelled upstream', async () => {
    const started = Date.now();
    const r = await h.query('{ recentOrderEvents(userId: "4", count: 1000, intervalMs: 20) { kind } }');
    assert.ok(Date.now() - started < 2500, `answered after ${Date.now() - started} ms`);
    assert.equal(r.body.data, null);
    assert.deepEqual(
      [r.body.errors?.[0]?.path, r.body.errors?.[0]?.extensions?.code],
      [['recentOrderEvents'], 'UPSTREAM_TIMEOUT'],
    );
    await eventually(() => orders.cancellations() === 1, { what: 'the orders service sees the call cancelled' });
  });
});

describe('a subscription with one replica of two down', () => {
  let orders: RunningGrpcService;
  let products: RunningService;
  let h: Harness;

  before(async () => {
    [orders, products] = await Promise.all([startOrdersService(), startProductsService()]);
    h = await startHarness({
      'products.graphql': demoSchema('products.graphql', [products.url]),
      'orders.graphql': demoSchema('orders.graphql', [`127.0.0.1:${await closedPort()}`, orders.target]),
      'orders.proto': ORDERS_PROTO_TEXT,
    });
  });
  after(async () => {
    await h?.close();
    await Promise.all([orders?.close(), products?.close()]);
  });

  test('every stream starts on the live replica', async () => {
    for (let round = 0; round < 3; round++) {
      const res = await subscribe(h, { u: '5', n: 2, ms: 1 });
      const events: SseEvent[] = [];
      for await (const e of sseEvents(res.body!)) events.push(e);
      assert.deepEqual(
        events.map((e) => e.event),
        ['next', 'next', 'complete'],
        `round ${round}: ${JSON.stringify(events)}`,
      );
      assert.deepEqual(JSON.parse(events[1]!.data), { data: { orderEvents: expectedOrderEvent(5, 1) } });
    }
    assert.equal(orders.callsByMethod().WatchOrders, 3);
  });
});
