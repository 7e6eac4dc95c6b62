// Request protections against real backends, asserted from the backends' side: a deadline
// per operation (--request-timeout-ms) answers what finished and cancels what did not, a
// client that goes away cancels its upstream calls (HTTP aborted, gRPC cancelled), and
// --max-in-flight sheds requests past the limit with 503 before they reach anything.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { loadGrpcService } from '../../src/connectors/grpc/proto.js';
import { type MappingServer, startMappingServer } from '../fixtures/grpc/mapping-server.js';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { MAPPING_PROTO, MAPPING_SERVICE, mappingSchema } from '../helpers/grpc-fixtures.js';
import { sendJson, startTestServer } from '../helpers/json-server.js';
import { eventually } from '../helpers/wait.js';

/** A REST backend: /fast answers at once, /slow after `ms` (or never); it records every request it saw end unanswered. */
async function startSlowBackend() {
  const abandoned: string[] = [];
  const held: ServerResponse[] = [];
  const server = await startTestServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/fast') return sendJson(res, 200, { value: 'fast' });
    if (url.pathname === '/hold') {
      held.push(res);
      res.on('close', () => {
        if (!res.writableFinished) abandoned.push(req.url);
      });
      return;
    }
    const timer = setTimeout(() => sendJson(res, 200, { value: 'slow' }), Number(url.searchParams.get('ms') ?? 5000));
    res.on('close', () => {
      clearTimeout(timer);
      if (!res.writableFinished) abandoned.push(req.url);
    });
  });
  return {
    server,
    abandoned,
    /** Answers every held request. */
    release: () => {
      for (const res of held.splice(0)) sendJson(res, 200, { value: 'held' });
    },
    calls: (path: string) => server.seen.filter((s) => s.url.startsWith(path)).length,
  };
}

const REST_SCHEMA = (url: string) => `${httpUpstream('rest', [url], 'timeoutMs: 10000')}
type Value { value: String }
type Query {
  fast: Value @http(GET: "/fast")
  slowRest(ms: Int): Value @http(GET: "/slow?ms={args.ms}")
  hold: Value @http(GET: "/hold")
}
type Mutation {
  slowWrite(ms: Int): Value @http(POST: "/slow?ms={args.ms}")
}
`;

/** The slow REST backend, the gRPC mapping service and a gateway over both; stopped after the suite. */
function setup(protections: NonNullable<Parameters<typeof startHarness>[1]>['protections'] = {}) {
  const parts = {} as {
    backend: Awaited<ReturnType<typeof startSlowBackend>>;
    grpcServer: MappingServer;
    h: Harness;
  };
  before(async () => {
    parts.backend = await startSlowBackend();
    parts.grpcServer = await startMappingServer(loadGrpcService(MAPPING_PROTO, MAPPING_SERVICE));
    parts.h = await startHarness(
      {
        'rest.graphql': REST_SCHEMA(parts.backend.server.url),
        'mapping.graphql': mappingSchema(parts.grpcServer.address),
      },
      { protections },
    );
  });
  after(async () => {
    await parts.h?.close();
    await parts.backend?.server.close();
    await parts.grpcServer?.close();
  });
  return parts;
}

describe('--request-timeout-ms', () => {
  const s = setup({ requestTimeoutMs: 400 });

  test('--request-timeout-ms: what finished is answered, the rest is UPSTREAM_TIMEOUT and cancelled at the backends', async () => {
    const grpcCancelled = s.grpcServer.cancelled('Slow');
    const before = s.backend.abandoned.length;
    const r = await s.h.query('{ fast { value } slowRest(ms: 5000) { value } grpcSlow: slow(delayMs: 5000) }');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { fast: { value: 'fast' }, slowRest: null, grpcSlow: null });
    const errors = (r.body.errors ?? []).map((e) => [e.path?.join('.'), e.extensions?.code, e.message]);
    assert.deepEqual(errors.sort(), [
      ['grpcSlow', 'UPSTREAM_TIMEOUT', 'Upstream "mapping" did not answer within 400 ms'],
      ['slowRest', 'UPSTREAM_TIMEOUT', 'Upstream "rest" did not answer within 400 ms'],
    ]);
    // The backends learn the gateway gave up: the REST request was aborted, the gRPC call cancelled.
    await eventually(() => s.backend.abandoned.length === before + 1, {
      what: 'the REST backend sees the request aborted',
    });
    await grpcCancelled;
  });

  test('a write cut by the deadline is not sent again', async () => {
    const sent = s.backend.calls('/slow?ms=3000');
    const r = await s.h.query('mutation { slowWrite(ms: 3000) { value } }');
    assert.deepEqual(r.body.data, { slowWrite: null });
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'UPSTREAM_TIMEOUT');
    assert.equal(s.backend.calls('/slow?ms=3000') - sent, 1, 'the backend received the write once');
  });

  test('within the deadline nothing changes', async () => {
    const r = await s.h.query('{ fast { value } slowRest(ms: 20) { value } }');
    assert.deepEqual(r.body, { data: { fast: { value: 'fast' }, slowRest: { value: 'slow' } } });
  });
});

