// HTTPS upstreams with @upstream(tls:) (README, "TLS"): real HTTPS servers that require a
// client certificate (requestCert + rejectUnauthorized), certificates made at test time, PEM
// files relative to the schema file. With the right CA and client certificate calls and
// health probes get through and the upstream sees the gateway's certificate; without the
// client certificate, or trusting the wrong CA, a field fails with UPSTREAM_UNAVAILABLE after
// one attempt and the upstream serves nothing; insecureSkipVerify works and is a warning at
// every load; serverName replaces the url's host in the certificate check. A remote GraphQL
// upstream gets the same: introspection, calls and its { __typename } probe. (Reloads:
// upstream-tls-reload.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildSchema, graphqlSync } from 'graphql';
import { type Harness, startHarness } from '../helpers/gateway-harness.js';
import { sendJson } from '../helpers/json-server.js';
import {
  CLIENT,
  clientTlsFiles,
  type HttpsTestServer,
  httpsSource,
  makePki,
  makeServerCert,
  type Pki,
  startHttpsTestServer,
} from '../helpers/tls-fixtures.js';
import { eventually } from '../helpers/wait.js';

const source = httpsSource;

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
      ...clientTlsFiles(pki),
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
});
