// Query hardening (README, "Security and limits"), request side, through a real gateway over a real
// upstream: CSRF prevention, the body size limit (Content-Length and chunked), IP allow and
// deny lists, trusted documents. Each refusal has its code and status, is counted, and
// makes no upstream call.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { ConfigError } from '../../src/errors.js';
import { ipFilter, normaliseAddress } from '../../src/security/hardening/ip-filter.js';
import type { HardeningOptions } from '../../src/security/options.js';
import { startGateway } from '../../src/server/gateway.js';
import { type GraphQLResponse, type Harness, startHarness, tempSchemasDir } from '../helpers/gateway-harness.js';
import {
  refusedBy,
  rejections,
  withHardening as security,
  send,
  startUsersUpstream,
  usersFiles,
} from '../helpers/hardening-fixtures.js';
import type { TestServer } from '../helpers/json-server.js';

let upstream: TestServer;
let files: () => Record<string, string>;
let refused: ReturnType<typeof refusedBy>;
before(async () => {
  upstream = await startUsersUpstream();
  files = () => usersFiles(upstream);
  refused = refusedBy(upstream);
});
after(() => upstream?.close());
beforeEach(() => {
  upstream.seen.length = 0;
});

describe('CSRF prevention (on by default)', () => {
  let h: Harness;
  let off: Harness;
  before(async () => {
    h = await startHarness(files());
    off = await startHarness(files(), { security: security({ csrfPrevention: false }) });
  });
  after(async () => {
    await h?.close();
    await off?.close();
  });
  const query = encodeURIComponent('{ user(id: "1") { id } }');

  test('a GET without the header is CSRF_PREVENTED (403); with x-graphql-yoga-csrf it runs', async () => {
    await refused(await send(`${h.gateway.url}/graphql?query=${query}`, {}), 403, 'CSRF_PREVENTED');
    const ok = await send(`${h.gateway.url}/graphql?query=${query}`, { headers: { 'x-graphql-yoga-csrf': '1' } });
    assert.deepEqual(ok.body.data, { user: { id: '1' } });
  });

  test('simple POSTs (form, text/plain) are refused; application/json runs', async () => {
    const form = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `query=${query}`,
    };
    await refused(await send(`${h.gateway.url}/graphql`, form), 403, 'CSRF_PREVENTED');
    const text = {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ user(id: "1") { id } }' }),
    };
    await refused(await send(`${h.gateway.url}/graphql`, text), 403, 'CSRF_PREVENTED');
    assert.deepEqual((await h.query('{ user(id: "1") { id } }')).body.data, { user: { id: '1' } });
    assert.ok((await rejections(h, 'csrf')) >= 3);
  });

  test('csrfPrevention: false lets a plain GET through', async () => {
    assert.equal((await send(`${off.gateway.url}/graphql?query=${query}`, {})).status, 200);
  });
});

/** A POST through node:http, so the test decides between Content-Length and chunked. */
function rawPost(url: string, body: string, chunked: boolean): Promise<GraphQLResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
    };
    if (!chunked) headers['content-length'] = Buffer.byteLength(body);
    const req = httpRequest(`${url}/graphql`, { method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: new Headers(), body: JSON.parse(text) }));
    });
    req.on('error', reject);
    if (chunked) for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.slice(i, i + 64 * 1024));
    req.end(chunked ? undefined : body);
  });
}

describe('request body size (default 1 MiB)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(files());
  });
  after(() => h?.close());
  const body = (bytes: number) => {
    const base = JSON.stringify({ query: '{ user(id: "1") { id } }', variables: { pad: '' } });
    return base.replace('"pad":""', `"pad":"${'x'.repeat(bytes - base.length)}"`);
  };

  test('a body just under the limit runs', async () => {
    for (const chunked of [false, true]) {
      const r = await rawPost(h.gateway.url, body(1_048_000), chunked);
      assert.deepEqual(r.body.data, { user: { id: '1' } }, JSON.stringify(r.body).slice(0, 300));
    }
  });

  test('a larger body is 413 REQUEST_ENTITY_TOO_LARGE: by Content-Length, and chunked', async () => {
    await refused(await rawPost(h.gateway.url, body(1_100_000), false), 413, 'REQUEST_ENTITY_TOO_LARGE');
    await refused(await rawPost(h.gateway.url, body(1_100_000), true), 413, 'REQUEST_ENTITY_TOO_LARGE');
    assert.equal(await rejections(h, 'body_size'), 2);
  });
});

