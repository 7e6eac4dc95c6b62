// @authenticated and @requiresScopes through real tokens against real upstreams: every way of
// reaching a denied field (aliases, fragments, interfaces, unions, merged types, lists, remote
// GraphQL, mutations) answers null with its error, and the backend counters show that the
// denied field was never asked of its upstream. Then, in process: the plan cache's fast path
// and subscriptions.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { buildSchema, parse, print } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { SECURITY_DIRECTIVES_SDL } from '../../src/config/directives.js';
import { Planner, useAuthorization } from '../../src/security/authz/index.js';
import { DEFAULT_SECURITY, type SecurityOptions } from '../../src/security/options.js';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { mintToken } from '../helpers/jwt-fixtures.js';

const SECRET = 'x'.repeat(32);
const security = (extra: Partial<SecurityOptions> = {}): SecurityOptions => ({
  ...DEFAULT_SECURITY,
  jwt: { secret: SECRET, algorithms: ['HS256'], clockToleranceSec: 0, requiredClaims: [] },
  ...extra,
});
const bearer = async (claims: Record<string, unknown> = {}) => ({
  authorization: `Bearer ${await mintToken(SECRET, { sub: 'u1', claims })}`,
});

const USERS_SDL = /* GraphQL */ `
enum Role @requiresScopes(scopes: [["roles:read"]]) { ADMIN MEMBER }
scalar Secret @authenticated
interface Node { id: ID! label: String }
interface Private @authenticated { note: String }
type User implements Node & Private @key(selectionSet: "{ id }") {
  id: ID!
  name: String!
  label: String @authenticated
  note: String
  email: String @requiresScopes(scopes: [["users:email"]])
  phone: String @requiresScopes(scopes: [["a", "b"], ["c"]])
  ssn: String! @authenticated @http(GET: "/ssn/{parent.id}")
  role: Role
  token: Secret
}
type Audit implements Node @authenticated { id: ID! label: String details: String @http(GET: "/audits/{parent.id}") }
type Post implements Node { id: ID! label: String }
union Activity = User | Audit | Post
type Query {
  user(id: ID!): User @http(GET: "/users/{args.id}")
  users: [User!]! @http(GET: "/users")
  usersByIds(ids: [ID!]!): [User]! @http(GET: "/users?ids={args.ids}") @merge(keyField: "id")
  me: User @http(GET: "/me") @authenticated
  nodes: [Node]! @http(GET: "/nodes")
  activity: [Activity] @http(GET: "/nodes")
}
type Mutation { createUser(name: String!): User @http(POST: "/users", body: { name: "{args.name}" }) @authenticated }
`;
const BILLING_SDL = /* GraphQL */ `
type User @key(selectionSet: "{ id }") { id: ID! card: String @requiresScopes(scopes: [["billing:read"]]) plan: String }
type Query { billingUsers(ids: [ID!]!): [User]! @http(GET: "/billing?ids={args.ids}") @merge(keyField: "id") }
`;
const REVIEWS_SDL = /* GraphQL */ `
type Review { id: ID! body: String! author: String @authenticated }
type Query { reviews: [Review!]! }
`;

const user = (id: string) => ({
  __typename: 'User',
  id,
  name: `User ${id}`,
  label: `L${id}`,
  note: `N${id}`,
  email: `u${id}@x`,
  phone: `P${id}`,
  role: 'ADMIN',
  token: `T${id}`,
});
const NODES = [
  user('1'),
  { __typename: 'Audit', id: 'a1', label: 'LA' },
  { __typename: 'Post', id: 'p1', label: 'LP' },
];

function usersBackend(): Promise<TestServer> {
  return startTestServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/users' && req.method === 'POST')
      return sendJson(res, 200, { ...user('9'), ...JSON.parse(req.body) });
    const ids = new URL(req.url, 'http://x').searchParams.getAll('ids');
    if (path === '/users') return sendJson(res, 200, ids.length ? ids.map(user) : [user('1'), user('2')]);
    if (path.startsWith('/users/')) return sendJson(res, 200, user(path.slice(7)));
    if (path === '/me') return sendJson(res, 200, user('1'));
    if (path === '/nodes') return sendJson(res, 200, NODES);
    if (path.startsWith('/ssn/')) return sendJson(res, 200, `SSN-${path.slice(5)}`);
    if (path.startsWith('/audits/')) return sendJson(res, 200, 'audit details');
    sendJson(res, 404, {});
  });
}

