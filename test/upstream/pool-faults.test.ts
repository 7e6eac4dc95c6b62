// Fault injection against real replicas, one table over the protocol: each replica is its own
// process on 127.0.0.1 (test/fixtures/replicas/http-replica.ts, a REST items service, and
// grpc-replica.ts, the demo's shop.orders.v1.OrderService with grpc.health.v1), the gateway
// runs in this process, and a bounded load (at most 2,000 queries, 16 at a time) goes
// through it while a replica is killed, hung, made to fail or reported down. Each scenario
// asserts how many client responses failed AND what reached each replica: the replica's own
// counters (over its control port) and, for a killed replica, the calls it announced on its
// stdout before dying. Every answer names the replica that gave it, so the tests also tally
// who served what from the client side.
//
// The pool rules under test (README, "Upstream pools"): retries go to another replica; always
// for a call that never reached one; for reads also after a server error (HTTP 5xx, gRPC
// UNAVAILABLE) or a per-try timeout; never for a write that reached one. Health checks take
// a replica out after unhealthyThreshold failed probes. The HTTP-only scenarios (flapping,
// every replica down, a write to a dead replica) are in pool-faults-http.test.ts.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { poolState, summary, tally } from '../helpers/fault-report.js';
import { startHarness } from '../helpers/gateway-harness.js';
import { ORDERS_PROTO_TEXT } from '../helpers/grpc-fixtures.js';
import { describeLoad, type GraphQLBody, runLoad } from '../helpers/load.js';
import { type CallsReport, type ReplicaKind, type ReplicaProcess, startReplicas } from '../helpers/replica-process.js';
import { eventually, sleep } from '../helpers/wait.js';
import { HEALTH, itemsSchema, type PoolOptions } from './pool-fault-fixtures.js';

/** What differs between the protocols; every scenario below is written once against it. */
interface ProtocolCase {
  kind: ReplicaKind;
  /** The schema files of the source over `replicas`. */
  files(replicas: readonly ReplicaProcess[], pool: PoolOptions): Record<string, string>;
  /** A read, its variables per query index, and the replica named in its answer. */
  read: { query: string; variables: (i: number) => Record<string, unknown> };
  answeredBy(data: Record<string, any> | null | undefined): unknown;
  /** A write, with a distinct value per query that the replica records. */
  write: {
    query: string;
    variables: (i: number) => Record<string, unknown>;
    recorded(report: CallsReport): string[];
    route: string;
    code: string;
  };
  /** The replica's status label for a good answer and for the server error it is made to send. */
  ok: string;
  serverError: string;
  /** What the control endpoint takes to fail health checks, and the probe status it then counts. */
  healthDown: string;
}

const REST: ProtocolCase = {
  kind: 'http',
  files: (replicas, pool) => ({ 'items.graphql': itemsSchema(replicas, pool) }),
  read: {
    query: 'query Item($id: ID!) { item(id: $id) { id name replica } }',
    variables: (i) => ({ id: String(i + 1) }),
  },
  answeredBy: (data) => data?.item?.replica ?? data?.createOrder?.replica,
  write: {
    query:
      'mutation Create($ref: String!) { createOrder(input: { ref: $ref, itemId: "1", quantity: 2 }) { id ref replica } }',
    variables: (i) => ({ ref: `order-${i}` }),
    recorded: (report) => report.orders.map((o) => o.ref!),
    route: 'POST /orders',
    // A 503 that the replica sent after recording the write: the status mapping's UPSTREAM_UNAVAILABLE.
    code: 'UPSTREAM_UNAVAILABLE',
  },
  ok: '200',
  serverError: '503',
  healthDown: 'down',
};

const GRPC: ProtocolCase = {
  kind: 'grpc',
  files: (replicas, pool) => ({ 'orders.graphql': ordersSchema(replicas, pool), 'orders.proto': ORDERS_PROTO_TEXT }),
  // Seed order ids "<user 1..100>-<k 1..3>".
  read: {
    query: 'query Order($id: ID!) { order(id: $id) { id total note } }',
    variables: (i) => ({ id: `${(i % 100) + 1}-${(i % 3) + 1}` }),
  },
  answeredBy: (data) => data?.order?.note ?? data?.createOrder?.note,
  write: {
    query:
      'mutation Create($ref: ID!) { createOrder(userId: $ref, items: [{ productId: "1", quantity: 1 }]) { id note } }',
    variables: (i) => ({ ref: `order-${i}` }),
    recorded: (report) => report.orders.map((o) => o.userId!),
    route: 'CreateOrder',
    // UNAVAILABLE -> UPSTREAM_UNAVAILABLE, as the gRPC status mapping says.
    code: 'UPSTREAM_UNAVAILABLE',
  },
  ok: 'OK',
  serverError: 'UNAVAILABLE',
  healthDown: 'NOT_SERVING',
};