describe('IP allow and deny lists (the TCP peer, 127.0.0.1 here)', () => {
  const cases: [string, Partial<HardeningOptions>, boolean][] = [
    ['allow 127.0.0.0/8', { ipAllow: ['127.0.0.0/8'] }, true],
    ['allow 10.0.0.0/8 only', { ipAllow: ['10.0.0.0/8', '2001:db8::/32'] }, false],
    ['allow ::1/128 only (IPv6)', { ipAllow: ['::1/128'] }, false],
    ['deny 127.0.0.1', { ipDeny: ['127.0.0.1'] }, false],
    ['deny 10.0.0.0/8', { ipDeny: ['10.0.0.0/8'] }, true],
    ['deny wins over allow', { ipAllow: ['127.0.0.0/8'], ipDeny: ['127.0.0.1/32'] }, false],
  ];
  for (const [name, hardening, allowed] of cases) {
    test(`${name}: ${allowed ? 'runs' : 'FORBIDDEN (403)'}`, async () => {
      const h = await startHarness(files(), { security: security(hardening) });
      try {
        const r = await h.query('{ user(id: "1") { id } }');
        if (allowed) assert.deepEqual(r.body.data, { user: { id: '1' } });
        else {
          await refused(r, 403, 'FORBIDDEN');
          assert.equal(await rejections(h, 'ip'), 1);
        }
      } finally {
        await h.close();
      }
    });
  }

  test('the filter itself: IPv4-mapped peers, IPv6 blocks, zone ids, unknown peers', () => {
    assert.equal(normaliseAddress('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(normaliseAddress('fe80::1%eth0'), 'fe80::1');
    const f = ipFilter(['10.0.0.0/8', '2001:db8::/32'], ['10.9.0.0/16'])!;
    assert.equal(f.allows('::ffff:10.1.2.3'), true);
    assert.equal(f.allows('10.9.1.1'), false);
    assert.equal(f.allows('2001:db8:1::5'), true);
    assert.equal(f.allows('2001:db9::5'), false);
    assert.equal(f.allows('192.0.2.1'), false);
    assert.equal(f.allows(undefined), false, 'with an allow list, an unknown peer is refused');
    assert.equal(ipFilter(undefined, ['10.0.0.0/8'])!.allows(undefined), true);
    assert.equal(ipFilter(undefined, undefined), undefined);
  });

  test('a malformed CIDR stops the gateway at start-up', async () => {
    await assert.rejects(
      startHarness(files(), { security: security({ ipDeny: ['10.0.0.0/33'] }) }),
      /ipDeny: "10.0.0.0\/33": the prefix length must be a whole number from 0 to 32/,
    );
  });
});

describe('trusted documents', () => {
  const known = 'query Known { user(id: "1") { id name } }';
  const hash = createHash('sha256').update(known).digest('hex');
  let h: Harness;
  before(async () => {
    const dir = tempSchemasDir({});
    writeFileSync(`${dir}/trusted.json`, JSON.stringify({ [hash]: known }));
    h = await startHarness(files(), { security: security({ trustedDocuments: `${dir}/trusted.json` }) });
  });
  after(() => h?.close());
  const post = (body: unknown) =>
    send(`${h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify(body),
    });

  test('a known hash runs: documentId "sha256:..." or extensions.persistedQuery.sha256Hash', async () => {
    const expected = { user: { id: '1', name: 'User 1' } };
    assert.deepEqual((await post({ documentId: `sha256:${hash}` })).body.data, expected);
    assert.deepEqual(
      (await post({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } })).body.data,
      expected,
    );
  });

  test('an unknown hash is PERSISTED_QUERY_NOT_IN_LIST', async () => {
    await refused(await post({ documentId: `sha256:${'0'.repeat(64)}` }), 400, 'PERSISTED_QUERY_NOT_IN_LIST');
  });

  test('a raw query is PERSISTED_QUERY_ID_REQUIRED, even the text of a trusted one', async () => {
    await refused(await h.query('{ user(id: "2") { id } }'), 400, 'PERSISTED_QUERY_ID_REQUIRED');
    await refused(await h.query(known), 400, 'PERSISTED_QUERY_ID_REQUIRED');
    assert.equal(await rejections(h, 'trusted_documents'), 3);
  });

  test('a broken list stops the gateway at start-up with the file named', async () => {
    const dir = tempSchemasDir({ 'bad.json': JSON.stringify({ abc: '{ user(id: "1") { id }' }) });
    await assert.rejects(
      startGateway({
        schemasDir: tempSchemasDir(files()),
        port: 0,
        host: '127.0.0.1',
        watch: false,
        logger: pino({ level: 'silent' }),
        security: security({ trustedDocuments: `${dir}/bad.json` }),
      }),
      (e: unknown) =>
        e instanceof ConfigError && /bad\.json:1:1: trusted documents: "abc": Syntax Error/.test(e.message),
    );
  });
});
