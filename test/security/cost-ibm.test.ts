// The default cost model is the IBM GraphQL Cost Directives spec's own field cost (README,
// "Cost"): a field's weight counts once each time its resolver runs, its children once per
// item. Each row below is worked out by hand from the spec's definitions (sections 5.3.2.2
// and 7.1: composite types and input objects weigh 1, scalars and enums 0, argument and
// input-field weights add to their field's, a field's total is never negative) and its own
// examples 2, 3, 10, 11 and 12; the spec assumes unbounded lists where @listSize says
// nothing, Quilt assumes --default-list-size (10). Every row is checked twice: estimateCost
// on the served schema, and extensions.cost.requestedQueryCost from a real gateway.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'graphql';
import { actualCost, estimateCost, prepareOperation } from '../../src/security/cost/index.js';
import { DEFAULT_SECURITY, type SecurityOptions } from '../../src/security/options.js';
import { type GraphQLResponse, type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

const schema = (url: string) => `${httpUpstream('library', [url])}
type User {
  name: String
  "spec example 1"
  age: Int @cost(weight: "2.0")
  tags: [String] @cost(weight: "2")
  friends: [User] @listSize(assumedSize: 4)
  orders: [Order]
  posts(first: Int): [Post] @listSize(slicingArguments: ["first"])
}
type Author { email: String @cost(weight: 2) }
type Order { total: Float @cost(weight: "0.5") }
type Post { score: Float @cost(weight: "0.5") }
type Product { name: String price: Float @cost(weight: "0.5") }
input Approximate { tolerance: Float }
"spec example 12"
input Filter { approx: Approximate @cost(weight: "-12.0") }
type Film { rating: Int @cost(weight: 3) }
type FilmEdge { cursor: String node: Film }
type PageInfo { hasNext: Boolean }
type FilmConnection { edges: [FilmEdge] pageInfo: PageInfo }
type Person @cost(weight: 3) { age: Int @cost(weight: 2) }
union SearchResult = Film | Person
type Cell { value: Int @cost(weight: 1) }
type Review { id: ID body: String }
type Query {
  "spec example 1"
  users(max: Int): [User] @http(GET: "/users") @listSize(slicingArguments: ["max"])
  authors(limit: Int): [Author] @http(GET: "/authors") @listSize(slicingArguments: ["limit"])
  "spec examples 10 and 12"
  topProducts(filter: Filter @cost(weight: "15.0")): [String] @http(GET: "/top") @cost(weight: "5.0") @listSize(assumedSize: 10)
  "spec example 11"
  mostPopularProduct(approx: Approximate @cost(weight: "-3.0")): Product @http(GET: "/popular") @cost(weight: "5.0")
  cheapProduct(approx: Approximate @cost(weight: "-3.0")): Product @http(GET: "/popular")
  films(first: Int): FilmConnection @http(GET: "/films") @listSize(slicingArguments: ["first"], sizedFields: ["edges"])
  search(first: Int): [SearchResult] @http(GET: "/search") @listSize(slicingArguments: ["first"])
  grid: [[Cell]] @http(GET: "/grid")
}
type Mutation { addReview(body: String!): Review @http(POST: "/reviews", body: { body: "{args.body}" }) }
`;

// Each row: the operation, its variables, the cost by hand (IBM), and Apollo Router's number
// for the same operation where the two readings differ.
const TABLE: { name: string; query: string; variables?: Record<string, unknown>; ibm: number; apollo?: number }[] = [
  // Spec example 2: Query.users runs once, 1.0; five User.age, 2.0 each. 1 + 5 x 2 = 11
  { name: "the spec's example 2", query: 'query Example { users(max: 5) { age } }', ibm: 11, apollo: 15 },
  // The same shape with an integer weight (Apollo's spelling): 1 + 5 x 2 = 11
  { name: 'authors(limit: 5) { email }, email @cost 2', query: '{ authors(limit: 5) { email } }', ibm: 11, apollo: 15 },
  // Spec example 10: the field 5.0, no filter: 5 (a list of strings: the resolver runs once)
  { name: 'spec example 10 without the filter', query: '{ topProducts }', ibm: 5, apollo: 50 },
  // Spec example 10: with a filter, the argument adds 15.0: 5 + 15 = 20
  { name: 'spec example 10 with the filter', query: '{ topProducts(filter: {}) }', ibm: 20, apollo: 65 },
  // Spec example 12: the filter's approx input field adds -12.0 (+ Approximate's scalar field 0):
  // 5 + (15 - 12) = 8
  {
    name: 'spec example 12: an input field weight',
    query: '{ topProducts(filter: { approx: { tolerance: 0.1 } }) }',
    ibm: 8,
    apollo: 53,
  },
  // Spec example 11: 5.0 for the field, -3.0 for the approximate argument: 2; name is a scalar, 0
  {
    name: 'spec example 11: a negative argument weight',
    query: '{ mostPopularProduct(approx: { tolerance: 1 }) { name } }',
    ibm: 2,
    apollo: 2,
  },
  // Product weighs 1, the argument -3: the field's own cost is rounded up to 0 (spec 7.1), its
  // selection still costs: 0 + price 0.5 = 0.5
  {
    name: 'a negative total is rounded up to zero, the selection still costs',
    query: '{ cheapProduct(approx: { tolerance: 1 }) { price } }',
    ibm: 0.5,
    apollo: 0,
  },
  // A list of scalars with a weight: the resolver runs once per user, 1 + 5 x 2 = 11
  {
    name: 'a weighted scalar list field counts once per parent',
    query: '{ users(max: 5) { tags } }',
    ibm: 11,
    apollo: 105,
  },
  // friends: assumedSize 4; each: 1 + 4 x age 2 = 9 per user. users: 1 + 3 x 9 = 28
  {
    name: 'nested lists: slicing argument, then assumedSize',
    query: '{ users(max: 3) { friends { age } } }',
    ibm: 28,
    apollo: 39,
  },
  // orders: no @listSize, --default-list-size 10: 1 + 10 x 0.5 = 6. users: 1 + 2 x 6 = 13
  { name: 'the default list size', query: '{ users(max: 2) { orders { total } } }', ibm: 13, apollo: 32 },
  // posts(first: 3): 1 + 3 x 0.5 = 2.5. users: 1 + 2 x 2.5 = 6
  { name: 'a nested slicing argument', query: '{ users(max: 2) { posts(first: 3) { score } } }', ibm: 6, apollo: 11 },
  // films: sizedFields edges. FilmConnection 1 + edges (1 + 4 x node (1 + rating 3)) + pageInfo (1)
  // = 1 + 17 + 1 = 19
  {
    name: 'sizedFields on a connection',
    query: '{ films(first: 4) { edges { node { rating } } pageInfo { hasNext } } }',
    ibm: 19,
    apollo: 22,
  },
  // A union weighs as its heaviest member (Person, 3; spec 7.2), each item as its most expensive
  // selection (Film's rating 3 over Person's age 2): 3 + 2 x 3 = 9
  {
    name: 'a union: the heaviest member',
    query: '{ search(first: 2) { ... on Film { rating } ... on Person { age } } }',
    ibm: 9,
    apollo: 10,
  },
  // No base cost for a mutation in the spec: Review 1 + body String 0 = 1 (Apollo adds 10)
  { name: 'a mutation', query: 'mutation { addReview(body: "x") { id } }', ibm: 1, apollo: 11 },
  // @skip(if: true): age is not selected: 1
  {
    name: 'a skipped field costs nothing',
    query: 'query ($s: Boolean!) { users(max: 5) { age @skip(if: $s) } }',
    variables: { s: true },
    ibm: 1,
    apollo: 5,
  },
  // [[Cell]] with no @listSize: 10 x 10 cells, each value 1: 1 + 100 x 1 = 101
  { name: 'a list of lists', query: '{ grid { value } }', ibm: 101, apollo: 200 },
  // Introspection fields are free.
  { name: 'introspection', query: '{ __typename }', ibm: 0, apollo: 0 },
];

const security = (model?: 'ibm' | 'apollo'): SecurityOptions => ({
  ...DEFAULT_SECURITY,
  cost: { ...DEFAULT_SECURITY.cost, maxCost: 1_000_000, ...(model ? { model } : {}) },
});

const costOf = (r: GraphQLResponse) =>
  (r.body as { extensions?: { cost?: { requestedQueryCost: number; actualQueryCost: number } } }).extensions?.cost;

async function startLibrary(): Promise<TestServer> {
  return startTestServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/users') return sendJson(res, 200, [{ age: 33 }, { age: 45 }, { age: 27 }]);
    if (path === '/films') return sendJson(res, 200, { edges: [], pageInfo: { hasNext: false } });
    if (path === '/grid') return sendJson(res, 200, []);
    if (path === '/popular' || path === '/reviews') return sendJson(res, 200, { id: 'r', name: 'n', price: 1 });
    sendJson(res, 200, []);
  });
}