function ordersSchema(replicas: readonly ReplicaProcess[], o: PoolOptions): string {
  return `extend schema @upstream(
  name: "orders"
  protocol: GRPC
  proto: "orders.proto"
  service: "shop.orders.v1.OrderService"
  replicas: [${replicas.map((r) => `{ url: "${r.url}" }`).join(', ')}]
  health: { intervalMs: ${HEALTH.intervalMs}, timeoutMs: ${HEALTH.timeoutMs}, healthyThreshold: ${HEALTH.healthyThreshold}, unhealthyThreshold: ${HEALTH.unhealthyThreshold} }
  outlierDetection: { consecutiveFailures: ${o.consecutiveFailures ?? 3}, baseEjectionMs: 10000 }
  timeoutMs: 8000
  tryTimeoutMs: ${o.tryTimeoutMs ?? 3000}
  retries: 2${o.extra ? `\n  ${o.extra}` : ''}
)

type Order {
  id: ID!
  userId: ID!
  total: Float!
  "the replica that answered (the test replicas sign their orders)"
  note: String
}

input NewOrderItem {
  productId: ID!
  quantity: Int!
}

type Query {
  order(id: ID!): Order @grpc(method: "GetOrder", request: { id: "{args.id}" }, result: "order")
}

type Mutation {
  createOrder(userId: ID!, items: [NewOrderItem!]!): Order @grpc(method: "CreateOrder", request: { userId: "{args.userId}", items: "{args.items}" }, result: "order")
}
`;
}

/** Two replicas and a gateway over them, all stopped when the test ends. */
async function setup(t: TestContext, p: ProtocolCase, prefix: string, pool: PoolOptions = {}) {
  const replicas = await startReplicas(p.kind, 2, `${p.kind}-${prefix}`);
  t.after(async () => {
    for (const r of replicas) r.signal('SIGCONT'); // a hung one first resumes, then all go
    await Promise.all(replicas.map((r) => r.stop()));
  });
  // warn: no access log line per query (the pool's warnings are kept).
  const h = await startHarness(p.files(replicas, pool), { logLevel: 'warn' });
  t.after(() => h.close());
  return { a: replicas[0]!, b: replicas[1]!, h, url: `${h.gateway.url}/graphql` };
}

