// Hot reload of a schemas folder that is a Kubernetes ConfigMap volume (README, "Deployment";
// deploy/kubernetes/). The kubelet never edits a file in place: every key is a symlink
// `users.graphql -> ..data/users.graphql`, `..data` is a symlink to a timestamped folder,
// and an update writes a new timestamped folder, points a new `..data_tmp` symlink at it and
// renames that over `..data` (one atomic step), then adds symlinks for new keys, removes the
// old folder and the symlinks of removed keys. This test does exactly that, in that order, in
// a temporary folder, and checks that the gateway serves each new version, never reads a
// dot-entry as a source, and logs no problem on the way.
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { eventually } from '../helpers/wait.js';

const DATA = '..data';

let generation = 0;

/** The kubelet's AtomicWriter: one update of the volume at `dir` to exactly `files`. */
function kubeletWrite(dir: string, files: Record<string, string>): void {
  const previous = readdirSync(dir).filter((n) => n.startsWith('..') && n !== DATA && n !== '..data_tmp');
  // 1. a new timestamped folder ("..2026_12_07_10_00_00.123456789") holding the payload
  const stamp = `..2026_12_07_10_00_${String(generation++).padStart(2, '0')}.${process.hrtime.bigint()}`;
  mkdirSync(join(dir, stamp));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, stamp, name), text);
  // 2. ..data_tmp -> the new folder, renamed over ..data: the swap
  symlinkSync(stamp, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, DATA));
  // 3. user-visible symlinks for keys that are new
  const visible = readdirSync(dir).filter((n) => !n.startsWith('..'));
  for (const name of Object.keys(files)) if (!visible.includes(name)) symlinkSync(join(DATA, name), join(dir, name));
  // 4. the old folder goes, then the symlinks of keys that are gone
  for (const old of previous) rmSync(join(dir, old), { recursive: true, force: true });
  for (const name of visible) if (!(name in files)) unlinkSync(join(dir, name));
}

const usersFile = (url: string, fields: string[]) => `${httpUpstream('users', [url])}
type Query {
${fields.map((f) => `  ${f}: String @http(GET: "/${f}")`).join('\n')}
}
`;
const productsFile = (url: string) => `${httpUpstream('products', [url])}
type Query { product: String @http(GET: "/product") }
`;

describe('hot reload of a ConfigMap volume (the kubelet swap)', () => {
  let upstream: TestServer;
  let h: Harness;
  let dir: string;
  before(async () => {
    upstream = await startTestServer((req, res) => sendJson(res, 200, `${req.url.slice(1)}-data`));
    dir = mkdtempSync(join(tmpdir(), 'quilt-configmap-'));
    kubeletWrite(dir, { 'users.graphql': usersFile(upstream.url, ['hello']) });
    h = await startHarness({}, { schemasDir: dir, watch: true });
  });
  after(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
    await upstream?.close();
  });

  const fieldsOfQuery = async () => {
    const r = await h.query('{ __type(name: "Query") { fields { name } } }');
    return ((r.body.data?.__type?.fields ?? []) as { name: string }[]).map((f) => f.name).sort();
  };

  test('the first version is served from behind the symlinks', async () => {
    assert.deepEqual(await fieldsOfQuery(), ['hello']);
    assert.deepEqual((await h.query('{ hello }')).body.data, { hello: 'hello-data' });
  });

  test('an update of a key (the ..data swap) is served', async () => {
    kubeletWrite(dir, { 'users.graphql': usersFile(upstream.url, ['hello', 'goodbye']) });
    await eventually(async () => (await fieldsOfQuery()).includes('goodbye'), { what: 'goodbye served' });
    assert.deepEqual((await h.query('{ goodbye }')).body.data, { goodbye: 'goodbye-data' });
  });

  test('a new key, then a removed key', async () => {
    kubeletWrite(dir, {
      'users.graphql': usersFile(upstream.url, ['hello', 'goodbye']),
      'products.graphql': productsFile(upstream.url),
    });
    await eventually(async () => (await fieldsOfQuery()).includes('product'), { what: 'product served' });
    assert.deepEqual((await h.query('{ product }')).body.data, { product: 'product-data' });
    kubeletWrite(dir, { 'products.graphql': productsFile(upstream.url) });
    await eventually(async () => (await fieldsOfQuery()).join() === 'product', { what: 'users gone' });
  });

  test('no dot-entry was read as a source and no reload failed', () => {
    const problems = h.logs.filter((l) => /schema problem|reload failed|unexpected error/.test(String(l.msg)));
    assert.deepEqual(problems, []);
    const loaded = h.logs.filter((l) => l.msg === 'schema loaded');
    assert.ok(loaded.length >= 4, `one load at start and one per update, got ${loaded.length}`);
    for (const l of loaded.slice(1)) assert.ok(!l.sources.some((s: string) => s.startsWith('.')), JSON.stringify(l));
    // The folder really is the kubelet's layout: dot-entries beside the symlinks.
    const names = readdirSync(dir);
    assert.ok(names.includes(DATA) && names.some((n) => n.startsWith('..2026_')), names.join());
  });
});
