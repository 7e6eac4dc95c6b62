// OpenTelemetry tracing (README, "Tracing (OpenTelemetry)") against real processes: a gateway
// exporting to an OTLP/HTTP receiver in this process, over real HTTP replicas, a real gRPC
// server and a real remote GraphQL API. What is checked is what a tracing backend would show
// (the tree operation -> call -> attempt, ids, attributes, statuses) and what each backend
// received (the traceparent read at the backend equals its attempt span's context).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { loadGrpcService } from '../../src/connectors/grpc/proto.js';
import { type MappingServer, startMappingServer } from '../fixtures/grpc/mapping-server.js';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { MAPPING_PROTO, MAPPING_SERVICE, mappingSchema } from '../helpers/grpc-fixtures.js';
import { type SeenRequest, sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  SPAN_KIND,
  STATUS,
  startOtlpReceiver,
} from '../helpers/otlp-receiver.js';
import { type ReviewsService, startReviewsService } from '../helpers/reviews-service.js';

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

const USERS_TYPES = `type User { id: ID name: String }
type Query {
  user: User @http(GET: "/user")
  flaky: User @http(GET: "/flaky")
  bad: User @http(GET: "/bad")
}
`;

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId);
const traceparentOf = (span: ReceivedSpan, flags = '01') => `00-${span.traceId}-${span.spanId}-${flags}`;
/** The operation span of the request whose response carried `requestId`. */
const operationOf = (spans: ReceivedSpan[], requestId: string | null) =>
  spans.find((s) => s.kind === SPAN_KIND.SERVER && s.attributes['quilt.request_id'] === requestId);

/** Resolves with the operation span of `requestId` and every span of its trace, once all `count` arrived. */
async function traceOf(rx: OtlpReceiver, requestId: string | null, count: number) {
  const spans = await rx.waitFor((all) => {
    const op = operationOf(all, requestId);
    return !!op && all.filter((s) => s.traceId === op.traceId).length >= count;
  });
  const op = operationOf(spans, requestId)!;
  return { op, spans: spans.filter((s) => s.traceId === op.traceId) };
}

/**
 * Asserts `inner` lies within `outer` in time. The SDK starts each span at Date.now() (whole
 * milliseconds) and measures its duration in nanoseconds, so two spans' times agree to 1 ms.
 */
function within(inner: ReceivedSpan, outer: ReceivedSpan): void {
  const ms = 1_000_000n;
  assert.ok(
    inner.startNs >= outer.startNs - ms && inner.endNs <= outer.endNs + ms,
    `${inner.name} (${inner.startNs}..${inner.endNs}) within ${outer.name} (${outer.startNs}..${outer.endNs})`,
  );
}