for (const p of [REST, GRPC]) {
  describe(`pool fault injection: ${p.kind} replicas as separate processes`, () => {
    const read = (url: string, total: number, more: Partial<Parameters<typeof runLoad>[0]> = {}) =>
      runLoad({ url, query: p.read.query, variables: p.read.variables, total, concurrency: 16, ...more });

    test('one of two replicas SIGKILLed mid-load: no failed query, the survivor serves the rest', async (t) => {
      const { a, b, h, url } = await setup(t, p, 'kill');
      const who = tally(p.answeredBy);
      let killedAt = 0;
      const load = await read(url, 2000, {
        inspect: who.inspect,
        onProgress: (done) => {
          if (done !== 500) return;
          a.signal('SIGKILL');
          killedAt = Date.now();
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
      assert.ok(
        a.received.every((c) => c.t <= killedAt + 5),
        msg,
      );
      assert.ok(a.received.length >= answeredByA && a.received.length - answeredByA <= 16, msg);
      // The survivor got the rest, each exactly once, and answered all of it.
      assert.equal(bReport.calls, answeredByB, msg);
      assert.equal(bReport.byStatus[p.ok], bReport.calls, msg);
    });

    test('one replica hung (SIGSTOP): no failed query, p99 within the per-try timeout plus a healthy call', async (t) => {
      const TRY_TIMEOUT_MS = 200;
      // 1,000 queries, not 2,000: when the replica hangs, round robin soon has every one of the
      // 16 workers waiting on it until the first per-try timeouts eject it, so about 16 queries
      // pay a timeout. They must be more than 1% of the load for the p99 to measure them.
      const TOTAL = 1000;
      const { a, b, h, url } = await setup(t, p, 'hang', { tryTimeoutMs: TRY_TIMEOUT_MS });
      // "A healthy call": the p99 of the same load with nothing wrong, on this machine now (at
      // least 150 ms), measured once the gateway's code is warm (its first queries are slower).
      await read(url, 100);
      const healthy = await read(url, 300);
      assert.equal(healthy.failed, 0, describeLoad(healthy));
      const marginMs = Math.max(150, healthy.p99);
      await Promise.all([a.calls(true), b.calls(true)]);
      const receivedBefore = a.received.length;

      const who = tally(p.answeredBy);
      let stoppedAt = 0;
      const load = await read(url, TOTAL, {
        inspect: who.inspect,
        onProgress: (done) => {
          if (done !== 300) return;
          a.signal('SIGSTOP');
          stoppedAt = Date.now();
        },
      });
      // A stopped process writes nothing: what it announced is all it received.
      await sleep(50);
      const receivedAtStop = a.received.length - receivedBefore;
      const bReport = await b.calls();
      const slow = load.latenciesMs.filter((l) => l >= TRY_TIMEOUT_MS).length;
      const msg =
        `${summary(load, { [a.name]: receivedAtStop, [b.name]: bReport }, who.counts)}\n` +
        `healthy p99 ${healthy.p99.toFixed(1)} ms; ${slow} queries took ${TRY_TIMEOUT_MS} ms or more; the slowest: ${load.latenciesMs
          .slice(-20)
          .map((l) => l.toFixed(0))
          .join(',')}\n` +
        `pool: ${await poolState(h)}`;
      t.diagnostic(
        `healthy p99 ${healthy.p99.toFixed(1)} ms; ${describeLoad(load)}; ${slow} queries >= ${TRY_TIMEOUT_MS} ms`,
      );

      assert.equal(load.failed, 0, msg);
      assert.ok(
        load.p99 < TRY_TIMEOUT_MS + marginMs,
        `p99 ${load.p99.toFixed(1)} ms >= ${TRY_TIMEOUT_MS} + ${marginMs.toFixed(1)} ms\n${msg}`,
      );
      const answeredByA = who.counts[a.name] ?? 0;
      const answeredByB = who.counts[b.name] ?? 0;
      assert.equal(answeredByA + answeredByB, TOTAL, msg);
      assert.ok(answeredByA >= 100, `the hung replica served its share before it hung\n${msg}`);
      assert.ok(
        a.received.every((c) => c.t <= stoppedAt + 5),
        msg,
      );
      // What reached the hung replica and got no answer was retried on the other one.
      assert.ok(receivedAtStop >= answeredByA, msg);
      assert.equal(bReport.calls, answeredByB, msg);
      assert.equal(bReport.byStatus[p.ok], bReport.calls, msg);
    });

    test(`one replica answering ${p.serverError} to every other call: no failed query, each failure retried once on the other`, async (t) => {
      // What is under test is the retry of each failed read, hundreds of times, so the failing
      // replica must stay in rotation: responses can complete at the gateway in another order
      // than the replica answered them, so strict alternation may still look like 3 failures in
      // a row, and outlier detection would eject it (right, but the end of this test's subject).
      // Its threshold is raised here, and so is the retry budget: under round robin a quarter
      // of all calls meet a failure, above the default budget (20% of calls plus a floor).
      const { a, b, h, url } = await setup(t, p, 'half', {
        consecutiveFailures: 50,
        extra: 'retryBudget: { percent: 50 }',
      });
      await a.control({ failEvery: 2 });
      const who = tally(p.answeredBy);
      const load = await read(url, 1000, { inspect: who.inspect });
      const [aReport, bReport] = await Promise.all([a.calls(), b.calls()]);
      const msg = `${summary(load, { [a.name]: aReport, [b.name]: bReport }, who.counts)}\npool: ${await poolState(h)}`;
      t.diagnostic(describeLoad(load));

      assert.equal(load.failed, 0, msg);
      // Exact alternation on the failing replica: ok, failure, ok, failure...
      assert.ok(aReport.calls >= 200, `the failing replica still got its share\n${msg}`);
      assert.equal(aReport.byStatus[p.serverError], Math.floor(aReport.calls / 2), msg);
      assert.equal(aReport.byStatus[p.ok], Math.ceil(aReport.calls / 2), msg);
      // Every failure went to the healthy replica, once: it answered all it got, and the two
      // together answered each query exactly once.
      assert.equal(who.counts[a.name] ?? 0, aReport.byStatus[p.ok], msg);
      assert.equal(who.counts[b.name] ?? 0, bReport.calls, msg);
      assert.equal(bReport.byStatus[p.ok], bReport.calls, msg);
      assert.equal(aReport.byStatus[p.ok]! + bReport.calls, 1000, msg);
    });

    test(`health checks answered ${p.healthDown} while the replica still answers: no data calls after the threshold`, async (t) => {
      const { a, b, h, url } = await setup(t, p, 'health');
      const first = await read(url, 300);
      const [a1, b1] = await Promise.all([a.calls(), b.calls()]);
      assert.equal(first.failed, 0, summary(first, { [a.name]: a1, [b.name]: b1 }));
      assert.ok(a1.calls >= 100 && b1.calls >= 100, `both replicas serve while healthy: ${a1.calls} / ${b1.calls}`);

      await a.control({ health: p.healthDown });
      const downAt = Date.now();
      // The checker probes a replica again only after its previous probe settled, so once the
      // replica has seen unhealthyThreshold + 1 failed probes, the gateway has recorded
      // unhealthyThreshold failures in a row.
      const downStatus = p.kind === 'http' ? '503' : p.healthDown;
      const baseline = a1.healthByStatus[downStatus] ?? 0;
      await eventually(
        async () => ((await a.calls()).healthByStatus[downStatus] ?? 0) - baseline >= HEALTH.unhealthyThreshold + 1,
        { what: 'replica probed down' },
      );
      const tookMs = Date.now() - downAt;
      const a2 = await a.calls();

      const second = await read(url, 600);
      const [a3, b3] = await Promise.all([a.calls(), b.calls()]);
      const msg = `${summary(second, { [a.name]: a3, [b.name]: b3 })}\ndown after ${tookMs} ms\npool: ${await poolState(h)}`;
      t.diagnostic(`marked down within ${tookMs} ms; ${describeLoad(second)}`);

      assert.equal(second.failed, 0, msg);
      assert.equal(a3.calls, a2.calls, `the replica reported down got data calls\n${msg}`);
      assert.equal(b3.calls - b1.calls, 600, msg);
      assert.ok(a3.health > a2.health, `it is still probed (so it can come back)\n${msg}`);
    });

    test(`a write answered ${p.serverError} after the replica recorded it: sent once, the client gets ${p.write.code}`, async (t) => {
      const { a, b, h, url } = await setup(t, p, 'write');
      await Promise.all([a.control({ failWritesAfterRecording: true }), b.control({ failWritesAfterRecording: true })]);
      const responses: GraphQLBody[] = [];
      const load = await runLoad({
        url,
        query: p.write.query,
        variables: p.write.variables,
        total: 40,
        concurrency: 4,
        inspect: ({ body }) => responses.push(body ?? {}),
      });
      const [aReport, bReport] = await Promise.all([a.calls(), b.calls()]);
      const msg = `${summary(load, { [a.name]: aReport, [b.name]: bReport })}\npool: ${await poolState(h)}`;

      assert.equal(load.failed, 40, msg);
      assert.deepEqual(load.byCode, { [p.write.code]: 40 }, msg);
      for (const body of responses) {
        assert.deepEqual(body.data, { createOrder: null }, JSON.stringify(body));
        assert.equal(body.errors?.length, 1, JSON.stringify(body));
        assert.equal(body.errors![0]!.extensions?.code, p.write.code, JSON.stringify(body));
        if (p.kind === 'http')
          assert.deepEqual(
            [body.errors![0]!.extensions?.status, body.errors![0]!.extensions?.upstream],
            [503, 'items'],
            JSON.stringify(body),
          );
      }
      // Each write reached the backends exactly once: never retried on the other replica.
      const recorded = [...p.write.recorded(aReport), ...p.write.recorded(bReport)].sort();
      assert.deepEqual(recorded, Array.from({ length: 40 }, (_, i) => `order-${i}`).sort(), msg);
      assert.equal((aReport.byRoute[p.write.route] ?? 0) + (bReport.byRoute[p.write.route] ?? 0), 40, msg);
    });
  });
}
