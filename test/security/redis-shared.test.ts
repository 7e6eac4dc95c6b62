// Limits shared by gateway instances through one real redis-server (README, "Security and limits"):
// 200 concurrent requests from one client, split across two instances, against a cost
// budget worth exactly 50 of them, then against a @rateLimit window of 50: exactly 50 pass
// in total, because each check-and-take is one Lua script in Redis. Then Redis dies: a
// gateway with redisFailure 'open' keeps serving, one with 'closed' refuses with
// RATE_LIMITED, and neither makes a client wait.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_SECURITY, type SecurityOptions } from '../../src/security/options.js';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const QUERY = '{ item { id } }';
const LIMITED_QUERY = '{ limited { id } }';
// A dead Redis fails at once and a hung one at the store's 250 ms deadline; the rest is room
// for a loaded test machine. Without the policy a request would wait for the reconnect.
const ANSWER_BOUND_MS = 500;

describe('two gateway instances on one Redis', () => {
  let redis: RedisServer;
  let upstream: TestServer;
  const harnesses: Harness[] = [];
  let costOfQuery = 0;
  const calls = (path: string) => upstream.seen.filter((r) => r.url === path).length;
  const files = () => ({
    'a.graphql': `${httpUpstream('a', [upstream.url])}
type Item { id: ID }
type Query {
  item: Item @http(GET: "/item")
  limited: Item @http(GET: "/limited") @rateLimit(max: 50, window: "1m")
}
`,
  });
  const start = async (security: Partial<SecurityOptions>): Promise<Harness> => {
    const h = await startHarness(files(), { security: { ...DEFAULT_SECURITY, ...security } });
    harnesses.push(h);
    return h;
  };
  // Exactness is the store's; the deadline is policy. A 2-core machine running the whole
  // suite can delay a Redis answer past the default 250 ms, which fails open and admits one
  // too many: these tests give the store time to answer.
  const shared = (redisFailure: 'open' | 'closed' = 'open', redisTimeoutMs = 2000) => ({
    redisUrl: redis.url,
    redisFailure,
    redisTimeoutMs,
  });

  before(async () => {
    redis = await startRedisServer();
    upstream = await startTestServer((req, res) => sendJson(res, 200, { id: req.url.slice(1) }));
    // What one request costs, measured by a gateway without a budget (nothing is taken; a
    // maximum far above it turns cost analysis on).
    const probe = await start({ cost: { ...DEFAULT_SECURITY.cost, maxCost: 1_000_000 } });
    costOfQuery =
      ((await probe.query(QUERY)).body as { extensions?: { cost?: { requestedQueryCost: number } } }).extensions?.cost
        ?.requestedQueryCost ?? 0;
    assert.ok(costOfQuery > 0, `cost of ${QUERY}: ${costOfQuery}`);
    upstream.seen.length = 0;
  });
  after(async () => {
    for (const h of harnesses) await h.close();
    await upstream?.close();
    await redis?.stop();
  });

  test('a cost budget worth 50 requests: exactly 50 of 200 concurrent requests succeed, the others get 429', async () => {
    const cost = { ...DEFAULT_SECURITY.cost, budget: 50 * costOfQuery, restoreRate: 0 };
    const [a, b] = await Promise.all([start({ cost, shared: shared() }), start({ cost, shared: shared() })]);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).query(QUERY)));
    const ok = results.filter((r) => r.status === 200 && r.body.data?.item?.id === 'item');
    const limited = results.filter((r) => r.status === 429);
    assert.equal(ok.length, 50);
    assert.equal(limited.length, 150);
    for (const r of limited) {
      assert.equal(r.body.errors?.[0].extensions?.code, 'RATE_LIMITED');
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
    }
    assert.equal(calls('/item'), 50, 'refused requests never reach the upstream');
    // Both instances served some of the 50: the budget is one, not one per instance.
    assert.ok(ok.some((r) => results.indexOf(r) % 2 === 0) && ok.some((r) => results.indexOf(r) % 2 === 1));
  });

  test('a @rateLimit window of 50: exactly 50 of 200 concurrent calls resolve, the others are RATE_LIMITED', async () => {
    const [a, b] = await Promise.all([start({ shared: shared() }), start({ shared: shared() })]);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).query(LIMITED_QUERY)));
    const ok = results.filter((r) => r.body.data?.limited?.id === 'limited');
    const limited = results.filter(
      (r) => r.body.data?.limited === null && r.body.errors?.[0].extensions?.code === 'RATE_LIMITED',
    );
    assert.equal(ok.length, 50);
    assert.equal(limited.length, 150);
    for (const r of limited) assert.deepEqual(r.body.errors?.[0].path, ['limited']);
    assert.equal(calls('/limited'), 50);
  });

  test("Redis killed: 'open' serves (and counts it), 'closed' refuses with RATE_LIMITED; nobody waits", async () => {
    const budget = { ...DEFAULT_SECURITY.cost, budget: 1000 * costOfQuery, restoreRate: 0 };
    const open = await start({ cost: budget, shared: shared('open', 250) });
    const closedField = await start({ shared: shared('closed', 250) });
    const closedBudget = await start({ cost: budget, shared: shared('closed', 250) });
    await redis.kill();
    const timed = async (h: Harness, query: string) => {
      const started = performance.now();
      const r = await h.query(query);
      const ms = performance.now() - started;
      assert.ok(ms < ANSWER_BOUND_MS, `answered in ${Math.round(ms)} ms`);
      return r;
    };
    for (let i = 0; i < 3; i++) {
      const served = await timed(open, `{ item { id } limited { id } }`);
      assert.equal(served.status, 200);
      assert.deepEqual(served.body.data, { item: { id: 'item' }, limited: { id: 'limited' } });

      const field = await timed(closedField, `{ item { id } limited { id } }`);
      assert.deepEqual(field.body.data, { item: { id: 'item' }, limited: null });
      assert.equal(field.body.errors?.[0].extensions?.code, 'RATE_LIMITED');

      const whole = await timed(closedBudget, QUERY);
      assert.equal(whole.status, 429);
      assert.equal(whole.headers.get('retry-after'), '1');
      assert.equal(whole.body.errors?.[0].extensions?.code, 'RATE_LIMITED');
    }
    const metrics = async (h: Harness) => (await fetch(`${h.gateway.url}/metrics`)).text();
    assert.match(await metrics(open), /quilt_limit_store_errors_total\{action="allowed"\} [1-9]/);
    assert.match(await metrics(closedField), /quilt_limit_store_errors_total\{action="refused"\} 3\b/);
    assert.ok(open.logs.some((l) => l.level === 40 && /limit store \(Redis\) unavailable/.test(l.msg)));
  });
});
