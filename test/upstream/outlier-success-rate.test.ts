// Outlier detection by success rate (src/upstream/outlier/success-rate.ts), through
// Cluster.call on a FakeClock: a replica that fails only some of its calls, which consecutive
// failures never catch, is ejected when an interval ends, by the failure-percentage rule in a
// small pool and by the success-rate rule (mean - factor x deviation) in a larger one; and
// what is not judged: too few attempts, too few replicas, a rule turned off.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterObserver, EjectionReason, OutlierSettings, Replica } from '../../src/upstream/types.js';
import { TransportFailure } from '../../src/upstream/types.js';
import { DEFAULT_POOL, testCluster } from '../helpers/cluster-fixtures.js';
import { FakeClock } from '../helpers/fake-clock.js';

const replicas = (n: number) => Array.from({ length: n }, (_, i) => ({ url: `http://r${i}`, weight: 1 }));
const status503 = (r: Replica) => new TransportFailure('status', true, r.url, 'HTTP 503', { status: 503 });

/** Fails the nth attempt on a replica when `fails(url, n)` says so; counts attempts per replica. */
function flaky(fails: (url: string, n: number) => boolean) {
  const attempts = new Map<string, number>();
  const attempt = async (r: Replica) => {
    const n = (attempts.get(r.url) ?? 0) + 1;
    attempts.set(r.url, n);
    if (fails(r.url, n)) throw status503(r);
    return r.url;
  };
  return { attempts, attempt };
}

function observed() {
  const ejections: { replica: string; reason: EjectionReason; durationMs: number }[] = [];
  const observer: ClusterObserver = {
    attempt() {},
    retry() {},
    healthChange() {},
    rejection() {},
    ejection: (_upstream, replica, durationMs, reason) => ejections.push({ replica, reason, durationMs }),
  };
  return { ejections, observer };
}

function setup(count: number, outlier: Partial<OutlierSettings>, fails: (url: string, n: number) => boolean) {
  const clock = new FakeClock();
  const { ejections, observer } = observed();
  const cluster = testCluster(
    'u',
    replicas(count),
    // Writes: every call is one attempt, so each replica's count is exactly what round robin gave it.
    { outlier: { ...DEFAULT_POOL.outlier, ...outlier } },
    { clock, observer },
  );
  const calls = flaky(fails);
  const send = async (n: number) => {
    for (let i = 0; i < n; i++) await cluster.call(calls.attempt, { idempotent: false }).catch(() => {});
  };
  /** `n` calls, then the interval ends and the first outcome after it has it judged. */
  const interval = async (n: number) => {
    await send(n);
    await clock.advance(10_000);
    await send(1);
  };
  return { clock, cluster, ejections, send, interval, attempts: calls.attempts };
}

test('a replica failing every other call in a pool of two is ejected when the interval ends (failure percentage)', async () => {
  const { clock, cluster, ejections, send, attempts } = setup(2, {}, (url, n) => url === 'http://r0' && n % 2 === 0);
  await send(100); // 50 attempts each: r0 fails 25, never two in a row
  assert.deepEqual(ejections, [], 'nothing is judged before the interval ends');
  await clock.advance(10_000);
  await send(1); // the first outcome after the interval judges it
  assert.deepEqual(ejections, [{ replica: 'http://r0', reason: 'failure_percentage', durationMs: 30_000 }]);
  const before = attempts.get('http://r0');
  await send(20);
  assert.equal(attempts.get('http://r0'), before, 'no call reaches the ejected replica');
  assert.equal(cluster.snapshot().replicas[0].health, 'ejected');
});

test('failures below the threshold, below the request volume or with the rule off eject nobody', async () => {
  // r0 fails one call in three (33%): under the 50% threshold.
  const third = setup(2, {}, (url, n) => url === 'http://r0' && n % 3 === 0);
  await third.interval(100);
  assert.deepEqual(third.ejections, []);
  // Every call on r0 fails but only 10 of them in the interval: under failurePercentageRequestVolume (20).
  const few = setup(2, { consecutiveFailures: 1000 }, (url) => url === 'http://r0');
  await few.interval(20);
  assert.deepEqual(few.ejections, []);
  // Off.
  const off = setup(
    2,
    { consecutiveFailures: 1000, failurePercentageThreshold: 0 },
    (url, n) => url === 'http://r0' && n % 2 === 0,
  );
  await off.interval(100);
  assert.deepEqual(off.ejections, []);
});

test('success rate: in a pool of five, the replica far below the others is ejected; equal rates eject nobody', async () => {
  // 100 attempts each; r4 fails 30 of them (70%), the others none: mean 0.94, deviation 0.12,
  // floor 0.94 - 1.9 x 0.12 = 0.712. The failure-percentage rule is off.
  const low = setup(
    5,
    { failurePercentageThreshold: 0, consecutiveFailures: 1000 },
    (url, n) => url === 'http://r4' && n % 10 < 3,
  );
  await low.interval(500);
  assert.deepEqual(low.ejections, [{ replica: 'http://r4', reason: 'success_rate', durationMs: 30_000 }]);
  // All five at 70%: no deviation, nobody is an outlier.
  const even = setup(5, { failurePercentageThreshold: 0, consecutiveFailures: 1000 }, (_url, n) => n % 10 < 3);
  await even.interval(500);
  assert.deepEqual(even.ejections, []);
  // Only two replicas reach the request volume of 100: fewer than successRateMinimumHosts (3).
  const small = setup(
    2,
    { failurePercentageThreshold: 0, consecutiveFailures: 1000 },
    (url, n) => url === 'http://r1' && n % 2 === 0,
  );
  await small.interval(400);
  assert.deepEqual(small.ejections, []);
});

test('an interval is judged once: its counts start again, and the cap on ejected replicas holds for every rule', async () => {
  // Three replicas all failing every other call: the cap (50% of 3 = 1) lets one be ejected.
  const all = setup(3, { consecutiveFailures: 1000 }, (_url, n) => n % 2 === 0);
  await all.interval(90);
  assert.equal(all.ejections.length, 1, 'one of three ejected, the cap holds');
  // The next interval holds the 1 outcome above plus what follows: 10 more calls are under the volume.
  await all.interval(10);
  assert.equal(all.ejections.length, 1, 'a new interval counts from zero');
});
