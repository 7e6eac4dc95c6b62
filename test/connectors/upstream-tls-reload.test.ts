// Reloads and @upstream(tls:) (README, "TLS" and "Reloads"), against a real HTTPS upstream
// that requires a client certificate: a reload that reads the same files keeps the
// upstream's connections, a renewed client certificate gives it new ones (calls and health
// probes), a file that cannot be read keeps the last good schema serving; the HTTP transport
// identifies TLS settings by content and closes the pools nothing uses any more. While the
// schemas folder is watched, the tls: files are followed: a renewed certificate in certs/ is
// loaded without touching the schema file, and a file missing at load is loaded when it appears.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HttpTransport } from '../../src/upstream/transport/http.js';
import { tlsIdentity } from '../../src/upstream/transport/tls.js';
import type { UpstreamTls } from '../../src/upstream/types.js';
import { type Harness, startHarness } from '../helpers/gateway-harness.js';
import { sendJson } from '../helpers/json-server.js';
import {
  CLIENT,
  clientTlsFiles,
  type HttpsTestServer,
  makeClientCert,
  makePki,
  type Pki,
  httpsSource as source,
  startHttpsTestServer,
} from '../helpers/tls-fixtures.js';
import { eventually } from '../helpers/wait.js';

/** An HTTPS server that requires a client certificate from pki's CA and answers its path. */
const echoServerAskingForClientCertificates = (pki: Pki): Promise<HttpsTestServer> =>
  startHttpsTestServer(
    { ca: pki.ca.cert, cert: pki.server.cert, key: pki.server.key, requestCert: true, rejectUnauthorized: true },
    (req, res) => sendJson(res, 200, req.url),
  );

describe('reloads of an upstream with @upstream(tls:)', () => {
  let pki: Pki;
  let server: HttpsTestServer;
  let h: Harness;
  before(async () => {
    pki = await makePki();
    server = await echoServerAskingForClientCertificates(pki);
    h = await startHarness({
      ...clientTlsFiles(pki),
      'svc.graphql': source('svc', server.url, `{ ${CLIENT} }`, ', health: { path: "/health", intervalMs: 100 }'),
    });
  });
  after(async () => {
    await h?.close();
    await server?.close();
  });

  test('a reload that reads the same files keeps the connection; a new client certificate is a new one', async () => {
    const port = async () => {
      const from = server.seen.length;
      assert.deepEqual((await h.query('{ svc }')).body.data, { svc: '/svc' });
      const call = server.seen.slice(from).find((s) => s.url === '/svc')!;
      return { port: call.clientPort, cn: call.clientCertificate };
    };
    // The connections calls to /svc used so far (undici may have opened more than one).
    const used = () => new Set(server.seen.filter((s) => s.url === '/svc').map((s) => s.clientPort));
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
    const from = server.seen.length;
    await eventually(() => server.seen.slice(from).some((s) => s.url === '/health'), { what: 'a probe after reload' });
    assert.equal(server.seen.slice(from).find((s) => s.url === '/health')?.clientCertificate, 'quilt-gateway-renewed');
  });

  test('a tls file that cannot be read at reload is a problem at its line; the last good schema keeps serving', async () => {
    const text = source(
      'svc',
      server.url,
      '{ ca: "certs/gone.pem", cert: "certs/client.pem", key: "certs/client-key.pem" }',
    );
    h.writeSchema('svc.graphql', text);
    const result = await h.gateway.manager.reload();
    assert.equal(result.ok, false);
    const problem = !result.ok ? result.problems.find((p) => p.message.includes('tls.ca')) : undefined;
    assert.equal(problem?.line, 1);
    assert.equal(problem?.column, text.indexOf('"certs/gone.pem"') + 1);
    assert.match(
      problem?.message ?? '',
      /@upstream\(tls\.ca\) expected a readable PEM file .* received "certs\/gone\.pem" \(.*certs\/gone\.pem: ENOENT\)/,
    );
    assert.deepEqual((await h.query('{ svc }')).body.data, { svc: '/svc' });
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
      const from = server.seen.length;
      const req = { method: 'GET', path: '/direct', headers: {}, timeoutMs: 5_000, tls: settings };
      assert.equal((await transport.send(server.url, req)).status, 200);
      return server.seen.slice(from).find((s) => s.url === '/direct')!.clientPort;
    };
    try {
      const ports = new Set([await send(tls), await send({ ...tls }), await send(tls), await send({ ...tls })]);
      // Kept while a served replica uses the same settings (a copy read again by a reload).
      await transport.closeUnused([{ url: server.url, tls: { ...tls } }]);
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
    server = await echoServerAskingForClientCertificates(pki);
    h = await startHarness(
      {
        ...clientTlsFiles(pki),
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
