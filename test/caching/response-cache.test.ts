// Response caching by @cacheControl through a real gateway over a real JSON backend that counts
// every call (README, "Caching"): a hit avoids the upstream and carries Age; maxAge 0, errors
// and mutations are not cached; an entry expires; a mutation drops the entries holding its
// entity; PRIVATE answers are keyed by the caller (real JWTs) and never cross users; the cost
// budget and authorization still apply to cached answers; a schema without @cacheControl gets
// no header and no cache.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { DEFAULT_SECURITY } from '../../src/security/options.js';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { mintToken } from '../helpers/jwt-fixtures.js';
import { sleep } from '../helpers/wait.js';

const SECRET = 'response-cache-test-secret-of-32-bytes!';
const jwtSecurity = {
  ...DEFAULT_SECURITY,
  jwt: { secret: SECRET, algorithms: ['HS256'], clockToleranceSec: 0, requiredClaims: [] },
};
const bearer = async (sub: string, scope?: string) => ({
  authorization: `Bearer ${await mintToken(SECRET, { sub, claims: scope ? { scope } : {} })}`,
});

/** The backend: products (title changeable by POST), /me answering for the x-user header, a failing product; calls() counts GETs. */
async function startShop(): Promise<TestServer & { titles: Map<string, string>; calls(path: string): number }> {
  const titles = new Map<string, string>();
  const server = await startTestServer((req, res) => {
    const product = /^\/products\/(\w+)$/.exec(req.url);
    if (product && req.method === 'POST') {
      titles.set(product[1]!, JSON.parse(req.body).title);
      return sendJson(res, 200, { id: product[1], title: titles.get(product[1]!) });
    }
    if (product?.[1] === '500') return sendJson(res, 500, { error: 'boom' });
    if (product) return sendJson(res, 200, { id: product[1], title: titles.get(product[1]!) ?? `title ${product[1]}` });
    const item = /^\/items\/(\w+)$/.exec(req.url);
    if (item && req.method === 'POST') return sendJson(res, 200, { sku: item[1], name: 'renamed' });
    if (item) return sendJson(res, 200, { sku: item[1], name: `item ${item[1]}` });
    if (req.url === '/me') {
      const user = req.headers['x-user'] ?? 'anonymous';
      return sendJson(res, 200, { id: user, name: `name of ${user}` });
    }
    if (req.url === '/secret') return sendJson(res, 200, { code: 'the-code', hint: 'public hint' });
    if (req.url === '/stock') return sendJson(res, 200, 7);
    sendJson(res, 404, {});
  });
  return Object.assign(server, {
    titles,
    calls: (path: string) => server.seen.filter((r) => r.method === 'GET' && r.url === path).length,
  });
}

const SCHEMA = (url: string) => `${httpUpstream('shop', [url])}
type Product @cacheControl(maxAge: 60) { id: ID! title: String }
type Item @key(selectionSet: "{ sku }") @cacheControl(maxAge: 60) { sku: ID! name: String }
type Profile @cacheControl(maxAge: 60, scope: PRIVATE) { id: ID! name: String }
type Secret @cacheControl(maxAge: 60) { code: String @requiresScopes(scopes: [["secret:read"]]) hint: String }
type Query {
  product(id: ID!): Product @http(GET: "/products/{args.id}")
  brief(id: ID!): Product @http(GET: "/products/{args.id}") @cacheControl(maxAge: 1)
  item(sku: ID!): Item @http(GET: "/items/{args.sku}")
  me: Profile @http(GET: "/me", headers: [{ name: "x-user", value: "{jwt.sub}" }])
  secret: Secret @http(GET: "/secret")
  stock: Int @http(GET: "/stock")
}
type Mutation {
  renameProduct(id: ID!, title: String!): Product @http(POST: "/products/{args.id}", body: { title: "{args.title}" })
  renameItem(sku: ID!): Item @http(POST: "/items/{args.sku}")
}
`;

