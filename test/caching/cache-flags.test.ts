// The caching flags through `quilt serve` as a real process: --cache-max-entries bounds the
// in-memory response cache (one entry: a second product pushes the first out), and
// QUILT_CACHE_MAX_BYTES is read like every other variable; a bad value is a usage error.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { httpUpstream, tempSchemasDir } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

const repoRoot = new URL('../..', import.meta.url).pathname;

describe('quilt serve --cache-max-entries', () => {
  let upstream: TestServer;
  let child: ChildProcess;
  let url = '';

  before(async () => {
    upstream = await startTestServer((req, res) => sendJson(res, 200, { id: req.url.slice(1) }));
    const dir = tempSchemasDir({
      'a.graphql': `${httpUpstream('a', [upstream.url])}
type Thing @cacheControl(maxAge: 60) { id: ID }
type Query { thing(id: ID!): Thing @http(GET: "/{args.id}") }`,
    });
    child = spawn(
      process.execPath,
      ['bin/quilt.js', 'serve', '--port', '0', '--host', '127.0.0.1', '--schemas', dir, '--cache-max-entries', '1'],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, QUILT_CACHE_MAX_BYTES: '100000' } },
    );
    const rl = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`quilt exited early with ${code}`)));
      rl.on('line', (line) => {
        const entry = JSON.parse(line);
        if (entry.msg === 'quilt listening') {
          url = new URL(entry.url).origin;
          resolve();
        }
      });
    });
  });
  after(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await upstream?.close();
  });

  const query = async (id: string) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ thing(id: "${id}") { id } }` }),
    });
    return { age: res.headers.get('age'), body: await res.json() };
  };
  const calls = (id: string) => upstream.seen.filter((r) => r.url === `/${id}`).length;

  test('one entry: the newest answer pushes the older one out', async () => {
    assert.deepEqual((await query('a')).body, { data: { thing: { id: 'a' } } });
    assert.notEqual((await query('a')).age, null, 'a is kept');
    await query('b');
    assert.equal((await query('a')).age, null, 'b pushed a out');
    assert.equal(calls('a'), 2);
    assert.equal(calls('b'), 1);
  });
});

test('a bad --cache-max-bytes is a usage error naming the flag', async () => {
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      ['bin/quilt.js', 'serve', '--cache-max-bytes', 'lots'],
      { cwd: repoRoot },
      (e, _stdout, stderr) => resolve({ code: e ? Number(e.code) : 0, stderr }),
    ),
  );
  assert.equal(code, 2);
  assert.match(stderr, /--cache-max-bytes: expected a whole number >= 0, received "lots"/);
});
