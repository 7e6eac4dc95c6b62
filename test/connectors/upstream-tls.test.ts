// HTTPS upstreams with @upstream(tls:) (README, "TLS"): real HTTPS servers that require a
// client certificate (requestCert + rejectUnauthorized), certificates made at test time, PEM
// files relative to the schema file. With the right CA and client certificate calls and
// health probes get through and the upstream sees the gateway's certificate; without the
// client certificate, or trusting the wrong CA, a field fails with UPSTREAM_UNAVAILABLE after
// one attempt and the upstream serves nothing; insecureSkipVerify works and is a warning at
// every load; serverName replaces the url's host in the certificate check. A reload that
// reads the same files keeps the connection; a new client certificate is a new one. A remote
// GraphQL upstream gets the same: introspection, calls and its { __typename } probe.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildSchema, graphqlSync } from 'graphql';
import { HttpTransport } from '../../src/upstream/transport/http.js';
import { tlsIdentity } from '../../src/upstream/transport/tls.js';
import type { UpstreamTls } from '../../src/upstream/types.js';
import { type Harness, startHarness } from '../helpers/gateway-harness.js';
import { sendJson } from '../helpers/json-server.js';
import {
  type HttpsTestServer,
  makeClientCert,
  makePki,
  makeServerCert,
  type Pki,
  startHttpsTestServer,
} from '../helpers/tls-fixtures.js';
import { eventually } from '../helpers/wait.js';

/** A source `name` with one field `name` answering GET /<name>. */
const source = (name: string, url: string, tls: string, extra = '') =>
  `extend schema @upstream(name: "${name}", protocol: HTTP, replicas: [{ url: "${url}" }], tls: ${tls}${extra})
type Query { ${name}: String @http(GET: "/${name}") }
`;
const CLIENT = 'ca: "certs/ca.pem", cert: "certs/client.pem", key: "certs/client-key.pem"';

