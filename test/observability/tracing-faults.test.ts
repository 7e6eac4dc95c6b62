// Tracing when the collector is not there or does not answer: requests are answered as
// usual and at their usual pace, the spans that cannot be delivered are dropped (the queue is
// bounded), counted in /metrics and logged, and shutdown does not wait on the collector for
// longer than its bound. Also: the resource's service.name from the OTel variables.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { closedPort } from '../helpers/grpc-fixtures.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { eventually } from '../helpers/wait.js';

const SCHEMA = 'type User { id: ID }\ntype Query { user: User @http(GET: "/user") }\n';

async function droppedSpans(h: Harness, reason: string): Promise<number> {
  const text = await (await fetch(`${h.gateway.url}/metrics`)).text();
  const m = new RegExp(`^quilt_tracing_spans_dropped_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** Runs `n` queries one after another; every one must be answered with its data. Returns the time taken. */
async function queries(h: Harness, n: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await h.query('{ user { id } }');
    assert.deepEqual(r.body, { data: { user: { id: '7' } } });
  }
  return performance.now() - started;
}

const warnings = (h: Harness) => h.logs.filter((l) => l.component === 'tracing' && l.level === 40);

describe('tracing faults / 1: the collector is down', () => {
  let upstream: TestServer;
  let h: Harness;
  before(async () => {
    upstream = await startTestServer((_req, res) => sendJson(res, 200, { id: '7' }));
    h = await startHarness(
      { 'users.graphql': httpUpstream('users', [upstream.url]) + SCHEMA },
      {
        tracing: {
          tracesUrl: `http://127.0.0.1:${await closedPort()}/v1/traces`,
          sampleRatio: 1,
          exportTimeoutMs: 300,
          shutdownFlushMs: 500,
          batch: { scheduledDelayMillis: 20 },
        },
      },
    );
  });
  after(async () => {
    await upstream?.close();
  });

  test('queries succeed; the spans that could not be sent are counted and logged; shutdown is bounded', async () => {
    await queries(h, 10);
    await eventually(async () => (await droppedSpans(h, 'export_failed')) >= 3, { what: 'export_failed drops' });
    const [warning] = warnings(h);
    assert.ok(warning, 'a warning names the failure');
    assert.match(warning.lastError, /ECONNREFUSED/);
    assert.ok(warning.droppedSpans.export_failed >= 3);
    assert.equal(warnings(h).length, 1, 'one warning per minute at most, however many exports fail');
    assert.equal(await droppedSpans(h, 'queue_full'), 0);

    const closing = performance.now();
    await h.close();
    assert.ok(performance.now() - closing < 5_000, 'shutdown waited on the dead collector for its bound only');
    assert.ok(h.logs.some((l) => l.msg === 'stopped'));
  });
});

describe('tracing faults / 2: the collector accepts and never answers', () => {
  let rx: OtlpReceiver;
  let upstream: TestServer;
  let h: Harness;
  before(async () => {
    rx = await startOtlpReceiver('hang');
    upstream = await startTestServer((_req, res) => sendJson(res, 200, { id: '7' }));
    h = await startHarness(
      { 'users.graphql': httpUpstream('users', [upstream.url]) + SCHEMA },
      {
        tracing: {
          tracesUrl: `${rx.url}/v1/traces`,
          sampleRatio: 1,
          shutdownFlushMs: 300,
          // A tiny queue: the first batch hangs in its export, the queue fills, the rest are dropped.
          batch: { maxQueueSize: 6, maxExportBatchSize: 3, scheduledDelayMillis: 10 },
        },
      },
    );
  });
  after(async () => {
    await upstream?.close();
    await rx?.close();
  });

  test('requests do not wait for it: the queue stays bounded and its overflow is counted', async () => {
    const ms = await queries(h, 15);
    // Each export waits up to 10 s for the stuck collector; the 15 queries did not.
    assert.ok(ms < 5_000, `15 queries took ${Math.round(ms)} ms`);
    await eventually(() => rx.requests.length >= 1, { what: 'the collector was reached' });
    const dropped = await droppedSpans(h, 'queue_full');
    // 15 queries x 3 spans (operation, call, attempt): 3 in the stuck export, 6 queued, the rest dropped.
    assert.ok(dropped >= 30, `${dropped} spans dropped`);
    assert.ok(warnings(h).some((w) => w.droppedSpans.queue_full > 0));

    const closing = performance.now();
    await h.close();
    assert.ok(performance.now() - closing < 5_000);
    assert.ok(h.logs.some((l) => /did not take the last spans in time/.test(l.msg)));
  });
});

describe('tracing faults / 3: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES', () => {
  let rx: OtlpReceiver;
  let upstream: TestServer;
  let h: Harness;
  before(async () => {
    // Read by the SDK's resource detector from the process environment, as every OTel SDK does.
    process.env.OTEL_SERVICE_NAME = 'edge-gateway';
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'service.name=overridden,deployment.environment.name=staging';
    rx = await startOtlpReceiver();
    upstream = await startTestServer((_req, res) => sendJson(res, 200, { id: '7' }));
    h = await startHarness(
      { 'users.graphql': httpUpstream('users', [upstream.url]) + SCHEMA },
      { tracing: { tracesUrl: `${rx.url}/v1/traces`, sampleRatio: 1, batch: { scheduledDelayMillis: 20 } } },
    );
  });
  after(async () => {
    delete process.env.OTEL_SERVICE_NAME;
    delete process.env.OTEL_RESOURCE_ATTRIBUTES;
    await h?.close();
    await upstream?.close();
    await rx?.close();
  });

  test('OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES; other attributes are kept', async () => {
    await queries(h, 1);
    const [span] = await rx.waitFor((s) => s.length >= 3);
    assert.equal(span!.resource['service.name'], 'edge-gateway');
    assert.equal(span!.resource['deployment.environment.name'], 'staging');
    assert.match(String(span!.resource['service.instance.id']), /^[0-9a-f-]{36}$/);
  });
});
