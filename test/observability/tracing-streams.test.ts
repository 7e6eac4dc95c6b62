// Operation spans of the requests that are not one plain query: a subscription over SSE (its
// span lasts as long as the stream, and the gRPC server stream under it received the attempt's
// traceparent), and a batched request (a span per operation, each with its own calls).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningGrpcService, startOrdersService } from '../../demo/backends/orders.js';
import { type RunningService, startProductsService } from '../../demo/backends/products.js';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { demoSchema, ORDERS_PROTO_TEXT, sseEvents } from '../helpers/grpc-fixtures.js';
import { withHardening } from '../helpers/hardening-fixtures.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { type OtlpReceiver, SPAN_KIND, startOtlpReceiver } from '../helpers/otlp-receiver.js';

const WATCH = 'subscription Watch { orderEvents(userId: "7", count: 4, intervalMs: 50) { kind order { id status } } }';

describe('tracing / streams and batches', () => {
  let rx: OtlpReceiver;
  let orders: RunningGrpcService;
  let products: RunningService;
  let users: TestServer;
  let h: Harness;
  before(async () => {
    rx = await startOtlpReceiver();
    [orders, products] = await Promise.all([startOrdersService(), startProductsService()]);
    users = await startTestServer((req, res) => sendJson(res, 200, { id: req.url.split('/').at(-1) }));
    h = await startHarness(
      {
        'products.graphql': demoSchema('products.graphql', [products.url]),
        'orders.graphql': demoSchema('orders.graphql', [orders.target]),
        'orders.proto': ORDERS_PROTO_TEXT,
        'people.graphql': `${httpUpstream('people', [users.url])}type Person { id: ID }\ntype Query { person(id: ID!): Person @http(GET: "/people/{args.id}") }\n`,
      },
      {
        security: withHardening({ maxBatch: 2 }),
        tracing: { tracesUrl: `${rx.url}/v1/traces`, sampleRatio: 1, batch: { scheduledDelayMillis: 20 } },
      },
    );
  });
  after(async () => {
    await h?.close();
    await Promise.all([orders?.close(), products?.close(), users?.close(), rx?.close()]);
  });

  test('a subscription span lasts until its stream ends; the stream got its attempt traceparent', async () => {
    const res = await fetch(`${h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: WATCH }),
    });
    const started = process.hrtime.bigint();
    const events: string[] = [];
    for await (const e of sseEvents(res.body!)) events.push(e.event);
    assert.deepEqual(events, ['next', 'next', 'next', 'next', 'complete']);

    const spans = await rx.waitFor((s) => s.some((x) => x.name === 'subscription Watch'));
    const op = spans.find((x) => x.name === 'subscription Watch')!;
    // Four events 50 ms apart: the span covers the stream, not only its set-up.
    assert.ok(op.endNs - op.startNs >= 150_000_000n, `the span lasted ${(op.endNs - op.startNs) / 1_000_000n} ms`);
    assert.ok(process.hrtime.bigint() - started >= 150_000_000n);
    const call = spans.find((x) => x.parentSpanId === op.spanId)!;
    assert.equal(call.name, 'orders shop.orders.v1.OrderService/WatchOrders');
    const attempt = spans.find((x) => x.parentSpanId === call.spanId)!;
    assert.equal(attempt.kind, SPAN_KIND.CLIENT);
    const watch = orders.requests.find((r) => r.method === 'WatchOrders')!;
    assert.equal(watch.metadata.traceparent, `00-${op.traceId}-${attempt.spanId}-01`);
  });

  test('a batched request: one operation span per operation, each with its own call', async () => {
    const res = await fetch(`${h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify([
        { query: 'query First { person(id: "1") { id } }' },
        { query: 'query Second { person(id: "2") { id } }' },
      ]),
    });
    assert.deepEqual(await res.json(), [{ data: { person: { id: '1' } } }, { data: { person: { id: '2' } } }]);
    const spans = await rx.waitFor(
      (s) => s.filter((x) => x.name === 'query First' || x.name === 'query Second').length === 2,
    );
    for (const [name, path] of [
      ['query First', '/people/1'],
      ['query Second', '/people/2'],
    ] as const) {
      const op = spans.find((x) => x.name === name)!;
      const [call] = spans.filter((x) => x.parentSpanId === op.spanId);
      const [attempt] = spans.filter((x) => x.parentSpanId === call!.spanId);
      assert.equal(attempt!.attributes['url.full'], `${users.url}${path}`);
      const seen = users.seen.find((s) => s.url === path)!;
      assert.equal(seen.headers.traceparent, `00-${op.traceId}-${attempt!.spanId}-01`);
    }
  });
});
