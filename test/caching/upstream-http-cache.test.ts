// RFC 9111 caching of upstream GETs (@upstream(httpCache: true), src/upstream/http-cache.ts)
// through a real gateway over real JSON backends that send Cache-Control and count every call:
// max-age is honoured and expires, no-store is never kept, ETag revalidation gets a 304 that
// the backend counts, Vary keeps one answer per header value, a request carrying Authorization
// is kept only when the answer says public, a write to a path drops it, one cache serves every
// replica (and keeps serving while they are all down), and without httpCache nothing is kept.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { type SeenRequest, sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { sleep } from '../helpers/wait.js';

/** Answers by path; every answer says which replica sent it. */
function routes(name: string) {
  let version = 1;
  return (req: SeenRequest, res: ServerResponse) => {
    const path = req.url.split('?')[0];
    const body = (extra: Record<string, unknown> = {}) => ({ path, replica: name, version, ...extra });
    if (req.method === 'POST') {
      version++;
      return sendJson(res, 200, body());
    }
    switch (path) {
      case '/fresh':
        res.setHeader('cache-control', 'max-age=1');
        return sendJson(res, 200, body());
      case '/long':
        res.setHeader('cache-control', 'max-age=60');
        return sendJson(res, 200, body());
      case '/nostore':
        res.setHeader('cache-control', 'no-store');
        return sendJson(res, 200, body());
      case '/etag':
        if (req.headers['if-none-match'] === '"v1"') {
          res.writeHead(304, { etag: '"v1"' });
          return res.end();
        }
        res.setHeader('cache-control', 'no-cache');
        res.setHeader('etag', '"v1"');
        return sendJson(res, 200, body());
      case '/vary':
        res.setHeader('cache-control', 'max-age=60');
        res.setHeader('vary', 'accept-language');
        return sendJson(res, 200, body({ language: req.headers['accept-language'] }));
      case '/private':
        res.setHeader('cache-control', 'max-age=60');
        return sendJson(res, 200, body({ user: req.headers.authorization }));
      case '/public':
        res.setHeader('cache-control', 'public, max-age=60');
        return sendJson(res, 200, body({ user: req.headers.authorization }));
      default:
        return sendJson(res, 404, {});
    }
  };
}

const TYPES = `
type Answer { path: String replica: String version: Int language: String user: String }
type Query {
  fresh: Answer @http(GET: "/fresh")
  long: Answer @http(GET: "/long")
  nostore: Answer @http(GET: "/nostore")
  etag: Answer @http(GET: "/etag")
  vary: Answer @http(GET: "/vary")
  private: Answer @http(GET: "/private")
  public: Answer @http(GET: "/public")
}
type Mutation { touch: Answer @http(POST: "/long") }
`;

const gets = (servers: TestServer[], path: string, filter: (r: SeenRequest) => boolean = () => true) =>
  servers.flatMap((s) => s.seen).filter((r) => r.method === 'GET' && r.url === path && filter(r)).length;

