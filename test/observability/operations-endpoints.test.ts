// The operational endpoints (README, "Operations") against real upstreams: /metrics counts
// GraphQL requests and upstream attempts per replica, /upstreams agrees with what the test
// servers saw, and /readyz turns 503 (naming the upstream) when an upstream has no healthy
// replica, by outlier ejection or active checks. /status and its data: status-endpoints.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { UpstreamSnapshot } from '../../src/upstream/types.js';
import { type Harness, httpUpstream, payload, startHarness } from '../helpers/gateway-harness.js';
import { closedPort } from '../helpers/grpc-fixtures.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

/** The value of one sample of the Prometheus text, matched on its exact label set. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    const want = Object.entries(labels);
    if (Object.keys(got).length === want.length && want.every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

function samples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

async function scrape(h: Harness): Promise<string> {
  const res = await fetch(`${h.gateway.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

async function upstreams(h: Harness): Promise<UpstreamSnapshot[]> {
  const res = await fetch(`${h.gateway.url}/upstreams`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return ((await res.json()) as { upstreams: UpstreamSnapshot[] }).upstreams;
}

async function readyz(h: Harness): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${h.gateway.url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ITEM_SCHEMA = `type Item { id: ID }
type Query {
  item: Item @http(GET: "/item")
  bad: Item @http(GET: "/bad")
}
`;

function itemServer(): Promise<TestServer> {
  return startTestServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/item') return sendJson(res, 200, { id: '1' });
    if (path === '/bad') return sendJson(res, 400, { error: 'no' });
    sendJson(res, 404, {});
  });
}

describe('operations endpoints / 1: metrics, upstreams', () => {
  let good: TestServer;
  let deadUrl: string;
  let h: Harness;
  const longName = `Op${'x'.repeat(150)}`;
  before(async () => {
    good = await itemServer();
    deadUrl = `http://127.0.0.1:${await closedPort()}`;
    // The dead replica is never ejected here (threshold 100), so the counts are exact.
    h = await startHarness({
      'a.graphql':
        httpUpstream('a', [good.url, deadUrl], 'outlierDetection: { consecutiveFailures: 100 }') + ITEM_SCHEMA,
    });
  });
  after(async () => {
    await h?.close();
    await good?.close();
  });

  test('GraphQL requests by operation, type and outcome, with durations', async () => {
    for (let i = 0; i < 2; i++)
      assert.deepEqual(payload((await h.query('query Q { item { id } }')).body), { data: { item: { id: '1' } } });
    assert.equal((await h.query('{ item { id } }')).status, 200);
    const partial = await h.query('query Partial { item { id } bad { id } }');
    assert.deepEqual(partial.body.data, { item: { id: '1' }, bad: null });
    assert.equal(partial.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.equal(
      (await h.query('query Invalid { nope }')).body.errors?.[0]?.extensions?.code,
      'GRAPHQL_VALIDATION_FAILED',
    );
    assert.ok((await h.query('query Broken {')).body.errors?.length, 'a parse error');
    const badJson = await fetch(`${h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    assert.equal(badJson.status, 400);
    assert.equal((await h.query(`query ${longName} { item { id } }`)).status, 200);
    // Not GraphQL requests: not counted.
    await (await fetch(`${h.gateway.url}/healthz`)).text();
    await (await fetch(`${h.gateway.url}/nowhere`)).text();

    const text = await scrape(h);
    assert.match(text, /^quilt_graphql_requests_total\{operation="Q",type="query",outcome="success"\} 2$/m);
    const requests = (operation: string, type: string, outcome: string) =>
      sample(text, 'quilt_graphql_requests_total', { operation, type, outcome });
    assert.equal(requests('anonymous', 'query', 'success'), 1);
    assert.equal(requests('Partial', 'query', 'error'), 1, 'data with errors');
    assert.equal(requests('Invalid', 'query', 'failed'), 1, 'validation failure: no data');
    assert.equal(requests('unknown', 'unknown', 'failed'), 2, 'a parse error and an unreadable body');
    assert.equal(requests(longName.slice(0, 100), 'query', 'success'), 1, 'operation names are cut at 100 characters');
    const total = samples(text, 'quilt_graphql_requests_total').reduce(
      (sum, l) => sum + Number(l.split(' ').at(-1)),
      0,
    );
    assert.equal(total, 8, 'every GraphQL request, and nothing else, is counted');
    assert.equal(sample(text, 'quilt_graphql_request_duration_seconds_count', { operation: 'Q', type: 'query' }), 2);
    assert.equal(
      sample(text, 'quilt_graphql_request_duration_seconds_bucket', { operation: 'Q', type: 'query', le: '+Inf' }),
      2,
    );
    assert.ok(sample(text, 'quilt_process_cpu_user_seconds_total') !== undefined, 'process metrics, prefixed quilt_');
    assert.ok(sample(text, 'quilt_nodejs_eventloop_lag_seconds') !== undefined);
  });

  test('upstream attempts per replica and outcome; /upstreams agrees with the servers', async () => {
    // Make sure the round robin sent at least one call to the dead replica.
    for (let i = 0; i < 4; i++)
      assert.deepEqual(payload((await h.query('{ item { id } }')).body), { data: { item: { id: '1' } } });
    const reached = good.seen.length;
    const text = await scrape(h);
    const snapshot = await upstreams(h);

    const calls = (replica: string, outcome: string) =>
      sample(text, 'quilt_upstream_calls_total', { upstream: 'a', replica, outcome });
    assert.equal(calls(good.url, 'success'), reached, 'one successful attempt per request the server saw');
    const refused = calls(deadUrl, 'connect') ?? 0;
    assert.ok(refused >= 1, 'the closed port refused at least one attempt');
    assert.equal(calls(deadUrl, 'success'), undefined);
    assert.equal(
      sample(text, 'quilt_upstream_retries_total', { upstream: 'a' }),
      refused,
      'each refused attempt was retried on the other replica',
    );
    assert.equal(
      sample(text, 'quilt_upstream_call_duration_seconds_count', { upstream: 'a', replica: good.url }),
      reached,
    );
    assert.equal(sample(text, 'quilt_upstream_replica_healthy', { upstream: 'a', replica: good.url }), 1);
    assert.equal(
      sample(text, 'quilt_upstream_replica_healthy', { upstream: 'a', replica: deadUrl }),
      1,
      'not ejected under threshold 100',
    );
    assert.equal(sample(text, 'quilt_upstream_replica_ejected', { upstream: 'a', replica: deadUrl }), 0);
    assert.equal(sample(text, 'quilt_upstream_in_flight', { upstream: 'a', replica: good.url }), 0);
    assert.equal(sample(text, 'quilt_upstream_healthy_replicas', { upstream: 'a' }), 2);
    assert.equal(sample(text, 'quilt_upstream_panic', { upstream: 'a' }), 0);
    const ewma = sample(text, 'quilt_upstream_replica_latency_ewma_seconds', { upstream: 'a', replica: good.url });
    assert.ok(ewma !== undefined && ewma > 0 && ewma < 10, `latency EWMA in seconds: ${ewma}`);

    assert.deepEqual(
      snapshot.map((u) => u.name),
      ['a'],
    );
    const a = snapshot[0]!;
    assert.equal(a.protocol, 'HTTP');
    assert.equal(a.algorithm, 'ROUND_ROBIN');
    assert.equal(a.healthyReplicas, 2);
    assert.equal(a.panic, false);
    assert.equal(a.inFlight, 0);
    assert.equal(a.calls, reached, 'every call ended on the good replica');
    assert.equal(a.failures, 0);
    assert.equal(a.retries, refused);
    const byUrl = new Map(a.replicas.map((r) => [r.url, r]));
    assert.deepEqual([...byUrl.keys()], [good.url, deadUrl]);
    assert.equal(byUrl.get(good.url)!.calls, reached);
    assert.equal(byUrl.get(good.url)!.failures, 0);
    assert.equal(byUrl.get(good.url)!.health, 'healthy');
    assert.equal(byUrl.get(deadUrl)!.calls, refused);
    assert.equal(byUrl.get(deadUrl)!.failures, refused);
    assert.match(byUrl.get(deadUrl)!.lastFailure ?? '', /^connect/);
    assert.equal(byUrl.get(deadUrl)!.ejectedUntil, null);
  });

  test('/readyz: 200 with the schema version and upstreams while every upstream has a healthy replica', async () => {
    const { status, body } = await readyz(h);
    assert.equal(status, 200);
    assert.equal(body.status, 'ready');
    assert.equal(body.schemaVersion, 1);
    assert.deepEqual(body.upstreams, ['a']);
    assert.deepEqual(body.problems, []);
  });
});

describe('operations endpoints / 2: outlier ejection of an only replica makes /readyz 503', () => {
  let good: TestServer;
  let deadUrl: string;
  let h: Harness;
  before(async () => {
    good = await itemServer();
    deadUrl = `http://127.0.0.1:${await closedPort()}`;
    h = await startHarness({
      'a.graphql': httpUpstream('a', [good.url]) + ITEM_SCHEMA,
      'down.graphql': `${httpUpstream('down', [deadUrl])}\nextend type Query { down: Item @http(GET: "/x") }\n`,
    });
  });
  after(async () => {
    await h?.close();
    await good?.close();
  });

  test('ready until five refused calls eject the replica, then 503 naming the upstream', async () => {
    assert.equal((await readyz(h)).status, 200);
    for (let i = 0; i < 5; i++) {
      const r = await h.query('{ item { id } down { id } }');
      assert.deepEqual(r.body.data, { item: { id: '1' }, down: null });
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'UPSTREAM_UNAVAILABLE');
    }
    const { status, body } = await readyz(h);
    assert.equal(status, 503);
    assert.equal(body.status, 'not ready');
    assert.deepEqual(body.unhealthyUpstreams, ['down']);
    assert.equal(body.reasons.length, 1);
    assert.match(body.reasons[0], /"down"/);

    const text = await scrape(h);
    assert.equal(
      sample(text, 'quilt_upstream_calls_total', { upstream: 'down', replica: deadUrl, outcome: 'connect' }),
      5,
    );
    assert.equal(
      sample(text, 'quilt_upstream_ejections_total', {
        upstream: 'down',
        replica: deadUrl,
        reason: 'consecutive_failures',
      }),
      1,
    );
    assert.equal(sample(text, 'quilt_upstream_replica_ejected', { upstream: 'down', replica: deadUrl }), 1);
    assert.equal(sample(text, 'quilt_upstream_replica_healthy', { upstream: 'down', replica: deadUrl }), 0);
    assert.equal(sample(text, 'quilt_upstream_healthy_replicas', { upstream: 'down' }), 0);
    assert.equal(sample(text, 'quilt_upstream_panic', { upstream: 'down' }), 1);
    assert.equal(sample(text, 'quilt_upstream_healthy_replicas', { upstream: 'a' }), 1);
    assert.equal(
      sample(text, 'quilt_graphql_requests_total', { operation: 'anonymous', type: 'query', outcome: 'error' }),
      5,
    );

    const down = (await upstreams(h)).find((u) => u.name === 'down')!;
    assert.equal(down.panic, true);
    assert.equal(down.replicas[0]!.health, 'ejected');
    assert.equal(down.replicas[0]!.ejections, 1);
    assert.ok(down.replicas[0]!.ejectedUntil && Date.parse(down.replicas[0]!.ejectedUntil) > Date.now());
  });
});

describe('operations endpoints / 3: active health checks drive /readyz both ways; a removed upstream leaves the gauges', () => {
  let svc: TestServer;
  let up = true;
  let h: Harness;
  before(async () => {
    svc = await startTestServer((req, res) => {
      const path = req.url.split('?')[0];
      if (path === '/health') return sendJson(res, up ? 200 : 503, {});
      sendJson(res, 200, { id: '1' });
    });
    h = await startHarness({
      'svc.graphql': `${httpUpstream('svc', [svc.url], 'health: { path: "/health", intervalMs: 100, unhealthyThreshold: 1, healthyThreshold: 1 }')}type Item { id: ID }\ntype Query { item: Item @http(GET: "/item") }\n`,
    });
  });
  after(async () => {
    await h?.close();
    await svc?.close();
  });

  test('failing health checks: 503 naming the upstream; passing again: 200', async () => {
    await until('probes to start', async () => (svc.seen.some((r) => r.url === '/health') ? true : undefined));
    assert.equal((await readyz(h)).status, 200);
    up = false;
    const down = await until('readyz 503', async () => {
      const r = await readyz(h);
      return r.status === 503 ? r.body : undefined;
    });
    assert.deepEqual(down.unhealthyUpstreams, ['svc']);
    assert.equal(down.status, 'not ready');
    const snapshot = (await upstreams(h))[0]!;
    assert.equal(snapshot.activeHealthChecks, true);
    assert.equal(snapshot.replicas[0]!.health, 'failed_active_hc');
    let text = await scrape(h);
    assert.equal(
      sample(text, 'quilt_upstream_health_changes_total', { upstream: 'svc', replica: svc.url, healthy: 'false' }),
      1,
    );
    assert.equal(sample(text, 'quilt_upstream_replica_healthy', { upstream: 'svc', replica: svc.url }), 0);

    up = true;
    const ready = await until('readyz 200', async () => {
      const r = await readyz(h);
      return r.status === 200 ? r.body : undefined;
    });
    assert.equal(ready.status, 'ready');
    text = await scrape(h);
    assert.equal(
      sample(text, 'quilt_upstream_health_changes_total', { upstream: 'svc', replica: svc.url, healthy: 'true' }),
      1,
    );
    assert.equal(sample(text, 'quilt_upstream_replica_healthy', { upstream: 'svc', replica: svc.url }), 1);
  });

  test('after a reload without the upstream, its pool gauges are gone', async () => {
    h.removeSchema('svc.graphql');
    h.writeSchema(
      'other.graphql',
      `${httpUpstream('other', [svc.url])}type Thing { id: ID }\ntype Query { thing: Thing @http(GET: "/thing") }\n`,
    );
    assert.equal((await h.gateway.manager.reload()).ok, true);
    const text = await scrape(h);
    assert.equal(sample(text, 'quilt_upstream_replica_healthy', { upstream: 'other', replica: svc.url }), 1);
    assert.equal(sample(text, 'quilt_upstream_replica_healthy', { upstream: 'svc', replica: svc.url }), undefined);
    assert.equal(sample(text, 'quilt_upstream_healthy_replicas', { upstream: 'svc' }), undefined);
    assert.deepEqual(
      (await upstreams(h)).map((u) => u.name),
      ['other'],
    );
  });
});