describe('tracing / 1: one trace across HTTP, gRPC and remote GraphQL', () => {
  let rx: OtlpReceiver;
  let replicas: TestServer[];
  let grpc: MappingServer;
  let reviews: ReviewsService;
  let h: Harness;
  let flakyCalls = 0;
  before(async () => {
    rx = await startOtlpReceiver();
    const handler = (req: SeenRequest, res: Parameters<Parameters<typeof startTestServer>[0]>[1]) => {
      if (req.url === '/user') return sendJson(res, 200, { id: '7', name: 'Ada' });
      // The first /flaky call of the test, on whichever replica, fails with 503; the retry succeeds.
      if (req.url === '/flaky') return sendJson(res, flakyCalls++ === 0 ? 503 : 200, { id: '8' });
      if (req.url === '/bad') return sendJson(res, 400, { error: 'no' });
      sendJson(res, 200, { status: 'ok' });
    };
    replicas = [await startTestServer(handler), await startTestServer(handler)];
    grpc = await startMappingServer(loadGrpcService(MAPPING_PROTO, MAPPING_SERVICE));
    reviews = await startReviewsService();
    h = await startHarness(
      {
        'users.graphql':
          httpUpstream(
            'users',
            replicas.map((r) => r.url),
            'health: { path: "/health", intervalMs: 100 }',
          ) + USERS_TYPES,
        'mapping.graphql': mappingSchema(grpc.address),
        'reviews.graphql': `extend schema @upstream(name: "reviews", protocol: GRAPHQL, introspect: true, replicas: [{ url: "${reviews.url}" }])\n`,
      },
      { tracing: { tracesUrl: `${rx.url}/v1/traces`, sampleRatio: 1, batch: { scheduledDelayMillis: 20 } } },
    );
  });
  after(async () => {
    await h?.close();
    for (const r of replicas ?? []) await r.close();
    await grpc?.close();
    await reviews?.close();
    await rx?.close();
  });

  test("1 the client's trace is continued: operation -> call -> attempt, and each backend got its attempt's traceparent", async () => {
    const query = 'query Dashboard { user { id } echoArgs(small: 3) { small } reviews(limit: 1) { id } }';
    const r = await h.query(query, undefined, {
      traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`,
      tracestate: 'congo=t61rcWkgMzE',
    });
    assert.equal(r.body.errors, undefined);
    const { op, spans } = await traceOf(rx, r.headers.get('x-request-id'), 7);

    assert.equal(op.traceId, CLIENT_TRACE);
    assert.equal(op.parentSpanId, CLIENT_SPAN);
    assert.equal(op.name, 'query Dashboard');
    assert.equal(op.status.code, STATUS.UNSET);
    assert.equal(op.scope, 'quilt');
    assert.deepEqual(
      {
        type: op.attributes['graphql.operation.type'],
        name: op.attributes['graphql.operation.name'],
        hash: op.attributes['quilt.graphql.document_hash'],
        service: op.resource['service.name'],
      },
      {
        type: 'query',
        name: 'Dashboard',
        hash: `sha256:${createHash('sha256').update(query).digest('hex')}`,
        service: 'quilt',
      },
    );

    const calls = childrenOf(spans, op).sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(
      calls.map((c) => [c.name, c.kind, c.attributes['quilt.upstream'], c.attributes['quilt.attempts']]),
      [
        ['mapping quilt.test.v1.MappingService/Echo', SPAN_KIND.INTERNAL, 'mapping', 1],
        ['reviews POST /graphql', SPAN_KIND.INTERNAL, 'reviews', 1],
        ['users GET /user', SPAN_KIND.INTERNAL, 'users', 1],
      ],
    );
    const [grpcAttempt, reviewsAttempt, usersAttempt] = calls.map((call) => {
      const attempts = childrenOf(spans, call);
      assert.equal(attempts.length, 1, `one attempt under ${call.name}`);
      const attempt = attempts[0]!;
      within(attempt, call);
      within(call, op);
      assert.equal(attempt.kind, SPAN_KIND.CLIENT);
      assert.equal(attempt.status.code, STATUS.UNSET);
      assert.deepEqual(
        [attempt.attributes['quilt.attempt'], attempt.attributes['quilt.retry'], attempt.attributes['quilt.outcome']],
        [1, false, 'success'],
      );
      assert.equal(attempt.attributes['quilt.upstream'], call.attributes['quilt.upstream']);
      return attempt;
    });

    // HTTP: the replica that answered saw the attempt's span as its parent, and the client's tracestate.
    const replica = replicas.find((x) => x.url === usersAttempt!.attributes['quilt.replica'])!;
    assert.ok(replica, 'quilt.replica names one of the declared replica urls');
    const seen = replica.seen.find((s) => s.url === '/user')!;
    assert.equal(seen.headers.traceparent, traceparentOf(usersAttempt!));
    assert.equal(seen.headers.tracestate, 'congo=t61rcWkgMzE');
    assert.deepEqual(
      {
        name: usersAttempt!.name,
        method: usersAttempt!.attributes['http.request.method'],
        status: usersAttempt!.attributes['http.response.status_code'],
        url: usersAttempt!.attributes['url.full'],
        template: usersAttempt!.attributes['url.template'],
        port: usersAttempt!.attributes['server.port'],
      },
      {
        name: 'GET /user',
        method: 'GET',
        status: 200,
        url: `${replica.url}/user`,
        template: '/user',
        port: Number(new URL(replica.url).port),
      },
    );

    // gRPC: in the call's metadata.
    assert.equal(grpc.metadata.at(-1)!.get('traceparent')[0], traceparentOf(grpcAttempt!));
    assert.deepEqual(
      [
        grpcAttempt!.attributes['rpc.system.name'],
        grpcAttempt!.attributes['rpc.method'],
        grpcAttempt!.attributes['rpc.status_code'],
        grpcAttempt!.attributes['quilt.replica'],
      ],
      ['grpc', 'quilt.test.v1.MappingService/Echo', 'OK', grpc.address],
    );

    // Remote GraphQL: in the POST's headers. The introspection at load time was not traced.
    assert.equal(reviews.requests.at(-1)!.traceparent, traceparentOf(reviewsAttempt!));
    assert.equal(reviews.requests[0]!.traceparent, null);
    assert.equal(reviewsAttempt!.attributes['http.response.status_code'], 200);
    assert.equal(reviewsAttempt!.attributes['url.full'], `${reviews.url}/graphql`);
  });

  test('2 a read retried after a 503: two attempt spans under one call span, each backend saw its own', async () => {
    const r = await h.query('{ flaky { id } }');
    assert.deepEqual(r.body.data, { flaky: { id: '8' } });
    const { op, spans } = await traceOf(rx, r.headers.get('x-request-id'), 4);
    assert.equal(op.parentSpanId, undefined, 'no traceparent from the client: a new trace');
    assert.equal(op.name, 'query');
    const [call, ...more] = childrenOf(spans, op);
    assert.equal(more.length, 0);
    assert.equal(call!.name, 'users GET /flaky');
    assert.equal(call!.attributes['quilt.attempts'], 2);
    assert.equal(call!.status.code, STATUS.UNSET, 'the call succeeded');

    const attempts = childrenOf(spans, call!).sort(
      (a, b) => Number(a.attributes['quilt.attempt']) - Number(b.attributes['quilt.attempt']),
    );
    assert.deepEqual(
      attempts.map((a) => ({
        attempt: a.attributes['quilt.attempt'],
        retry: a.attributes['quilt.retry'],
        status: a.attributes['http.response.status_code'],
        outcome: a.attributes['quilt.outcome'],
        resend: a.attributes['http.request.resend_count'],
        spanStatus: a.status.code,
      })),
      [
        { attempt: 1, retry: false, status: 503, outcome: 'status', resend: undefined, spanStatus: STATUS.ERROR },
        { attempt: 2, retry: true, status: 200, outcome: 'success', resend: 1, spanStatus: STATUS.UNSET },
      ],
    );
    assert.notEqual(attempts[0]!.attributes['quilt.replica'], attempts[1]!.attributes['quilt.replica']);
    assert.ok(
      attempts[0]!.endNs <= attempts[1]!.startNs + 1_000_000n,
      'the retry starts after the first attempt ended',
    );
    for (const attempt of attempts) {
      const replica = replicas.find((x) => x.url === attempt.attributes['quilt.replica'])!;
      const seen = replica.seen.filter((s) => s.url === '/flaky');
      assert.deepEqual(
        seen.map((s) => s.headers.traceparent),
        [traceparentOf(attempt)],
      );
    }
  });

  test('3 a failing field: the operation span is an error with its code; the attempt has the status', async () => {
    const r = await h.query('query Broken { user { id } bad { id } fail(code: 9, details: "no") }');
    assert.deepEqual(r.body.data, { user: { id: '7' }, bad: null, fail: null });
    const codes = r.body.errors!.map((e) => e.extensions?.code).sort();
    assert.deepEqual(codes, ['BAD_USER_INPUT', 'UPSTREAM_ERROR']);
    const { op, spans } = await traceOf(rx, r.headers.get('x-request-id'), 7);
    assert.equal(op.status.code, STATUS.ERROR);
    assert.equal(op.attributes['error.type'], r.body.errors![0]!.extensions!.code);
    assert.deepEqual(op.events.map((e) => e.attributes['graphql.error.path']).sort(), ['bad', 'fail']);

    const attemptOf = (callName: string) =>
      childrenOf(spans, childrenOf(spans, op).find((c) => c.name === callName)!)[0]!;
    const bad = attemptOf('users GET /bad');
    assert.deepEqual(
      [bad.attributes['http.response.status_code'], bad.attributes['error.type'], bad.status.code],
      [400, '400', STATUS.ERROR],
    );
    const fail = attemptOf('mapping quilt.test.v1.MappingService/Fail');
    assert.deepEqual(
      [fail.attributes['rpc.status_code'], fail.attributes['quilt.outcome'], fail.status.code],
      ['FAILED_PRECONDITION', 'success', STATUS.ERROR],
    );
    const ok = attemptOf('users GET /user');
    assert.equal(ok.status.code, STATUS.UNSET);
  });

  test('4 health probes and the operational endpoints make no span', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/upstreams']) await fetch(`${h.gateway.url}${path}`);
    // Spans leave in the order they end: once this query's are in, any earlier span is too.
    const r = await h.query('query Last { user { id } }');
    await traceOf(rx, r.headers.get('x-request-id'), 3);
    const operations = rx.spans.filter((s) => s.kind === SPAN_KIND.SERVER).map((s) => s.name);
    assert.deepEqual(operations, ['query Dashboard', 'query', 'query Broken', 'query Last']);
    assert.equal(rx.spans.filter((s) => /health/.test(s.name)).length, 0);
    const probes = replicas.flatMap((x) => x.seen.filter((s) => s.url === '/health'));
    assert.ok(probes.length >= 2, `the replicas were probed (${probes.length})`);
    assert.ok(probes.every((p) => p.headers.traceparent === undefined));
  });
});

describe('tracing / 2: sampling follows the parent, else --otel-sample-ratio', () => {
  let rx: OtlpReceiver;
  let upstream: TestServer;
  let h: Harness;
  before(async () => {
    rx = await startOtlpReceiver();
    upstream = await startTestServer((_req, res) => sendJson(res, 200, { id: '7' }));
    h = await startHarness(
      { 'users.graphql': httpUpstream('users', [upstream.url]) + USERS_TYPES },
      { tracing: { tracesUrl: `${rx.url}/v1/traces`, sampleRatio: 0, batch: { scheduledDelayMillis: 20 } } },
    );
  });
  after(async () => {
    await h?.close();
    await upstream?.close();
    await rx?.close();
  });

  test('ratio 0: a new trace is not recorded but still propagated unsampled; a sampled client trace is recorded', async () => {
    const unsampled = await h.query('query New { user { id } }');
    assert.equal(unsampled.body.errors, undefined);
    const sent = upstream.seen.at(-1)!.headers.traceparent as string;
    assert.match(sent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);

    const sampled = await h.query('query Continued { user { id } }', undefined, {
      traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`,
    });
    const { op, spans } = await traceOf(rx, sampled.headers.get('x-request-id'), 3);
    assert.equal(op.traceId, CLIENT_TRACE);
    const attempt = spans.find((s) => s.kind === SPAN_KIND.CLIENT)!;
    assert.equal(upstream.seen.at(-1)!.headers.traceparent, traceparentOf(attempt));
    // Exported in order: had the first trace been recorded, its spans would be here by now.
    assert.deepEqual(
      rx.spans.filter((s) => s.kind === SPAN_KIND.SERVER).map((s) => s.name),
      ['query Continued'],
    );
    assert.equal(rx.spans.filter((s) => s.traceId === sent.split('-')[1]).length, 0);
  });
});
