// The pool's rules, exercised through Cluster.call with attempts standing in for transports,
// on a FakeClock: which replica each attempt goes to, when a failure is retried, when a
// replica is ejected and for exactly how long. (The same rules against real replica
// processes: pool-faults.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Replica, TransportFailure } from '../../src/upstream/types.js';
import { clusterSpec, DEFAULT_POOL, testCluster } from '../helpers/cluster-fixtures.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { settle } from '../helpers/wait.js';

const A = { url: 'http://a', weight: 1 };
const B = { url: 'http://b', weight: 1 };
const C = { url: 'http://c', weight: 1 };

const refused = (r: Replica) => new TransportFailure('connect', false, r.url, 'ECONNREFUSED');
const status503 = (r: Replica) => new TransportFailure('status', true, r.url, 'HTTP 503', { status: 503 });

/** An attempt that records the replica and fails on the urls listed. */
function recorder(failing: Record<string, (r: Replica) => Error>) {
  const seen: string[] = [];
  const attempt = async (r: Replica) => {
    seen.push(r.url);
    const fail = failing[r.url];
    if (fail) throw fail(r);
    return r.url;
  };
  return { seen, attempt };
}

test('a call that never reached its replica goes to another one, a write included', async () => {
  const cluster = testCluster('u', [A, B]);
  const { seen, attempt } = recorder({ 'http://a': refused });
  for (let i = 0; i < 4; i++) assert.equal(await cluster.call(attempt, { idempotent: false }), 'http://b');
  // Round robin starts every call on a (the retry took b's turn) until a is ejected after 5 failures.
  assert.deepEqual(seen, [
    'http://a',
    'http://b',
    'http://a',
    'http://b',
    'http://a',
    'http://b',
    'http://a',
    'http://b',
  ]);
  assert.deepEqual([cluster.stats.failures, cluster.stats.retries], [0, 4]);
});

test('a read that got a 5xx is retried on a different replica; a write never is', async () => {
  const cluster = testCluster('u', [A, B]);
  const read = recorder({ 'http://a': status503 });
  for (let i = 0; i < 4; i++) assert.equal(await cluster.call(read.attempt, { idempotent: true }), 'http://b');
  const write = recorder({ 'http://a': status503, 'http://b': status503 });
  await assert.rejects(
    cluster.call(write.attempt, { idempotent: false }),
    (e: unknown) => e instanceof TransportFailure && e.status === 503,
  );
  assert.equal(write.seen.length, 1, 'the write reached one replica, once');
});

test('retries: at most `retries` extra attempts, each on a replica not tried by the call', async () => {
  const cluster = testCluster('u', [A, B, C], { retry: { ...DEFAULT_POOL.retry, retries: 1 } });
  const { seen, attempt } = recorder({ 'http://a': status503, 'http://b': status503, 'http://c': status503 });
  await assert.rejects(cluster.call(attempt, { idempotent: true }));
  assert.equal(seen.length, 2);
  assert.equal(new Set(seen).size, 2);
});

test('the retry budget caps retries of reached calls; calls that were never sent are exempt', async () => {
  const neverEject = { ...DEFAULT_POOL.outlier, consecutiveFailures: 1000, failurePercentageThreshold: 0 };
  const cluster = testCluster('u', [A, B], {
    retry: { retries: 2, budgetPercent: 20, budgetMinPerSecond: 0 },
    outlier: neverEject,
  });
  const { seen, attempt } = recorder({ 'http://a': status503 });
  let failed = 0;
  for (let i = 0; i < 100; i++) await cluster.call(attempt, { idempotent: true }).catch(() => failed++);
  // 60 calls start on a and get a 503; only 20 of them (20% of all calls) may be retried.
  assert.equal(cluster.stats.retries, 20);
  assert.equal(failed, 40);
  assert.equal(seen.length, 120);
  const unsent = testCluster('u', [A, B], { retry: { retries: 0, budgetPercent: 0, budgetMinPerSecond: 0 } });
  const r = recorder({ 'http://a': refused });
  for (let i = 0; i < 10; i++) assert.equal(await unsent.call(r.attempt, { idempotent: false }), 'http://b');
});

test('the retry budget is a window: ten seconds later the retries are allowed again', async () => {
  const clock = new FakeClock();
  const neverEject = { ...DEFAULT_POOL.outlier, consecutiveFailures: 1000, failurePercentageThreshold: 0 };
  const cluster = testCluster(
    'u',
    [A, B],
    { retry: { retries: 1, budgetPercent: 0, budgetMinPerSecond: 1 }, outlier: neverEject },
    { clock },
  );
  const { attempt } = recorder({ 'http://a': status503 });
  const run = async () => {
    let failed = 0;
    for (let i = 0; i < 40; i++) await cluster.call(attempt, { idempotent: true }).catch(() => failed++);
    return failed;
  };
  // 1 retry per second over a 10 s window: the first 10 calls on a are retried on b (each
  // retry takes b's turn, so the next call starts on a again); then calls alternate and
  // every one on a fails.
  assert.equal(await run(), 15);
  assert.equal(await run(), 20, 'the window is spent');
  await clock.advance(10_000);
  assert.equal(await run(), 15, 'a new window');
});

