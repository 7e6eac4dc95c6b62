// `quilt serve` with TLS settings (README, "TLS" and "Several processes"): a bad pair, or one
// of --tls-cert/--tls-key without the other, stops it before it starts, naming the file (exit
// 1, or 2 for the usage error); with --workers 2 (and the QUILT_TLS_* variables) every worker
// serves HTTPS and picks up new certificate files.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { main } from '../../src/cli/main.js';
import { httpUpstream, tempSchemasDir } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer } from '../helpers/json-server.js';
import { freePort } from '../helpers/prism.js';
import { fingerprintOf, makePki, makeServerCert, type Pki, servedFingerprint } from '../helpers/tls-fixtures.js';
import { eventually } from '../helpers/wait.js';

const schema = (url: string) => `${httpUpstream('things', [url])}
type Thing { id: ID }
type Query { thing: Thing @http(GET: "/thing") }`;

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
