// @rateLimit through a gateway (README, "Security and limits"; in memory here, in Redis in
// security-redis-shared.test.ts): a limited field is null with RATE_LIMITED at its path while
// its siblings resolve, and its upstream is not called; identityArgs, arrayLengthField,
// message, window expiry, aliases, and a schema whose window cannot be read.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { SECURITY_DIRECTIVES_SDL } from '../../src/config/directives.js';
import { GatewayMetrics } from '../../src/observability/gateway-metrics.js';
import { MemoryLimitStore } from '../../src/security/limits/index.js';
import { DEFAULT_SECURITY } from '../../src/security/options.js';
import { rateLimitTransform } from '../../src/security/rate-limit/index.js';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { sleep } from '../helpers/wait.js';

describe('@rateLimit on fields', () => {
  let upstream: TestServer;
  let h: Harness;
  const calls = (path: string) => upstream.seen.filter((r) => r.url.split('?')[0] === path).length;

  before(async () => {
    upstream = await startTestServer((req, res) => {
      const [path, query = ''] = req.url.split('?');
      if (path === '/batch')
        return sendJson(
          res,
          200,
          new URLSearchParams(query).getAll('ids').map((id) => ({ id })),
        );
      sendJson(res, 200, { id: path.split('/').pop() });
    });
    h = await startHarness(
      {
        'a.graphql': `${httpUpstream('a', [upstream.url])}
type Item { id: ID }
type Query {
  limited: Item @http(GET: "/limited") @rateLimit(max: 3, window: "2s")
  free: Item @http(GET: "/free")
  item(id: ID!): Item @http(GET: "/items/{args.id}") @rateLimit(max: 2, window: "1m", identityArgs: ["id"])
  batch(ids: [ID!]!): [Item] @http(GET: "/batch?ids={args.ids}") @rateLimit(max: 5, window: "1m", arrayLengthField: "ids")
  custom: Item @http(GET: "/custom") @rateLimit(max: 1, window: "1m", message: "Slow down, please")
  aliased: Item @http(GET: "/aliased") @rateLimit(max: 3, window: "1m")
}
`,
      },
      { security: { ...DEFAULT_SECURITY } },
    );
  });
  after(async () => {
    await h?.close();
    await upstream?.close();
  });

  test('the 4th call in the window is null with RATE_LIMITED at its path; siblings resolve; upstream saw 3', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await h.query('{ limited { id } free { id } }');
      assert.deepEqual(r.body.data, { limited: { id: 'limited' }, free: { id: 'free' } });
      assert.equal(r.body.errors, undefined);
    }
    const r = await h.query('{ limited { id } free { id } }');
    assert.equal(r.status, 200, 'a field limit is a partial result, not a refused request');
    assert.deepEqual(r.body.data, { limited: null, free: { id: 'free' } });
    assert.equal(r.body.errors?.length, 1);
    assert.deepEqual(r.body.errors![0].path, ['limited']);
    assert.equal(r.body.errors![0].extensions?.code, 'RATE_LIMITED');
    assert.match(r.body.errors![0].message, /Query\.limited/);
    const retryAfter = r.body.errors![0].extensions?.retryAfterSec;
    assert.ok(
      retryAfter >= 1 && retryAfter <= 2,
      `retryAfterSec ${retryAfter}: when the 2nd call leaves the 2 s window`,
    );
    assert.equal(calls('/limited'), 3);
    assert.equal(calls('/free'), 4);
    const metrics = await (await fetch(`${h.gateway.url}/metrics`)).text();
    assert.match(metrics, /quilt_limit_rejections_total\{reason="rate_limit"\} 1\b/);

    // Window expiry: every call (refused ones too, as graphql-rate-limit counts them) leaves it.
    await sleep(2100);
    const again = await h.query('{ limited { id } }');
    assert.deepEqual(again.body.data, { limited: { id: 'limited' } });
    assert.equal(calls('/limited'), 4);
  });

  test('identityArgs: each argument value has its own window', async () => {
    const item = (id: string) => h.query('query($id: ID!) { item(id: $id) { id } }', { id });
    assert.deepEqual((await item('1')).body.data, { item: { id: '1' } });
    assert.deepEqual((await item('1')).body.data, { item: { id: '1' } });
    const third = await item('1');
    assert.equal(third.body.data?.item, null);
    assert.equal(third.body.errors?.[0].extensions?.code, 'RATE_LIMITED');
    assert.deepEqual((await item('2')).body.data, { item: { id: '2' } }, 'another id is counted apart');
    assert.equal(calls('/items/1'), 2);
    assert.equal(calls('/items/2'), 1);
  });

  test('arrayLengthField: a call counts as many calls as the list has items', async () => {
    const batch = (ids: string[]) => h.query('query($ids: [ID!]!) { batch(ids: $ids) { id } }', { ids });
    assert.equal((await batch(['1', '2', '3'])).body.data?.batch.length, 3);
    assert.equal((await batch(['4', '5'])).body.data?.batch.length, 2, '3 + 2 = max');
    const over = await batch(['6']);
    assert.equal(over.body.data?.batch, null);
    assert.equal(over.body.errors?.[0].extensions?.code, 'RATE_LIMITED');
    assert.equal(calls('/batch'), 2);
  });

  test('message: the directive chooses the error text', async () => {
    await h.query('{ custom { id } }');
    const r = await h.query('{ custom { id } }');
    assert.equal(r.body.errors?.[0].message, 'Slow down, please');
    assert.equal(r.body.errors?.[0].extensions?.code, 'RATE_LIMITED');
    assert.equal(calls('/custom'), 1);
  });

  test('aliases do not get around it: each selection is a call', async () => {
    const r = await h.query('{ a: aliased { id } b: aliased { id } c: aliased { id } d: aliased { id } }');
    const values = Object.values(r.body.data ?? {});
    assert.equal(values.filter((v) => v === null).length, 1);
    assert.equal(r.body.errors?.length, 1);
    assert.equal(r.body.errors?.[0].extensions?.code, 'RATE_LIMITED');
    assert.equal(calls('/aliased'), 1, 'the three allowed ones are one identical call, made once');
    assert.equal((await h.query('{ aliased { id } }')).body.data?.aliased, null, 'all four were counted');
  });
});

describe('@rateLimit in a schema', () => {
  const schemaWith = (args: string) =>
    makeExecutableSchema({
      typeDefs: `${SECURITY_DIRECTIVES_SDL}\ntype Query { f: Int @rateLimit(${args}) }`,
      resolvers: { Query: { f: () => 1 } },
    });
  const transform = rateLimitTransform(new MemoryLimitStore(), {
    metrics: new GatewayMetrics({ processMetrics: false }),
  });

  test('a window that is not a duration, or max below 1, fails the schema instead of limiting nothing', () => {
    assert.throws(
      () => transform(schemaWith('max: 2, window: "soon"')),
      /Query\.f: @rateLimit\(window: "soon"\) is not a duration/,
    );
    assert.throws(() => transform(schemaWith('max: 0, window: "1s"')), /must be at least 1/);
    assert.doesNotThrow(() => transform(schemaWith('max: 2, window: "1.5h"')));
  });
});
