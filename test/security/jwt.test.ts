// JWT authentication (README, "Security and limits"), against real servers on
// 127.0.0.1: a JWKS endpoint that counts its fetches and can rotate or fail, and an upstream
// that records every call, so "no upstream call" is a count. The upstream learns who the
// caller is only through the schema's {jwt.sub} header template.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { importPKCS8, jwtVerify } from 'jose';
import pino from 'pino';
import { GatewayMetrics } from '../../src/observability/gateway-metrics.js';
import { JwtConfigError, useJwtAuth } from '../../src/security/jwt/index.js';
import { createKeyResolver } from '../../src/security/jwt/keys.js';
import { RemoteKeySet } from '../../src/security/jwt/remote-key-set.js';
import { DEFAULT_SECURITY, type JwtOptions, type SecurityOptions } from '../../src/security/options.js';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import {
  generateSigningKey,
  type JwksServer,
  mintToken,
  type SigningKey,
  startJwksServer,
  unsignedToken,
} from '../helpers/jwt-fixtures.js';
import { sleep } from '../helpers/wait.js';

const ISSUER = 'https://issuer.quilt.test';
const AUDIENCE = 'quilt-api';
const SECRET = 'quilt-test-secret-0123456789-abcdefghij';
const ME = '{ me { id } }';
const good = { sub: 'alice', issuer: ISSUER, audience: AUDIENCE };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const schema = (url: string) => `${httpUpstream('users', [url])}
type User { id: ID! name: String }
type Query { me: User @http(GET: "/me", headers: [{ name: "x-user", value: "{jwt.sub}" }]) }
`;

function jwtOptions(over: Partial<JwtOptions> = {}): JwtOptions {
  return {
    algorithms: ['RS256', 'ES256', 'HS256'],
    issuer: [ISSUER],
    audience: [AUDIENCE],
    clockToleranceSec: 30,
    requiredClaims: ['sub'],
    cookie: 'quilt_token',
    ...over,
  };
}
const security = (jwt: JwtOptions): SecurityOptions => ({ ...DEFAULT_SECURITY, jwt });

async function startUpstream(): Promise<TestServer> {
  return startTestServer((req, res) => sendJson(res, 200, { id: req.headers['x-user'] ?? 'anonymous', name: 'n' }));
}
const meCalls = (upstream: TestServer) => upstream.seen.filter((r) => r.url === '/me').length;

async function assertRejected(
  h: Harness,
  upstream: TestServer,
  headers: Record<string, string>,
  message: RegExp,
): Promise<void> {
  const before = meCalls(upstream);
  const r = await h.query(ME, undefined, headers);
  assert.equal(r.status, 401, JSON.stringify(r.body));
  assert.equal(r.body.data, undefined);
  assert.equal(r.body.errors?.length, 1);
  assert.equal(r.body.errors[0].extensions?.code, 'UNAUTHENTICATED');
  assert.match(r.body.errors[0].message, message);
  assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
  assert.equal(meCalls(upstream), before, 'no upstream call for a refused token');
}

async function assertAccepted(
  h: Harness,
  upstream: TestServer,
  headers: Record<string, string>,
  sub = 'alice',
): Promise<void> {
  const r = await h.query(ME, undefined, headers);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.data, { me: { id: sub } });
  const seen = upstream.seen.at(-1)!;
  assert.equal(seen.headers['x-user'], sub);
  assert.equal(seen.headers.authorization, undefined, 'the token itself is never forwarded');
}

