// TLS termination (README, "TLS"): with --tls-cert/--tls-key the gateway serves everything
// over HTTPS with certificates made here (a CA, server certificates signed by it). A client
// that trusts the CA gets data, GraphiQL, /healthz and /metrics; plain HTTP and a client that
// does not trust the CA get nothing. New certificate files are served to new connections
// without a restart; a bad new pair is logged and the previous one keeps serving; a file may
// hold a chain. (Start-up checks and --workers: tls-startup.test.ts.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import {
  fingerprintOf,
  type KeyPair,
  makeCa,
  makePki,
  makeServerCert,
  type Pki,
  servedFingerprint,
  serves,
} from '../helpers/tls-fixtures.js';
import { eventually } from '../helpers/wait.js';

const schema = (url: string) => `${httpUpstream('things', [url])}
type Thing { id: ID }
type Query { thing: Thing @http(GET: "/thing") }`;

describe('quilt serve --tls-cert --tls-key', () => {
  let pki: Pki;
  let upstream: TestServer;
  let h: Harness;
  let certDir: string;
  let trusting: Agent;
  const certFile = () => join(certDir, 'server.pem');
  const keyFile = () => join(certDir, 'server-key.pem');
  const port = () => Number(new URL(h.gateway.url).port);
  const writePair = (pair: KeyPair) => {
    writeFileSync(keyFile(), pair.key);
    writeFileSync(certFile(), pair.cert);
  };

  before(async () => {
    pki = await makePki();
    certDir = mkdtempSync(join(tmpdir(), 'quilt-tls-'));
    writePair(pki.server);
    upstream = await startTestServer((req, res) => sendJson(res, 200, { id: req.url }));
    h = await startHarness(
      { 'things.graphql': schema(upstream.url) },
      { tls: { certFile: certFile(), keyFile: keyFile() } },
    );
    trusting = new Agent({ connect: { ca: pki.ca.cert } });
  });
  after(async () => {
    await trusting?.close();
    await h?.close();
    await upstream?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  test('a client that trusts the CA gets GraphQL, GraphiQL, /healthz and /metrics over HTTPS', async () => {
    assert.match(h.gateway.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ thing { id } }' }),
      dispatcher: trusting,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { data: { thing: { id: '/thing' } } });
    const graphiql = await fetch(`${h.gateway.url}/graphql`, {
      headers: { accept: 'text/html' },
      dispatcher: trusting,
    });
    assert.equal(graphiql.status, 200);
    assert.match(await graphiql.text(), /<title>Quilt<\/title>/);
    const healthz = await fetch(`${h.gateway.url}/healthz`, { dispatcher: trusting });
    assert.equal(healthz.status, 200);
    await healthz.arrayBuffer();
    const metrics = await (await fetch(`${h.gateway.url}/metrics`, { dispatcher: trusting })).text();
    assert.match(metrics, /quilt_graphql_requests_total\{operation="anonymous",type="query",outcome="success"\} 1/);
    const listening = h.logs.find((l) => l.msg === 'quilt listening');
    assert.equal(listening?.url, `${h.gateway.url}/graphql`);
    assert.match(listening?.certificate, /CN=localhost, serial [0-9A-F]+, valid until /);
  });

  test('plain HTTP to the TLS port, and a client that does not trust the CA, get nothing', async () => {
    await assert.rejects(fetch(`http://127.0.0.1:${port()}/healthz`));
    await assert.rejects(fetch(`${h.gateway.url}/healthz`), (e: Error & { cause?: { code?: string } }) => {
      assert.equal(e.cause?.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      return true;
    });
    const stranger = new Agent({ connect: { ca: pki.otherCa.cert } });
    await assert.rejects(fetch(`${h.gateway.url}/healthz`, { dispatcher: stranger }));
    await stranger.close();
    // The gateway is still serving those who trust it.
    assert.equal((await fetch(`${h.gateway.url}/healthz`, { dispatcher: trusting })).status, 200);
  });

  test('new certificate files are served to new connections without a restart; a bad pair is logged and ignored', async () => {
    assert.equal(await servedFingerprint(port(), pki.ca.cert), fingerprintOf(pki.server));
    // An open keep-alive connection made before the change goes on working.
    const before = await fetch(`${h.gateway.url}/healthz`, { dispatcher: trusting });
    assert.equal(before.status, 200);

    const renewed = await makeServerCert(pki.ca);
    writePair(renewed);
    await eventually(() => serves(port(), pki.ca.cert, renewed), {
      what: 'the renewed certificate served to a new connection',
    });
    assert.ok(h.logs.some((l) => l.msg === 'TLS certificate reloaded' && l.certificate.includes('CN=localhost')));
    assert.equal((await fetch(`${h.gateway.url}/healthz`, { dispatcher: trusting })).status, 200);

    // A key that is not the certificate's: logged, and the renewed pair stays.
    const stray = await makeServerCert(pki.ca);
    writeFileSync(certFile(), stray.cert);
    const failure = await eventually(() => h.logs.find((l) => l.msg.startsWith('TLS certificate not reloaded')), {
      what: 'the bad pair logged',
    });
    assert.ok(failure);
    assert.equal(failure.level, 50);
    assert.equal(failure.file, keyFile());
    assert.match(failure.msg, /is not the private key of the certificate in .*server\.pem/);
    assert.equal(await servedFingerprint(port(), pki.ca.cert), fingerprintOf(renewed));

    // Its key arrives: the pair is good and served.
    writeFileSync(keyFile(), stray.key);
    await eventually(() => serves(port(), pki.ca.cert, stray), {
      what: 'the completed pair served',
    });
    const res = await fetch(`${h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ thing { id } }' }),
      dispatcher: new Agent({ connect: { ca: pki.ca.cert } }),
    });
    assert.deepEqual(await res.json(), { data: { thing: { id: '/thing' } } });
  });

  test('a certificate file holding a chain (server certificate, then intermediate) is served whole', async () => {
    // The client trusts the root only: without the intermediate from the file it could not verify.
    const root = await makeCa('Chain Root');
    const intermediate = await makeCa('Chain Intermediate', root);
    const leaf = await makeServerCert(intermediate);
    writeFileSync(keyFile(), leaf.key);
    writeFileSync(certFile(), `${leaf.cert}\n${intermediate.cert}`);
    await eventually(() => serves(port(), root.cert, leaf), {
      what: 'the chained file served',
      timeoutMs: 8_000,
    });
    const res = await fetch(`${h.gateway.url}/healthz`, { dispatcher: new Agent({ connect: { ca: root.cert } }) });
    assert.equal(res.status, 200);
    // Its leaf alone does not verify against the root.
    writeFileSync(certFile(), leaf.cert);
    await eventually(
      () =>
        servedFingerprint(port(), root.cert).then(
          () => false,
          (e: NodeJS.ErrnoException) => e.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        ),
      { what: 'the leaf without its intermediate refused by the client' },
    );
  });
});
