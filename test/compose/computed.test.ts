// @computed and {parent.x}: a field whose call needs parent fields another source owns gets
// them fetched (batched) before it runs; without the need, that source is not called.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

describe('@computed', () => {
  let accounts: TestServer;
  let avatars: TestServer;
  let h: Harness;
  before(async () => {
    accounts = await startTestServer((req, res) => {
      const ids = new URL(req.url, 'http://x').searchParams.getAll('id');
      sendJson(
        res,
        200,
        ids.map((id) => ({ id, email: `u${id}@example.com`, plan: id === '1' ? 'pro' : 'free' })),
      );
    });
    avatars = await startTestServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname === '/top') return sendJson(res, 200, [{ id: '1' }, { id: '2' }]);
      sendJson(res, 200, {
        url: `https://avatars.example/${url.searchParams.get('email')}?size=${url.searchParams.get('size') ?? ''}`,
      });
    });
    h = await startHarness({
      'accounts.graphql': `${httpUpstream('accounts', [accounts.url])}
type Account @key(selectionSet: "{ id }") { id: ID! email: String! plan: String! }
type Query { accounts(id: [ID!]!): [Account]! @http(GET: "/accounts?id={args.id}") @merge(keyField: "id") }
`,
      'avatars.graphql': `${httpUpstream('avatars', [avatars.url])}
type Account @key(selectionSet: "{ id }") {
  id: ID!
  avatar: String @http(GET: "/avatar?email={parent.email}", result: "url") @computed(selectionSet: "{ email plan }")
  avatarBySize(size: Int): String @http(GET: "/avatar?email={parent.email}&size={args.size}", result: "url")
}
type Query { topAccounts: [Account!]! @http(GET: "/top") }
`,
    });
  });
  after(async () => {
    await h?.close();
    await accounts?.close();
    await avatars?.close();
  });
  beforeEach(() => {
    accounts.seen.length = 0;
    avatars.seen.length = 0;
  });

  test('@computed fields of another source are fetched first, in one batched lookup', async () => {
    const r = await h.query('{ topAccounts { avatar } }');
    assert.equal(r.body.errors, undefined);
    assert.deepEqual(r.body.data!.topAccounts, [
      { avatar: 'https://avatars.example/u1@example.com?size=' },
      { avatar: 'https://avatars.example/u2@example.com?size=' },
    ]);
    assert.equal(accounts.seen.length, 1);
    assert.equal(accounts.seen[0].url, '/accounts?id=1&id=2');
  });

  test('{parent.x} alone declares the need, without @computed', async () => {
    const r = await h.query('{ topAccounts { id avatarBySize(size: 64) } }');
    assert.equal(r.body.data!.topAccounts[1].avatarBySize, 'https://avatars.example/u2@example.com?size=64');
    assert.equal(accounts.seen.length, 1);
  });

  test('no field needing another source: that source is not called', async () => {
    await h.query('{ topAccounts { id } }');
    assert.equal(accounts.seen.length, 0);
  });
});
