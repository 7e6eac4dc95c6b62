// Fault injection against real REST replicas (issue 4, item 8): each replica is its own
// process on 127.0.0.1 (test/fixtures/replicas/http-replica.ts), the gateway runs in this
// process, and a bounded load (at most 2,000 queries, 16 at a time) goes through it while a
// replica is killed, hung, made to fail, reported down or made to flap. Each scenario asserts
// how many client responses failed AND what reached each replica: the replica's own counters
// (GET /__calls) and, for a killed replica, the calls it announced on its stdout before
// dying. Every query names the replica that answered it (`replica` field), so the tests also
// tally who served what from the client side.
//
// The pool rules under test (DESIGN.md section 4): retries go to another replica; always for
// a call that never reached one; for reads also after a 5xx or a per-try timeout; never for
// a write that reached one. Outlier detection ejects after consecutive failures; health
// checks take a replica out after unhealthyThreshold failed probes; with nothing healthy the
// pool tries every replica (panic mode) and fails fast with UPSTREAM_UNAVAILABLE.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { startHarness, type Harness } from './helpers/gateway-harness.js';
import { sendJson, startTestServer } from './helpers/json-server.js';
import { describeLoad, runLoad, type GraphQLBody } from './helpers/load.js';
import { poolState, summary, tally } from './helpers/fault-report.js';
import { startReplicas, waitFor, type ReplicaProcess } from './helpers/replica-process.js';

// Probes every 200 ms; a generous probe timeout, because the gateway shares its event loop
// with the load generator here: under CPU contention a healthy replica's probe answer can be
// late, and two late ones would take a healthy replica out.
const HEALTH = { intervalMs: 200, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 2 };
const ITEM_QUERY = 'query Item($id: ID!) { item(id: $id) { id name replica } }';

interface PoolOptions {
  tryTimeoutMs?: number;
  consecutiveFailures?: number;
  baseEjectionMs?: number;
  retries?: number;
  /** Extra @upstream arguments, written as they are. */
  extra?: string;
}

/**
 * The items source over the given replicas, with small health intervals. The per-try timeout
 * is long (3 s) except where a test sets it: no healthy call may time out under CPU
 * contention, since the tests count exactly who answered what.
 */
function itemsSchema(replicas: readonly ReplicaProcess[], o: PoolOptions = {}): string {
  const health = `{ path: "/health", intervalMs: ${HEALTH.intervalMs}, timeoutMs: ${HEALTH.timeoutMs}, healthyThreshold: ${HEALTH.healthyThreshold}, unhealthyThreshold: ${HEALTH.unhealthyThreshold} }`;
  return `extend schema @upstream(
  name: "items"
  protocol: HTTP
  replicas: [${replicas.map((r) => `{ url: "${r.url}" }`).join(', ')}]
  health: ${health}
  outlierDetection: { consecutiveFailures: ${o.consecutiveFailures ?? 3}, baseEjectionMs: ${o.baseEjectionMs ?? 10000} }
  timeoutMs: 8000
  tryTimeoutMs: ${o.tryTimeoutMs ?? 3000}
  retries: ${o.retries ?? 2}${o.extra ? `\n  ${o.extra}` : ''}
)

type Item { id: ID! name: String! replica: String! }
type Order { id: ID! ref: String! itemId: ID! quantity: Int! replica: String! }
input NewOrder { ref: String! itemId: ID! quantity: Int! }

type Query {
  item(id: ID!): Item @http(GET: "/items/{args.id}")
  items: [Item!]! @http(GET: "/items")
}

type Mutation {
  createOrder(input: NewOrder!): Order @http(POST: "/orders", body: "{args.input}")
}
`;
}

