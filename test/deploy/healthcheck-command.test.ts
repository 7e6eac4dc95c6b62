// The image's HEALTHCHECK (README, "Deployment") is a command, so it is run here as Docker
// would run it in the container, against real gateways: 0 for a live plain-HTTP gateway and
// for one serving HTTPS with QUILT_TLS_CERT set, 1 for a port where nothing answers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { makePki } from '../helpers/tls-fixtures.js';
import { parseDockerfile, stagesOf } from './dockerfile.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SCHEMA = `${httpUpstream('stub', ['http://127.0.0.1:1'])}type Query { ping: String @http(GET: "/ping") }\n`;

/** The runtime stage's HEALTHCHECK CMD, as the argv Docker executes. */
function healthcheckArgv(): string[] {
  const stages = stagesOf(parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')));
  const check = stages.at(-1)!.instructions.find((i) => i.keyword === 'HEALTHCHECK');
  assert.ok(check, 'HEALTHCHECK in the runtime stage');
  return JSON.parse(check.args.slice(check.args.indexOf('CMD ') + 4)) as string[];
}

/** Runs the check as a child process (the gateways answer from this process meanwhile): its exit code. */
function runCheck(port: number, env: Record<string, string> = {}): Promise<number | null> {
  const [command, ...args] = healthcheckArgv();
  const child = spawn(command!, args, {
    env: { PATH: process.env.PATH, QUILT_PORT: String(port), ...env },
    timeout: 10_000,
    stdio: 'ignore',
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

describe("the image's HEALTHCHECK command", () => {
  let plain: Harness;
  let https: Harness;
  let certDir: string;

  before(async () => {
    const pki = await makePki();
    certDir = mkdtempSync(join(tmpdir(), 'quilt-healthcheck-'));
    writeFileSync(join(certDir, 'cert.pem'), pki.server.cert);
    writeFileSync(join(certDir, 'key.pem'), pki.server.key);
    plain = await startHarness({ 'stub.graphql': SCHEMA });
    https = await startHarness(
      { 'stub.graphql': SCHEMA },
      { tls: { certFile: join(certDir, 'cert.pem'), keyFile: join(certDir, 'key.pem') } },
    );
  });
  after(async () => {
    await plain?.close();
    await https?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  const portOf = (h: Harness) => Number(new URL(h.gateway.url).port);

  test('a live gateway over plain HTTP: exit 0', async () => {
    assert.equal(await runCheck(portOf(plain)), 0);
  });

  test('a gateway serving HTTPS, with QUILT_TLS_CERT set as the image is told to: exit 0', async () => {
    assert.equal(await runCheck(portOf(https), { QUILT_TLS_CERT: join(certDir, 'cert.pem') }), 0);
    // Without the variable the check speaks plain HTTP to a TLS port, and fails.
    assert.equal(await runCheck(portOf(https)), 1);
  });

  test('nothing listening: exit 1', async () => {
    const port = portOf(plain);
    const closed = await startHarness({ 'stub.graphql': SCHEMA });
    const deadPort = portOf(closed);
    await closed.close();
    assert.notEqual(deadPort, port);
    assert.equal(await runCheck(deadPort), 1);
  });
});
