// Errors (README, "Errors") against real upstreams: each failing field is null with its
// code while its siblings resolve, and nothing about the upstream reaches the client.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Harness, httpUpstream, payload, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

const SECRET_BODY = 'db password is hunter2';

async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

describe('upstream errors become coded field errors', () => {
  let upstream: TestServer;
  let h: Harness;
  let deadUrl: string;
  before(async () => {
    upstream = await startTestServer((req, res) => {
      const path = req.url.split('?')[0];
      if (path === '/ok') return sendJson(res, 200, { id: 'ok' });
      if (path === '/missing' || path === '/missing-list') return sendJson(res, 404, { error: SECRET_BODY });
      if (path === '/boom') return sendJson(res, 500, { error: SECRET_BODY });
      if (path === '/bad-request') return sendJson(res, 400, { error: SECRET_BODY });
      if (path === '/hang') return; // never answers
      if (path === '/html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(`<html>${SECRET_BODY}</html>`);
      }
      if (path === '/write') return sendJson(res, 503, { error: SECRET_BODY });
      sendJson(res, 200, {});
    });
    deadUrl = await closedPortUrl();
    h = await startHarness({
      'a.graphql': `${httpUpstream('a', [upstream.url], 'timeoutMs: 300')}
type Item { id: ID }
type Query {
  ok: Item @http(GET: "/ok")
  missing: Item @http(GET: "/missing")
  missingRequired: Item! @http(GET: "/missing")
  missingList: [Item] @http(GET: "/missing-list")
  boom: Item @http(GET: "/boom")
  badRequest: Item @http(GET: "/bad-request")
  hang: Item @http(GET: "/hang")
  html: Item @http(GET: "/html")
}
type Mutation { write: Item @http(POST: "/write", body: { a: 1 }) }
`,
      'dead.graphql': `${httpUpstream('dead', [deadUrl])}
type Query { dead: Item @http(GET: "/x") }
`,
      'half.graphql': `${httpUpstream('half', [deadUrl, upstream.url])}
type Query { half: Item @http(GET: "/ok") }
`,
    });
  });
  after(async () => {
    await h?.close();
    await upstream?.close();
  });

  const cases: [string, string, Record<string, unknown>][] = [
    ['boom', 'UPSTREAM_ERROR', { upstream: 'a', status: 500 }],
    ['badRequest', 'BAD_USER_INPUT', { upstream: 'a', status: 400 }],
    ['missingList', 'UPSTREAM_ERROR', { upstream: 'a', status: 404 }],
    ['hang', 'UPSTREAM_TIMEOUT', { upstream: 'a' }],
    ['html', 'UPSTREAM_BAD_RESPONSE', { upstream: 'a' }],
    ['dead', 'UPSTREAM_UNAVAILABLE', { upstream: 'dead' }],
  ];
  for (const [field, code, extensions] of cases) {
    test(`${field}: ${code}, sibling still resolves, nothing internal leaks`, async () => {
      const r = await h.query(`{ ok { id } ${field} { id } }`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.data, { ok: { id: 'ok' }, [field]: null });
      assert.equal(r.body.errors?.length, 1);
      const [error] = r.body.errors!;
      assert.deepEqual(error.path, [field]);
      assert.deepEqual(error.extensions, { code, ...extensions });
      const text = JSON.stringify(r.body);
      for (const leak of [SECRET_BODY, upstream.url, deadUrl, '127.0.0.1', 'stack', '    at '])
        assert.ok(!text.includes(leak), `response leaks ${leak}: ${text}`);
      const line = h.logs.find((l) => l.code === code && l.upstream === extensions.upstream);
      assert.ok(line, `the log records the ${code}`);
      assert.ok(line.replica || line.failure, 'the log names the replica or the failure');
    });
  }

  test('a 404 on a nullable single object is null without an error', async () => {
    const r = await h.query('{ ok { id } missing { id } }');
    assert.deepEqual(payload(r.body), { data: { ok: { id: 'ok' }, missing: null } });
  });

  test('a 404 on a non-null field is an error that nulls the parent', async () => {
    const r = await h.query('{ missingRequired { id } }');
    assert.equal(r.body.data, null);
    assert.equal(r.body.errors?.[0].extensions?.code, 'UPSTREAM_ERROR');
  });

  test('a replica that refuses connections is skipped: the call goes to the next one', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await h.query('{ half { id } }');
      assert.deepEqual(payload(r.body), { data: { half: { id: 'ok' } } });
    }
  });

  test('a write that reached its replica and failed is not sent again', async () => {
    const before = upstream.seen.filter((s) => s.url === '/write').length;
    const r = await h.query('mutation { write { id } }');
    assert.equal(r.body.errors?.[0].extensions?.code, 'UPSTREAM_UNAVAILABLE');
    assert.equal(r.body.errors?.[0].extensions?.status, 503);
    assert.equal(upstream.seen.filter((s) => s.url === '/write').length - before, 1);
  });
});

describe('request errors carry codes', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      'a.graphql': `${httpUpstream('a', ['http://127.0.0.1:9'])}\ntype Query { x(id: ID!): String @http(GET: "/x/{args.id}") }`,
    });
  });
  after(async () => h?.close());

  for (const [label, query, code] of [
    ['unknown field', '{ nope }', 'GRAPHQL_VALIDATION_FAILED'],
    ['syntax error', '{ x(', 'GRAPHQL_PARSE_FAILED'],
    ['missing variable', 'query($id: ID!) { x(id: $id) }', 'BAD_USER_INPUT'],
  ]) {
    test(`${label}: ${code}`, async () => {
      const r = await h.query(query);
      assert.equal(r.body.data, undefined);
      assert.equal(r.body.errors?.[0].extensions?.code, code);
    });
  }
});
