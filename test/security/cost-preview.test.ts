// The cost preview: `__cost` (the IBM Cost Directives spec's introspection, section 6; README
// "Cost preview"). Every number below is worked out by hand from the spec's definitions
// (5.3.1 counts, 5.3.2 costs, 7.1 default weights: objects 1, scalars 0) and checked against
// a real gateway whose upstream counts the calls it receives. The preview must agree with the
// limiter: where --max-cost is on, the same operation's extensions.cost.requestedQueryCost
// is compared with the preview's fieldCost.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_SECURITY, type SecurityOptions } from '../../src/security/options.js';
import { type GraphQLResponse, type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

const schema = (url: string) => `${httpUpstream('library', [url])}
type User {
  age: Int @cost(weight: "2.0")
  posts(first: Int): [Post] @listSize(slicingArguments: ["first"])
}
type Author { email: String @cost(weight: 2) }
type Post { score: Float @cost(weight: "0.5") }
input Approximate { tolerance: Float }
input Filter { approx: Approximate @cost(weight: "-12.0") }
type Film { rating: Int @cost(weight: 3) }
type FilmEdge { cursor: String node: Film }
type PageInfo { hasNext: Boolean }
type FilmConnection { edges: [FilmEdge] pageInfo: PageInfo }
type Query {
  users(max: Int): [User] @http(GET: "/users") @listSize(slicingArguments: ["max"])
  authors(limit: Int): [Author] @http(GET: "/authors") @listSize(slicingArguments: ["limit"])
  topProducts(filter: Filter @cost(weight: "15.0")): [String] @http(GET: "/top") @cost(weight: "5.0") @listSize(assumedSize: 10)
  films(first: Int): FilmConnection @http(GET: "/films") @listSize(slicingArguments: ["first"], sizedFields: ["edges"])
}
type Mutation { touch: Boolean @http(POST: "/touch") }
`;

const ONLY = { introspectionOnly: 'true' };
const COUNTS = 'fieldCounts { name value } typeCounts { name value } argumentCounts { name value }';

function security(cost: Partial<SecurityOptions['cost']> = {}, introspection = true): SecurityOptions {
  return {
    ...DEFAULT_SECURITY,
    cost: { ...DEFAULT_SECURITY.cost, ...cost },
    hardening: { ...DEFAULT_SECURITY.hardening, introspection },
  };
}

/** `[{ name, value }]` as an object, for comparisons that read like the spec's examples. */
function asMap(list: { name: string; value: number }[] | undefined): Record<string, number> {
  return Object.fromEntries((list ?? []).map((c) => [c.name, c.value]));
}

function requestCosts(r: GraphQLResponse, alias = '__cost') {
  return r.body.data?.[alias]?.requestCosts;
}

describe('cost preview: __cost { requestCosts }', () => {
  let library: TestServer;
  let h: Harness;
  let apollo: Harness;
  before(async () => {
    library = await startTestServer((req, res) => {
      const path = req.url.split('?')[0];
      if (path === '/authors') return sendJson(res, 200, [{ email: 'a@x' }, { email: 'b@x' }]);
      if (path === '/users') return sendJson(res, 200, [{ age: 33 }, { age: 45 }, { age: 27 }]);
      sendJson(res, 200, []);
    });
    h = await startHarness({ 'library.graphql': schema(library.url) }, { security: security({ maxCost: 1000 }) });
    apollo = await startHarness(
      { 'library.graphql': schema(library.url) },
      { security: security({ maxCost: 1000, model: 'apollo' }) },
    );
  });
  after(async () => {
    await h?.close();
    await apollo?.close();
    await library?.close();
  });

  test("the spec's example 2, introspectionOnly: counts and costs, no upstream call", async () => {
    const before = library.seen.length;
    const q = `query Example { users(max: 5) { age } __cost { requestCosts { fieldCost typeCost ${COUNTS} } responseCosts { fieldCost } } }`;
    const r = await h.query(q, undefined, ONLY);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const c = requestCosts(r);
    // Query.users once (1) + five User.age (2 each) = 11 (spec example 2).
    assert.equal(c.fieldCost, 11);
    // Type cost: Query 1 + five User 1 each + five Int 0 = 6.
    assert.equal(c.typeCost, 6);
    assert.deepEqual(asMap(c.fieldCounts), { 'Query.users': 1, 'User.age': 5 });
    assert.deepEqual(asMap(c.typeCounts), { Query: 1, User: 5, Int: 5 });
    assert.deepEqual(asMap(c.argumentCounts), { 'Query.users.max': 1 });
    // Only the preview ran: no users in the answer, no call upstream, nothing charged.
    assert.deepEqual(Object.keys(r.body.data ?? {}), ['__cost']);
    assert.equal(r.body.data?.__cost.responseCosts, null);
    assert.equal((r.body as { extensions?: unknown }).extensions, undefined);
    assert.equal(library.seen.length, before);
  });

  test('the same under --cost-model apollo: 5 x (1 + 2) = 15, counts unchanged', async () => {
    const r = await apollo.query(
      `{ users(max: 5) { age } __cost { requestCosts { fieldCost typeCost ${COUNTS} } } }`,
      undefined,
      ONLY,
    );
    const c = requestCosts(r);
    assert.equal(c.fieldCost, 15);
    assert.equal(c.typeCost, 6);
    assert.deepEqual(asMap(c.fieldCounts), { 'Query.users': 1, 'User.age': 5 });
  });

  test("the README's authors(limit: 5) { email }: run with __cost, it matches what the limiter charged", async () => {
    for (const [gateway, expected] of [
      [h, 11],
      [apollo, 15],
    ] as const) {
      const before = library.seen.length;
      const r = await gateway.query('{ authors(limit: 5) { email } __cost { requestCosts { fieldCost } } }');
      assert.deepEqual(r.body.data?.authors, [{ email: 'a@x' }, { email: 'b@x' }]);
      assert.equal(requestCosts(r).fieldCost, expected);
      const cost = (r.body as { extensions?: { cost?: { requestedQueryCost: number } } }).extensions?.cost;
      assert.equal(cost?.requestedQueryCost, expected, 'the limiter priced the same operation');
      // Root fields keep the order they were asked in.
      assert.deepEqual(Object.keys(r.body.data ?? {}), ['authors', '__cost']);
      assert.equal(library.seen.length, before + 1, 'the operation itself ran once');
    }
  });

  test('variables, a named fragment and @include: counted as they execute', async () => {
    const q = `query Q($n: Int, $withPosts: Boolean!) {
      users(max: $n) { ...U }
      __cost { requestCosts { fieldCost ${COUNTS} directiveCounts { name value } } }
    }
    fragment U on User { age posts(first: 3) @include(if: $withPosts) { score } }`;
    const on = requestCosts(await h.query(q, { n: 2, withPosts: true }, ONLY));
    // users(max: 2): 1 + 2 x (age 2 + posts (1 + 3 x score 0.5 = 2.5)) = 1 + 2 x 4.5 = 10
    assert.equal(on.fieldCost, 10);
    assert.deepEqual(asMap(on.fieldCounts), { 'Query.users': 1, 'User.age': 2, 'User.posts': 2, 'Post.score': 6 });
    assert.deepEqual(asMap(on.directiveCounts), { '@include': 2 });
    assert.deepEqual(asMap(on.argumentCounts), { 'Query.users.max': 1, 'User.posts.first': 2, '@include.if': 2 });
    // apollo: users 2 x (1 + age 2 + posts 3 x (1 + 0.5)) = 2 x 7.5 = 15
    assert.equal(requestCosts(await apollo.query(q, { n: 2, withPosts: true }, ONLY)).fieldCost, 15);
    // @include(if: false): posts never runs, so neither it nor its directive is counted: 1 + 2 x 2 = 5
    const off = requestCosts(await h.query(q, { n: 2, withPosts: false }, ONLY));
    assert.equal(off.fieldCost, 5);
    assert.deepEqual(asMap(off.fieldCounts), { 'Query.users': 1, 'User.age': 2 });
    assert.deepEqual(asMap(off.directiveCounts), {});
  });

  test('spec example 12: argument and input field weights, input type and input field counts', async () => {
    const r = await h.query(
      `{ topProducts(filter: { approx: { tolerance: 0.1 } })
         __cost { requestCosts { fieldCost typeCost ${COUNTS}
           inputTypeCounts { name value } inputFieldCounts { name value } } } }`,
      undefined,
      ONLY,
    );
    const c = requestCosts(r);
    // 5 for the field + (15 for the filter - 12 for approx) = 8
    assert.equal(c.fieldCost, 8);
    // Query 1 + ten String (assumedSize 10) 0 = 1
    assert.equal(c.typeCost, 1);
    assert.deepEqual(asMap(c.typeCounts), { Query: 1, String: 10 });
    assert.deepEqual(asMap(c.argumentCounts), { 'Query.topProducts.filter': 1 });
    assert.deepEqual(asMap(c.inputTypeCounts), { Filter: 1, Approximate: 1 });
    assert.deepEqual(asMap(c.inputFieldCounts), { 'Filter.approx': 1, 'Approximate.tolerance': 1 });
  });

  test('sizedFields on a connection, costs by location, and regexName / regexPath', async () => {
    const r = await h.query(
      `query F { films(first: 4) { edges { node { rating } } pageInfo { hasNext } }
         __cost { requestCosts { fieldCost typeCost
           fieldCounts { name value }
           film: fieldCounts(regexName: "Film.*") { name value }
           fieldCostByLocation { path cost }
           typeCostByLocation { path cost }
           edges: fieldCostByLocation(regexPath: "F\\\\.films\\\\.edges.*") { path cost } } } }`,
      undefined,
      ONLY,
    );
    const c = requestCosts(r);
    assert.ok(c, JSON.stringify(r.body));
    // FilmConnection 1 + edges (1 + 4 x node (1 + rating 3)) + pageInfo (1 + hasNext 0) = 1 + 17 + 1 = 19
    assert.equal(c.fieldCost, 19);
    // Query 1, FilmConnection 1, four FilmEdge, four Film, four Int (0), PageInfo 1, Boolean (0) = 11
    assert.equal(c.typeCost, 11);
    assert.deepEqual(asMap(c.fieldCounts), {
      'Query.films': 1,
      'FilmConnection.edges': 1,
      'FilmEdge.node': 4,
      'Film.rating': 4,
      'FilmConnection.pageInfo': 1,
      'PageInfo.hasNext': 1,
    });
    // The whole name must match (spec 6.1.3): Query.films and PageInfo.hasNext do not.
    assert.deepEqual(asMap(c.film), {
      'FilmConnection.edges': 1,
      'FilmEdge.node': 4,
      'Film.rating': 4,
      'FilmConnection.pageInfo': 1,
    });
    const loc = (list: { path: string; cost: number }[]) => Object.fromEntries(list.map((l) => [l.path, l.cost]));
    assert.deepEqual(loc(c.fieldCostByLocation), {
      F: 19,
      'F.films': 19,
      'F.films.edges': 17,
      'F.films.edges.node': 16,
      'F.films.edges.node.rating': 12,
      'F.films.pageInfo': 1,
      'F.films.pageInfo.hasNext': 0,
    });
    assert.deepEqual(loc(c.typeCostByLocation), {
      F: 11,
      'F.films': 10,
      'F.films.edges': 8,
      'F.films.edges.node': 4,
      'F.films.edges.node.rating': 0,
      'F.films.pageInfo': 1,
      'F.films.pageInfo.hasNext': 0,
    });
    assert.deepEqual(loc(c.edges), { 'F.films.edges': 17, 'F.films.edges.node': 16, 'F.films.edges.node.rating': 12 });
  });

  test('aliases, __cost from a fragment on Query, a fragment on __CostMetrics, and a regexName variable', async () => {
    const r = await h.query(
      `query P($re: String) { ...Costs a: authors(limit: 3) { email } }
       fragment Costs on Query { price: __cost { requestCosts { ...M } } }
       fragment M on __CostMetrics { fieldCost fieldCounts(regexName: $re) { name value } }`,
      { re: 'Author\\..*' },
      ONLY,
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // 1 + 3 x 2 = 7
    assert.equal(requestCosts(r, 'price').fieldCost, 7);
    assert.deepEqual(asMap(requestCosts(r, 'price').fieldCounts), { 'Author.email': 3 });
  });

  test('introspectionOnly runs __schema and __typename too, in the order asked, and nothing else', async () => {
    const before = library.seen.length;
    const r = await h.query(
      '{ __typename authors(limit: 1) { email } __schema { queryType { name } } __cost { requestCosts { fieldCost } } }',
      undefined,
      ONLY,
    );
    assert.deepEqual(r.body.data, {
      __typename: 'Query',
      __schema: { queryType: { name: 'Query' } },
      __cost: { requestCosts: { fieldCost: 3 } },
    });
    assert.equal(library.seen.length, before);
  });

  test('a preview is never charged nor refused by --max-cost; the run is', async () => {
    // A bucket of 20 that does not refill within the test: three previews of an 11-point
    // operation would need 33 if they were charged.
    const b = await startHarness(
      { 'library.graphql': schema(library.url) },
      { security: security({ maxCost: 10, budget: 20, restoreRate: 0.001 }) },
    );
    try {
      const before = library.seen.length;
      for (let i = 0; i < 3; i++) {
        const r = await b.query(
          '{ authors(limit: 5) { email } __cost { requestCosts { fieldCost } } }',
          undefined,
          ONLY,
        );
        // Above --max-cost (10): the preview says so instead of refusing.
        assert.equal(requestCosts(r).fieldCost, 11, JSON.stringify(r.body));
      }
      const small = await b.query('{ authors(limit: 4) { email } __cost { requestCosts { fieldCost } } }');
      const cost = (small.body as { extensions?: { cost?: any } }).extensions?.cost;
      // 1 + 4 x 2 = 9 taken, 1 + 2 x 2 = 5 actual: the bucket holds 20 - 9 + 4 = 15.
      assert.equal(requestCosts(small).fieldCost, 9);
      assert.equal(cost.requestedQueryCost, 9);
      assert.ok(Math.abs(cost.throttleStatus.currentlyAvailable - 15) < 0.1, JSON.stringify(cost));
      // Run without the header, the 11-point operation is refused as before, with no call.
      const big = await b.query('{ authors(limit: 5) { email } __cost { requestCosts { fieldCost } } }');
      assert.equal(big.body.errors?.[0].extensions?.code, 'COST_LIMIT_EXCEEDED');
      assert.equal(library.seen.length, before + 1);
    } finally {
      await b.close();
    }
  });

  test('an estimate that cannot be made is an error at requestCosts, as the limiter refuses it', async () => {
    const r = await h.query('{ users { age } __cost { requestCosts { fieldCost } } }', undefined, ONLY);
    assert.deepEqual(r.body.data, { __cost: { requestCosts: null } });
    assert.equal(r.body.errors?.[0].extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.deepEqual(r.body.errors?.[0].path, ['__cost', 'requestCosts']);
  });

  test('mistakes: an unknown __CostMetrics field, a bad or slow-looking regex, __cost on a mutation', async () => {
    // Twice: the second answer comes through yoga's validation cache and must say it once too.
    for (let i = 0; i < 2; i++) {
      const unknown = await h.query('{ __cost { requestCosts { fieldCosts } } }');
      assert.equal(unknown.status, 400);
      assert.deepEqual(
        unknown.body.errors?.map((e) => [e.message, e.extensions?.code]),
        [
          [
            'Cannot query field "fieldCosts" on type "__CostMetrics". Did you mean "fieldCost" or "fieldCounts"?',
            'GRAPHQL_VALIDATION_FAILED',
          ],
        ],
      );
    }
    const bad = await h.query('{ __cost { requestCosts { fieldCounts(regexName: "(") { name } } } }', undefined, ONLY);
    assert.equal(bad.body.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    // A pattern that backtracks exponentially in a RegExp answers at once: RE2 runs in linear time.
    const started = performance.now();
    const slow = await h.query(
      `{ users(max: 1) { age } __cost { requestCosts { fieldCounts(regexName: "(a+)+b") { name } } } }`,
      undefined,
      ONLY,
    );
    assert.deepEqual(requestCosts(slow).fieldCounts, []);
    assert.ok(performance.now() - started < 2000);
    const mutation = await h.query('mutation { touch __cost { requestCosts { fieldCost } } }');
    assert.equal(mutation.body.errors?.[0].extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.match(mutation.body.errors?.[0].message ?? '', /"__cost" on type "Mutation"/);
  });
});

describe('cost preview with --no-introspection', () => {
  test('__cost is refused like __schema, before any upstream call', async () => {
    const library = await startTestServer((_req, res) => sendJson(res, 200, []));
    const h = await startHarness({ 'library.graphql': schema(library.url) }, { security: security({}, false) });
    try {
      for (const headers of [{}, ONLY]) {
        const r = await h.query('{ authors(limit: 1) { email } __cost { requestCosts { fieldCost } } }', {}, headers);
        assert.equal(r.status, 400);
        assert.deepEqual(
          r.body.errors?.map((e) => e.message),
          ['GraphQL introspection has been disabled, but the requested query contained the field "__cost".'],
        );
      }
      const schemaField = await h.query('{ __schema { queryType { name } } }');
      assert.match(schemaField.body.errors?.[0].message ?? '', /introspection has been disabled.*"__schema"/);
      assert.equal(library.seen.length, 0);
    } finally {
      await h.close();
      await library.close();
    }
  });
});
