// Replica urls as real deployments write them (README, "@upstream"): an HTTP replica with a
// base path prefixes every @http path and its health checks; a GRAPHQL replica url with a
// path is the endpoint itself (endpoint: applies only to a url without one); and a url that
// cannot work is a `quilt check` problem at its own line and column, not an
// UPSTREAM_UNAVAILABLE at run time.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createSchema, createYoga } from 'graphql-yoga';
import { assertExit, assertReported, runCheck, schemaFolder } from '../helpers/check-fixtures.js';
import { type Harness, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { eventually } from '../helpers/wait.js';

describe('base paths', () => {
  let rest: TestServer;
  let graphql: Server;
  let graphqlOrigin: string;
  const graphqlPaths: string[] = [];
  let h: Harness;
  before(async () => {
    rest = await startTestServer((req, res) => {
      if (req.url === '/api/v1/health') return sendJson(res, 200, { ok: true });
      const m = /^\/api\/v1\/users\/(\w+)$/.exec(req.url);
      if (m) return sendJson(res, 200, { id: m[1], name: `user ${m[1]}` });
      sendJson(res, 404, {});
    });
    const yoga = createYoga({
      schema: createSchema({
        typeDefs: 'type Query { reviews: [String!]! }',
        resolvers: { Query: { reviews: () => ['good'] } },
      }),
      graphqlEndpoint: '/api/graphql',
      logging: false,
    });
    graphql = createServer((req, res) => {
      graphqlPaths.push(req.url ?? '');
      res.setHeader('x-served-by', 'reviews-1');
      return yoga(req, res);
    });
    await new Promise<void>((resolve) => graphql.listen(0, '127.0.0.1', resolve));
    graphqlOrigin = `http://127.0.0.1:${(graphql.address() as AddressInfo).port}`;
    h = await startHarness({
      'users.graphql': `extend schema @upstream(name: "users", protocol: HTTP, replicas: [{ url: "${rest.url}/api/v1/" }],
  health: { path: "/health", intervalMs: 100, timeoutMs: 500 })
type User { id: ID! name: String! }
type Query { user(id: ID!): User @http(GET: "/users/{args.id}") }
`,
      'reviews.graphql': `extend schema @upstream(name: "reviews", protocol: GRAPHQL, replicas: [{ url: "${graphqlOrigin}/api/graphql" }],
  endpoint: "/not-used", health: { intervalMs: 100, timeoutMs: 500 }, responseHeaders: ["x-served-by"])
type Query { reviews: [String!]! }
`,
      'same.graphql': `extend schema @upstream(name: "same", protocol: GRAPHQL, replicas: [{ url: "${graphqlOrigin}" }], endpoint: "/api/graphql")
type Query { sameReviews: [String!]! @from(path: "reviews") }
`,
    });
  });
  after(async () => {
    await h?.close();
    await rest?.close();
    await new Promise((resolve) => {
      graphql.closeAllConnections();
      graphql.close(resolve);
    });
  });

  test('an HTTP replica url with a path prefixes every call and the health check', async () => {
    const r = await h.query('{ user(id: "7") { id name } }');
    assert.deepEqual(r.body, { data: { user: { id: '7', name: 'user 7' } } });
    assert.ok(
      rest.seen.some((s) => s.url === '/api/v1/users/7'),
      JSON.stringify(rest.seen.map((s) => s.url)),
    );
    await eventually(() => rest.seen.some((s) => s.url === '/api/v1/health'), {
      what: 'a health check under the base path',
    });
    assert.ok(
      rest.seen.every((s) => s.url.startsWith('/api/v1/')),
      'nothing outside the base path',
    );
  });

  test('a GRAPHQL replica url with a path is the endpoint, for calls and health checks', async () => {
    graphqlPaths.length = 0;
    const r = await h.query('{ reviews }');
    assert.deepEqual(r.body, { data: { reviews: ['good'] } });
    assert.equal(r.headers.get('x-served-by'), 'reviews-1', 'a remote GraphQL answer passes its named headers too');
    await eventually(() => graphqlPaths.length >= 2, { what: 'a call and a health check' });
    assert.ok(
      graphqlPaths.every((p) => p === '/api/graphql'),
      JSON.stringify(graphqlPaths),
    );
    const upstreams = (await (await fetch(`${h.gateway.url}/upstreams`)).json()) as {
      upstreams: { name: string; replicas: { health: string }[] }[];
    };
    assert.equal(upstreams.upstreams.find((u) => u.name === 'reviews')?.replicas[0].health, 'healthy');
  });
});

describe('replica urls that cannot work are check problems at their line', () => {
  const cases: [string, string, RegExp][] = [
    [
      'HTTP',
      '127.0.0.1:4001',
      /replicas\[1\]\.url\) expected an absolute http:\/\/ or https:\/\/ url; received "127.0.0.1:4001"/,
    ],
    [
      'HTTP',
      'ftp://files.example.com',
      /expected an http:\/\/ or https:\/\/ url; received "ftp:\/\/files.example.com"/,
    ],
    ['HTTP', 'http://api.example.com/v1?key=abc', /expected a url without a query string/],
    ['HTTP', 'http://user:pw@api.example.com', /expected a url without credentials/],
    ['GRAPHQL', 'grpc://reviews:50051', /expected an http:\/\/ or https:\/\/ url/],
  ];
  for (const [protocol, url, message] of cases) {
    test(`${protocol} ${url}`, async () => {
      const file = `extend schema @upstream(
  name: "bad"
  protocol: ${protocol}
  replicas: [{ url: "http://127.0.0.1:4001" }, { url: "${url}" }]
)
type Query { x: String${protocol === 'HTTP' ? ' @http(GET: "/x")' : ''} }
`;
      const fixture = schemaFolder({ 'bad.graphql': file });
      try {
        const result = await runCheck(fixture.dir);
        assertExit(result, 1);
        assertReported(result, fixture, 'bad.graphql', [`"${url}"`], message);
        assert.match(result.stderr, /replicas\[1\]\.url/);
      } finally {
        fixture.remove();
      }
    });
  }

  test('a gRPC replica with a path or a scheme other than grpc(s)', async () => {
    const file = `extend schema @upstream(name: "orders", protocol: GRPC, proto: "x.proto", service: "a.B",
  replicas: [{ url: "http://orders:50051" }, { url: "orders:50051/v1" }, { url: "orders" }])
type Query { x: String }
`;
    const fixture = schemaFolder({ 'orders.graphql': file });
    try {
      const result = await runCheck(fixture.dir);
      assertExit(result, 1);
      // "orders" also names the upstream: as a url it is the second occurrence.
      const urls: [string, number][] = [
        ['"http://orders:50051"', 0],
        ['"orders:50051/v1"', 0],
        ['"orders"', 1],
      ];
      for (const url of urls) {
        assertReported(
          result,
          fixture,
          'orders.graphql',
          [url],
          /expected host:port, grpc:\/\/host:port or grpcs:\/\/host:port/,
        );
      }
    } finally {
      fixture.remove();
    }
  });
});