/** Replicas and a gateway over them, all stopped when the test ends. */
async function setup(t: TestContext, count: number, prefix: string, pool: PoolOptions = {}, moreFiles: Record<string, string> = {}) {
  const replicas = await startReplicas('http', count, prefix);
  t.after(async () => {
    for (const r of replicas) r.signal('SIGCONT'); // a hung one first resumes, then all go
    await Promise.all(replicas.map((r) => r.stop()));
  });
  // warn: no access log line per query (the pool's warnings are kept).
  const h = await startHarness({ 'items.graphql': itemsSchema(replicas, pool), ...moreFiles }, { logLevel: 'warn' });
  t.after(() => h.close());
  return { replicas, h, url: `${h.gateway.url}/graphql` };
}


const items = (i: number) => ({ id: String(i + 1) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pool fault injection: REST replicas as separate processes', () => {
  test('one of two replicas SIGKILLed mid-load: no failed query, the survivor serves the rest', async (t) => {
    const { replicas, h, url } = await setup(t, 2, 'kill');
    const [a, b] = replicas as [ReplicaProcess, ReplicaProcess];
    const who = tally((data) => data?.item?.replica ?? data?.createOrder?.replica);
    let killedAt = 0;
    const load = await runLoad({
      url,
      query: ITEM_QUERY,
      variables: items,
      total: 2000,
      concurrency: 16,
      inspect: who.inspect,
      onProgress: (done) => {
        if (done === 500) {
          a.signal('SIGKILL');
          killedAt = Date.now();
        }
      },
    });
    await a.exited;
    const bReport = await b.calls();
    const msg = `${summary(load, { [a.name]: a.received.length, [b.name]: bReport }, who.counts)}\npool: ${await poolState(h)}`;
    t.diagnostic(describeLoad(load));

    assert.equal(load.failed, 0, msg);
    assert.equal(a.exit?.signal, 'SIGKILL');
    const answeredByA = who.counts[a.name] ?? 0;
    const answeredByB = who.counts[b.name] ?? 0;
    assert.equal(answeredByA + answeredByB, 2000, msg);
    // Round robin over two healthy replicas until the kill at 500 done.
    assert.ok(answeredByA >= 150, `the killed replica served its share before dying\n${msg}`);
    // It cannot have seen anything after its death; what it received but never answered
    // (in flight at the kill, at most the load's concurrency) was retried elsewhere.
    assert.ok(a.received.every((c) => c.t <= killedAt + 5), msg);
    assert.ok(a.received.length >= answeredByA && a.received.length - answeredByA <= 16, msg);
    // The survivor got the rest, each exactly once, and answered all of it.
    assert.equal(bReport.calls, answeredByB, msg);
    assert.equal(bReport.byStatus['200'], bReport.calls, msg);
    assert.equal(answeredByB, 2000 - answeredByA, msg);
  });

  test('one replica hung (SIGSTOP): no failed query, p99 within the per-try timeout plus a healthy call', async (t) => {
    const TRY_TIMEOUT_MS = 200;
    // 1,000 queries, not 2,000: when the replica hangs, round robin soon has every one of the
    // 16 workers waiting on it until the first per-try timeouts eject it, so about 16 queries
    // pay a timeout. They must be more than 1% of the load for the p99 to measure them.
    const TOTAL = 1000;
    const { replicas, h, url } = await setup(t, 2, 'hang', { tryTimeoutMs: TRY_TIMEOUT_MS });
    const [a, b] = replicas as [ReplicaProcess, ReplicaProcess];
    // "A healthy call": the p99 of the same load with nothing wrong, on this machine now (at
    // least 150 ms), measured once the gateway's code is warm (its first queries are slower).
    await runLoad({ url, query: ITEM_QUERY, variables: items, total: 100, concurrency: 16 });
    const healthy = await runLoad({ url, query: ITEM_QUERY, variables: items, total: 300, concurrency: 16 });
    assert.equal(healthy.failed, 0, describeLoad(healthy));
    const marginMs = Math.max(150, healthy.p99);
    await Promise.all([a.calls(true), b.calls(true)]);
    const receivedBefore = a.received.length;

    const who = tally((data) => data?.item?.replica ?? data?.createOrder?.replica);
    let stoppedAt = 0;
    const load = await runLoad({
      url,
      query: ITEM_QUERY,
      variables: items,
      total: TOTAL,
      concurrency: 16,
      inspect: who.inspect,
      onProgress: (done) => {
        if (done === 300) {
          a.signal('SIGSTOP');
          stoppedAt = Date.now();
        }
      },
    });
    // A stopped process writes nothing: what it announced is all it received.
    await sleep(50);
    const receivedAtStop = a.received.length - receivedBefore;
    const bReport = await b.calls();
    const slow = load.latenciesMs.filter((l) => l >= TRY_TIMEOUT_MS).length;
    const msg =
      `${summary(load, { [a.name]: receivedAtStop, [b.name]: bReport }, who.counts)}\n` +
      `healthy p99 ${healthy.p99.toFixed(1)} ms; ${slow} queries took ${TRY_TIMEOUT_MS} ms or more; the slowest: ${load.latenciesMs.slice(-20).map((l) => l.toFixed(0)).join(',')}\n` +
      `pool: ${await poolState(h)}`;
    t.diagnostic(`healthy p99 ${healthy.p99.toFixed(1)} ms; ${describeLoad(load)}; ${slow} queries >= ${TRY_TIMEOUT_MS} ms`);

    assert.equal(load.failed, 0, msg);
    assert.ok(load.p99 < TRY_TIMEOUT_MS + marginMs, `p99 ${load.p99.toFixed(1)} ms >= ${TRY_TIMEOUT_MS} + ${marginMs.toFixed(1)} ms\n${msg}`);
    const answeredByA = who.counts[a.name] ?? 0;
    const answeredByB = who.counts[b.name] ?? 0;
    assert.equal(answeredByA + answeredByB, TOTAL, msg);
    assert.ok(answeredByA >= 100, `the hung replica served its share before it hung\n${msg}`);
    assert.ok(a.received.every((c) => c.t <= stoppedAt + 5), msg);
    // What reached the hung replica and got no answer was retried on the other one.
    assert.ok(receivedAtStop >= answeredByA, msg);
    assert.equal(bReport.calls, answeredByB, msg);
    assert.equal(bReport.byStatus['200'], bReport.calls, msg);
  });

  test('one replica answering 503 to every other call: no failed query, each 503 retried once on the other', async (t) => {
    // What is under test is the retry of each 503 read, hundreds of times, so the failing
    // replica must stay in rotation: responses can complete at the gateway in another order
    // than the replica answered them, so strict alternation may still look like 3 failures in
    // a row, and outlier detection would eject it (right, but the end of this test's subject).
    // Its threshold is raised here, and so is the retry budget: under round robin a quarter
    // of all calls meet a 503, above the default budget (20% of calls plus a floor).
    const { replicas, h, url } = await setup(t, 2, 'half', { consecutiveFailures: 50, extra: 'retryBudget: { percent: 50 }' });
    const [a, b] = replicas as [ReplicaProcess, ReplicaProcess];
    await a.control({ failEvery: 2 });
    const who = tally((data) => data?.item?.replica ?? data?.createOrder?.replica);
    const load = await runLoad({ url, query: ITEM_QUERY, variables: items, total: 1000, concurrency: 16, inspect: who.inspect });
    const [aReport, bReport] = await Promise.all([a.calls(), b.calls()]);
    const msg = `${summary(load, { [a.name]: aReport, [b.name]: bReport }, who.counts)}\npool: ${await poolState(h)}`;
    t.diagnostic(describeLoad(load));

    assert.equal(load.failed, 0, msg);
    // Exact alternation on the failing replica: ok, 503, ok, 503...
    assert.ok(aReport.calls >= 200, `the failing replica still got its share\n${msg}`);
    assert.equal(aReport.byStatus['503'], Math.floor(aReport.calls / 2), msg);
    assert.equal(aReport.byStatus['200'], Math.ceil(aReport.calls / 2), msg);
    // Every 503 went to the healthy replica, once: it answered all it got, and the two
    // together answered each query exactly once.
    assert.equal(who.counts[a.name] ?? 0, aReport.byStatus['200'], msg);
    assert.equal(who.counts[b.name] ?? 0, bReport.calls, msg);
    assert.equal(bReport.byStatus['200'], bReport.calls, msg);
    assert.equal(aReport.byStatus['200']! + bReport.calls, 1000, msg);
  });

  test('a replica whose /health says down while it still answers gets no data calls after the threshold', async (t) => {
    const { replicas, h, url } = await setup(t, 2, 'health');
    const [a, b] = replicas as [ReplicaProcess, ReplicaProcess];
    const first = await runLoad({ url, query: ITEM_QUERY, variables: items, total: 300, concurrency: 16 });
    const [a1, b1] = await Promise.all([a.calls(), b.calls()]);
    assert.equal(first.failed, 0, summary(first, { [a.name]: a1, [b.name]: b1 }));
    assert.ok(a1.calls >= 100 && b1.calls >= 100, `both replicas serve while healthy: ${a1.calls} / ${b1.calls}`);

    await a.control({ health: 'down' });
    const downAt = Date.now();
    // The checker probes a replica again only after its previous probe settled, so once the
    // replica has seen unhealthyThreshold + 1 probes answered 503, the gateway has recorded
    // unhealthyThreshold failures in a row.
    const baseline503 = a1.healthByStatus['503'] ?? 0;
    await waitFor(async () => ((await a.calls()).healthByStatus['503'] ?? 0) - baseline503 >= HEALTH.unhealthyThreshold + 1, 5000, 'replica probed down');
    const tookMs = Date.now() - downAt;
    const a2 = await a.calls();

    const second = await runLoad({ url, query: ITEM_QUERY, variables: items, total: 600, concurrency: 16 });
    const [a3, b3] = await Promise.all([a.calls(), b.calls()]);
    const msg = `${summary(second, { [a.name]: a3, [b.name]: b3 })}\ndown after ${tookMs} ms\npool: ${await poolState(h)}`;
    t.diagnostic(`marked down within ${tookMs} ms; ${describeLoad(second)}`);

    assert.equal(second.failed, 0, msg);
    assert.equal(a3.calls, a2.calls, `the replica reported down got data calls\n${msg}`);
    assert.equal(b3.calls - b1.calls, 600, msg);
    // It is still probed (so it can come back).
    assert.ok(a3.health > a2.health, msg);
  });

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
    const load = await runLoad({ url, query: ITEM_QUERY, variables: items, total: 1000, concurrency: 16, inspect: who.inspect });
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
    assert.ok(slowest < 100, `a query took ${slowest.toFixed(1)} ms with every replica down (latencies ${latencies.map((l) => l.toFixed(0)).join(',')})\npool: ${await poolState(h)}`);

    // One replica returns on its port: traffic reaches it within the health checks' rise time.
    await a.restart();
    const backAt = a.listeningAt;
    const bound = HEALTH.intervalMs * HEALTH.healthyThreshold + 400;
    const served = await waitFor(
      async () => {
        const r = await h.query(QUERY);
        return r.body.data?.item?.replica === a.name && !r.body.errors ? Date.now() : 0;
      },
      bound + 2000,
      'a query answered by the returning replica',
    );
    const aReport = await a.calls();
    const msg = `returned at ${backAt}, first data call at ${aReport.firstCallAt}, first query served at ${served}\npool: ${await poolState(h)}`;
    t.diagnostic(`returning replica: first call ${aReport.firstCallAt! - backAt} ms, first answer ${served - backAt} ms after it listened`);
    assert.ok(aReport.firstCallAt !== null && aReport.firstCallAt - backAt <= bound, msg);
    assert.ok(served - backAt <= bound, msg);
    // And from there on it carries the upstream alone (its peer is still dead): no failure.
    const after = await runLoad({ url, query: QUERY, total: 200, concurrency: 8 });
    assert.equal(after.failed, 0, `${describeLoad(after)}\npool: ${await poolState(h)}`);
  });

  test('a mutation whose replica answers 503 after recording it: sent once, the client gets UPSTREAM_ERROR 503', async (t) => {
    const { replicas, h, url } = await setup(t, 2, 'write', { retries: 2 });
    const [a, b] = replicas as [ReplicaProcess, ReplicaProcess];
    await Promise.all([a.control({ failWritesAfterRecording: true }), b.control({ failWritesAfterRecording: true })]);
    const MUTATION = 'mutation Create($ref: String!) { createOrder(input: { ref: $ref, itemId: "1", quantity: 2 }) { id ref replica } }';
    const responses: GraphQLBody[] = [];
    const load = await runLoad({
      url,
      query: MUTATION,
      variables: (i) => ({ ref: `order-${i}` }),
      total: 40,
      concurrency: 4,
      inspect: ({ body }) => responses.push(body ?? {}),
    });
    const [aReport, bReport] = await Promise.all([a.calls(), b.calls()]);
    const msg = `${summary(load, { [a.name]: aReport, [b.name]: bReport })}\npool: ${await poolState(h)}`;

    assert.equal(load.failed, 40, msg);
    assert.deepEqual(load.byCode, { UPSTREAM_ERROR: 40 }, msg);
    for (const body of responses) {
      assert.deepEqual(body.data, { createOrder: null }, msg);
      assert.equal(body.errors?.length, 1, JSON.stringify(body));
      assert.equal(body.errors![0]!.extensions?.code, 'UPSTREAM_ERROR', JSON.stringify(body));
      assert.equal(body.errors![0]!.extensions?.status, 503, JSON.stringify(body));
      assert.equal(body.errors![0]!.extensions?.upstream, 'items', JSON.stringify(body));
    }
    // Each write reached the backends exactly once: never retried on the other replica.
    const refs = [...aReport.orders, ...bReport.orders].map((o) => o.ref).sort();
    assert.deepEqual(refs, Array.from({ length: 40 }, (_, i) => `order-${i}`).sort(), msg);
    assert.equal((aReport.byRoute['POST /orders'] ?? 0) + (bReport.byRoute['POST /orders'] ?? 0), 40, msg);
  });

  test('a mutation that never reached a replica (it is dead) goes to the other one', async (t) => {
    const { replicas, h, url } = await setup(t, 2, 'write-dead', { retries: 2 });
    const [a, b] = replicas as [ReplicaProcess, ReplicaProcess];
    const MUTATION = 'mutation Create($ref: String!) { createOrder(input: { ref: $ref, itemId: "1", quantity: 1 }) { id ref replica } }';
    await a.kill();
    await sleep(50); // the gateway's idle connections to it see the reset
    const who = tally((data) => data?.item?.replica ?? data?.createOrder?.replica);
    const load = await runLoad({ url, query: MUTATION, variables: (i) => ({ ref: `w-${i}` }), total: 40, concurrency: 4, inspect: who.inspect });
    const bReport = await b.calls();
    const msg = `${summary(load, { [a.name]: a.received.length, [b.name]: bReport }, who.counts)}\npool: ${await poolState(h)}`;
    assert.equal(load.failed, 0, msg);
    assert.equal(a.received.length, 0, msg);
    assert.deepEqual(bReport.orders.map((o) => o.ref).sort(), Array.from({ length: 40 }, (_, i) => `w-${i}`).sort(), msg);
    assert.deepEqual(who.counts, { [b.name]: 40 }, msg);
  });
});