describe('HTTPS upstreams with @upstream(tls:)', () => {
  let pki: Pki;
  /** Each requires a client certificate signed by the test CA. */
  let good: HttpsTestServer;
  let noCert: HttpsTestServer;
  let wrongCa: HttpsTestServer;
  let skip: HttpsTestServer;
  /** Its certificate names api.internal only, not 127.0.0.1. */
  let named: HttpsTestServer;
  /** A GraphQL API (graphql-js behind HTTPS with mTLS). */
  let remote: HttpsTestServer;
  let h: Harness;

  const answer = (res: import('node:http').ServerResponse, url: string) => sendJson(res, 200, url);

  before(async () => {
    pki = await makePki();
    const mtls = {
      ca: pki.ca.cert,
      cert: pki.server.cert,
      key: pki.server.key,
      requestCert: true,
      rejectUnauthorized: true,
    };
    good = await startHttpsTestServer(mtls, (req, res) => answer(res, req.url!));
    noCert = await startHttpsTestServer(mtls, (req, res) => answer(res, req.url!));
    wrongCa = await startHttpsTestServer(mtls, (req, res) => answer(res, req.url!));
    skip = await startHttpsTestServer(mtls, (req, res) => answer(res, req.url!));
    const internal = await makeServerCert(pki.ca, ['api.internal'], false);
    named = await startHttpsTestServer({ ...mtls, ...internal }, (req, res) => answer(res, req.url!));
    const remoteSchema = buildSchema('type Query { greeting(name: String!): String }');
    remote = await startHttpsTestServer(mtls, (_req, res, body) => {
      const { query, variables } = JSON.parse(body) as { query: string; variables?: Record<string, unknown> };
      const rootValue = { greeting: ({ name }: { name: string }) => `hello ${name}` };
      sendJson(res, 200, graphqlSync({ schema: remoteSchema, source: query, variableValues: variables, rootValue }));
    });
    h = await startHarness({
      'certs/ca.pem': pki.ca.cert,
      'certs/client.pem': pki.client.cert,
      'certs/client-key.pem': pki.client.key,
      'certs/other-ca.pem': pki.otherCa.cert,
      'good.graphql': source('good', good.url, `{ ${CLIENT} }`, ', health: { path: "/health", intervalMs: 100 }'),
      'nocert.graphql': source('nocert', noCert.url, '{ ca: "certs/ca.pem" }'),
      'wrongca.graphql': source(
        'wrongca',
        wrongCa.url,
        '{ ca: "certs/other-ca.pem", cert: "certs/client.pem", key: "certs/client-key.pem" }',
      ),
      'skip.graphql': source(
        'skip',
        skip.url,
        '{ insecureSkipVerify: true, cert: "certs/client.pem", key: "certs/client-key.pem" }',
      ),
      'named.graphql': source('named', named.url, `{ ${CLIENT}, serverName: "api.internal" }`),
      'unnamed.graphql': source('unnamed', named.url, `{ ${CLIENT} }`),
      'remote.graphql': `extend schema @upstream(name: "remote", protocol: GRAPHQL, introspect: true, replicas: [{ url: "${remote.url}/graphql" }],
  tls: { ${CLIENT} }, health: { intervalMs: 100 })
`,
    });
  });
  after(async () => {
    await h?.close();
    for (const s of [good, noCert, wrongCa, skip, named, remote]) await s?.close();
  });

  test('with tls: { ca, cert, key } calls reach an upstream that requires a client certificate', async () => {
    const r = await h.query('{ good }');
    assert.deepEqual(r.body, { data: { good: '/good' } });
    const call = good.seen.find((s) => s.url === '/good');
    assert.equal(call?.clientCertificate, 'quilt-gateway');
  });

  test('the health probe uses the same CA and client certificate', async () => {
    await eventually(() => good.seen.filter((s) => s.url === '/health').length >= 2, { what: 'two probes' });
    for (const probe of good.seen.filter((s) => s.url === '/health'))
      assert.equal(probe.clientCertificate, 'quilt-gateway');
    const pools = (await (await fetch(`${h.gateway.url}/upstreams`)).json()) as {
      upstreams: { name: string; replicas: { health: string }[] }[];
    };
    assert.equal(pools.upstreams.find((u) => u.name === 'good')?.replicas[0]?.health, 'healthy');
  });

  test('without the client certificate: UPSTREAM_UNAVAILABLE after one attempt per query; nothing is served', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await h.query('{ nocert good }');
      assert.deepEqual(r.body.data, { nocert: null, good: '/good' });
      assert.equal(r.body.errors?.length, 1);
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'UPSTREAM_UNAVAILABLE');
      assert.deepEqual(r.body.errors?.[0]?.path, ['nocert']);
      assert.ok(!JSON.stringify(r.body).includes(noCert.url), 'no replica address reaches the client');
    }
    assert.equal(noCert.seen.length, 0);
    await eventually(() => noCert.refused.length === 3, { what: 'three refused handshakes' });
    assert.deepEqual([...new Set(noCert.refused)], ['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE']);
    const logged = h.logs.filter((l) => l.upstream === 'nocert' && l.code === 'UPSTREAM_UNAVAILABLE');
    assert.equal(logged.length, 3);
    assert.equal(logged[0].replica, noCert.url);
  });

  test('trusting a CA that did not sign the upstream: UPSTREAM_UNAVAILABLE, the TLS failure in the log', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await h.query('{ wrongca }');
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'UPSTREAM_UNAVAILABLE');
      assert.deepEqual(r.body.data, { wrongca: null });
    }
    assert.equal(wrongCa.seen.length, 0);
    await eventually(() => wrongCa.refused.length === 2, { what: 'two refused handshakes' });
    const logged = h.logs.filter((l) => l.upstream === 'wrongca' && l.code === 'UPSTREAM_UNAVAILABLE');
    assert.equal(logged.length, 2);
    // The upstream sends its CA with its certificate; that CA is not the one trusted.
    assert.match(
      logged[0].failure,
      /^TLS handshake failed: SELF_SIGNED_CERT_IN_CHAIN self-signed certificate in certificate chain https:\/\/127\.0\.0\.1:\d+$/,
    );
  });

  test('insecureSkipVerify: true connects without verifying, and is a warning at every load', async () => {
    const r = await h.query('{ skip }');
    assert.deepEqual(r.body, { data: { skip: '/skip' } });
    assert.equal(skip.seen[0]?.clientCertificate, 'quilt-gateway');
    const warnings = () =>
      h.logs.filter((l) => l.level === 40 && l.msg.includes('@upstream(tls.insecureSkipVerify) is true'));
    assert.equal(warnings().length, 1);
    assert.match(warnings()[0].msg, /skip\.graphql:1:\d+: .*upstream "skip" are not verified/);
    assert.equal((await h.gateway.manager.reload()).ok, true);
    assert.equal(warnings().length, 2);
  });

  test('serverName is the name the certificate must carry instead of the url host', async () => {
    const r = await h.query('{ named unnamed }');
    assert.deepEqual(r.body.data, { named: '/named', unnamed: null });
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'UPSTREAM_UNAVAILABLE');
    const failure = h.logs.find((l) => l.upstream === 'unnamed')?.failure;
    assert.match(
      failure,
      /TLS handshake failed: ERR_TLS_CERT_ALTNAME_INVALID .*IP: 127\.0\.0\.1 is not in the cert's list/,
    );
  });

  test('a remote GraphQL upstream over mTLS: introspection at load, calls and the { __typename } probe', async () => {
    const r = await h.query('{ greeting(name: "tls") }');
    assert.deepEqual(r.body, { data: { greeting: 'hello tls' } });
    await eventually(() => remote.seen.length >= 4, { what: 'introspection, the call and probes' });
    assert.deepEqual([...new Set(remote.seen.map((s) => s.clientCertificate))], ['quilt-gateway']);
    assert.equal(remote.seen[0]?.url, '/graphql');
  });

  test('a reload that reads the same files keeps the connection; a new client certificate is a new one', async () => {
    const port = async () => {
      const from = good.seen.length;
      assert.deepEqual((await h.query('{ good }')).body.data, { good: '/good' });
      const call = good.seen.slice(from).find((s) => s.url === '/good')!;
      return { port: call.clientPort, cn: call.clientCertificate };
    };
    // The connections calls to /good used so far (undici may have opened more than one).
    const used = () => new Set(good.seen.filter((s) => s.url === '/good').map((s) => s.clientPort));
    const first = await port();
    const before = used();
    assert.equal((await h.gateway.manager.reload()).ok, true);
    const kept = await port();
    assert.equal(kept.cn, 'quilt-gateway');
    assert.ok(before.has(kept.port), 'a kept-alive connection of before the reload that changed nothing');

    const renewed = await makeClientCert(pki.ca, 'quilt-gateway-renewed');
    h.writeSchema('certs/client.pem', renewed.cert);
    h.writeSchema('certs/client-key.pem', renewed.key);
    assert.equal((await h.gateway.manager.reload()).ok, true);
    const beforeRenewal = used();
    const after = await port();
    assert.equal(after.cn, 'quilt-gateway-renewed');
    assert.ok(!beforeRenewal.has(after.port), 'a new connection');
    assert.equal(first.cn, 'quilt-gateway');
    // The health probes switched too.
    const from = good.seen.length;
    await eventually(() => good.seen.slice(from).some((s) => s.url === '/health'), { what: 'a probe after reload' });
    assert.equal(good.seen.slice(from).find((s) => s.url === '/health')?.clientCertificate, 'quilt-gateway-renewed');
  });

  test('a tls file that cannot be read at reload is a problem at its line; the last good schema keeps serving', async () => {
    const text = source(
      'good',
      good.url,
      '{ ca: "certs/gone.pem", cert: "certs/client.pem", key: "certs/client-key.pem" }',
    );
    h.writeSchema('good.graphql', text);
    const result = await h.gateway.manager.reload();
    assert.equal(result.ok, false);
    const problem = !result.ok ? result.problems.find((p) => p.message.includes('tls.ca')) : undefined;
    assert.equal(problem?.line, 1);
    assert.equal(problem?.column, text.indexOf('"certs/gone.pem"') + 1);
    assert.match(
      problem?.message ?? '',
      /@upstream\(tls\.ca\) expected a readable PEM file .* received "certs\/gone\.pem" \(.*certs\/gone\.pem: ENOENT\)/,
    );
    assert.deepEqual((await h.query('{ good }')).body.data, { good: '/good' });
  });

  test('the HTTP transport: TLS settings are identified by content; closeUnused closes the pools nothing uses', async () => {
    const tls: UpstreamTls = {
      ca: Buffer.from(pki.ca.cert),
      cert: Buffer.from(pki.client.cert),
      key: Buffer.from(pki.client.key),
      verify: true,
    };
    assert.equal(tlsIdentity({ ...tls, ca: Buffer.from(pki.ca.cert) }), tlsIdentity(tls));
    assert.notEqual(tlsIdentity({ ...tls, verify: false }), tlsIdentity(tls));
    assert.notEqual(tlsIdentity({ ...tls, serverName: 'localhost' }), tlsIdentity(tls));
    assert.notEqual(tlsIdentity({ ...tls, cert: Buffer.from(pki.otherClient.cert) }), tlsIdentity(tls));

    const transport = new HttpTransport(5_000);
    const send = async (settings: UpstreamTls) => {
      const from = good.seen.length;
      const req = { method: 'GET', path: '/direct', headers: {}, timeoutMs: 5_000, tls: settings };
      assert.equal((await transport.send(good.url, req)).status, 200);
      return good.seen.slice(from).find((s) => s.url === '/direct')!.clientPort;
    };
    try {
      const ports = new Set([await send(tls), await send({ ...tls }), await send(tls), await send({ ...tls })]);
      // Kept while a served replica uses the same settings (a copy read again by a reload).
      await transport.closeUnused([{ url: good.url, tls: { ...tls } }]);
      assert.ok(ports.has(await send(tls)), 'still in use: the same connections');
      await transport.closeUnused([]);
      assert.ok(!ports.has(await send(tls)), 'closed: a new connection');
    } finally {
      await transport.close();
    }
  });
});