async function metric(h: Harness, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${h.gateway.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('upstream HTTP cache (@upstream(httpCache: true))', () => {
  let a: TestServer;
  let b: TestServer;
  let h: Harness;
  const both = () => [a, b];

  before(async () => {
    a = await startTestServer(routes('a'));
    b = await startTestServer(routes('b'));
    h = await startHarness({
      'api.graphql': `${httpUpstream('api', [a.url, b.url], 'httpCache: true, forwardHeaders: ["accept-language", "authorization"]')}${TYPES}`,
    });
  });
  after(async () => {
    await h.close();
    await a.close();
    await b.close();
  });
  beforeEach(() => {
    a.seen.length = 0;
    b.seen.length = 0;
  });

  test('max-age: a second read within it reaches no replica, whichever the balancer would pick', async () => {
    const first = await h.query('{ long { replica version } }');
    for (let i = 0; i < 3; i++) assert.deepEqual((await h.query('{ long { replica version } }')).body, first.body);
    assert.equal(gets(both(), '/long'), 1, 'round robin over two replicas, one call in all');
    assert.equal(await metric(h, 'quilt_cache_hits_total', 'cache="http",upstream="api"'), 3);
    assert.ok((await metric(h, 'quilt_cache_stores_total', 'cache="http",upstream="api"')) >= 1);
  });

  test('max-age=1 expires: after it the upstream is called again', async () => {
    await h.query('{ fresh { version } }');
    await h.query('{ fresh { version } }');
    assert.equal(gets(both(), '/fresh'), 1);
    await sleep(1100);
    await h.query('{ fresh { version } }');
    assert.equal(gets(both(), '/fresh'), 2);
  });

  test('no-store: every read reaches the upstream', async () => {
    for (let i = 0; i < 3; i++) await h.query('{ nostore { version } }');
    assert.equal(gets(both(), '/nostore'), 3);
  });

  test('ETag: each later read revalidates with If-None-Match, the 304 is counted and the kept body used', async () => {
    const first = await h.query('{ etag { path version } }');
    assert.deepEqual(first.body, { data: { etag: { path: '/etag', version: 1 } } });
    const before304 = await metric(h, 'quilt_cache_revalidations_total', 'cache="http",upstream="api"');
    for (let i = 0; i < 2; i++) assert.deepEqual((await h.query('{ etag { path version } }')).body, first.body);
    assert.equal(
      gets(both(), '/etag', (r) => r.headers['if-none-match'] === undefined),
      1,
    );
    assert.equal(
      gets(both(), '/etag', (r) => r.headers['if-none-match'] === '"v1"'),
      2,
      'two 304s',
    );
    assert.equal(await metric(h, 'quilt_cache_revalidations_total', 'cache="http",upstream="api"'), before304 + 2);
  });

  test('Vary: one kept answer per value of the header it names', async () => {
    const q = '{ vary { language } }';
    const fr = { 'accept-language': 'fr' };
    const de = { 'accept-language': 'de' };
    assert.deepEqual((await h.query(q, undefined, fr)).body, { data: { vary: { language: 'fr' } } });
    assert.deepEqual((await h.query(q, undefined, de)).body, { data: { vary: { language: 'de' } } });
    assert.deepEqual((await h.query(q, undefined, fr)).body, { data: { vary: { language: 'fr' } } });
    assert.deepEqual((await h.query(q, undefined, de)).body, { data: { vary: { language: 'de' } } });
    assert.equal(gets(both(), '/vary'), 2);
  });

  test('a shared cache: with Authorization, only an answer that says public is kept', async () => {
    const ada = { authorization: 'Bearer ada' };
    const bob = { authorization: 'Bearer bob' };
    assert.equal((await h.query('{ private { user } }', undefined, ada)).body.data?.private.user, 'Bearer ada');
    assert.equal((await h.query('{ private { user } }', undefined, bob)).body.data?.private.user, 'Bearer bob');
    assert.equal(gets(both(), '/private'), 2, 'max-age alone does not let a shared cache keep it');
    await h.query('{ public { user } }', undefined, ada);
    await h.query('{ public { user } }', undefined, bob);
    assert.equal(gets(both(), '/public'), 1, 'public does');
  });

  test('a write to a path drops its kept answer (RFC 9111 4.4)', async () => {
    await h.query('{ long { version } }');
    const write = await h.query('mutation { touch { version } }');
    assert.equal(write.body.data?.touch.version, 2);
    const posts = both()
      .flatMap((s) => s.seen)
      .filter((r) => r.method === 'POST');
    assert.equal(posts.length, 1, 'the write was sent once');
    await h.query('{ long { version } }');
    assert.equal(gets(both(), '/long'), 1, 'read again after the write');
  });

  test('a kept answer is served while every replica is down', async () => {
    await h.query('{ vary { language } }', undefined, { 'accept-language': 'it' });
    const ports = [a, b];
    const stopped = await Promise.all(ports.map((s) => s.close()));
    assert.equal(stopped.length, 2);
    const res = await h.query('{ vary { language } }', undefined, { 'accept-language': 'it' });
    assert.deepEqual(res.body, { data: { vary: { language: 'it' } } });
    const miss = await h.query('{ vary { language } }', undefined, { 'accept-language': 'es' });
    assert.equal(miss.body.errors?.[0]?.extensions?.code, 'UPSTREAM_UNAVAILABLE');
  });
});

describe('an upstream without httpCache', () => {
  test('keeps nothing, whatever Cache-Control says', async () => {
    const server = await startTestServer(routes('only'));
    const h = await startHarness({ 'api.graphql': `${httpUpstream('api', [server.url])}${TYPES}` });
    try {
      for (let i = 0; i < 3; i++) await h.query('{ long { version } }');
      assert.equal(gets([server], '/long'), 3);
      assert.equal(await metric(h, 'quilt_cache_misses_total', 'cache="http",upstream="api"'), 0);
    } finally {
      await h.close();
      await server.close();
    }
  });
});