async function reviewsBackend() {
  const queries: string[] = [];
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: REVIEWS_SDL.replace(' @authenticated', ''),
      resolvers: { Query: { reviews: () => [{ id: 'r1', body: 'good', author: 'ann' }] } },
    }),
    logging: false,
    plugins: [{ onParams: ({ params }) => void queries.push(params.query ?? '') }],
  });
  const server = createServer(yoga);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    queries,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A query's response without `extensions` (the cost plugin's report is not what these tests are about). */
async function ask(
  harness: Harness,
  query: string,
  variables?: Record<string, unknown>,
  headers?: Record<string, string>,
) {
  const r = await harness.query(query, variables, headers);
  delete (r.body as { extensions?: unknown }).extensions;
  return r;
}
const codes = (body: { errors?: { path?: unknown; extensions?: Record<string, unknown> }[] }) =>
  (body.errors ?? []).map((e) => [e.extensions?.code, (e.path as unknown[]).join('.')]);

describe('authorization: @authenticated and @requiresScopes', () => {
  let users: TestServer;
  let billing: TestServer;
  let reviews: Awaited<ReturnType<typeof reviewsBackend>>;
  let h: Harness;
  const seen = (server: TestServer, prefix: string) => server.seen.filter((r) => r.url.startsWith(prefix)).length;

  before(async () => {
    [users, reviews] = await Promise.all([usersBackend(), reviewsBackend()]);
    billing = await startTestServer((req, res) => {
      const ids = new URL(req.url, 'http://x').searchParams.getAll('ids');
      sendJson(
        res,
        200,
        ids.map((id) => ({ id, card: `card-${id}`, plan: `plan-${id}` })),
      );
    });
    h = await startHarness(
      {
        'users.graphql': httpUpstream('users', [users.url]) + USERS_SDL,
        'billing.graphql': httpUpstream('billing', [billing.url]) + BILLING_SDL,
        'reviews.graphql': `extend schema @upstream(name: "reviews", protocol: GRAPHQL, replicas: [{ url: "${reviews.url}" }])\n${REVIEWS_SDL}`,
      },
      { security: security() },
    );
  });
  after(async () => {
    await h?.close();
    await Promise.all([users?.close(), billing?.close(), reviews?.close()]);
  });
  beforeEach(() => {
    users.seen.length = 0;
    billing.seen.length = 0;
    reviews.queries.length = 0;
  });

  test('anonymous: an @authenticated field is null with UNAUTHENTICATED at its path, its siblings resolve, its upstream is not called', async () => {
    const r = await ask(h, '{ user(id: "1") { id name label } me { id } }');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { user: { id: '1', name: 'User 1', label: null }, me: null });
    assert.deepEqual(codes(r.body), [
      ['UNAUTHENTICATED', 'user.label'],
      ['UNAUTHENTICATED', 'me'],
    ]);
    assert.deepEqual([seen(users, '/users/1'), seen(users, '/me')], [1, 0]);
    assert.equal(users.seen.length, 1);
  });

  test('a token without the scope: FORBIDDEN; with it: the data', async () => {
    const q = '{ user(id: "1") { name email } }';
    const without = await ask(h, q, undefined, await bearer({ scope: 'other' }));
    assert.deepEqual(without.body.data, { user: { name: 'User 1', email: null } });
    assert.deepEqual(codes(without.body), [['FORBIDDEN', 'user.email']]);
    const withScope = await ask(h, q, undefined, await bearer({ scope: 'other users:email' }));
    assert.deepEqual(withScope.body, { data: { user: { name: 'User 1', email: 'u1@x' } } });
    const authenticated = await ask(h, '{ user(id: "1") { label } me { id } }', undefined, await bearer());
    assert.deepEqual(authenticated.body, { data: { user: { label: 'L1' }, me: { id: '1' } } });
  });

  test('scopes [[a, b], [c]]: the outer list is OR, the inner AND', async () => {
    const phone = async (claims: Record<string, unknown>) =>
      (await ask(h, '{ user(id: "2") { phone } }', undefined, await bearer(claims))).body;
    assert.deepEqual(codes(await phone({ scope: 'a' })), [['FORBIDDEN', 'user.phone']]);
    assert.deepEqual(codes(await phone({ scope: 'b' })), [['FORBIDDEN', 'user.phone']]);
    assert.deepEqual((await phone({ scope: 'a b' })).data, { user: { phone: 'P2' } });
    assert.deepEqual((await phone({ scope: 'c' })).data, { user: { phone: 'P2' } });
  });

  test('scopes from "scope" (string), "scp" and "permissions" (arrays)', async () => {
    for (const claims of [{ scope: 'users:email' }, { scp: ['users:email'] }, { permissions: ['x', 'users:email'] }]) {
      const r = await ask(h, '{ user(id: "1") { email } }', undefined, await bearer(claims));
      assert.deepEqual(r.body, { data: { user: { email: 'u1@x' } } }, JSON.stringify(claims));
    }
  });

  test('two aliases of a denied field: two errors, response keys in the order written', async () => {
    const r = await ask(h, '{ user(id: "1") { a: email name b: email } }', undefined, await bearer());
    assert.deepEqual(Object.keys(r.body.data!.user), ['a', 'name', 'b']);
    assert.deepEqual(r.body.data!.user, { a: null, name: 'User 1', b: null });
    assert.deepEqual(codes(r.body), [
      ['FORBIDDEN', 'user.a'],
      ['FORBIDDEN', 'user.b'],
    ]);
  });

  test('named and inline fragments do not get around it', async () => {
    const r = await ask(
      h,
      '{ user(id: "1") { ...F ... on User { e2: email ssn } } } fragment F on User { name email }',
    );
    assert.equal(r.body.data!.user, null, 'the denied non-null ssn nulls its parent');
    assert.deepEqual(codes(r.body), [
      ['UNAUTHENTICATED', 'user.email'],
      ['UNAUTHENTICATED', 'user.e2'],
      ['UNAUTHENTICATED', 'user.ssn'],
    ]);
    assert.equal(seen(users, '/ssn/'), 0);
    const ok = await ask(h, '{ user(id: "1") { ...F } } fragment F on User { name ssn }', undefined, await bearer());
    assert.deepEqual(ok.body, { data: { user: { name: 'User 1', ssn: 'SSN-1' } } });
  });

  test('a fragment on a protected interface: its fields are denied', async () => {
    const r = await ask(h, '{ user(id: "1") { name ... on Private { note } } }');
    assert.deepEqual(r.body.data, { user: { name: 'User 1', note: null } });
    assert.deepEqual(codes(r.body), [['UNAUTHENTICATED', 'user.note']]);
  });

  test('lists: an error per item path', async () => {
    const r = await ask(h, '{ users { id email } }', undefined, await bearer({ scope: 'nope' }));
    assert.deepEqual(r.body.data, {
      users: [
        { id: '1', email: null },
        { id: '2', email: null },
      ],
    });
    assert.deepEqual(codes(r.body), [
      ['FORBIDDEN', 'users.0.email'],
      ['FORBIDDEN', 'users.1.email'],
    ]);
  });

  test('a protected enum and a protected scalar deny the fields returning them', async () => {
    const q = '{ user(id: "1") { role token } }';
    const anonymous = await ask(h, q);
    assert.deepEqual(codes(anonymous.body), [
      ['UNAUTHENTICATED', 'user.role'],
      ['UNAUTHENTICATED', 'user.token'],
    ]);
    const token = await ask(h, q, undefined, await bearer());
    assert.deepEqual(token.body.data, { user: { role: null, token: 'T1' } });
    assert.deepEqual(codes(token.body), [['FORBIDDEN', 'user.role']]);
    const scoped = await ask(h, q, undefined, await bearer({ scope: 'roles:read' }));
    assert.deepEqual(scoped.body, { data: { user: { role: 'ADMIN', token: 'T1' } } });
  });

  test('an interface field: a protected member type is null, a protected implementation field too', async () => {
    const r = await ask(h, '{ nodes { id label ... on Audit { details } ... on User { name } } }');
    assert.deepEqual(r.body.data, {
      nodes: [{ id: '1', label: null, name: 'User 1' }, null, { id: 'p1', label: 'LP' }],
    });
    assert.deepEqual(codes(r.body), [
      ['UNAUTHENTICATED', 'nodes.0.label'],
      ['UNAUTHENTICATED', 'nodes.1'],
    ]);
    assert.equal(seen(users, '/audits/'), 0, "the protected type's fields are never resolved");
    const token = await ask(h, '{ nodes { id ... on Audit { details } } }', undefined, await bearer());
    assert.deepEqual(token.body, {
      data: { nodes: [{ id: '1' }, { id: 'a1', details: 'audit details' }, { id: 'p1' }] },
    });
  });

  test('a union whose member type is protected', async () => {
    const r = await ask(h, '{ activity { __typename ... on Audit { id details } ... on Post { id } } }');
    assert.deepEqual(r.body.data, { activity: [{ __typename: 'User' }, null, { __typename: 'Post', id: 'p1' }] });
    assert.deepEqual(codes(r.body), [['UNAUTHENTICATED', 'activity.1']]);
    assert.equal(seen(users, '/audits/'), 0);
  });

  test('a merged type: a denied field owned by another source does not call that source', async () => {
    const r = await ask(h, '{ users { name card } }');
    assert.deepEqual(r.body.data, {
      users: [
        { name: 'User 1', card: null },
        { name: 'User 2', card: null },
      ],
    });
    assert.deepEqual(codes(r.body), [
      ['UNAUTHENTICATED', 'users.0.card'],
      ['UNAUTHENTICATED', 'users.1.card'],
    ]);
    assert.equal(billing.seen.length, 0);
    const plan = await ask(h, '{ users { plan card } }', undefined, await bearer({ scope: 'billing:read' }));
    assert.deepEqual(plan.body, {
      data: {
        users: [
          { plan: 'plan-1', card: 'card-1' },
          { plan: 'plan-2', card: 'card-2' },
        ],
      },
    });
    assert.equal(billing.seen.length, 1);
  });

  test('a remote GraphQL field: the remote server never receives it', async () => {
    const r = await ask(h, '{ reviews { id author body } }');
    assert.deepEqual(r.body.data, { reviews: [{ id: 'r1', author: null, body: 'good' }] });
    assert.deepEqual(codes(r.body), [['UNAUTHENTICATED', 'reviews.0.author']]);
    assert.equal(reviews.queries.length, 1);
    assert.doesNotMatch(reviews.queries[0], /author/);
    const token = await ask(h, '{ reviews { author } }', undefined, await bearer());
    assert.deepEqual(token.body, { data: { reviews: [{ author: 'ann' }] } });
  });

  test('an @authenticated mutation is not sent upstream when anonymous', async () => {
    const r = await ask(h, 'mutation { createUser(name: "Zed") { id name } }');
    assert.deepEqual(r.body.data, { createUser: null });
    assert.deepEqual(codes(r.body), [['UNAUTHENTICATED', 'createUser']]);
    assert.equal(users.seen.length, 0);
    const token = await ask(h, 'mutation { createUser(name: "Zed") { name } }', undefined, await bearer());
    assert.deepEqual(token.body, { data: { createUser: { name: 'Zed' } } });
    assert.equal(users.seen.length, 1);
  });

  test('@skip/@include: a denied field that is not included is no error', async () => {
    const q = 'query($x: Boolean!) { user(id: "1") { name email @include(if: $x) } }';
    assert.deepEqual((await ask(h, q, { x: false })).body, { data: { user: { name: 'User 1' } } });
    assert.deepEqual(codes((await ask(h, q, { x: true })).body), [['UNAUTHENTICATED', 'user.email']]);
  });

  test('introspection still works anonymously', async () => {
    const r = await ask(h, '{ __type(name: "User") { fields { name } } __schema { queryType { name } } }');
    assert.equal(r.body.errors, undefined);
    assert.ok(r.body.data!.__type.fields.some((f: { name: string }) => f.name === 'email'));
  });

  test('a configured scope claim is the only one read', async () => {
    const custom = await startHarness(
      { 'users.graphql': httpUpstream('users', [users.url]) + USERS_SDL },
      { security: security({ scopeClaim: 'roles' }) },
    );
    try {
      const q = '{ user(id: "1") { email } }';
      assert.deepEqual((await ask(custom, q, undefined, await bearer({ roles: 'users:email' }))).body, {
        data: { user: { email: 'u1@x' } },
      });
      assert.deepEqual((await ask(custom, q, undefined, await bearer({ roles: ['users:email'] }))).body, {
        data: { user: { email: 'u1@x' } },
      });
      assert.deepEqual(codes((await ask(custom, q, undefined, await bearer({ scope: 'users:email' }))).body), [
        ['FORBIDDEN', 'user.email'],
      ]);
    } finally {
      await custom.close();
    }
  });
});