describe('JWT: JWKS URL and HS secret', () => {
  let upstream: TestServer, jwks: JwksServer, h: Harness, rsa: SigningKey, ec: SigningKey, impostor: SigningKey;
  before(async () => {
    [rsa, ec, impostor] = await Promise.all([
      generateSigningKey('RS256', 'rsa-1'),
      generateSigningKey('ES256', 'ec-1'),
      generateSigningKey('RS256', 'rsa-1'),
    ]);
    jwks = await startJwksServer([rsa.publicJwk, ec.publicJwk]);
    upstream = await startUpstream();
    h = await startHarness(
      { 'users.graphql': schema(upstream.url) },
      { security: security(jwtOptions({ jwksUrl: jwks.url, secret: SECRET })) },
    );
  });
  after(async () => {
    await h?.close();
    await upstream?.close();
    await jwks?.close();
  });

  test('valid RS256, ES256 and HS256 tokens: the subject reaches the upstream through {jwt.sub} only', async () => {
    await assertAccepted(h, upstream, bearer(await mintToken(rsa, good)));
    await assertAccepted(h, upstream, bearer(await mintToken(ec, { ...good, sub: 'bob' })), 'bob');
    await assertAccepted(h, upstream, bearer(await mintToken(SECRET, { ...good, sub: 'carol' })), 'carol');
  });

  test('no token: anonymous, the field works without the claim (the header is left out)', async () => {
    const r = await h.query(ME);
    assert.deepEqual(r.body.data, { me: { id: 'anonymous' } });
    assert.equal(upstream.seen.at(-1)!.headers['x-user'], undefined);
  });

  test('token in the named cookie; the Authorization header wins over it', async () => {
    await assertAccepted(h, upstream, { cookie: `theme=dark; quilt_token=${await mintToken(rsa, good)}` });
    await assertRejected(
      h,
      upstream,
      { cookie: `quilt_token=${await mintToken(rsa, { ...good, expiresInSec: -3600 })}` },
      /expired/,
    );
    await assertAccepted(
      h,
      upstream,
      { ...bearer(await mintToken(rsa, { ...good, sub: 'dave' })), cookie: 'quilt_token=garbage' },
      'dave',
    );
  });

  test('signature by another key with a known kid', async () => {
    await assertRejected(h, upstream, bearer(await mintToken(impostor, good)), /invalid token signature/i);
  });

  test('alg "none" (hand-crafted, unsigned) is never accepted', async () => {
    await assertRejected(
      h,
      upstream,
      bearer(unsignedToken({ sub: 'mallory', iss: ISSUER, aud: AUDIENCE })),
      /algorithm not allowed/,
    );
    await assertRejected(
      h,
      upstream,
      bearer(unsignedToken({ sub: 'mallory', iss: ISSUER, aud: AUDIENCE }, { alg: 'none', kid: 'rsa-1' })),
      /algorithm not allowed/,
    );
  });

  test('HS256 signed with the RSA public key (PEM text) as the secret, with HS256 and RS256 both allowed', async () => {
    await assertRejected(
      h,
      upstream,
      bearer(await mintToken(rsa.spki, { ...good, alg: 'HS256' })),
      /invalid token signature/i,
    );
    await assertRejected(
      h,
      upstream,
      bearer(await mintToken(rsa.spki, { ...good, alg: 'HS256', kid: 'rsa-1' })),
      /invalid token signature/i,
    );
  });

  test('expired, not yet valid, wrong issuer, wrong audience, missing exp or sub', async () => {
    await assertRejected(h, upstream, bearer(await mintToken(rsa, { ...good, expiresInSec: -120 })), /expired/);
    await assertRejected(h, upstream, bearer(await mintToken(rsa, { ...good, notBeforeSec: 120 })), /not yet valid/);
    await assertRejected(h, upstream, bearer(await mintToken(rsa, { ...good, issuer: 'https://evil.test' })), /issuer/);
    await assertRejected(h, upstream, bearer(await mintToken(rsa, { ...good, audience: 'other-api' })), /audience/);
    await assertRejected(h, upstream, bearer(await mintToken(rsa, { ...good, noExp: true })), /"exp"/);
    await assertRejected(h, upstream, bearer(await mintToken(rsa, { issuer: ISSUER, audience: AUDIENCE })), /"sub"/);
  });

  test('clock tolerance: exp and nbf within 30 s of now are accepted', async () => {
    await assertAccepted(h, upstream, bearer(await mintToken(rsa, { ...good, expiresInSec: -10 })));
    await assertAccepted(h, upstream, bearer(await mintToken(rsa, { ...good, notBeforeSec: 10 })));
  });

  test('malformed tokens and Authorization headers', async () => {
    const [head, body] = (await mintToken(rsa, good)).split('.');
    for (const token of ['not-a-jwt', 'a.b.c', `${head}.${body}`, `${head}.${body}.%%%`, `${head}.bm90IGpzb24.sig`]) {
      await assertRejected(h, upstream, bearer(token), /malformed|invalid token signature/i);
    }
    await assertRejected(h, upstream, { authorization: 'Basic YWxpY2U6c2VjcmV0' }, /Malformed Authorization header/);
    await assertRejected(h, upstream, { authorization: 'Bearer ' }, /Malformed Authorization header/);
  });

  test('unknown kid: 401 after the one refresh; bad tokens never cost a JWKS fetch beyond that', async () => {
    const stranger = await generateSigningKey('RS256', 'rsa-unknown');
    const fetchesBefore = jwks.fetches;
    assert.equal(fetchesBefore, 1, 'only the fetch at start so far');
    for (let i = 0; i < 5; i++)
      await assertRejected(h, upstream, bearer(await mintToken(stranger, good)), /No known key/);
    assert.equal(jwks.fetches, 2, 'one refresh for the unknown kid, then the cooldown');
  });

  test('operational endpoints and the GraphiQL page ignore tokens; refusals are counted', async () => {
    const bad = bearer('garbage');
    for (const path of ['/healthz', '/readyz', '/upstreams', '/status', '/metrics']) {
      const res = await fetch(`${h.gateway.url}${path}`, { headers: bad });
      assert.notEqual(res.status, 401, path);
      await res.arrayBuffer();
    }
    const page = await fetch(`${h.gateway.url}/graphql`, { headers: { ...bad, accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const metrics = await (await fetch(`${h.gateway.url}/metrics`)).text();
    assert.match(metrics, /quilt_limit_rejections_total\{reason="invalid_token"\} [1-9]/);
  });
});

describe('JWT: JWKS rotation and outage', () => {
  let upstream: TestServer, jwks: JwksServer, h: Harness, old: SigningKey, rotated: SigningKey;
  before(async () => {
    [old, rotated] = await Promise.all([
      generateSigningKey('RS256', 'key-2024'),
      generateSigningKey('ES256', 'key-2025'),
    ]);
    jwks = await startJwksServer([old.publicJwk]);
    upstream = await startUpstream();
    h = await startHarness(
      { 'users.graphql': schema(upstream.url) },
      { security: security(jwtOptions({ jwksUrl: jwks.url, algorithms: ['RS256', 'ES256'] })) },
    );
    await assertAccepted(h, upstream, bearer(await mintToken(old, good)));
  });
  after(async () => {
    await h?.close();
    await upstream?.close();
    await jwks?.close();
  });

  test('a token with the new kid verifies after one refresh, shared by concurrent requests', async () => {
    assert.equal(jwks.fetches, 1);
    jwks.setKeys([old.publicJwk, rotated.publicJwk]);
    const token = await mintToken(rotated, good);
    const results = await Promise.all(Array.from({ length: 8 }, () => h.query(ME, undefined, bearer(token))));
    for (const r of results) assert.deepEqual(r.body.data, { me: { id: 'alice' } });
    for (let i = 0; i < 5; i++) await assertAccepted(h, upstream, bearer(await mintToken(rotated, good)));
    assert.equal(jwks.fetches, 2, 'one refresh, not one per request');
  });

  test('JWKS endpoint down: tokens with cached kids still verify', async () => {
    await jwks.stop();
    await assertAccepted(h, upstream, bearer(await mintToken(old, good)));
    await assertAccepted(h, upstream, bearer(await mintToken(rotated, { ...good, sub: 'erin' })), 'erin');
    const stranger = await generateSigningKey('RS256', 'key-unknown');
    await assertRejected(h, upstream, bearer(await mintToken(stranger, good)), /No known key|could not be verified/);
    await assertAccepted(h, upstream, bearer(await mintToken(old, good)));
  });
});

describe('JWT: key files (SPKI PEM, X.509 certificate, JWK, JWKS) with an HS secret', () => {
  let upstream: TestServer,
    h: Harness,
    dir: string,
    rsa: SigningKey,
    jwkKey: SigningKey,
    setA: SigningKey,
    setB: SigningKey,
    certKey: CryptoKey;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'quilt-jwt-keys-'));
    [rsa, jwkKey, setA, setB] = await Promise.all([
      generateSigningKey('RS256', 'pem'),
      generateSigningKey('ES256', 'jwk-1'),
      generateSigningKey('RS256', 'set-a'),
      generateSigningKey('ES256', 'set-b'),
    ]);
    writeFileSync(join(dir, 'rsa.pem'), rsa.spki);
    writeFileSync(join(dir, 'one.jwk.json'), JSON.stringify(jwkKey.publicJwk));
    writeFileSync(join(dir, 'set.jwks.json'), JSON.stringify({ keys: [setA.publicJwk, setB.publicJwk] }));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'cert-key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-subj',
        '/CN=quilt-test',
        '-days',
        '1',
      ],
      { stdio: 'ignore' },
    );
    certKey = await importPKCS8(readFileSync(join(dir, 'cert-key.pem'), 'utf8'), 'ES256');
    upstream = await startUpstream();
    const publicKeyFiles = ['rsa.pem', 'one.jwk.json', 'set.jwks.json', 'cert.pem'].map((f) => join(dir, f));
    h = await startHarness(
      { 'users.graphql': schema(upstream.url) },
      { security: security(jwtOptions({ publicKeyFiles, secret: SECRET })) },
    );
  });
  after(async () => {
    await h?.close();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each file kind verifies its tokens; a PEM or certificate key has no kid and fits any', async () => {
    await assertAccepted(h, upstream, bearer(await mintToken(rsa, { ...good, kid: 'anything' })));
    await assertAccepted(h, upstream, bearer(await mintToken(jwkKey, good)));
    await assertAccepted(h, upstream, bearer(await mintToken(setA, good)));
    await assertAccepted(h, upstream, bearer(await mintToken(setB, good)));
    await assertAccepted(
      h,
      upstream,
      bearer(await mintToken({ alg: 'ES256', kid: 'cert', privateKey: certKey } as SigningKey, good)),
    );
  });

  test('HS256 signed with the PEM file text as the secret is refused (secret and RSA key both configured)', async () => {
    await assertRejected(
      h,
      upstream,
      bearer(await mintToken(readFileSync(join(dir, 'rsa.pem'), 'utf8'), { ...good, alg: 'HS256' })),
      /invalid token signature/i,
    );
    await assertAccepted(h, upstream, bearer(await mintToken(SECRET, good)));
  });

  test('a private key in a key file is refused at start', () => {
    const deps = { log: pino({ level: 'silent' }), metrics: new GatewayMetrics({ processMetrics: false }) };
    for (const file of ['cert-key.pem']) {
      assert.throws(
        () => useJwtAuth(jwtOptions({ publicKeyFiles: [join(dir, file)], algorithms: ['ES256'] }), deps),
        /private key.*QUILT_ERR_JWT_CONFIG/,
      );
    }
    writeFileSync(join(dir, 'private.jwk.json'), JSON.stringify({ ...jwkKey.publicJwk, d: 'AAAA' }));
    assert.throws(
      () => useJwtAuth(jwtOptions({ publicKeyFiles: [join(dir, 'private.jwk.json')], algorithms: ['ES256'] }), deps),
      /private key/,
    );
  });
});