describe('@upstream(tls:) files are followed while the schemas folder is watched', () => {
  let pki: Pki;
  let server: HttpsTestServer;
  let h: Harness;
  before(async () => {
    pki = await makePki();
    server = await startHttpsTestServer(
      { ca: pki.ca.cert, cert: pki.server.cert, key: pki.server.key, requestCert: true, rejectUnauthorized: true },
      (req, res) => sendJson(res, 200, req.url),
    );
    h = await startHarness(
      {
        'certs/ca.pem': pki.ca.cert,
        'certs/client.pem': pki.client.cert,
        'certs/client-key.pem': pki.client.key,
        'svc.graphql': source('svc', server.url, `{ ${CLIENT} }`),
      },
      { watch: true },
    );
  });
  after(async () => {
    await h?.close();
    await server?.close();
  });

  const callerOfNextCall = async () => {
    const from = server.seen.length;
    assert.deepEqual((await h.query('{ svc }')).body.data, { svc: '/svc' });
    return server.seen.slice(from).find((s) => s.url === '/svc')?.clientCertificate;
  };

  test('a renewed client certificate in certs/ is loaded without touching the schema file', async () => {
    assert.equal(await callerOfNextCall(), 'quilt-gateway');
    const renewed = await makeClientCert(pki.ca, 'quilt-gateway-renewed');
    h.writeSchema('certs/client-key.pem', renewed.key);
    h.writeSchema('certs/client.pem', renewed.cert);
    await eventually(async () => (await callerOfNextCall()) === 'quilt-gateway-renewed', {
      what: 'calls made with the renewed certificate',
    });
  });

  test('a file that is missing at load is followed too: when it appears, the schema loads', async () => {
    const loads = () => h.logs.filter((l) => l.msg === 'schema loaded').length;
    const before = loads();
    h.writeSchema(
      'svc.graphql',
      source('svc', server.url, '{ ca: "certs/ca-2.pem", cert: "certs/client.pem", key: "certs/client-key.pem" }'),
    );
    await eventually(() => h.logs.some((l) => l.msg.includes('tls.ca) expected a readable PEM file')), {
      what: 'the missing file reported',
    });
    assert.equal(loads(), before);
    h.writeSchema('certs/ca-2.pem', pki.ca.cert);
    await eventually(() => loads() === before + 1, { what: 'a load once the file exists' });
    assert.equal(await callerOfNextCall(), 'quilt-gateway-renewed');
  });
});
