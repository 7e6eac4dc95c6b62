// Template rules (README, "Schema files"): unit tests of the renderers, then the same rules
// end to end through the gateway to a real upstream that records what reached it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compileJson, compileText, compileUrl } from '../../src/templates/render.js';
import { type Harness, httpUpstream, payload, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

describe('template renderers', () => {
  test('path placeholders are one percent-encoded segment each', () => {
    const url = compileUrl('/users/{args.id}/posts');
    assert.equal(url({ args: { id: '../admin' } }), '/users/..%2Fadmin/posts');
    assert.equal(url({ args: { id: 'a b?c#d' } }), '/users/a%20b%3Fc%23d/posts');
  });

  test('a list in the query repeats the parameter; a missing value drops it', () => {
    const url = compileUrl('/users?ids={args.ids}&limit={args.limit}&q=x-{args.q}');
    assert.equal(url({ args: { ids: ['1', '2', 'a&b'] } }), '/users?ids=1&ids=2&ids=a%26b');
    assert.equal(url({ args: { ids: ['1'], limit: 5, q: 'y z' } }), '/users?ids=1&limit=5&q=x-y%20z');
    assert.equal(url({ args: {} }), '/users');
  });

  test('parent, jwt, header and keys placeholders', () => {
    const url = compileUrl('/x/{parent.org.id}?by={jwt.sub}&lang={header.Accept-Language}&k={keys}');
    assert.equal(
      url({ parent: { org: { id: 9 } }, jwt: { sub: 'u1' }, headers: { 'accept-language': 'fr' }, keys: ['a', 'b'] }),
      '/x/9?by=u1&lang=fr&k=a&k=b',
    );
  });

  test('a missing path value is a BAD_USER_INPUT error, not an empty segment', () => {
    assert.throws(
      () => compileUrl('/users/{args.id}')({ args: {} }),
      (e: any) => e.extensions.code === 'BAD_USER_INPUT',
    );
  });

  test('JSON: an exact placeholder is the raw value; other strings are text; missing keys are left out', () => {
    const body = compileJson({
      input: '{args.input}',
      n: '{args.n}',
      label: 'user {args.name}',
      gone: '{args.nope}',
      list: ['{args.n}', 'x'],
    });
    assert.deepEqual(body({ args: { input: { a: [1, 2] }, n: 3, name: 'ada' } }), {
      input: { a: [1, 2] },
      n: 3,
      label: 'user ada',
      list: [3, 'x'],
    });
    assert.deepEqual(compileJson('{args.input}')({ args: { input: { x: 1 } } }), { x: 1 });
  });

  test('text: missing placeholder gives undefined (the header is dropped)', () => {
    assert.equal(compileText('Bearer {jwt.token}')({ jwt: {} }), undefined);
    assert.equal(compileText('static')({}), 'static');
  });
});

describe('templates end to end', () => {
  let upstream: TestServer;
  let h: Harness;
  before(async () => {
    upstream = await startTestServer((req, res) => {
      if (req.method === 'POST') return sendJson(res, 201, { id: 'new', ...JSON.parse(req.body || '{}') });
      if (req.url.startsWith('/orgs/')) return sendJson(res, 200, { id: 'o1', name: 'Org' });
      sendJson(res, 200, { id: '1', name: 'n', orgId: 'o/1' });
    });
    process.env.QUILT_TEST_API_KEY = 'secret-key';
    h = await startHarness({
      'a.graphql': `${httpUpstream('a', [upstream.url], 'headers: [{ name: "x-api-key", value: "{env.QUILT_TEST_API_KEY}" }], forwardHeaders: ["accept-language"]')}
type Org { id: ID! name: String }
type Thing { id: ID! name: String orgId: String org: Org @http(GET: "/orgs/{parent.orgId}") }
input NewThing { name: String!, tags: [String!], size: Int }
type Query {
  thing(id: ID!, tags: [String!], limit: Int): Thing @http(GET: "/things/{args.id}?tag={args.tags}&limit={args.limit}", headers: [{ name: "x-lang", value: "{header.accept-language}" }])
}
type Mutation { createThing(input: NewThing!): Thing @http(POST: "/things", body: { input: "{args.input}", size: "{args.input.size}", note: "made by {header.x-who}" }) }
`,
    });
  });
  after(async () => {
    await h?.close();
    await upstream?.close();
    delete process.env.QUILT_TEST_API_KEY;
  });

  test('args in the path stay one segment, lists repeat, missing parameters are dropped', async () => {
    const r = await h.query('{ thing(id: "../admin", tags: ["a", "b c"]) { id } }');
    assert.deepEqual(payload(r.body), { data: { thing: { id: '1' } } });
    assert.equal(upstream.seen.at(-1)!.url, '/things/..%2Fadmin?tag=a&tag=b%20c');
  });

  test('parent placeholders, env in static headers, forwarded and templated headers, request id', async () => {
    upstream.seen.length = 0;
    const r = await h.query('{ thing(id: "1") { org { name } } }', undefined, {
      'accept-language': 'de',
      'x-request-id': 'req-42',
      'x-secret': 'no',
    });
    assert.deepEqual(payload(r.body), { data: { thing: { org: { name: 'Org' } } } });
    assert.equal(r.headers.get('x-request-id'), 'req-42');
    const [first, second] = upstream.seen;
    assert.equal(second.url, '/orgs/o%2F1');
    for (const seen of [first, second]) {
      assert.equal(seen.headers['x-api-key'], 'secret-key');
      assert.equal(seen.headers['accept-language'], 'de');
      assert.equal(seen.headers['x-request-id'], 'req-42');
      assert.equal(seen.headers['x-secret'], undefined, 'headers are forwarded only when the file says so');
    }
    assert.equal(first.headers['x-lang'], 'de');
  });

  test('JSON body: raw values for exact placeholders, text otherwise, missing keys omitted', async () => {
    upstream.seen.length = 0;
    const r = await h.query(
      'mutation { createThing(input: { name: "x", tags: ["t"], size: 3 }) { id name } }',
      undefined,
      { 'x-who': 'ada' },
    );
    assert.deepEqual(payload(r.body), { data: { createThing: { id: 'new', name: null } } });
    assert.deepEqual(JSON.parse(upstream.seen[0].body), {
      input: { name: 'x', tags: ['t'], size: 3 },
      size: 3,
      note: 'made by ada',
    });
    assert.equal(upstream.seen[0].headers['content-type'], 'application/json');
    upstream.seen.length = 0;
    await h.query('mutation { createThing(input: { name: "y" }) { id } }');
    assert.deepEqual(JSON.parse(upstream.seen[0].body), { input: { name: 'y' } });
  });

  test('a made request id is a fresh uuid, forwarded upstream and echoed to the client', async () => {
    upstream.seen.length = 0;
    const r = await h.query('{ thing(id: "1") { id } }');
    const id = r.headers.get('x-request-id');
    assert.match(id ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(upstream.seen[0].headers['x-request-id'], id);
  });
});