describe('JWT: configuration checked at start', () => {
  const deps = { log: pino({ level: 'silent' }), metrics: new GatewayMetrics({ processMetrics: false }) };
  const cases: [string, Partial<JwtOptions>, RegExp][] = [
    ['empty allow-list', { algorithms: [] }, /allow-list is empty/],
    ['none', { algorithms: ['none'] }, /"none" is not allowed/],
    ['None among others', { algorithms: ['RS256', 'None'] }, /"none" is not allowed/],
    ['unknown algorithm', { algorithms: ['rs256'] }, /"rs256" is not a supported algorithm/],
    ['HS without a secret', { algorithms: ['HS256'], secret: undefined }, /HS256 needs a secret/],
    [
      'RS without public keys',
      { algorithms: ['RS256'], jwksUrl: undefined },
      /RS256 needs a JWKS URL or a public key file/,
    ],
  ];
  for (const [name, over, message] of cases) {
    test(`refused: ${name}`, () => {
      assert.throws(
        () => useJwtAuth(jwtOptions({ secret: SECRET, jwksUrl: 'http://127.0.0.1:9/jwks', ...over }), deps),
        (err: unknown) => err instanceof JwtConfigError && message.test(err.message),
      );
    });
  }

  test('the gateway does not start with alg "none" allowed', async () => {
    await assert.rejects(
      startHarness(
        { 'users.graphql': schema('http://127.0.0.1:9') },
        { security: security(jwtOptions({ secret: SECRET, algorithms: ['HS256', 'none'] })) },
      ),
      /"none" is not allowed/,
    );
  });
});