describe('cost (default model, the IBM spec): estimated by hand', () => {
  let library: TestServer;
  let h: Harness;
  let apollo: Harness;
  before(async () => {
    library = await startLibrary();
    h = await startHarness({ 'library.graphql': schema(library.url) }, { security: security() });
    apollo = await startHarness({ 'library.graphql': schema(library.url) }, { security: security('apollo') });
  });
  after(async () => {
    await h?.close();
    await apollo?.close();
    await library?.close();
  });

  for (const row of TABLE) {
    test(`${row.name}: ${row.ibm}`, async () => {
      const op = prepareOperation(h.gateway.manager.current!.schema, parse(row.query), undefined, row.variables);
      assert.ok(op);
      assert.equal(estimateCost(op, 10), row.ibm, 'estimateCost, default model');
      const r = await h.query(row.query, row.variables);
      assert.equal(costOf(r)?.requestedQueryCost, row.ibm, JSON.stringify(r.body));
      if (row.apollo !== undefined) {
        assert.equal(estimateCost(op, 10, 'apollo'), row.apollo, 'estimateCost, apollo model');
        assert.equal(
          costOf(await apollo.query(row.query, row.variables))?.requestedQueryCost,
          row.apollo,
          '--cost-model apollo',
        );
      }
    });
  }

  test("the spec's example 3: three users returned cost 7", async () => {
    const r = await h.query('query Example { users(max: 5) { age } }');
    assert.equal(r.body.data?.users.length, 3);
    // Query.users once (1.0) + three User.age (2.0 each) = 7; the estimate was 11.
    assert.deepEqual([costOf(r)?.requestedQueryCost, costOf(r)?.actualQueryCost], [11, 7]);
  });

  test('actual cost: a field that ran and returned null costs its weight, nothing under it', () => {
    const op = prepareOperation(h.gateway.manager.current!.schema, parse('{ users(max: 5) { age } }'), undefined, {})!;
    assert.equal(actualCost(op, { users: null }), 1);
    assert.equal(actualCost(op, { users: [{ age: 1 }, null] }), 3);
    assert.equal(actualCost(op, { users: null }, 'apollo'), 0);
  });
});

