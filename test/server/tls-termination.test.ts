// TLS termination (README, "TLS"): with --tls-cert/--tls-key the gateway serves everything
// over HTTPS with certificates made here (a CA, server certificates signed by it). A client
// that trusts the CA gets data, GraphiQL, /healthz and /metrics; plain HTTP and a client that
// does not trust the CA get nothing. New certificate files are served to new connections
// without a restart; a bad new pair is logged and the previous one keeps serving. A bad pair,
// or one flag without the other, stops `quilt serve` before it starts, naming the file. With
// --workers 2 every worker serves HTTPS and picks up new files.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { Agent, fetch } from 'undici';
import { main } from '../../src/cli/main.js';
import { type Harness, httpUpstream, startHarness, tempSchemasDir } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { freePort } from '../helpers/prism.js';
import { type KeyPair, makeCa, makePki, makeServerCert, type Pki } from '../helpers/tls-fixtures.js';
import { eventually } from '../helpers/wait.js';

const schema = (url: string) => `${httpUpstream('things', [url])}
type Thing { id: ID }
type Query { thing: Thing @http(GET: "/thing") }`;

/** The SHA-256 fingerprint of the certificate a new TLS connection to `port` is shown. */
export function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.once('error', reject);
  });
}

const fingerprintOf = (pair: KeyPair) => new X509Certificate(pair.cert).fingerprint256;

/** Does a new connection trusting `ca` get `pair`'s certificate? (false while it gets another, or fails) */
const serves = (port: number, ca: string, pair: KeyPair) =>
  servedFingerprint(port, ca).then(
    (fingerprint) => fingerprint === fingerprintOf(pair),
    () => false,
  );

/** Runs `quilt serve` in this process as far as its checks go; the exit code and what it printed. */
async function serveExit(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  const printed: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => printed.push(args.join(' '));
  try {
    const code = await main(['serve', '--port', '0', '--host', '127.0.0.1', '--no-watch', ...argv], env);
    return { code, stderr: printed.join('\n') };
  } finally {
    console.error = original;
  }
}

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

describe('quilt serve: TLS settings that cannot work stop it before it starts', () => {
  let pki: Pki;
  let dir: string;
  let schemas: string;
  before(async () => {
    pki = await makePki();
    dir = mkdtempSync(join(tmpdir(), 'quilt-tls-bad-'));
    writeFileSync(join(dir, 'server.pem'), pki.server.cert);
    writeFileSync(join(dir, 'server-key.pem'), pki.server.key);
    writeFileSync(join(dir, 'other-key.pem'), pki.client.key);
    writeFileSync(join(dir, 'garbage.pem'), 'not a certificate\n');
    schemas = join(dir, 'schemas');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('one of the two flags (or variables) alone is a usage error (exit 2)', async () => {
    const certOnly = await serveExit(['--schemas', schemas, '--tls-cert', join(dir, 'server.pem')]);
    assert.equal(certOnly.code, 2);
    assert.match(certOnly.stderr, /--tls-cert needs --tls-key \(QUILT_TLS_KEY\)/);
    const keyOnly = await serveExit(['--schemas', schemas], { QUILT_TLS_KEY: join(dir, 'server-key.pem') });
    assert.equal(keyOnly.code, 2);
    assert.match(keyOnly.stderr, /QUILT_TLS_KEY needs --tls-cert \(QUILT_TLS_CERT\)/);
  });

  test('a missing file, a file without a certificate and a key of another certificate: exit 1 naming the file', async () => {
    const missing = await serveExit([
      '--schemas',
      schemas,
      '--tls-cert',
      join(dir, 'nope.pem'),
      '--tls-key',
      join(dir, 'server-key.pem'),
    ]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      new RegExp(`TLS certificate file ${join(dir, 'nope.pem')} cannot be read \\(ENOENT\\)`),
    );

    const garbage = await serveExit(['--schemas', schemas], {
      QUILT_TLS_CERT: join(dir, 'garbage.pem'),
      QUILT_TLS_KEY: join(dir, 'server-key.pem'),
    });
    assert.equal(garbage.code, 1);
    assert.match(
      garbage.stderr,
      /TLS certificate file .*garbage\.pem: expected PEM certificates .* no "-----BEGIN CERTIFICATE-----" block/,
    );

    const mismatch = await serveExit([
      '--schemas',
      schemas,
      '--tls-cert',
      join(dir, 'server.pem'),
      '--tls-key',
      join(dir, 'other-key.pem'),
    ]);
    assert.equal(mismatch.code, 1);
    assert.match(
      mismatch.stderr,
      /TLS key file .*other-key\.pem is not the private key of the certificate in .*server\.pem \(CN=localhost/,
    );

    const keyIsCert = await serveExit([
      '--schemas',
      schemas,
      '--tls-cert',
      join(dir, 'server.pem'),
      '--tls-key',
      join(dir, 'server.pem'),
    ]);
    assert.equal(keyIsCert.code, 1);
    assert.match(
      keyIsCert.stderr,
      /TLS key file .*server\.pem: expected a PEM private key; it holds no "-----BEGIN \.\.\. PRIVATE KEY-----" block/,
    );
  });
});

describe('quilt serve --workers 2 with QUILT_TLS_CERT / QUILT_TLS_KEY', () => {
  test('every worker serves HTTPS and picks up new certificate files', async () => {
    const pki = await makePki();
    const upstream = await startTestServer((req, res) => sendJson(res, 200, { id: req.url }));
    const dir = tempSchemasDir({
      'things.graphql': schema(upstream.url),
      'tls/server.pem': pki.server.cert,
      'tls/server-key.pem': pki.server.key,
    });
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['bin/quilt.js', 'serve', '--workers', '2', '--port', String(port), '--host', '127.0.0.1', '--schemas', dir],
      {
        cwd: new URL('../..', import.meta.url).pathname,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: {
          ...process.env,
          QUILT_TLS_CERT: join(dir, 'tls/server.pem'),
          QUILT_TLS_KEY: join(dir, 'tls/server-key.pem'),
        },
      },
    );
    const lines: Record<string, any>[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line)));
    const pidsOf = (msg: string) => new Set(lines.filter((l) => l.msg === msg).map((l) => l.pid));
    try {
      await eventually(() => pidsOf('quilt listening').size === 2, {
        what: 'two workers listening',
        timeoutMs: 30_000,
      });
      assert.ok(lines.filter((l) => l.msg === 'quilt listening').every((l) => l.url.startsWith('https://')));
      for (let i = 0; i < 6; i++) {
        const res = await fetch(`https://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', connection: 'close' },
          body: JSON.stringify({ query: '{ thing { id } }' }),
          dispatcher: new Agent({ connect: { ca: pki.ca.cert } }),
        });
        assert.deepEqual(await res.json(), { data: { thing: { id: '/thing' } } });
      }
      await eventually(() => lines.filter((l) => l.msg === 'request').length === 6, { what: 'six access-log lines' });
      assert.equal(new Set(lines.filter((l) => l.msg === 'request').map((l) => l.pid)).size, 2, 'both workers served');

      const renewed = await makeServerCert(pki.ca);
      writeFileSync(join(dir, 'tls/server-key.pem'), renewed.key);
      writeFileSync(join(dir, 'tls/server.pem'), renewed.cert);
      await eventually(() => pidsOf('TLS certificate reloaded').size === 2, { what: 'both workers reload' });
      // Connections go to the workers in turn: each of them now shows the renewed certificate.
      for (let i = 0; i < 4; i++) assert.equal(await servedFingerprint(port, pki.ca.cert), fingerprintOf(renewed));

      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      for (const pid of pidsOf('quilt listening')) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      await upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