test('outlier detection: consecutive failures eject for a time that grows; one ejection is always allowed', async () => {
  const clock = new FakeClock();
  const cluster = testCluster(
    'u',
    [A, B],
    {
      outlier: {
        ...DEFAULT_POOL.outlier,
        consecutiveFailures: 3,
        baseEjectionMs: 200,
        maxEjectionMs: 1000,
        maxEjectionPercent: 10,
      },
    },
    { clock },
  );
  const { seen, attempt } = recorder({ 'http://a': refused });
  for (let i = 0; i < 6; i++) await cluster.call(attempt, { idempotent: true });
  assert.equal(seen.filter((u) => u === 'http://a').length, 3);
  let snap = cluster.snapshot().replicas[0];
  assert.deepEqual(
    [snap.health, snap.ejections, snap.ejectedUntil],
    ['ejected', 1, new Date(clock.now() + 200).toISOString()],
  );
  for (let i = 0; i < 20; i++) await cluster.call(attempt, { idempotent: true });
  assert.equal(seen.filter((u) => u === 'http://a').length, 3, 'no call reaches an ejected replica');
  await clock.advance(199);
  await cluster.call(attempt, { idempotent: true });
  assert.equal(seen.filter((u) => u === 'http://a').length, 3, 'still out 1 ms before the end');
  await clock.advance(31);
  for (let i = 0; i < 10; i++) await cluster.call(attempt, { idempotent: true });
  snap = cluster.snapshot().replicas[0];
  assert.equal(snap.ejections, 2);
  assert.equal(Date.parse(snap.ejectedUntil!) - clock.now(), 400, 'the second ejection in a row lasts 2 x base');
});

test('outlier detection: the ejection level falls by one per base period served without one', async () => {
  const clock = new FakeClock();
  const cluster = testCluster(
    'u',
    [A, B],
    {
      outlier: {
        ...DEFAULT_POOL.outlier,
        consecutiveFailures: 1,
        baseEjectionMs: 100,
        maxEjectionMs: 250,
        maxEjectionPercent: 50,
      },
    },
    { clock },
  );
  const failing = recorder({ 'http://a': refused });
  const ejectA = async () => {
    // Round robin: at most two calls until one lands on a.
    for (let i = 0; i < 2; i++) await cluster.call(failing.attempt, { idempotent: true });
    const until = cluster.snapshot().replicas[0].ejectedUntil;
    return until === null ? 0 : Date.parse(until) - clock.now();
  };
  assert.equal(await ejectA(), 100);
  await clock.advance(100);
  assert.equal(await ejectA(), 200);
  await clock.advance(200);
  assert.equal(await ejectA(), 250, 'capped at maxEjectionMs');
  await clock.advance(250 + 300); // three base periods back in service
  assert.equal(await ejectA(), 100, 'level 3 - 3 + 1');
});

test('at most maxEjectionPercent of the replicas are ejected; with none healthy every replica is tried (panic)', async () => {
  const cluster = testCluster('u', [A, B], { outlier: { ...DEFAULT_POOL.outlier, consecutiveFailures: 1 } });
  const { attempt } = recorder({ 'http://a': refused, 'http://b': refused });
  for (let i = 0; i < 10; i++)
    await assert.rejects(
      cluster.call(attempt, { idempotent: true }),
      (e: unknown) => e instanceof TransportFailure && e.kind === 'connect',
    );
  const snap = cluster.snapshot();
  assert.equal(snap.replicas.filter((r) => r.health === 'ejected').length, 1);
  assert.equal(
    snap.replicas.reduce((n, r) => n + r.calls, 0),
    20,
    'every call tried both replicas',
  );
  assert.equal(cluster.stats.failures, 10);
});

test('per-try timeout and overall deadline: each attempt gets what is left, no retry past the deadline', async () => {
  const clock = new FakeClock();
  const cluster = testCluster('u', [A, B, C], { tryTimeoutMs: 100, timeoutMs: 150 }, { clock });
  const budgets: number[] = [];
  const started = clock.now();
  await assert.rejects(
    cluster.call(
      async (r, ms) => {
        budgets.push(ms);
        await clock.advance(ms);
        throw new TransportFailure('timeout', true, r.url, 'headers timeout');
      },
      { idempotent: true },
    ),
  );
  assert.deepEqual(budgets, [100, 50], 'the second attempt gets the 50 ms left; no third one');
  assert.equal(clock.now() - started, 150);
});

test('a call option timeoutMs replaces the upstream deadline', async () => {
  const clock = new FakeClock();
  const cluster = testCluster('u', [A, B], { timeoutMs: 10_000 }, { clock });
  const budgets: number[] = [];
  await cluster.call(async (_r, ms) => void budgets.push(ms), { idempotent: true, timeoutMs: 300 });
  assert.deepEqual(budgets, [300]);
});

