// The pool's rules, exercised through Cluster.call with attempts standing in for transports:
// which replica each attempt goes to, when a failure is retried, when a replica is ejected.
// (The same rules against real replica processes: pool-faults*.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransportFailure, type Replica } from '../src/upstream/types.js';
import { DEFAULT_POOL, testCluster } from './helpers/cluster-fixtures.js';

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
  assert.deepEqual(seen, ['http://a', 'http://b', 'http://a', 'http://b', 'http://a', 'http://b', 'http://a', 'http://b']);
  assert.deepEqual([cluster.stats.failures, cluster.stats.retries], [0, 4]);
});

test('a read that got a 5xx is retried on a different replica; a write never is', async () => {
  const cluster = testCluster('u', [A, B]);
  const read = recorder({ 'http://a': status503 });
  for (let i = 0; i < 4; i++) assert.equal(await cluster.call(read.attempt, { idempotent: true }), 'http://b');
  const write = recorder({ 'http://a': status503, 'http://b': status503 });
  await assert.rejects(cluster.call(write.attempt, { idempotent: false }), (e: unknown) => e instanceof TransportFailure && e.status === 503);
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
  const neverEject = { ...DEFAULT_POOL.outlier, consecutiveFailures: 1000 };
  const cluster = testCluster('u', [A, B], { retry: { retries: 2, budgetPercent: 20, budgetMinPerSecond: 0 }, outlier: neverEject });
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

test('outlier detection: consecutive failures eject for a time that grows; one ejection is always allowed', async () => {
  const cluster = testCluster('u', [A, B], { outlier: { consecutiveFailures: 3, baseEjectionMs: 200, maxEjectionMs: 1000, maxEjectionPercent: 10 } });
  const { seen, attempt } = recorder({ 'http://a': refused });
  for (let i = 0; i < 6; i++) await cluster.call(attempt, { idempotent: true });
  const ejectedAt = seen.filter((u) => u === 'http://a').length;
  assert.equal(ejectedAt, 3);
  let snap = cluster.snapshot().replicas[0];
  assert.equal(snap.health, 'ejected');
  assert.equal(snap.ejections, 1);
  for (let i = 0; i < 20; i++) await cluster.call(attempt, { idempotent: true });
  assert.equal(seen.filter((u) => u === 'http://a').length, 3, 'no call reaches an ejected replica');
  await sleep(230);
  for (let i = 0; i < 10; i++) await cluster.call(attempt, { idempotent: true });
  snap = cluster.snapshot().replicas[0];
  assert.equal(snap.ejections, 2);
  const until = Date.parse(snap.ejectedUntil!) - Date.now();
  assert.ok(until > 250 && until <= 400, `second ejection lasts 2 x base, ${until} ms left`);
});

test('at most maxEjectionPercent of the replicas are ejected; with none healthy every replica is tried (panic)', async () => {
  const cluster = testCluster('u', [A, B], { outlier: { ...DEFAULT_POOL.outlier, consecutiveFailures: 1 } });
  const { attempt } = recorder({ 'http://a': refused, 'http://b': refused });
  for (let i = 0; i < 10; i++) await assert.rejects(cluster.call(attempt, { idempotent: true }), (e: unknown) => e instanceof TransportFailure && e.kind === 'connect');
  const snap = cluster.snapshot();
  assert.equal(snap.replicas.filter((r) => r.health === 'ejected').length, 1);
  assert.equal(snap.replicas.reduce((n, r) => n + r.calls, 0), 20, 'every call tried both replicas');
  assert.equal(cluster.stats.failures, 10);
});

test('per-try timeout and overall deadline: each attempt gets what is left, no retry past the deadline', async () => {
  const cluster = testCluster('u', [A, B, C], { tryTimeoutMs: 100, timeoutMs: 150 });
  const budgets: number[] = [];
  const started = Date.now();
  await assert.rejects(
    cluster.call(async (r, ms) => {
      budgets.push(ms);
      await sleep(ms);
      throw new TransportFailure('timeout', true, r.url, 'headers timeout');
    }, { idempotent: true }),
  );
  assert.equal(budgets.length, 2);
  assert.equal(budgets[0], 100);
  assert.ok(budgets[1] <= 50 && budgets[1] > 30, `second attempt gets the rest: ${budgets[1]}`);
  assert.ok(Date.now() - started < 200);
});

test('circuit breaker: calls above maxInFlight fail fast without an attempt', async () => {
  const cluster = testCluster('u', [A], { maxInFlight: 2 });
  let attempts = 0;
  const slow = () => cluster.call(async () => (attempts++, sleep(50)), { idempotent: true });
  const running = [slow(), slow()];
  const started = performance.now();
  await assert.rejects(slow(), (e: unknown) => e instanceof TransportFailure && e.kind === 'overload');
  assert.ok(performance.now() - started < 10);
  await Promise.all(running);
  assert.equal(attempts, 2);
  await slow();
});

test('LEAST_RESPONSE_TIME sends at least 80% of calls to a 1 ms replica over a 50 ms one', async () => {
  const cluster = testCluster('u', [A, B], { balance: { ...DEFAULT_POOL.balance, algorithm: 'LEAST_RESPONSE_TIME' } });
  const counts = new Map<string, number>();
  const attempt = async (r: Replica) => {
    counts.set(r.url, (counts.get(r.url) ?? 0) + 1);
    await sleep(r.url === 'http://a' ? 1 : 50);
  };
  const worker = async () => {
    for (let i = 0; i < 50; i++) await cluster.call(attempt, { idempotent: true });
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const fast = counts.get('http://a') ?? 0;
  assert.ok(fast / 400 >= 0.8, `fast replica got ${fast} of 400`);
});

test('a reload keeps the state of kept replicas and lets removed ones finish their calls', async () => {
  const cluster = testCluster('u', [A, B], { outlier: { ...DEFAULT_POOL.outlier, consecutiveFailures: 1 } });
  await cluster.call(recorder({ 'http://a': refused }).attempt, { idempotent: true });
  let release!: () => void;
  const onB = cluster.call((r) => (assert.equal(r.url, 'http://b'), new Promise<string>((res) => (release = () => res('done')))), { idempotent: true });
  const config = { name: 'u', protocol: 'HTTP' as const, endpoint: '/graphql', pool: DEFAULT_POOL };
  cluster.configure({ ...config, replicas: [A, C] });
  assert.deepEqual(cluster.snapshot().replicas.map((r) => [r.url, r.health]), [['http://a', 'ejected'], ['http://c', 'healthy']]);
  release();
  assert.equal(await onB, 'done');
  const { seen, attempt } = recorder({});
  for (let i = 0; i < 3; i++) await cluster.call(attempt, { idempotent: true });
  assert.deepEqual(seen, ['http://c', 'http://c', 'http://c']);
});

test('slow start: a replica back from ejection ramps its weight up', async () => {
  const cluster = testCluster('u', [A, B], { slowStartMs: 1000, outlier: { ...DEFAULT_POOL.outlier, consecutiveFailures: 1, baseEjectionMs: 50 } });
  await cluster.call(recorder({ 'http://a': refused }).attempt, { idempotent: true });
  const a = cluster.replicas.find((r) => r.url === 'http://a')!;
  await sleep(60);
  const w = a.effectiveWeight(Date.now());
  assert.ok(w >= 0.1 && w < 0.2, `weight just after return: ${w}`);
  assert.equal(a.effectiveWeight(Date.now() + 1000), 1);
});
