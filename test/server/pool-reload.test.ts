// Pools across schema reloads (README, "Upstream pools"): an upstream whose settings did not change
// keeps its replicas' health verdicts and counters; a changed replica list adds the new
// replica and stops sending to the removed one, while a call already running on a removed
// replica finishes normally.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { eventually, sleep } from '../helpers/wait.js';

const HEALTH =
  'health: { path: "/health", intervalMs: 100, timeoutMs: 2000, healthyThreshold: 1, unhealthyThreshold: 1 }';
let replicas: TestServer[];
let healthDown: TestServer | undefined;
let harness: Harness;

const dataCalls = (s: TestServer) => s.seen.filter((r) => !r.url.startsWith('/health')).length;

function schema(urls: string[], extraField = ''): string {
  return `${httpUpstream('items', urls, HEALTH)}
type Item { id: ID! replica: String }
type Query { item(id: ID!): Item @http(GET: "/items/{args.id}") ${extraField} }`;
}

before(async () => {
  replicas = await Promise.all(
    [0, 1, 2].map((i) =>
      startTestServer(async (req, res) => {
        if (req.url === '/health') return sendJson(res, healthDown === replicas[i] ? 503 : 200, {});
        // /items/slow holds the call for 400 ms: a call in flight across the reload.
        if (req.url === '/items/slow') await sleep(400);
        sendJson(res, 200, { id: req.url.split('/').pop(), replica: String(i) });
      }),
    ),
  );
  healthDown = replicas[0];
  harness = await startHarness({ 'items.graphql': schema([replicas[0].url, replicas[1].url]) });
});

after(async () => {
  await harness?.close();
  await Promise.all(replicas.map((r) => r.close()));
});

async function upstream() {
  const res = await fetch(`${harness.gateway.url}/upstreams`);
  return (
    (await res.json()) as {
      upstreams: { name: string; calls: number; replicas: { url: string; health: string; calls: number }[] }[];
    }
  ).upstreams[0];
}

test('an unchanged upstream keeps its health state across a reload', async () => {
  await eventually(async () => (await upstream()).replicas[0].health === 'failed_active_hc', {
    timeoutMs: 3000,
    what: 'replica 0 failing its health check',
  });
  for (let i = 0; i < 5; i++)
    assert.equal((await harness.query('{ item(id: "1") { replica } }')).body.data?.item.replica, '1');
  const before = await upstream();
  harness.writeSchema(
    'items.graphql',
    schema([replicas[0].url, replicas[1].url], 'other(id: ID!): Item @http(GET: "/items/{args.id}")'),
  );
  assert.equal((await harness.gateway.manager.reload()).ok, true);
  // Right after the reload, before any new health check could have run.
  const afterReload = await upstream();
  assert.equal(afterReload.replicas[0].health, 'failed_active_hc');
  assert.equal(afterReload.calls, before.calls);
  const seen0 = dataCalls(replicas[0]);
  for (let i = 0; i < 5; i++)
    assert.equal((await harness.query('{ other(id: "2") { replica } }')).body.data?.other.replica, '1');
  assert.equal(dataCalls(replicas[0]), seen0, 'the unhealthy replica got no call after the reload');
});

test('a changed replica list adds and drains replicas without failing the call in flight', async () => {
  healthDown = undefined;
  await eventually(async () => (await upstream()).replicas.every((r) => r.health === 'healthy'), {
    timeoutMs: 3000,
    what: 'both replicas healthy',
  });
  // Start calls on both old replicas, then swap replica 1 for replica 2 while they run.
  const inFlight = [
    harness.query('{ item(id: "slow") { replica } }'),
    harness.query('{ item(id: "slow") { replica } }'),
  ];
  await sleep(100);
  harness.writeSchema('items.graphql', schema([replicas[0].url, replicas[2].url]));
  assert.equal((await harness.gateway.manager.reload()).ok, true);
  const answers = await Promise.all(inFlight);
  assert.deepEqual(
    answers.map((a) => a.body.errors),
    [undefined, undefined],
  );
  assert.deepEqual(answers.map((a) => a.body.data?.item.replica).sort(), ['0', '1']);
  const seen1 = dataCalls(replicas[1]);
  const got = new Set<string>();
  for (let i = 0; i < 6; i++) got.add((await harness.query('{ item(id: "3") { replica } }')).body.data?.item.replica);
  assert.deepEqual([...got].sort(), ['0', '2']);
  assert.equal(dataCalls(replicas[1]), seen1, 'the removed replica got no new call');
  assert.deepEqual(
    (await upstream()).replicas.map((r) => r.url),
    [replicas[0].url, replicas[2].url],
  );
});
