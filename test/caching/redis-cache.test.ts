// Both caches in a real redis-server (--redis-url), shared by two gateway instances: a response
// cached by one is a hit on the other (with Age), PRIVATE entries stay per user across
// instances, a mutation on one drops what the other cached, and an upstream GET kept by one is
// served by the other. Then Redis fails: killed, every request is still answered, correctly
// and promptly, as a miss (counted and logged); hung (SIGSTOP), no request waits longer than
// the deadline; restarted, caching resumes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_SECURITY, type SecurityOptions } from '../../src/security/options.js';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { mintToken } from '../helpers/jwt-fixtures.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { eventually } from '../helpers/wait.js';

const SECRET = 'redis-cache-test-secret-of-32-bytes!!';
// Far below what a client would notice; a dead Redis fails at once, a hung one at the deadline.
const ANSWER_BOUND_MS = 1000;

const schema = (url: string) => `${httpUpstream('shop', [url], 'httpCache: true')}
type Product @cacheControl(maxAge: 60) { id: ID! title: String }
type Profile @cacheControl(maxAge: 60, scope: PRIVATE) { id: ID! name: String }
type Query {
  product(id: ID!): Product @http(GET: "/products/{args.id}")
  me: Profile @http(GET: "/me", headers: [{ name: "x-user", value: "{jwt.sub}" }])
  rate: Float @http(GET: "/rate")
}
type Mutation { renameProduct(id: ID!): Product @http(POST: "/products/{args.id}") }
`;