describe('cost analysis runs only when a limit asks for it', () => {
  let library: TestServer;
  before(async () => {
    library = await startLibrary();
  });
  after(async () => {
    await library?.close();
  });

  test('without --max-cost and --cost-budget: no extensions.cost, and no cost validation', async () => {
    const h = await startHarness({ 'library.graphql': schema(library.url) });
    try {
      const r = await h.query('{ users(max: 5) { age } }');
      assert.deepEqual(r.body, { data: { users: [{ age: 33 }, { age: 45 }, { age: 27 }] } });
      // posts' slicing argument is required only by cost analysis: without it, the query runs.
      const unsliced = await h.query('{ users(max: 1) { posts { score } } }');
      assert.equal(unsliced.body.errors, undefined, JSON.stringify(unsliced.body));
    } finally {
      await h.close();
    }
  });

  test('with --max-cost: every executed operation carries extensions.cost', async () => {
    const h = await startHarness({ 'library.graphql': schema(library.url) }, { security: security() });
    try {
      const r = await h.query('{ users(max: 5) { age } }');
      assert.deepEqual(Object.keys(costOf(r) ?? {}).sort(), [
        'actualQueryCost',
        'requestedQueryCost',
        'throttleStatus',
      ]);
    } finally {
      await h.close();
    }
  });
});