test('circuit breaker: calls above maxInFlight fail fast without an attempt', async () => {
  const cluster = testCluster('u', [A], { maxInFlight: 2 });
  let attempts = 0;
  const releases: Array<() => void> = [];
  const held = () =>
    cluster.call(
      () => {
        attempts++;
        return new Promise<void>((resolve) => releases.push(resolve));
      },
      { idempotent: true },
    );
  const running = [held(), held()];
  await settle();
  await assert.rejects(held(), (e: unknown) => e instanceof TransportFailure && e.kind === 'overload' && !e.reached);
  assert.equal(attempts, 2, 'the refused call made no attempt');
  for (const release of releases) release();
  await Promise.all(running);
  const after = held();
  await settle();
  releases[2]();
  await after;
  assert.equal(attempts, 3, 'accepted again once calls finished');
});

test('LEAST_RESPONSE_TIME sends at least 80% of calls to a 1 ms replica over a 50 ms one', async () => {
  const clock = new FakeClock();
  const cluster = testCluster(
    'u',
    [A, B],
    { balance: { ...DEFAULT_POOL.balance, algorithm: 'LEAST_RESPONSE_TIME' } },
    { clock },
  );
  const counts = new Map<string, number>();
  const attempt = (r: Replica) => {
    counts.set(r.url, (counts.get(r.url) ?? 0) + 1);
    return clock.sleep(r.url === 'http://a' ? 1 : 50);
  };
  let done = 0;
  const worker = async () => {
    for (let i = 0; i < 50; i++) await cluster.call(attempt, { idempotent: true });
    done++;
  };
  const workers = Array.from({ length: 8 }, worker);
  while (done < workers.length) await clock.fireNext();
  const fast = counts.get('http://a') ?? 0;
  assert.ok(fast / 400 >= 0.8, `fast replica got ${fast} of 400`);
});

test('a reload keeps the state of kept replicas and lets removed ones finish their calls', async () => {
  const cluster = testCluster('u', [A, B], { outlier: { ...DEFAULT_POOL.outlier, consecutiveFailures: 1 } });
  await cluster.call(recorder({ 'http://a': refused }).attempt, { idempotent: true });
  let release!: () => void;
  const onB = cluster.call(
    (r) => {
      assert.equal(r.url, 'http://b');
      return new Promise<string>((res) => (release = () => res('done')));
    },
    { idempotent: true },
  );
  cluster.configure(clusterSpec('u', [A, C]));
  assert.deepEqual(
    cluster.snapshot().replicas.map((r) => [r.url, r.health]),
    [
      ['http://a', 'ejected'],
      ['http://c', 'healthy'],
    ],
  );
  release();
  assert.equal(await onB, 'done');
  const { seen, attempt } = recorder({});
  for (let i = 0; i < 3; i++) await cluster.call(attempt, { idempotent: true });
  assert.deepEqual(seen, ['http://c', 'http://c', 'http://c']);
});

test('slow start: a replica back from ejection ramps its weight up', async () => {
  const clock = new FakeClock();
  const cluster = testCluster(
    'u',
    [A, B],
    { slowStartMs: 1000, outlier: { ...DEFAULT_POOL.outlier, consecutiveFailures: 1, baseEjectionMs: 50 } },
    { clock },
  );
  await cluster.call(recorder({ 'http://a': refused }).attempt, { idempotent: true });
  const a = cluster.replicas.find((r) => r.url === 'http://a')!;
  await clock.advance(50 + 500);
  assert.equal(a.effectiveWeight(clock.now()), 0.5, 'half way through slow start');
  assert.equal(a.effectiveWeight(clock.now() - 490), 0.1, 'never below a tenth');
  assert.equal(a.effectiveWeight(clock.now() + 500), 1);
});

test("the caller's signal: an aborted call makes no attempt, and an attempt it ended is not retried nor held against the replica", async () => {
  const cluster = testCluster('u', [A, B]);
  const gone = new AbortController();
  gone.abort();
  const first = recorder({});
  await assert.rejects(
    cluster.call(first.attempt, { idempotent: true, signal: gone.signal }),
    (e: unknown) => e instanceof TransportFailure && e.kind === 'cancelled',
  );
  assert.deepEqual(first.seen, [], 'no attempt starts after the signal fired');
  // The signal fires while the read is on a; the transport reports a reset (the connection it cut).
  const leaving = new AbortController();
  const seen: string[] = [];
  const attempt = async (r: Replica) => {
    seen.push(r.url);
    leaving.abort();
    throw new TransportFailure('reset', true, r.url, 'socket closed');
  };
  await assert.rejects(
    cluster.call(attempt, { idempotent: true, signal: leaving.signal }),
    (e: unknown) => e instanceof TransportFailure && e.kind === 'cancelled',
  );
  assert.equal(seen.length, 1, 'not retried on the other replica');
  assert.equal(cluster.stats.retries, 0);
  assert.equal(cluster.snapshot().replicas.find((r) => r.url === seen[0])?.failures, 0, 'not a failure of the replica');
});
