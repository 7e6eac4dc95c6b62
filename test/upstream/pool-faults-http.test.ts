// Fault injection against real REST replicas, the scenarios the gRPC replica fixture has no
// switch for: a replica that flaps, every replica down (and one coming back), and a write
// whose replica is dead. The table over both protocols is pool-faults.test.ts.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { poolState, summary, tally } from '../helpers/fault-report.js';
import { type Harness, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer } from '../helpers/json-server.js';
import { describeLoad, runLoad } from '../helpers/load.js';
import { type ReplicaProcess, startReplicas } from '../helpers/replica-process.js';
import { eventually, sleep } from '../helpers/wait.js';
import { HEALTH, itemsSchema, type PoolOptions } from './pool-fault-fixtures.js';

const ITEM_QUERY = 'query Item($id: ID!) { item(id: $id) { id name replica } }';
const items = (i: number) => ({ id: String(i + 1) });

/** Replicas and a gateway over them, all stopped when the test ends. */
async function setup(
  t: TestContext,
  count: number,
  prefix: string,
  pool: PoolOptions = {},
  moreFiles: Record<string, string> = {},
) {
  const replicas = await startReplicas('http', count, prefix);
  t.after(async () => {
    for (const r of replicas) r.signal('SIGCONT');
    await Promise.all(replicas.map((r) => r.stop()));
  });
  const h = await startHarness({ 'items.graphql': itemsSchema(replicas, pool), ...moreFiles }, { logLevel: 'warn' });
  t.after(() => h.close());
  return { replicas, h, url: `${h.gateway.url}/graphql` };
}

