// Cost analysis and cost limits under --cost-model apollo (README, "Cost"): estimated costs
// worked out by hand in Apollo Router's reading of the IBM cost spec (a list field's weight
// once per item, mutations 10; the model is written at the top of
// src/security/cost/estimate.ts), actual costs from the lists an upstream really returned,
// --max-cost, and the per-client budget (take, refund, refill, 429 + Retry-After), all
// through a real gateway and an upstream that records every call, so "no upstream call" is a
// count. The default model, the spec's own, is cost-ibm.test.ts; two gateways sharing one
// budget through Redis: redis-shared.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'graphql';
import { QuiltError } from '../../src/errors.js';
import { actualCost, estimateCost, prepareOperation } from '../../src/security/cost/index.js';
import { type CostOptions, DEFAULT_SECURITY, type SecurityOptions } from '../../src/security/options.js';
import { type GraphQLResponse, type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { mintToken } from '../helpers/jwt-fixtures.js';
import { sleep } from '../helpers/wait.js';

const apolloActual = (op: Parameters<typeof actualCost>[0], data: Parameters<typeof actualCost>[1]) =>
  actualCost(op, data, 'apollo');

const SECRET = 'quilt-cost-test-secret-0123456789-abcdef';

const schema = (url: string) => `${httpUpstream('shop', [url])}
scalar Money @cost(weight: "0.5")
enum Status @cost(weight: 3) { OPEN CLOSED }
interface Node { id: ID! }
type Product implements Node @cost(weight: 2) { id: ID! name: String price: Money status: Status }
type User implements Node { id: ID! name: String friends: [User!]! @listSize(assumedSize: 4) orders: [Order!]! }
type Order { id: ID! total: Money }
type Review { id: ID! body: String @cost(weight: "1.5") }
type ReviewEdge { cursor: String node: Review }
type PageInfo { hasNextPage: Boolean }
type ReviewConnection { edges: [ReviewEdge!]! nodes: [Review!]! pageInfo: PageInfo total: Int }
type Person { name: String age: Int @cost(weight: "2.0") }
input ReviewFilter { minStars: Int @cost(weight: 2) search: SearchInput }
input SearchInput { text: String @cost(weight: 4) }
type Query {
  products(limit: Int = 20, offset: Int = 0): [Product!]! @http(GET: "/products") @listSize(slicingArguments: ["limit"])
  users(first: Int, last: Int): [User!]! @http(GET: "/users") @listSize(slicingArguments: ["first", "last"])
  anyUsers(first: Int, last: Int): [User!]! @http(GET: "/users") @listSize(slicingArguments: ["first", "last"], requireOneSlicingArgument: false)
  reviews(first: Int, filter: ReviewFilter, exact: Boolean @cost(weight: 5)): ReviewConnection @http(GET: "/reviews") @listSize(slicingArguments: ["first"], sizedFields: ["edges", "nodes"])
  node(id: ID!): Node @http(GET: "/nodes/{args.id}")
  everything: [Node!]! @http(GET: "/nodes")
  people(max: Int): [Person] @http(GET: "/people") @listSize(slicingArguments: ["max"])
  expensive: String @http(GET: "/expensive") @cost(weight: 7)
  matrix: [[Money]] @http(GET: "/matrix")
}
type Mutation { addReview(body: String!): Review @http(POST: "/reviews", body: { body: "{args.body}" }) }
`;

/** The upstream: /products answers `products.count` items, /users the `users` fixture. */
interface Shop {
  server: TestServer;
  products: { count: number };
  users: unknown[];
  calls(): number;
}

async function startShop(): Promise<Shop> {
  const products = { count: 3 };
  const shop: Shop = {
    products,
    users: [],
    calls: () => shop.server.seen.length,
    server: await startTestServer((req, res) => {
      const path = req.url.split('?')[0];
      if (path === '/products')
        return sendJson(
          res,
          200,
          Array.from({ length: products.count }, (_, i) => ({ id: `p${i}`, name: 'n', price: 1, status: 'OPEN' })),
        );
      if (path === '/users') return sendJson(res, 200, shop.users);
      if (path === '/reviews')
        return sendJson(
          res,
          200,
          req.method === 'POST'
            ? { id: 'r1', body: 'b' }
            : { edges: [], nodes: [], pageInfo: { hasNextPage: false }, total: 0 },
        );
      if (path === '/expensive') return sendJson(res, 200, 'x');
      if (path === '/matrix' || path === '/nodes' || path === '/people') return sendJson(res, 200, []);
      sendJson(res, 200, { id: '1' });
    }),
  };
  return shop;
}

// A maximum far above every cost here: cost analysis runs only when a limit is set.
const security = (cost: Partial<CostOptions>, over: Partial<SecurityOptions> = {}): SecurityOptions => ({
  ...DEFAULT_SECURITY,
  cost: { ...DEFAULT_SECURITY.cost, model: 'apollo', maxCost: 1_000_000, ...cost },
  ...over,
});

type CostExt = {
  requestedQueryCost: number;
  actualQueryCost: number;
  throttleStatus: { maximumAvailable: number | null; currentlyAvailable: number | null; restoreRate: number | null };
};
const costOf = (r: GraphQLResponse): CostExt =>
  (r.body as { extensions?: { cost?: CostExt } }).extensions?.cost as CostExt;

function estimate(h: Harness, query: string, variables?: Record<string, unknown>): number {
  const op = prepareOperation(h.gateway.manager.current!.schema, parse(query), undefined, variables);
  assert.ok(op, 'the operation prepares');
  return estimateCost(op, 10, 'apollo');
}

// Each row: the operation, its variables, and its estimated cost worked out from the spec
// (defaultListSize 10). n × (w + selections) + arguments, per field; see estimate.ts.
const TABLE: { name: string; query: string; variables?: Record<string, unknown>; cost: number }[] = [
  // products: slicing limit = 5 → n = 5; w = @cost on type Product = 2; id, name: scalars 0.
  // 5 × (2 + 0 + 0) = 10
  { name: 'slicing argument, @cost on the object type', query: '{ products(limit: 5) { id name } }', cost: 10 },
  // limit not given: its schema default 20 counts as given (spec 8.2) → n = 20.
  // price: Money @cost 0.5; status: Status (enum) @cost 3. 20 × (2 + 0.5 + 3) = 110
  { name: 'slicing default, @cost on a scalar and an enum', query: '{ products { id price status } }', cost: 110 },
  // users(first: 3): n = 3, w(User) = 1. friends: assumedSize 4, w = 1; inner friends: 4 × (1 + 0) = 4.
  // friends: 4 × (1 + 4) = 20. users: 3 × (1 + 20) = 63
  {
    name: 'nested lists: slicing argument over assumedSize over assumedSize',
    query: '{ users(first: 3) { friends { id friends { id } } } }',
    cost: 63,
  },
  // users(last: 2): n = 2. orders has no @listSize → defaultListSize 10; w(Order) = 1, total: Money 0.5.
  // orders: 10 × (1 + 0.5) = 15. users: 2 × (1 + 15) = 32
  { name: 'default list size under a slicing argument', query: '{ users(last: 2) { orders { total } } }', cost: 32 },
  // anyUsers: requireOneSlicingArgument false, first 2 and last 5 given → the larger, 5. 5 × (1 + 0) = 5
  {
    name: 'two slicing arguments allowed: the larger counts',
    query: '{ anyUsers(first: 2, last: 5) { id } }',
    cost: 5,
  },
  // anyUsers: no slicing argument, no assumedSize → defaultListSize 10. 10 × 1 = 10
  { name: 'no slicing argument given where none is required', query: '{ anyUsers { id } }', cost: 10 },
  // expensive: @cost on the field 7 (a String, default 0 otherwise). = 7
  { name: '@cost on a field', query: '{ expensive }', cost: 7 },
  // reviews: a ReviewConnection, not a list → n = 1, w = 1; total Int 0.
  // arguments: first Int 0; exact Boolean @cost 5. 1 × (1 + 0) + 5 = 6
  { name: '@cost on an argument', query: '{ reviews(first: 2, exact: true) { total } }', cost: 6 },
  // arguments: filter (input object, default 1) + minStars @cost 2 + search (input object, 1) + text @cost 4 = 8.
  // 1 × (1 + 0) + 8 = 9
  {
    name: '@cost on input fields, nested',
    query: '{ reviews(first: 2, filter: { minStars: 3, search: { text: "good" } }) { total } }',
    cost: 9,
  },
  // the same from a variable: filter 1 + minStars 2 = 3 (search unset). 1 + 3 = 4
  {
    name: 'input fields from a variable',
    query: 'query Q($f: ReviewFilter) { reviews(first: 2, filter: $f) { total } }',
    variables: { f: { minStars: 1 } },
    cost: 4,
  },
  // reviews(first: 5) sizes its children edges and nodes (sizedFields), not itself: n = 1, w = 1.
  // edges: 5 × (1 + cursor 0 + node (1 + body 1.5)) = 5 × 3.5 = 17.5; nodes: 5 × (1 + 0) = 5;
  // pageInfo: 1 × (1 + 0) = 1. reviews: 1 × (1 + 17.5 + 5 + 1) = 24.5
  {
    name: 'sizedFields on a connection (edges, nodes)',
    query: '{ reviews(first: 5) { edges { cursor node { body } } nodes { id } pageInfo { hasNextPage } } }',
    cost: 24.5,
  },
  // node: Node (interface) → the most expensive possible type, each with its own fragments.
  // Product: 2 + price 0.5 + status 3 = 5.5. User: 1 + friends 4 × (1 + friends 4 × 1) = 1 + 20 = 21. max = 21
  {
    name: 'fragments on an interface: the max over possible types',
    query:
      '{ node(id: "1") { id ...P ...U } } fragment P on Product { price status } fragment U on User { friends { friends { id } } }',
    cost: 21,
  },
  // everything: [Node!]! without @listSize → 10; Product 2, User 1 → max 2. 10 × 2 = 20
  { name: 'a list of an interface', query: '{ everything { id } }', cost: 20 },
  // s = true: status skipped. products: 2 × (2 + 0) = 4; expensive @include(if: false) → 0. = 4
  {
    name: '@skip and @include',
    query: 'query Q($s: Boolean!) { products(limit: 2) { id status @skip(if: $s) } expensive @include(if: false) }',
    variables: { s: true },
    cost: 4,
  },
  // s = false: 2 × (2 + 3) = 10
  {
    name: '@skip not taken',
    query: 'query Q($s: Boolean!) { products(limit: 2) { id status @skip(if: $s) } }',
    variables: { s: false },
    cost: 10,
  },
  // two aliases of one field are two fields: 1 × 2 + 3 × 2 = 8
  { name: 'aliases', query: '{ a: products(limit: 1) { id } b: products(limit: 3) { id } }', cost: 8 },
  // one response key selected twice is merged as execution merges it: 2 × (2 + 0.5 + 3) = 11
  {
    name: 'one field selected twice is counted once',
    query: '{ products(limit: 2) { price } products(limit: 2) { status } }',
    cost: 11,
  },
  // [[Money]]: 10 outer × 10 inner items, 0.5 each = 50
  { name: 'a list of lists', query: '{ matrix }', cost: 50 },
  // the spec's example 2: users(max: 5) { age }, age @cost 2.0 → 5 × (1 + 2) = 15 (see estimate.ts)
  { name: "the spec's example, Apollo's reading", query: '{ people(max: 5) { age } }', cost: 15 },
  // mutation base 10 + addReview: Review 1 + body 1.5 = 12.5
  { name: 'mutation base cost', query: 'mutation { addReview(body: "x") { id body } }', cost: 12.5 },
  // __typename and introspection cost 0
  { name: 'introspection is free', query: '{ __typename __type(name: "Product") { fields { name } } }', cost: 0 },
];

describe('cost (apollo model): estimated by hand', () => {
  let shop: Shop;
  let h: Harness;
  before(async () => {
    shop = await startShop();
    h = await startHarness(
      { 'shop.graphql': schema(shop.server.url) },
      { security: security({ defaultListSize: 10 }) },
    );
  });
  after(async () => {
    await h?.close();
    await shop?.server.close();
  });

  for (const row of TABLE) {
    test(`${row.name}: ${row.cost}`, async () => {
      assert.equal(estimate(h, row.query, row.variables), row.cost, 'estimateCost');
      const r = await h.query(row.query, row.variables);
      assert.equal(costOf(r)?.requestedQueryCost, row.cost, JSON.stringify(r.body));
      assert.deepEqual(
        costOf(r).throttleStatus,
        { maximumAvailable: null, currentlyAvailable: null, restoreRate: null },
        'no budget: no bucket',
      );
    });
  }

  test('a fragment spread twice per level, 30 levels deep, is estimated in linear time', () => {
    // Execution would expand 2^30 fields; the estimate memoizes per selection set. Each level:
    // 2 aliases × friends (assumedSize 4) × (1 + the next level) → c(k) = 8 × (1 + c(k+1)).
    const levels = 30;
    const fragments = Array.from(
      { length: levels },
      (_, k) => `fragment F${k} on User { a: friends { ...F${k + 1} } b: friends { ...F${k + 1} } }`,
    );
    const query = `{ users(first: 1) { ...F0 } } ${fragments.join(' ')} fragment F${levels} on User { id }`;
    let c = 0;
    for (let k = levels - 1; k >= 0; k--) c = 8 * (1 + c);
    const started = performance.now();
    assert.equal(estimate(h, query), 1 * (1 + c));
    assert.ok(performance.now() - started < 1000);
  });

  for (const [query, found] of [
    ['{ users { id } }', 0],
    ['{ users(first: 1, last: 1) { id } }', 2],
  ] as const) {
    test(`requireOneSlicingArgument: ${found} given is refused before execution`, async () => {
      assert.throws(
        () => estimate(h, query),
        (e: unknown) =>
          e instanceof QuiltError && e.code === 'GRAPHQL_VALIDATION_FAILED' && e.message.includes(`it has ${found}`),
      );
      const calls = shop.calls();
      const r = await h.query(query);
      assert.equal(r.status, 400);
      assert.equal(r.body.errors?.[0].extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
      assert.match(r.body.errors![0].message, /exactly one of its slicing arguments \(first, last\)/);
      assert.equal(shop.calls(), calls, 'no upstream call');
    });
  }
});

describe('cost (apollo model): actual, from the lists returned', () => {
  let shop: Shop;
  let h: Harness;
  before(async () => {
    shop = await startShop();
    h = await startHarness(
      { 'shop.graphql': schema(shop.server.url) },
      { security: security({ defaultListSize: 10 }) },
    );
  });
  after(async () => {
    await h?.close();
    await shop?.server.close();
  });

  test('3 products of an estimated 10', async () => {
    shop.products.count = 3;
    const r = await h.query('{ products(limit: 10) { id name } }');
    assert.equal(r.body.data?.products.length, 3);
    // estimated 10 × 2 = 20; returned 3 × 2 = 6
    assert.deepEqual([costOf(r).requestedQueryCost, costOf(r).actualQueryCost], [20, 6]);
  });

  test('nested lists, each counted at its own length', async () => {
    shop.users = [
      {
        id: 'u1',
        orders: [
          { id: 'o1', total: 1 },
          { id: 'o2', total: 2 },
        ],
      },
      { id: 'u2', orders: [] },
      { id: 'u3', orders: [{ id: 'o3', total: 3 }] },
    ];
    const r = await h.query('{ users(first: 10) { id orders { total } } }');
    // estimated: orders 10 × (1 + 0.5) = 15; users 10 × (1 + 15) = 160.
    // actual: users 3 × 1 = 3; orders (2 + 0 + 1) × (1 + 0.5) = 4.5; total 7.5
    assert.deepEqual([costOf(r).requestedQueryCost, costOf(r).actualQueryCost], [160, 7.5]);
  });

  test('null fields and null items cost nothing under them; __typename picks the possible type', () => {
    const schemaNow = h.gateway.manager.current!.schema;
    const op = (q: string) => prepareOperation(schemaNow, parse(q), undefined, undefined)!;
    // reviews null: only its arguments (exact @cost 5) = 5
    assert.equal(apolloActual(op('{ reviews(first: 2, exact: true) { total } }'), { reviews: null }), 5);
    // friends [u, null]: 1 × (1 + 0) for the item that is there; users: 1 × (1 + 1) = 2
    assert.equal(
      apolloActual(op('{ users(first: 1) { friends { id } } }'), { users: [{ friends: [{ id: 'a' }, null] }] }),
      2,
    );
    // a User, told by __typename: 1 (not Product's 2 + 3)
    assert.equal(
      apolloActual(op('{ node(id: "1") { __typename ... on Product { status } ... on User { id } } }'), {
        node: { __typename: 'User', id: 'u' },
      }),
      1,
    );
    // mutation with no data: the base 10 only
    assert.equal(apolloActual(op('mutation { addReview(body: "x") { id } }'), null), 10);
  });
});

describe('cost (apollo model): --max-cost', () => {
  let shop: Shop;
  let h: Harness;
  before(async () => {
    shop = await startShop();
    h = await startHarness({ 'shop.graphql': schema(shop.server.url) }, { security: security({ maxCost: 50 }) });
  });
  after(async () => {
    await h?.close();
    await shop?.server.close();
  });

  test('above the maximum: COST_LIMIT_EXCEEDED and no upstream call', async () => {
    // 30 × 2 = 60 > 50
    const r = await h.query('{ products(limit: 30) { id } }');
    assert.equal(r.status, 400);
    assert.equal(r.body.data, undefined);
    assert.equal(r.body.errors?.[0].extensions?.code, 'COST_LIMIT_EXCEEDED');
    assert.equal(r.body.errors?.[0].extensions?.maxCost, 50);
    assert.deepEqual([costOf(r).requestedQueryCost, costOf(r).actualQueryCost], [60, 0]);
    assert.equal(shop.calls(), 0, 'the upstream recorded zero requests');
    // application/json: the GraphQL-over-HTTP rule, 200 with the error
    const res = await fetch(`${h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: '{ products(limit: 30) { id } }' }),
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as GraphQLResponse['body']).errors?.[0].extensions?.code, 'COST_LIMIT_EXCEEDED');
    assert.equal(shop.calls(), 0);
    assert.match(
      await (await fetch(`${h.gateway.url}/metrics`)).text(),
      /quilt_limit_rejections_total\{reason="cost_limit"\} 2/,
    );
  });

  test('at the maximum: runs', async () => {
    // 25 × 2 = 50
    const r = await h.query('{ products(limit: 25) { id } }');
    assert.equal(r.status, 200);
    assert.equal(costOf(r).requestedQueryCost, 50);
    assert.equal(shop.calls(), 1);
  });
});

/** A bucket level read from a response, and the window in which the gateway read it. */
interface Reading {
  level: number;
  sent: number;
  received: number;
}

/**
 * `now` is `prev` less `spent` plus the refill (10 points/s) of the time between the two,
 * which lies between the gap separating the requests and the span covering both: a slow,
 * loaded machine widens the window but never makes the check wrong.
 */
function assertLevel(prev: Reading, now: Reading, spent: number, what: string): void {
  const lo = Math.min(100, prev.level + (10 * Math.max(0, now.sent - prev.received)) / 1000) - spent;
  const hi = Math.min(100, prev.level + (10 * (now.received - prev.sent)) / 1000 - spent);
  assert.ok(
    now.level >= lo - 0.01 && now.level <= hi + 0.01,
    `${what}: ${now.level} is not within [${lo.toFixed(2)}, ${hi.toFixed(2)}]`,
  );
}

describe('cost (apollo model): the per-client budget', () => {
  let shop: Shop;
  let h: Harness;
  const bearer = async (sub: string) => ({ authorization: `Bearer ${await mintToken(SECRET, { sub })}` });
  let alice: Record<string, string>;
  let bob: Record<string, string>;
  async function read(query: string, headers: Record<string, string>): Promise<{ r: GraphQLResponse; at: Reading }> {
    const sent = performance.now();
    const r = await h.query(query, undefined, headers);
    return { r, at: { level: costOf(r).throttleStatus.currentlyAvailable!, sent, received: performance.now() } };
  }
  before(async () => {
    shop = await startShop();
    const jwt = { secret: SECRET, algorithms: ['HS256'], clockToleranceSec: 5, requiredClaims: ['sub'] };
    h = await startHarness(
      { 'shop.graphql': schema(shop.server.url) },
      { security: security({ budget: 100, restoreRate: 10 }, { jwt }) },
    );
    alice = await bearer('alice');
    bob = await bearer('bob');
  });
  after(async () => {
    await h?.close();
    await shop?.server.close();
  });

  // One client's story, in order: each step starts from the level the last one left.
  test('take the estimate, refund estimate − actual, refill at restoreRate, then 429', async () => {
    // A cost-0 operation takes nothing and shows the bucket: full.
    const a0 = await read('{ __typename }', alice);
    assert.deepEqual(costOf(a0.r).throttleStatus, { maximumAvailable: 100, currentlyAvailable: 100, restoreRate: 10 });

    // Estimated 10 × 2 = 20, taken before execution; 3 products come back: actual 6, so
    // 20 − 6 = 14 is refunded and the level drops by 6 only.
    shop.products.count = 3;
    const a1 = await read('{ products(limit: 10) { id } }', alice);
    assert.deepEqual([costOf(a1.r).requestedQueryCost, costOf(a1.r).actualQueryCost], [20, 6]);
    assertLevel(a0.at, a1.at, 6, 'take 20, refund 14');

    // All 10 come back: actual = estimate, nothing refunded, the level drops by 20.
    shop.products.count = 10;
    const a2 = await read('{ products(limit: 10) { id } }', alice);
    assert.deepEqual([costOf(a2.r).requestedQueryCost, costOf(a2.r).actualQueryCost], [20, 20]);
    assertLevel(a1.at, a2.at, 20, 'take 20, refund nothing');

    // Refill: 10 points a second, so at least 12 back after 1.2 s.
    await sleep(1200);
    const a3 = await read('{ __typename }', alice);
    assertLevel(a2.at, a3.at, 0, 'refill at 10/s');
    assert.ok(a3.at.level >= a2.at.level + 12 - 0.01);

    // Over what is left (48 × 2 = 96 > ~88): 429, Retry-After, RATE_LIMITED, no upstream call.
    const calls = shop.calls();
    const r = await h.query('{ products(limit: 48) { id } }', undefined, alice);
    assert.equal(r.status, 429);
    assert.equal(r.body.errors?.[0].extensions?.code, 'RATE_LIMITED');
    const retryAfter = Number(r.headers.get('retry-after'));
    const left = costOf(r).throttleStatus.currentlyAvailable!;
    assert.equal(
      retryAfter,
      Math.ceil((96 - left) / 10),
      `Retry-After ${retryAfter} for ${96 - left} missing points at 10/s`,
    );
    assert.ok(retryAfter >= 1);
    assert.deepEqual([costOf(r).requestedQueryCost, costOf(r).actualQueryCost], [96, 0]);
    assert.equal(shop.calls(), calls, 'no upstream call');
    assert.match(
      await (await fetch(`${h.gateway.url}/metrics`)).text(),
      /quilt_limit_rejections_total\{reason="cost_budget"\} 1/,
    );

    // After Retry-After seconds it passes.
    await sleep(retryAfter * 1000 + 50);
    const again = await h.query('{ products(limit: 48) { id } }', undefined, alice);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(shop.calls(), calls + 1);
  });

  test('an operation above the whole budget could never run: COST_LIMIT_EXCEEDED, not 429', async () => {
    const calls = shop.calls();
    // 60 × 2 = 120 > 100
    const r = await h.query('{ products(limit: 60) { id } }', undefined, bob);
    assert.equal(r.status, 400);
    assert.equal(r.body.errors?.[0].extensions?.code, 'COST_LIMIT_EXCEEDED');
    assert.equal(r.headers.get('retry-after'), null);
    assert.equal(costOf(r).throttleStatus.currentlyAvailable, 100, 'nothing taken');
    assert.equal(shop.calls(), calls);
  });

  test('each client has its own bucket: JWT subjects, and the IP of anonymous requests', async () => {
    const a0 = await read('{ __typename }', alice);
    assert.ok(a0.at.level < 95, `alice has spent some of hers: ${a0.at.level}`);
    // bob's is full (his refused operation above took nothing); he spends 20 of it.
    shop.products.count = 10;
    const b1 = await read('{ products(limit: 10) { id } }', bob);
    assertLevel({ level: 100, sent: b1.at.sent, received: b1.at.sent }, b1.at, 20, "bob's own bucket");
    const a1 = await read('{ __typename }', alice);
    assertLevel(a0.at, a1.at, 0, "bob's spending is not alice's");
    // No token: the client is its IP, with a bucket of its own, untouched.
    assert.equal((await read('{ __typename }', {})).at.level, 100);
  });
});
