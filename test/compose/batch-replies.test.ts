// Batched replies in the shapes real APIs answer with (README, "Batching"): a flat list of
// items carrying their key, groups carrying a key and a value (pick:), one entry per key in
// order (match: "$index"), and an object keyed by key (match: "$key"), for batched @http
// fields and for @merge lookups; keys compare as strings (an upstream's integer 7 is the key
// "7"). Each query's upstream calls are counted at the backend: one call per field per level,
// whatever the shape. (The gRPC grouped reply: the demo's ListUserOrders, in
// grpc-gateway.test.ts and demo.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

const USERS = [1, 2, 3, 7].map((n) => ({ id: n, name: `user ${n}` }));
const POSTS: Record<string, string[]> = { '1': ['a', 'b'], '7': ['c'] };

describe('batch reply shapes', () => {
  let api: TestServer;
  let accounts: TestServer;
  let h: Harness;
  before(async () => {
    api = await startTestServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      const ids = url.searchParams.getAll('userId');
      const postsOf = (id: string) => (POSTS[id] ?? []).map((title) => ({ userId: Number(id), title }));
      switch (url.pathname) {
        case '/users': {
          const wanted = url.searchParams.getAll('id');
          return sendJson(res, 200, wanted.length ? USERS.filter((u) => wanted.includes(String(u.id))) : USERS);
        }
        case '/posts': // flat: every item carries its key (an integer here)
          return sendJson(res, 200, ids.flatMap(postsOf).reverse());
        case '/posts/grouped': // groups: key and value apart
          return sendJson(res, 200, { results: ids.map((id) => ({ userId: Number(id), posts: postsOf(id) })) });
        case '/posts/positional': // one entry per key asked for, in order; null when none
          return sendJson(res, 200, { items: ids.map((id) => (POSTS[id] ? postsOf(id) : null)) });
        case '/posts/keyed': // an object keyed by key, unknown keys absent
          return sendJson(res, 200, Object.fromEntries(ids.filter((id) => POSTS[id]).map((id) => [id, postsOf(id)])));
        case '/best-post/positional':
          return sendJson(
            res,
            200,
            ids.map((id) => (POSTS[id] ? { wrapped: postsOf(id)[0] } : null)),
          );
        default:
          return sendJson(res, 404, {});
      }
    });
    accounts = await startTestServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      const ids = url.searchParams.getAll('id');
      const account = (id: string) => ({ account: { uid: Number(id), plan: Number(id) % 2 ? 'free' : 'pro' } });
      if (url.pathname === '/accounts/by-index')
        return sendJson(
          res,
          200,
          ids.map((id) => (id === '3' ? null : account(id))),
        );
      if (url.pathname === '/accounts/by-key')
        return sendJson(res, 200, Object.fromEntries(ids.map((id) => [id, account(id)])));
      sendJson(res, 404, {});
    });
    h = await startHarness({
      'api.graphql': `${httpUpstream('api', [api.url])}
type Post { title: String! }
type User @key(selectionSet: "{ id }") {
  id: ID!
  name: String!
  flat: [Post!]! @http(GET: "/posts?userId={keys}", key: "{parent.id}", match: "userId")
  grouped: [Post!]! @http(GET: "/posts/grouped?userId={keys}", result: "results", key: "{parent.id}", match: "userId", pick: "posts")
  positional: [Post!] @http(GET: "/posts/positional?userId={keys}", result: "items", key: "{parent.id}", match: "$index")
  keyed: [Post!]! @http(GET: "/posts/keyed?userId={keys}", key: "{parent.id}", match: "$key")
  best: Post @http(GET: "/best-post/positional?userId={keys}", key: "{parent.id}", match: "$index", pick: "wrapped")
}
type Query {
  users: [User!]! @http(GET: "/users")
  "a flat lookup: items carry their key, an integer"
  usersByIds(ids: [ID!]!): [User]! @http(GET: "/users?id={args.ids}") @merge(keyField: "id")
}
`,
      'accounts.graphql': `${httpUpstream('accounts', [accounts.url])}
"Accounts name the user's key uid; the api source calls it id."
type User @key(selectionSet: "{ id }") {
  id: ID! @from(path: "uid")
  plan: String
  tier: String @from(path: "plan")
}
type Query {
  accountsByIndex(ids: [ID!]!): [User]! @http(GET: "/accounts/by-index?id={args.ids}") @merge(keyField: "id", match: "$index", pick: "account")
  accountsByKey(ids: [ID!]!): [User]! @http(GET: "/accounts/by-key?id={args.ids}") @merge(keyField: "id", match: "$key", pick: "account")
}
`,
    });
  });
  after(async () => {
    await h?.close();
    await api?.close();
    await accounts?.close();
  });

  const expected = (field: string, none: unknown) =>
    USERS.map((u) => ({ id: String(u.id), [field]: POSTS[String(u.id)]?.map((title) => ({ title })) ?? none }));

  for (const [field, none] of [
    ['flat', []],
    ['grouped', []],
    ['positional', []],
    ['keyed', []],
  ] as const) {
    test(`${field}: each user gets its posts from one call`, async () => {
      api.seen.length = 0;
      const r = await h.query(`{ users { id ${field} { title } } }`);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const got = r.body.data!.users as { id: string; [k: string]: unknown }[];
      // flat answers come back in another order: compare as sets of titles per user.
      const sorted = (rows: { [k: string]: unknown }[]) =>
        rows.map((u) => ({
          ...u,
          [field]: Array.isArray(u[field])
            ? [...(u[field] as { title: string }[])].sort((a, b) => a.title.localeCompare(b.title))
            : u[field],
        }));
      assert.deepEqual(sorted(got), sorted(expected(field, none)));
      assert.deepEqual(
        api.seen.map((s) => new URL(s.url, 'http://x').pathname),
        ['/users', field === 'flat' ? '/posts' : `/posts/${field}`],
      );
      const sent = new URL(api.seen[1].url, 'http://x').searchParams.getAll('userId');
      assert.deepEqual(sent, ['1', '2', '3', '7'], 'the distinct keys, in the order the parents asked');
    });
  }

  test('positional with pick on a single field: the first entry per key, null for an unknown key', async () => {
    const r = await h.query('{ users { id best { title } } }');
    assert.deepEqual(r.body.data!.users, [
      { id: '1', best: { title: 'a' } },
      { id: '2', best: null },
      { id: '3', best: null },
      { id: '7', best: { title: 'c' } },
    ]);
  });

  for (const lookup of ['accountsByIndex', 'accountsByKey'] as const) {
    test(`@merge ${lookup}: one lookup for every user, matched ${lookup === 'accountsByIndex' ? 'by position' : 'by key'}, the key mapped from uid`, async () => {
      const other = lookup === 'accountsByIndex' ? 'accountsByKey' : 'accountsByIndex';
      const h2 = await startHarness({
        'api.graphql': await readSchema(h, 'api.graphql'),
        'accounts.graphql': (await readSchema(h, 'accounts.graphql')).replace(new RegExp(`\\n  ${other}\\(.*`), ''),
      });
      try {
        accounts.seen.length = 0;
        const r = await h2.query('{ users { id name plan tier } }');
        assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
        assert.deepEqual(r.body.data!.users, [
          { id: '1', name: 'user 1', plan: 'free', tier: 'free' },
          { id: '2', name: 'user 2', plan: 'pro', tier: 'pro' },
          // by index, 3 has a null entry: no account; by key, it has one
          lookup === 'accountsByIndex'
            ? { id: '3', name: 'user 3', plan: null, tier: null }
            : { id: '3', name: 'user 3', plan: 'free', tier: 'free' },
          { id: '7', name: 'user 7', plan: 'free', tier: 'free' },
        ]);
        assert.equal(accounts.seen.length, 1, 'one lookup call for four users');
      } finally {
        await h2.close();
      }
    });
  }
});

async function readSchema(h: Harness, name: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(`${h.dir}/${name}`, 'utf8');
}