describe('authorization in process: the plan cache and subscriptions', () => {
  let hiddenSubscribed = 0;
  const schema = makeExecutableSchema({
    typeDefs: `${SECURITY_DIRECTIVES_SDL}
      type Tick { n: Int! secret: String @authenticated }
      type Query { open: String closed: String @authenticated }
      type Subscription { ticks: Tick hidden: Int @authenticated }`,
    resolvers: {
      Query: { open: () => 'o', closed: () => 'c' },
      Subscription: {
        ticks: {
          subscribe: async function* () {
            for (const n of [1, 2]) yield { ticks: { n, secret: `s${n}` } };
          },
        },
        hidden: {
          subscribe: async function* () {
            hiddenSubscribed++;
            yield { hidden: 1 };
          },
        },
      },
    },
  });

  test('no plan (the fast path) when nothing is denied; one cached plan per document and auth state', () => {
    const planner = new Planner();
    const open = parse('{ open }');
    const closed = parse('{ open closed }');
    assert.equal(
      planner.plan(buildSchema('type Query { a: String }'), parse('{ a }'), undefined, undefined),
      null,
      'a schema without requirements',
    );
    assert.equal(planner.plan(schema, open, undefined, undefined), null);
    const plan = planner.plan(schema, closed, undefined, undefined);
    assert.ok(plan);
    assert.equal(print(plan.document), '{\n  open\n}');
    assert.equal(
      planner.plan(schema, closed, undefined, undefined),
      plan,
      'the same document and auth state: the cached plan',
    );
    assert.equal(planner.plan(schema, closed, undefined, { sub: 'u1' }), null, 'a token: nothing denied');
    const clash = planner.plan(schema, parse('{ _quilt_type: closed }'), undefined, undefined);
    assert.equal(
      print(clash!.document),
      '{\n  _quilt_type_: __typename\n}',
      'the runtime-type alias never takes a name the client uses',
    );
  });

  test('subscriptions: denied fields in each event, and a denied root field is never subscribed', async () => {
    const yoga = createYoga({
      schema,
      logging: false,
      context: ({ request }) => ({
        jwt: request.headers.has('x-test-sub') ? { sub: request.headers.get('x-test-sub') } : undefined,
      }),
      plugins: [useAuthorization()],
    });
    const events = async (query: string, headers: Record<string, string> = {}) => {
      const res = await yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
        body: JSON.stringify({ query }),
      });
      return (await res.text())
        .split('\n')
        .filter((l) => l.startsWith('data: {'))
        .map((l) => JSON.parse(l.slice(6)));
    };
    const ticks = await events('subscription { ticks { n secret } }');
    assert.deepEqual(
      ticks.map((e) => e.data),
      [{ ticks: { n: 1, secret: null } }, { ticks: { n: 2, secret: null } }],
    );
    assert.deepEqual(
      ticks.map((e) => codes(e)),
      [[['UNAUTHENTICATED', 'ticks.secret']], [['UNAUTHENTICATED', 'ticks.secret']]],
    );
    assert.deepEqual(
      (await events('subscription { ticks { secret } }', { 'x-test-sub': 'u1' })).map((e) => e.data),
      [{ ticks: { secret: 's1' } }, { ticks: { secret: 's2' } }],
    );
    const hidden = await events('subscription { hidden }');
    assert.deepEqual(
      hidden.map((e) => [e.data, codes(e)]),
      [[{ hidden: null }, [['UNAUTHENTICATED', 'hidden']]]],
    );
    assert.equal(hiddenSubscribed, 0);
  });
});