describe('pool fault injection: REST-only scenarios', () => {
  test('a flapping replica (up 1 s, down 1 s) during ~3 s of load: no failed query', async (t) => {
    // Short ejections, so the flapping replica is let back in after each down phase.
    const { replicas, h, url } = await setup(t, 2, 'flap', { baseEjectionMs: 300 });
    const [a, b] = replicas as [ReplicaProcess, ReplicaProcess];
    // 50 ms per call: 1,000 queries 16 at a time last at least 63 x 50 ms = 3.15 s, whatever
    // the machine's speed, so the load spans up, down, up and part of down again.
    await Promise.all([a.control({ latencyMs: 50 }), b.control({ latencyMs: 50 })]);
    await a.control({ flap: { upMs: 1000, downMs: 1000 } });
    const flapAt = Date.now();
    const who = tally((data) => data?.item?.replica ?? data?.createOrder?.replica);
    const load = await runLoad({
      url,
      query: ITEM_QUERY,
      variables: items,
      total: 1000,
      concurrency: 16,
      inspect: who.inspect,
    });
    const [aReport, bReport] = await Promise.all([a.calls(), b.calls()]);
    const msg = `${summary(load, { [a.name]: aReport, [b.name]: bReport }, who.counts)}\npool: ${await poolState(h)}`;
    t.diagnostic(describeLoad(load));

    assert.equal(load.failed, 0, msg);
    assert.ok(load.durationMs >= 3000, msg);
    assert.ok((aReport.byStatus['503'] ?? 0) > 0, `the flapping replica failed calls while down\n${msg}`);
    assert.ok((aReport.byStatus['200'] ?? 0) > 0, msg);
    // Let back in after its first down phase (1 s .. 2 s).
    const backAfterDown = a.received.filter((c) => c.t >= flapAt + 2000).length;
    assert.ok(backAfterDown > 0, `the flapping replica got no call after its first down phase\n${msg}`);
    // Each query answered once; every failed attempt on the flapping replica went to the other.
    assert.equal(who.counts[a.name] ?? 0, aReport.byStatus['200'], msg);
    assert.equal(who.counts[b.name] ?? 0, bReport.calls, msg);
    assert.equal(bReport.byStatus['200'], bReport.calls, msg);
    assert.equal(aReport.byStatus['200']! + bReport.calls, 1000, msg);
  });

  test('all replicas down: the fields fail fast with UPSTREAM_UNAVAILABLE, others resolve; a returning replica gets traffic', async (t) => {
    const other = await startTestServer((req, res) => sendJson(res, 200, { ok: true, path: req.url }));
    t.after(() => other.close());
    const otherSchema = `extend schema @upstream(name: "other", protocol: HTTP, replicas: [{ url: "${other.url}" }])
type Pong { ok: Boolean! }
type Query { ping: Pong @http(GET: "/ping") }
`;
    const { replicas, h, url } = await setup(t, 2, 'alldown', {}, { 'other.graphql': otherSchema });
    const [a, b] = replicas as [ReplicaProcess, ReplicaProcess];
    const QUERY = '{ item(id: "1") { id replica } ping { ok } }';

    const warm = await runLoad({ url, query: QUERY, total: 100, concurrency: 8 });
    assert.equal(warm.failed, 0, describeLoad(warm));

    await Promise.all([a.kill(), b.kill()]);
    const expectUnavailable = (r: Awaited<ReturnType<Harness['query']>>, what: string) => {
      const detail = `${what}: ${JSON.stringify(r.body)}`;
      assert.equal(r.status, 200, detail);
      assert.deepEqual(r.body.data, { item: null, ping: { ok: true } }, detail);
      assert.equal(r.body.errors?.length, 1, detail);
      assert.deepEqual(r.body.errors![0]!.path, ['item'], detail);
      assert.equal(r.body.errors![0]!.extensions?.code, 'UPSTREAM_UNAVAILABLE', detail);
    };
    // Warm-up failures: outlier detection ejects, health checks fail (2 x 200 ms).
    for (let i = 0; i < 10; i++) expectUnavailable(await h.query(QUERY), `warm-up failure ${i}`);
    await sleep(HEALTH.intervalMs * (HEALTH.unhealthyThreshold + 1));
    const latencies: number[] = [];
    for (let i = 0; i < 30; i++) {
      const started = performance.now();
      const r = await h.query(QUERY);
      latencies.push(performance.now() - started);
      expectUnavailable(r, `query ${i} with every replica down`);
    }
    const slowest = Math.max(...latencies);
    t.diagnostic(`all down: 30 queries, slowest ${slowest.toFixed(1)} ms`);
    assert.ok(
      slowest < 100,
      `a query took ${slowest.toFixed(1)} ms with every replica down (latencies ${latencies.map((l) => l.toFixed(0)).join(',')})\npool: ${await poolState(h)}`,
    );

    // One replica returns on its port: traffic reaches it within the health checks' rise time.
    await a.restart();
    const backAt = a.listeningAt;
    const bound = HEALTH.intervalMs * HEALTH.healthyThreshold + 400;
    const served = await eventually(
      async () => {
        const r = await h.query(QUERY);
        return r.body.data?.item?.replica === a.name && !r.body.errors ? Date.now() : 0;
      },
      { timeoutMs: bound + 2000, what: 'a query answered by the returning replica' },
    );
    const aReport = await a.calls();
    const msg = `returned at ${backAt}, first data call at ${aReport.firstCallAt}, first query served at ${served}\npool: ${await poolState(h)}`;
    t.diagnostic(
      `returning replica: first call ${aReport.firstCallAt! - backAt} ms, first answer ${served - backAt} ms after it listened`,
    );
    assert.ok(aReport.firstCallAt !== null && aReport.firstCallAt - backAt <= bound, msg);
    assert.ok(served - backAt <= bound, msg);
    // And from there on it carries the upstream alone (its peer is still dead): no failure.
    const after = await runLoad({ url, query: QUERY, total: 200, concurrency: 8 });
    assert.equal(after.failed, 0, `${describeLoad(after)}\npool: ${await poolState(h)}`);
  });

  test('a mutation that never reached a replica (it is dead) goes to the other one', async (t) => {
    const { replicas, h, url } = await setup(t, 2, 'write-dead', { retries: 2 });
    const [a, b] = replicas as [ReplicaProcess, ReplicaProcess];
    const MUTATION =
      'mutation Create($ref: String!) { createOrder(input: { ref: $ref, itemId: "1", quantity: 1 }) { id ref replica } }';
    await a.kill();
    await sleep(50); // the gateway's idle connections to it see the reset
    const who = tally((data) => data?.item?.replica ?? data?.createOrder?.replica);
    const load = await runLoad({
      url,
      query: MUTATION,
      variables: (i) => ({ ref: `w-${i}` }),
      total: 40,
      concurrency: 4,
      inspect: who.inspect,
    });
    const bReport = await b.calls();
    const msg = `${summary(load, { [a.name]: a.received.length, [b.name]: bReport }, who.counts)}\npool: ${await poolState(h)}`;
    assert.equal(load.failed, 0, msg);
    assert.equal(a.received.length, 0, msg);
    assert.deepEqual(
      bReport.orders.map((o) => o.ref).sort(),
      Array.from({ length: 40 }, (_, i) => `w-${i}`).sort(),
      msg,
    );
    assert.deepEqual(who.counts, { [b.name]: 40 }, msg);
  });

  test('a replica failing every other call is ejected by the failure-percentage rule: no failed query, the log and metrics say why', async (t) => {
    // Consecutive failures never reach 1000 here; intervals of 300 ms each hold tens of calls
    // per replica at this load, over the request volume of 5.
    const { replicas, h, url } = await setup(t, 2, 'half', {
      consecutiveFailures: 1000,
      baseEjectionMs: 60_000,
      outlier: 'intervalMs: 300, failurePercentageRequestVolume: 5',
    });
    const [a, b] = replicas as [ReplicaProcess, ReplicaProcess];
    await a.control({ failEvery: 2 });
    const load = await runLoad({ url, query: ITEM_QUERY, variables: items, total: 400, concurrency: 2 });
    const [aReport, bReport] = await Promise.all([a.calls(), b.calls()]);
    const msg = `${describeLoad(load)}\na: ${JSON.stringify(aReport.byStatus)} b: ${JSON.stringify(bReport.byStatus)}\npool: ${await poolState(h)}`;
    assert.equal(load.failed, 0, msg);
    const ejected = h.logs.filter((l) => l.msg === 'replica ejected by outlier detection');
    assert.deepEqual(
      ejected.map((l) => [l.replica, l.reason, l.ejectedForMs]),
      [[a.url, 'failure_percentage', 60_000]],
      msg,
    );
    assert.ok((aReport.byStatus['503'] ?? 0) >= 3, `a failed every other call before\n${msg}`);
    // Calls already on their way when it was ejected may still arrive; none is sent after.
    const late = a.received.filter((c) => c.t > ejected[0]!.time + 100);
    assert.equal(late.length, 0, `no call reaches the ejected replica\n${msg}`);
    const metrics = await (await fetch(`${h.gateway.url}/metrics`)).text();
    assert.ok(
      metrics.includes(
        `quilt_upstream_ejections_total{upstream="items",replica="${a.url}",reason="failure_percentage"} 1`,
      ),
      metrics
        .split('\n')
        .filter((l) => l.startsWith('quilt_upstream_ejections'))
        .join('\n'),
    );
  });
});
