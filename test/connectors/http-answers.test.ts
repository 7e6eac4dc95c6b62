// What an HTTP upstream's answer becomes for the client (README, "Errors" and "@http"): each
// error status mapped as gRPC statuses are, with `upstream` and `status`; the upstream's own
// message only where errorMessage: asks for it; 204, empty and text/plain successes; and the
// headers named in @upstream(responseHeaders:), merged across the calls of one request. A
// real upstream on 127.0.0.1 answers each path as the test says.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

const SECRET = 'db password is hunter2';

describe('HTTP answers', () => {
  let upstream: TestServer;
  let h: Harness;
  before(async () => {
    upstream = await startTestServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      const status = url.searchParams.get('status');
      if (url.pathname === '/status') {
        return sendJson(res, Number(status), { error: { message: `told to answer ${status}`, internal: SECRET } });
      }
      if (url.pathname === '/empty') {
        res.writeHead(Number(status ?? 200));
        return res.end();
      }
      if (url.pathname === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return res.end('plain words');
      }
      if (url.pathname === '/item') {
        const headers: Record<string, string | string[]> = {
          'content-type': 'application/json',
          'x-ratelimit-remaining': url.searchParams.get('left') ?? '9',
        };
        const cookie = url.searchParams.get('cookie');
        if (cookie) headers['set-cookie'] = [`${cookie}=1; Path=/`];
        const cache = url.searchParams.get('cache');
        if (cache) headers['cache-control'] = cache;
        headers['x-internal-host'] = 'replica-7';
        res.writeHead(200, headers);
        return res.end(JSON.stringify({ id: url.searchParams.get('id') ?? '1' }));
      }
      sendJson(res, 404, {});
    });
    h = await startHarness({
      'api.graphql': `${httpUpstream('api', [upstream.url], 'responseHeaders: ["x-ratelimit-remaining", "set-cookie", "cache-control"], errorMessage: "error.message"')}
type Item { id: ID! }
type Query {
  status(code: Int!): Item @http(GET: "/status?status={args.code}")
  required(code: Int!): Item! @http(GET: "/status?status={args.code}")
  items(code: Int!): [Item!] @http(GET: "/status?status={args.code}")
  deleted: Boolean @http(GET: "/empty?status=204")
  nothing: Item @http(GET: "/empty?status=200")
  words: String @http(GET: "/text")
  item(id: ID!, left: String, cookie: String, cache: String): Item @http(GET: "/item?id={args.id}&left={args.left}&cookie={args.cookie}&cache={args.cache}")
}
type Mutation { remove: Boolean @http(DELETE: "/empty?status=204") }
`,
      'quiet.graphql': `${httpUpstream('quiet', [upstream.url])}
type Query {
  quietStatus(code: Int!): Item @http(GET: "/status?status={args.code}")
  fieldMessage(code: Int!): Item @http(GET: "/status?status={args.code}", errorMessage: "error.message")
}
`,
    });
  });
  after(async () => {
    await h?.close();
    await upstream?.close();
  });

  const STATUSES: [number, string][] = [
    [400, 'BAD_USER_INPUT'],
    [422, 'BAD_USER_INPUT'],
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
    [408, 'UPSTREAM_TIMEOUT'],
    [504, 'UPSTREAM_TIMEOUT'],
    [502, 'UPSTREAM_UNAVAILABLE'],
    [503, 'UPSTREAM_UNAVAILABLE'],
    [409, 'UPSTREAM_ERROR'],
    [429, 'UPSTREAM_ERROR'],
    [500, 'UPSTREAM_ERROR'],
  ];
  for (const [status, code] of STATUSES) {
    test(`HTTP ${status} is ${code} with upstream and status; no upstream text unless asked for`, async () => {
      const r = await h.query(`{ quietStatus(code: ${status}) { id } }`);
      assert.deepEqual(r.body.data, { quietStatus: null });
      const [error] = r.body.errors!;
      assert.deepEqual(error.extensions, { code, upstream: 'quiet', status });
      assert.deepEqual(error.path, ['quietStatus']);
      assert.ok(!error.message.includes('told to answer'), error.message);
      assert.ok(!JSON.stringify(r.body).includes(SECRET));
      // Opted in on the upstream: the upstream's message at error.message, nothing else of its body.
      const opted = await h.query(`{ status(code: ${status}) { id } }`);
      assert.equal(opted.body.errors![0].message, `told to answer ${status}`);
      assert.deepEqual(opted.body.errors![0].extensions, { code, upstream: 'api', status });
      assert.ok(!JSON.stringify(opted.body).includes(SECRET));
    });
  }

  test('errorMessage on one @http field opts that field in', async () => {
    const r = await h.query('{ fieldMessage(code: 422) { id } quietStatus(code: 422) { id } }');
    const messages = Object.fromEntries(r.body.errors!.map((e) => [e.path![0], e.message]));
    assert.equal(messages.fieldMessage, 'told to answer 422');
    assert.equal(messages.quietStatus, 'Upstream "quiet" rejected the request as invalid (status 422)');
  });

  test('404: null on a nullable single field; UPSTREAM_ERROR on a non-null or list field', async () => {
    const r = await h.query('{ status(code: 404) { id } }');
    assert.deepEqual(r.body, { data: { status: null } });
    const required = await h.query('{ required(code: 404) { id } }');
    assert.equal(required.body.data, null);
    assert.deepEqual(required.body.errors![0].extensions, { code: 'UPSTREAM_ERROR', upstream: 'api', status: 404 });
    const list = await h.query('{ items(code: 404) { id } }');
    assert.equal(list.body.errors![0].extensions!.code, 'UPSTREAM_ERROR');
  });

  test('204 is true for a Boolean field (a query and a mutation); an empty 200 is null for an object', async () => {
    assert.deepEqual((await h.query('{ deleted nothing { id } }')).body, { data: { deleted: true, nothing: null } });
    assert.deepEqual((await h.query('mutation { remove }')).body, { data: { remove: true } });
  });

  test('a text/plain answer is the value of a String field', async () => {
    assert.deepEqual((await h.query('{ words }')).body, { data: { words: 'plain words' } });
  });

  test('responseHeaders: named headers reach the client, others do not; set-cookie appended, last value wins', async () => {
    const r = await fetch(`${h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: '{ a: item(id: "1", left: "5", cookie: "a") { id } b: item(id: "2", left: "4", cookie: "b") { id } }',
      }),
    });
    assert.deepEqual(await r.json(), { data: { a: { id: '1' }, b: { id: '2' } } });
    assert.deepEqual(r.headers.getSetCookie().sort(), ['a=1; Path=/', 'b=1; Path=/']);
    assert.ok(['4', '5'].includes(r.headers.get('x-ratelimit-remaining')!), 'one of the two values');
    assert.equal(r.headers.get('x-internal-host'), null, 'not named, not passed');
  });

  test('cache-control: the most restrictive of the calls that sent one', async () => {
    const cases: [string[], string][] = [
      [['public, max-age=60', 'public, max-age=30'], 'public, max-age=30'],
      [['public, max-age=60', 'private, max-age=120'], 'private, max-age=60'],
      [['max-age=60', 'no-store'], 'no-store'],
      [['max-age=60', 'no-cache'], 'no-cache, max-age=60'],
      [['max-age=60', ''], 'max-age=60'],
    ];
    for (const [values, expected] of cases) {
      const fields = values.map(
        (cache, i) => `f${i}: item(id: "${i}", cache: ${cache ? JSON.stringify(cache) : 'null'}) { id }`,
      );
      const r = await fetch(`${h.gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `{ ${fields.join(' ')} }` }),
      });
      await r.json();
      assert.equal(r.headers.get('cache-control'), expected, JSON.stringify(values));
    }
  });

  test('a request that calls no upstream with responseHeaders gets none of them', async () => {
    const r = await fetch(`${h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ quietStatus(code: 400) { id } }' }),
    });
    await r.json();
    assert.equal(r.headers.get('x-ratelimit-remaining'), null);
    assert.equal(r.headers.get('cache-control'), null);
  });
});