async function metric(h: Harness, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${h.gateway.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('caches in Redis, shared by two gateways', () => {
  let redis: RedisServer;
  let shop: TestServer;
  let one: Harness;
  let two: Harness;
  const renamed = new Set<string>();
  const gets = (path: string) => shop.seen.filter((r) => r.method === 'GET' && r.url === path).length;
  const security = (redisTimeoutMs: number): SecurityOptions => ({
    ...DEFAULT_SECURITY,
    jwt: { secret: SECRET, algorithms: ['HS256'], clockToleranceSec: 0, requiredClaims: [] },
    shared: { redisUrl: redis.url, redisFailure: 'open', redisTimeoutMs },
  });
  const bearer = async (sub: string) => ({ authorization: `Bearer ${await mintToken(SECRET, { sub })}` });

  before(async () => {
    redis = await startRedisServer();
    shop = await startTestServer((req, res) => {
      const product = /^\/products\/(\w+)$/.exec(req.url);
      if (product && req.method === 'POST') renamed.add(product[1]!);
      // A title of 200 characters makes an answer over the small-bound gateway's entry limit.
      const id = product?.[1] ?? '';
      const title = id.startsWith('long') ? 'x'.repeat(200) : renamed.has(id) ? 'renamed' : 'first';
      if (product) return sendJson(res, 200, { id: product[1], title });
      if (req.url === '/me')
        return sendJson(res, 200, { id: req.headers['x-user'], name: `name of ${req.headers['x-user']}` });
      if (req.url === '/rate') {
        res.setHeader('cache-control', 'max-age=60');
        return sendJson(res, 200, 1.25);
      }
      sendJson(res, 404, {});
    });
    // A generous deadline for the sharing tests: a loaded machine can be slower than 250 ms.
    one = await startHarness({ 'shop.graphql': schema(shop.url) }, { security: security(2000) });
    two = await startHarness({ 'shop.graphql': schema(shop.url) }, { security: security(2000) });
  });
  after(async () => {
    await one?.close();
    await two?.close();
    await shop?.close();
    await redis?.stop();
  });

  test('a response cached by one gateway is a hit on the other, with Age', async () => {
    const q = '{ product(id: "1") { id title } }';
    const first = await one.query(q);
    assert.deepEqual(first.body, { data: { product: { id: '1', title: 'first' } } });
    const other = await two.query(q);
    assert.deepEqual(other.body, first.body);
    assert.notEqual(other.headers.get('age'), null);
    assert.equal(other.headers.get('cache-control'), 'max-age=60, public');
    assert.equal(gets('/products/1'), 1);
    assert.equal(await metric(two, 'quilt_cache_hits_total', 'cache="response",upstream=""'), 1);
  });

  test('PRIVATE entries stay per user across gateways', async () => {
    const q = '{ me { id name } }';
    const ada = await one.query(q, undefined, await bearer('ada'));
    const bob = await two.query(q, undefined, await bearer('bob'));
    assert.deepEqual(ada.body, { data: { me: { id: 'ada', name: 'name of ada' } } });
    assert.deepEqual(bob.body, { data: { me: { id: 'bob', name: 'name of bob' } } });
    const adaOnTwo = await two.query(q, undefined, await bearer('ada'));
    assert.deepEqual(adaOnTwo.body, ada.body);
    assert.notEqual(adaOnTwo.headers.get('age'), null);
    const bobOnOne = await one.query(q, undefined, await bearer('bob'));
    assert.deepEqual(bobOnOne.body, bob.body);
    assert.equal(gets('/me'), 2);
  });

  test('a mutation on one gateway drops the entry the other cached', async () => {
    const q = '{ product(id: "2") { title } }';
    await one.query(q);
    await one.query(q);
    assert.equal(gets('/products/2'), 1);
    await two.query('mutation { renameProduct(id: "2") { id title } }');
    assert.deepEqual((await one.query(q)).body, { data: { product: { title: 'renamed' } } });
    assert.equal(gets('/products/2'), 2);
  });

  test('an upstream GET kept by one gateway is served to the other', async () => {
    assert.deepEqual((await one.query('{ rate }')).body, { data: { rate: 1.25 } });
    assert.deepEqual((await two.query('{ rate }')).body, { data: { rate: 1.25 } });
    assert.equal(gets('/rate'), 1);
    assert.equal(await metric(two, 'quilt_cache_hits_total', 'cache="http",upstream="shop"'), 1);
  });

  test('in Redis too, an answer over an eighth of --cache-max-bytes is not kept', async () => {
    const small = await startHarness(
      { 'shop.graphql': schema(shop.url) },
      { security: security(2000), caching: { memory: { maxEntries: 100, maxBytes: 800 } } },
    );
    try {
      const long = '{ product(id: "long1") { id title } }';
      const first = await small.query(long);
      assert.equal(first.body.data?.product?.title?.length, 200, JSON.stringify(first.body));
      await small.query(long);
      assert.equal(gets('/products/long1'), 2, 'a 200-byte answer over the 100-byte limit is fetched each time');
      const short = '{ product(id: "short1") { id title } }';
      await small.query(short);
      await small.query(short);
      assert.equal(gets('/products/short1'), 1, 'an answer under the limit is kept');
      assert.equal(await metric(small, 'quilt_cache_stores_total', 'cache="response",upstream=""'), 1);
    } finally {
      await small.close();
    }
  });

  test('Redis killed: every answer is still right, prompt and a miss, counted and logged; restarted: hits again', async () => {
    await redis.kill();
    const q = '{ product(id: "3") { id title } }';
    const before3 = gets('/products/3');
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const res = await one.query(q);
      const ms = performance.now() - started;
      assert.deepEqual(res.body, { data: { product: { id: '3', title: 'first' } } });
      assert.ok(ms < ANSWER_BOUND_MS, `answered in ${ms.toFixed(0)} ms`);
      assert.equal(res.headers.get('age'), null);
    }
    assert.equal(gets('/products/3') - before3, 3, 'each request was a miss');
    assert.deepEqual((await two.query('{ rate }')).body, { data: { rate: 1.25 } });
    assert.ok((await metric(one, 'quilt_cache_store_errors_total', 'cache="response",operation="get"')) >= 1);
    assert.ok(one.logs.some((l) => l.level === 40 && /cache store \(Redis\) unavailable/.test(l.msg)));
    await redis.restart();
    await eventually(
      async () => {
        await one.query('{ product(id: "4") { id } }');
        return (await two.query('{ product(id: "4") { id } }')).headers.get('age') !== null;
      },
      { what: 'a hit once Redis is back', everyMs: 200 },
    );
  });

  test('Redis hung: no request waits longer than the deadline', async () => {
    const fast = await startHarness({ 'shop.graphql': schema(shop.url) }, { security: security(150) });
    try {
      redis.pause();
      const started = performance.now();
      const res = await fast.query('{ product(id: "5") { id title } }');
      const ms = performance.now() - started;
      assert.deepEqual(res.body, { data: { product: { id: '5', title: 'first' } } });
      assert.ok(ms < ANSWER_BOUND_MS, `answered in ${ms.toFixed(0)} ms`);
      assert.ok((await metric(fast, 'quilt_cache_store_errors_total', 'cache="response",operation="get"')) >= 1);
    } finally {
      redis.resume();
      await fast.close();
    }
  });
});