async function metric(h: Harness, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${h.gateway.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('response cache (@cacheControl)', () => {
  let shop: Awaited<ReturnType<typeof startShop>>;
  let h: Harness;

  before(async () => {
    shop = await startShop();
    h = await startHarness({ 'shop.graphql': SCHEMA(shop.url) }, { security: jwtSecurity });
  });
  after(async () => {
    await h.close();
    await shop.close();
  });
  beforeEach(() => {
    shop.seen.length = 0;
  });

  test('a hit avoids the upstream call, says Cache-Control public and carries Age', async () => {
    const q = '{ product(id: "1") { id title } }';
    const first = await h.query(q);
    assert.deepEqual(first.body, { data: { product: { id: '1', title: 'title 1' } } });
    assert.equal(first.headers.get('cache-control'), 'max-age=60, public');
    assert.equal(first.headers.get('age'), null);
    await sleep(1100);
    const second = await h.query(q);
    assert.deepEqual(second.body, first.body);
    assert.equal(shop.calls('/products/1'), 1, 'the second answer came from the cache');
    assert.equal(second.headers.get('cache-control'), 'max-age=60, public');
    assert.ok(Number(second.headers.get('age')) >= 1, `age ${second.headers.get('age')}`);
    assert.equal(await metric(h, 'quilt_cache_hits_total', 'cache="response",upstream=""'), 1);
    assert.ok((await metric(h, 'quilt_cache_stores_total', 'cache="response",upstream=""')) >= 1);
  });

  test('an operation with maxAge 0 is neither looked up nor stored: no-store', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await h.query('{ stock }');
      assert.deepEqual(res.body, { data: { stock: 7 } });
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
    assert.equal(shop.calls('/stock'), 2);
  });

  test('an entry expires after its maxAge (1 s) and the upstream is called again', async () => {
    const q = '{ brief(id: "2") { title } }';
    assert.equal((await h.query(q)).headers.get('cache-control'), 'max-age=1, public');
    await h.query(q);
    assert.equal(shop.calls('/products/2'), 1);
    await sleep(1100);
    await h.query(q);
    assert.equal(shop.calls('/products/2'), 2);
  });

  test('an answer with errors is not stored', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await h.query('{ product(id: "500") { id } }');
      assert.equal(res.body.errors?.[0]?.extensions?.code, 'UPSTREAM_ERROR');
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
    assert.equal(shop.calls('/products/500'), 2);
  });

  test('a mutation is not cached and drops the entries holding its entity, and only those', async () => {
    const q3 = '{ product(id: "3") { title } }';
    const q4 = '{ product(id: "4") { title } }';
    await h.query(q3);
    await h.query(q4);
    const mutation = await h.query('mutation { renameProduct(id: "3", title: "new") { id title } }');
    assert.deepEqual(mutation.body, { data: { renameProduct: { id: '3', title: 'new' } } });
    assert.equal(mutation.headers.get('cache-control'), 'no-store');
    assert.deepEqual((await h.query(q3)).body, { data: { product: { title: 'new' } } });
    await h.query(q4);
    assert.equal(shop.calls('/products/3'), 2, 'product 3 was read again after the mutation');
    assert.equal(shop.calls('/products/4'), 1, 'product 4 stayed cached');
    assert.equal(shop.seen.filter((r) => r.method === 'POST').length, 1);
  });

  test('an entity keyed by @key(selectionSet: "{ sku }") is invalidated by that key', async () => {
    const q = '{ item(sku: "k1") { name } }';
    await h.query(q);
    await h.query(q);
    assert.equal(shop.calls('/items/k1'), 1);
    await h.query('mutation { renameItem(sku: "k1") { name } }');
    await h.query(q);
    assert.equal(shop.calls('/items/k1'), 2);
  });

  test("PRIVATE: each user's answer is cached for that user alone, and never for the anonymous", async () => {
    const q = '{ me { id name } }';
    const ada = await bearer('ada');
    const bob = await bearer('bob');
    const first = await h.query(q, undefined, ada);
    assert.deepEqual(first.body, { data: { me: { id: 'ada', name: 'name of ada' } } });
    assert.equal(first.headers.get('cache-control'), 'max-age=60, private');
    const other = await h.query(q, undefined, bob);
    assert.deepEqual(other.body, { data: { me: { id: 'bob', name: 'name of bob' } } });
    // Each from its own entry: neither call reaches the upstream.
    assert.deepEqual((await h.query(q, undefined, bob)).body, other.body);
    const again = await h.query(q, undefined, await bearer('ada'));
    assert.deepEqual(again.body, first.body);
    assert.notEqual(again.headers.get('age'), null, 'a new token of the same user hits');
    assert.equal(shop.calls('/me'), 2);
    for (let i = 0; i < 2; i++) {
      const anonymous = await h.query(q);
      assert.deepEqual(anonymous.body, { data: { me: { id: 'anonymous', name: 'name of anonymous' } } });
      assert.equal(anonymous.headers.get('age'), null);
    }
    assert.equal(shop.calls('/me'), 4, 'anonymous answers are never served from nor written to the cache');
  });

  test('authorization applies: a cached answer with a protected field never reaches a caller denied it', async () => {
    const q = '{ secret { code hint } }';
    const allowed = await h.query(q, undefined, await bearer('ada', 'secret:read'));
    assert.deepEqual(allowed.body, { data: { secret: { code: 'the-code', hint: 'public hint' } } });
    assert.equal(allowed.headers.get('cache-control'), 'max-age=60, private', 'a protected operation is PRIVATE');
    for (const headers of [await bearer('bob'), await bearer('ada'), {}]) {
      const denied = await h.query(q, undefined, headers);
      assert.deepEqual(denied.body.data, { secret: { code: null, hint: 'public hint' } });
      assert.match(String(denied.body.errors?.[0]?.extensions?.code), /^(FORBIDDEN|UNAUTHENTICATED)$/);
      assert.equal(denied.headers.get('cache-control'), 'no-store');
    }
    const again = await h.query(q, undefined, await bearer('ada', 'secret:read'));
    assert.deepEqual(again.body, allowed.body);
    assert.notEqual(again.headers.get('age'), null);
    assert.equal(shop.calls('/secret'), 4, 'one call per denied caller, none for the hit');
  });
});