describe('JWT keys: cache rules', () => {
  const lines: Record<string, any>[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write: (c, _e, done) => {
        lines.push(JSON.parse(String(c)));
        done();
      },
    }),
  );
  const header = (kid: string) => ({ alg: 'RS256', kid });
  const jws = { payload: '', signature: '' };

  test('keys older than maxAge keep working while the endpoint is down; the refresh runs in the background', async () => {
    const key = await generateSigningKey('RS256', 'k1');
    const jwks = await startJwksServer([key.publicJwk]);
    const set = new RemoteKeySet(jwks.url, log, { maxAgeMs: 50, cooldownMs: 20 });
    assert.equal((await set.candidates(header('k1'), jws)).length, 1);
    await jwks.stop();
    await sleep(80);
    for (let i = 0; i < 3; i++) {
      assert.equal((await set.candidates(header('k1'), jws)).length, 1, 'the cached key still answers');
      await sleep(30);
    }
    assert.ok(lines.some((l) => /JWKS fetch failed/.test(l.msg) && l.cachedKeys === true));
    set.close();
  });

  test('a failing endpoint is asked once per cooldown however many unknown kids arrive', async () => {
    const key = await generateSigningKey('RS256', 'k1');
    const jwks = await startJwksServer([key.publicJwk]);
    const set = new RemoteKeySet(jwks.url, log, { cooldownMs: 60_000 });
    assert.equal((await set.candidates(header('k1'), jws)).length, 1);
    jwks.failing = true;
    await assert.rejects(set.candidates(header('ghost-0'), jws), /status 503/);
    for (let i = 1; i < 10; i++) assert.deepEqual(await set.candidates(header(`ghost-${i}`), jws), []);
    assert.equal(jwks.fetches, 2, 'the first load and one refresh');
    assert.equal((await set.candidates(header('k1'), jws)).length, 1);
    set.close();
    await jwks.close();
  });

  test('jose itself refuses an HS token checked against an RSA public key, with HS256 and RS256 allowed', async () => {
    const rsa = await generateSigningKey('RS256', 'rsa-1');
    const forged = await mintToken(rsa.spki, { ...good, alg: 'HS256' });
    const options = { algorithms: ['HS256', 'RS256'] };
    await assert.rejects(jwtVerify(forged, rsa.publicKey, options), TypeError);
    await assert.rejects(jwtVerify(forged, createPublicKey(rsa.spki), options), TypeError);
  });

  test('an HS token is offered only the secret, never a public key', async () => {
    const rsa = await generateSigningKey('RS256', 'rsa-1');
    const dir = mkdtempSync(join(tmpdir(), 'quilt-jwt-'));
    writeFileSync(join(dir, 'rsa.pem'), rsa.spki);
    const keys = createKeyResolver({ publicKeyFiles: [join(dir, 'rsa.pem')], secret: SECRET }, log);
    assert.deepEqual(await keys.candidates({ alg: 'HS256', kid: 'rsa-1' }, jws), [new TextEncoder().encode(SECRET)]);
    assert.equal((await keys.candidates({ alg: 'RS256' }, jws)).length, 1);
    assert.equal((await keys.candidates({ alg: 'RS256' }, jws))[0] instanceof Uint8Array, false);
    rmSync(dir, { recursive: true, force: true });
  });
});