describe('a client that goes away (no request timeout set)', () => {
  const s = setup();

  test('a client that goes away cancels its upstream calls: HTTP aborted, gRPC cancelled', async () => {
    const grpcCancelled = s.grpcServer.cancelled('Slow');
    const before = s.backend.abandoned.length;
    const seenBefore = s.backend.calls('/hold');
    const slowBefore = s.grpcServer.calls.get('Slow') ?? 0;
    const client = new AbortController();
    const pending = fetch(`${s.h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ hold { value } slow(delayMs: 5000) }' }),
      signal: client.signal,
    }).catch((e: Error) => e);
    // Wait until both calls reached their backends, then hang up: neither would ever end otherwise.
    await eventually(
      () => s.backend.calls('/hold') > seenBefore && (s.grpcServer.calls.get('Slow') ?? 0) > slowBefore,
      {
        what: 'both calls reach their backends',
      },
    );
    client.abort();
    assert.equal(((await pending) as Error).name, 'AbortError');
    await eventually(() => s.backend.abandoned.length === before + 1, {
      what: 'the REST backend sees the request aborted',
    });
    await grpcCancelled;
    assert.equal(s.backend.calls('/hold') - seenBefore, 1, 'a cancelled call is not retried');
    // Counted as the client leaving, not as an error of the gateway or of an upstream.
    const metric = async () => (await (await fetch(`${s.h.gateway.url}/metrics`)).text()).split('\n');
    await eventually(
      async () =>
        (await metric()).includes(
          'quilt_graphql_requests_total{operation="anonymous",type="query",outcome="cancelled"} 1',
        ),
      { what: 'the request counted as cancelled' },
    );
    const lines = await metric();
    assert.ok(lines.some((l) => l.startsWith('quilt_upstream_calls_total{') && l.includes('outcome="cancelled"')));
    assert.equal(s.h.logs.filter((l) => l.level === 40 && /unavailable/.test(l.msg)).length, 0, 'no upstream warning');
  });
});

describe('--max-in-flight', () => {
  const s = setup({ maxInFlight: 2 });

  test('past the limit: 503 OVERLOADED with Retry-After before parsing; health and metrics still answer', async () => {
    const holding = [s.h.query('{ hold { value } }'), s.h.query('{ hold { value } }')];
    await eventually(() => s.backend.calls('/hold') === 2, { what: 'two requests held at the backend' });
    const refused = await fetch(`${s.h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // Not even JSON: the refusal comes before the body is read.
      body: '{ not json',
    });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.deepEqual(await refused.json(), {
      errors: [
        {
          message: 'The gateway is serving its limit of 2 requests; retry after 1 s.',
          extensions: { code: 'OVERLOADED' },
        },
      ],
    });
    const third = await s.h.query('{ fast { value } }');
    assert.equal(third.status, 503);
    assert.equal(s.backend.calls('/fast'), 0, 'a refused request reaches no backend');
    assert.equal((await fetch(`${s.h.gateway.url}/healthz`)).status, 200);
    const metrics = await (await fetch(`${s.h.gateway.url}/metrics`)).text();
    assert.match(metrics, /quilt_limit_rejections_total\{reason="in_flight"\} 2\n/);
    s.backend.release();
    for (const r of await Promise.all(holding)) assert.deepEqual(r.body, { data: { hold: { value: 'held' } } });
    // Room again.
    const after = await s.h.query('{ fast { value } }');
    assert.deepEqual(after.body, { data: { fast: { value: 'fast' } } });
  });
});