describe('response cache with a cost budget', () => {
  test('a cached answer is costed and taken from the budget like any other', async () => {
    const shop = await startShop();
    const h = await startHarness(
      { 'shop.graphql': SCHEMA(shop.url) },
      { security: { ...DEFAULT_SECURITY, cost: { ...DEFAULT_SECURITY.cost, budget: 2, restoreRate: 0.001 } } },
    );
    try {
      const q = '{ product(id: "9") { title } }';
      const first = await h.query(q);
      const hit = await h.query(q);
      assert.equal(shop.calls('/products/9'), 1);
      assert.notEqual(hit.headers.get('age'), null);
      const cost = (hit.body as { extensions?: { cost?: { requestedQueryCost: number } } }).extensions?.cost;
      assert.equal(cost?.requestedQueryCost, 1);
      assert.deepEqual(first.body.data, hit.body.data);
      const refused = await h.query(q);
      assert.equal(refused.status, 429);
      assert.equal(refused.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
      assert.equal(shop.calls('/products/9'), 1);
    } finally {
      await h.close();
      await shop.close();
    }
  });
});

describe('a schema without @cacheControl', () => {
  test('has no Cache-Control from the cache, and every read reaches the upstream', async () => {
    const shop = await startShop();
    const h = await startHarness({
      'shop.graphql': `${httpUpstream('shop', [shop.url])}
type Product { id: ID! title: String }
type Query { product(id: ID!): Product @http(GET: "/products/{args.id}") }`,
    });
    try {
      for (let i = 0; i < 2; i++) {
        const res = await h.query('{ product(id: "1") { title } }');
        assert.deepEqual(res.body, { data: { product: { title: 'title 1' } } });
        assert.equal(res.headers.get('cache-control'), null);
      }
      assert.equal(shop.calls('/products/1'), 2);
      assert.equal(await metric(h, 'quilt_cache_misses_total', 'cache="response",upstream=""'), 0);
    } finally {
      await h.close();
      await shop.close();
    }
  });
});
