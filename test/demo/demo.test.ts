// `npm start` as a newcomer runs it: the launcher starts the demo backends (REST and gRPC) and the gateway
// on the fixed demo ports, the example queries work, and Ctrl-C (SIGINT) stops every
// process it started, leaving none behind.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const repoRoot = new URL('../..', import.meta.url).pathname;

function childrenOf(pid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/PID/stat is the parent pid; the name in field 2 may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gql(query: string, headers: Record<string, string> = {}) {
  const res = await fetch('http://127.0.0.1:4000/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] };
}

test('npm start: demo up, example queries answer, Ctrl-C leaves no process behind', { timeout: 90_000 }, async () => {
  const launcher = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  launcher.stdout.on('data', (c) => (output += c));
  launcher.stderr.on('data', (c) => (output += c));
  let children: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not come up in 45 s:\n${output}`)), 45_000);
      launcher.once('exit', (code) => reject(new Error(`demo exited with ${code}:\n${output}`)));
      launcher.stdout.on('data', () => {
        if (output.includes('GraphiQL at http://localhost:4000/graphql')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // Only the demo's own processes: tsx may also run an esbuild service under the launcher,
    // which ends with it and is not something the demo started.
    const scripts = [
      'users.ts --port 4001',
      'users.ts --port 4002',
      'products.ts --port 4011',
      'products.ts --port 4012',
      'orders.ts --port 4021',
      'orders.ts --port 4022',
      'reviews.ts --port 4031',
      'serve --schemas',
    ];
    const commandOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    const all = childrenOf(launcher.pid!);
    children = all.filter((pid) => scripts.some((script) => commandOf(pid).includes(script)));
    assert.equal(
      children.length,
      scripts.length,
      `one process per demo service; children: ${all.map(commandOf).join(' | ')}`,
    );

    const page = await fetch('http://127.0.0.1:4000/graphql', { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Quilt<\/title>/);
    const list = await gql('{ users(limit: 20) { id name fullName posts { id title } } }');
    assert.equal(list.errors, undefined);
    assert.equal(list.data.users.length, 20);
    const merged = await gql('{ products(limit: 3) { name seller { name products { name } } } }');
    assert.deepEqual(merged.data.products[0], {
      name: 'Product 1',
      seller: { name: 'User 1', products: [{ name: 'Product 1' }, { name: 'Product 101' }] },
    });
    // The demo's shapes of real APIs: products mounted at /catalog/v1 (the replica urls' base
    // path), its availability spelled "in-stock" upstream (@enumValue, both ways).
    const available = await gql('{ products(limit: 5, availability: PRE_ORDER) { id availability } }');
    assert.deepEqual(available, {
      data: {
        products: [
          { id: '5', availability: 'PRE_ORDER' },
          { id: '10', availability: 'PRE_ORDER' },
          { id: '15', availability: 'PRE_ORDER' },
          { id: '20', availability: 'PRE_ORDER' },
          { id: '25', availability: 'PRE_ORDER' },
        ],
      },
    });
    const productCalls = await Promise.all(
      [4011, 4012].map(
        async (port) =>
          (await (await fetch(`http://127.0.0.1:${port}/__calls`)).json()) as { calls: number; mounted: number },
      ),
    );
    assert.ok(
      productCalls.every((c) => c.mounted === c.calls) && productCalls.some((c) => c.calls > 0),
      JSON.stringify(productCalls),
    );
    // The reviews service, imported from its OpenAPI document (mounted at /reviews-api/v2),
    // joined to products by the hand-made batched field: one call for all of them.
    await fetch('http://127.0.0.1:4031/__calls', { method: 'DELETE' });
    const reviewed = await gql('{ products(limit: 3) { id reviews { status author { __typename } } } }');
    assert.equal(reviewed.errors, undefined, JSON.stringify(reviewed.errors));
    assert.deepEqual(
      reviewed.data.products[1].reviews.map((r: { status: string }) => r.status),
      ['PENDING_MODERATION', 'published'],
    );
    assert.equal(reviewed.data.products[2].reviews[0].author.__typename, 'Staff');
    const reviewCalls = await (await fetch('http://127.0.0.1:4031/__calls')).json();
    assert.deepEqual(reviewCalls, { calls: 1, byPath: { '/reviews': 1 }, mounted: 1 });
    const fanOut = await gql(
      '{ users(limit: 20) { id orders { id total items { quantity product { id name price } } } } }',
    );
    assert.equal(fanOut.errors, undefined);
    const order = fanOut.data.users[0].orders[0];
    const sum = order.items.reduce(
      (t: number, i: { quantity: number; product: { price: number } }) => t + i.quantity * i.product.price,
      0,
    );
    assert.equal(
      Math.round(sum * 100),
      Math.round(order.total * 100),
      'the REST -> gRPC -> REST fan-out agrees with itself',
    );
    const createAda = 'mutation { createUser(input: { name: "Ada", email: "ada@example.com" }) { id name } }';
    const anonymous = await gql(createAda);
    assert.deepEqual([anonymous.data?.createUser, anonymous.errors?.[0]?.extensions?.code], [null, 'UNAUTHENTICATED']);
    // The token README tells a newcomer to mint, exactly as they would.
    const token = execFileSync('npm', ['run', '--silent', 'token', '--', '--sub', 'ada'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
    const created = await gql(createAda, { authorization: `Bearer ${token}` });
    assert.equal(created.data.createUser.name, 'Ada');
    const forged = await fetch('http://127.0.0.1:4000/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token.slice(0, -4)}AAAA` },
      body: JSON.stringify({ query: createAda }),
    });
    assert.equal(forged.status, 401);

    const exited = once(launcher, 'exit');
    launcher.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 0, output);
    assert.deepEqual(children.filter(alive), [], 'every process the demo started has stopped');
    await assert.rejects(fetch('http://127.0.0.1:4000/healthz'));
  } finally {
    if (launcher.exitCode === null) launcher.kill('SIGKILL');
    for (const pid of children.filter(alive)) process.kill(pid, 'SIGKILL');
  }
});
