// GET /status, its assets and GET /status/history against a real gateway over real upstreams:
// the page allows only its own inline code and the gateway's files, uPlot comes from
// node_modules with a year-long cache, and the history's shape, counts and refusals agree with
// what the upstreams and the clients saw. The page itself runs in Chromium in
// status-page.browser.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { WINDOW_SECONDS } from '../../src/observability/call-series.js';
import type { StatusView } from '../../src/observability/status-history.js';
import { DEFAULT_SECURITY } from '../../src/security/options.js';
import type { UpstreamSnapshot } from '../../src/upstream/types.js';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { closedPort } from '../helpers/grpc-fixtures.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { eventually } from '../helpers/wait.js';

type History = StatusView & { process: { pid: number; workers: number } };

const require = createRequire(import.meta.url);

const SCHEMA = `type Item { id: ID }
type Query {
  item: Item @http(GET: "/item")
  pricey: [Item] @http(GET: "/item") @cost(weight: "500")
  limited: Item @http(GET: "/item") @rateLimit(max: 1, window: "1m")
}
`;

async function history(h: Harness, query = ''): Promise<{ status: number; headers: Headers; body: History }> {
  const res = await fetch(`${h.gateway.url}/status/history${query}`);
  return { status: res.status, headers: res.headers, body: (await res.json()) as History };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('status endpoints', () => {
  let good: TestServer;
  let deadUrl: string;
  let h: Harness;
  before(async () => {
    good = await startTestServer((_req, res) => sendJson(res, 200, { id: '1' }));
    deadUrl = `http://127.0.0.1:${await closedPort()}`;
    h = await startHarness(
      {
        'a.graphql': httpUpstream('a', [good.url, deadUrl], 'outlierDetection: { consecutiveFailures: 100 }') + SCHEMA,
      },
      { logLevel: 'warn', security: { ...DEFAULT_SECURITY, cost: { ...DEFAULT_SECURITY.cost, maxCost: 100 } } },
    );
  });
  after(async () => {
    await h?.close();
    await good?.close();
  });

  test('/status: a page whose CSP allows only its own inline code, the gateway and fetches to it', async () => {
    const res = await fetch(`${h.gateway.url}/status`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    const html = await res.text();
    assert.match(html, /^<!doctype html>/i);
    for (const [tag, directive] of [
      ['style', 'style-src'],
      ['script', 'script-src'],
    ]) {
      const inline = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html)?.[1];
      assert.ok(inline, `an inline <${tag}>`);
      const hash = `'sha256-${createHash('sha256').update(inline).digest('base64')}'`;
      assert.match(csp, new RegExp(`${directive} 'self' ${hash.replace(/[+/]/g, '\\$&')}(;|$)`));
    }
    // Every asset is the gateway's own, by a relative url (so the page works behind a path prefix).
    const urls = [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    const { version } = require('uplot/package.json') as { version: string };
    assert.deepEqual(urls.sort(), [`status/uplot.css?v=${version}`, `status/uplot.js?v=${version}`]);
    assert.match(html, /fetch\(end \? 'status\/history\?since=' \+ end : 'status\/history'/);
    assert.match(html, /setInterval\(refresh, 1000\)/);
  });

  test('/status/uplot.js and .css: uPlot from node_modules, cached for a year', async () => {
    for (const [path, file, type] of [
      ['uplot.js', 'uplot/dist/uPlot.iife.min.js', /^text\/javascript/],
      ['uplot.css', 'uplot/dist/uPlot.min.css', /^text\/css/],
    ] as const) {
      const res = await fetch(`${h.gateway.url}/status/${path}?v=1`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', type);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(await res.text(), readFileSync(require.resolve(file), 'utf8'));
    }
    assert.equal((await fetch(`${h.gateway.url}/status/other.js`)).status, 404);
  });

  test('/status/history: the pools of /upstreams with five minutes of per-second series per upstream and replica', async () => {
    const before = good.seen.length;
    for (let i = 0; i < 12; i++) assert.deepEqual((await h.query('{ item { id } }')).body.data, { item: { id: '1' } });
    const served = good.seen.length - before;
    // The calls of the current second are shown once it is over.
    const startSecond = Math.floor(Date.now() / 1000);
    await eventually(() => Math.floor(Date.now() / 1000) > startSecond, { what: 'the next second', timeoutMs: 2000 });
    const { status, headers, body } = await history(h);
    assert.equal(status, 200);
    assert.match(headers.get('content-type') ?? '', /application\/json/);
    assert.equal(headers.get('cache-control'), 'no-store');
    assert.deepEqual(Object.keys(body).sort(), ['events', 'now', 'process', 'rejections', 'upstreams', 'window']);
    assert.deepEqual(body.process, { pid: process.pid, workers: 1 });
    assert.ok(Math.abs(body.now - Date.now()) < 5000);
    assert.equal(body.window.seconds, WINDOW_SECONDS);
    assert.equal(body.window.to - body.window.from + 1, WINDOW_SECONDS);
    assert.equal(body.window.to, Math.floor(body.now / 1000) - 1, 'the last complete second');

    // Everything /upstreams says, plus the series.
    const snapshot = ((await (await fetch(`${h.gateway.url}/upstreams`)).json()) as { upstreams: UpstreamSnapshot[] })
      .upstreams;
    assert.deepEqual(
      body.upstreams.map((u) => [u.name, u.replicas.map((r) => r.url)]),
      snapshot.map((u) => [u.name, u.replicas.map((r) => r.url)]),
    );
    const [a] = body.upstreams;
    for (const key of Object.keys(snapshot[0]).filter((k) => k !== 'replicas'))
      assert.ok(key in a, `upstream field ${key}`);
    for (const key of Object.keys(snapshot[0].replicas[0])) assert.ok(key in a.replicas[0], `replica field ${key}`);
    for (const series of [a.series, ...a.replicas.map((r) => r.series)]) {
      assert.deepEqual(Object.keys(series).sort(), ['calls', 'failures', 'p50Ms', 'p99Ms']);
      for (const values of Object.values(series)) assert.equal(values.length, WINDOW_SECONDS);
    }
    const live = a.replicas.find((r) => r.url === good.url)!.series;
    const dead = a.replicas.find((r) => r.url === deadUrl)!.series;
    assert.equal(sum(live.calls), served, 'every call the good replica received, counted once');
    assert.equal(sum(live.failures), 0);
    assert.ok(live.p50Ms.some((x) => x !== null && x > 0) && live.p99Ms.some((x) => x !== null && x > 0));
    assert.ok(sum(dead.calls) > 0, 'round robin sent calls to the dead replica too (then retried them)');
    assert.equal(sum(dead.failures), sum(dead.calls));
    assert.ok(
      dead.p99Ms.every((x) => x === null),
      'a refused connection is no latency sample',
    );
    assert.deepEqual(
      a.series.calls,
      live.calls.map((c, i) => c + dead.calls[i]),
    );
    assert.equal(body.rejections.perSecond.length, WINDOW_SECONDS);
    assert.ok(Array.isArray(body.events) && Array.isArray(body.rejections.recent));
  });

  test('?since= answers the seconds after it; a since that is not an epoch second is a 400', async () => {
    const full = (await history(h)).body;
    const since = full.window.to - 5;
    const { body } = await history(h, `?since=${since}`);
    assert.equal(body.window.from, since + 1);
    assert.equal(body.upstreams[0].series.calls.length, body.window.to - since);
    assert.equal(body.rejections.perSecond.length, body.window.to - since);
    for (const bad of ['yesterday', '-1', '1.5', '']) {
      const res = await history(h, `?since=${encodeURIComponent(bad)}`);
      assert.equal(res.status, 400, bad);
      assert.match((res.body as unknown as { error: string }).error, /^since: expected an epoch second/);
    }
  });

  test('refusals: an over-cost operation and a @rateLimit field, with the message the client got', async () => {
    const over = await h.query('{ pricey { id } }');
    const overError = over.body.errors?.[0];
    assert.equal(overError?.extensions?.code, 'COST_LIMIT_EXCEEDED');
    assert.equal((await h.query('{ limited { id } }')).body.errors, undefined);
    const limited = await h.query('{ limited { id } }');
    const limitedError = limited.body.errors?.[0];
    assert.equal(limitedError?.extensions?.code, 'RATE_LIMITED');
    const { recent } = (await history(h)).body.rejections;
    assert.deepEqual(
      recent.map((r) => [r.reason, r.code, r.message, r.count]),
      [
        ['rate_limit', 'RATE_LIMITED', limitedError?.message, 1],
        ['cost_limit', 'COST_LIMIT_EXCEEDED', overError?.message, 1],
      ],
    );
    assert.ok(recent.every((r) => Math.abs(r.at - Date.now()) < 5000));
  });

  test('refusals: a spent cost budget (429) and --max-in-flight (503), as the clients got them', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    const slow = await startTestServer(async (_req, res) => {
      await held;
      sendJson(res, 200, { id: '1' });
    });
    const other = await startHarness(
      { 'a.graphql': httpUpstream('a', [slow.url]) + SCHEMA },
      {
        logLevel: 'warn',
        protections: { maxInFlight: 1 },
        security: { ...DEFAULT_SECURITY, cost: { ...DEFAULT_SECURITY.cost, budget: 1, restoreRate: 0.01 } },
      },
    );
    try {
      const first = other.query('{ item { id } }'); // takes the budget's one point and the one slot
      await eventually(() => slow.seen.length === 1, { what: 'the first query reached the upstream' });
      const overloaded = await fetch(`${other.gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ item { id } }' }),
      });
      assert.equal(overloaded.status, 503);
      const overloadedMessage = ((await overloaded.json()) as { errors: { message: string }[] }).errors[0].message;
      release();
      assert.equal((await first).status, 200);
      const spent = await other.query('{ item { id } }');
      assert.equal(spent.status, 429);
      const { recent } = (await history(other)).body.rejections;
      assert.deepEqual(
        recent.map((r) => [r.reason, r.code, r.message]),
        [
          ['cost_budget', 'RATE_LIMITED', spent.body.errors?.[0]?.message],
          ['in_flight', 'OVERLOADED', overloadedMessage],
        ],
      );
    } finally {
      release();
      await other.close();
      await slow.close();
    }
  });

  test('with --workers the history says it is one worker of several', async () => {
    const other = await startHarness({ 'a.graphql': httpUpstream('a', [good.url]) + SCHEMA }, { workers: 3 });
    try {
      assert.deepEqual((await history(other)).body.process, { pid: process.pid, workers: 3 });
    } finally {
      await other.close();
    }
  });
});
