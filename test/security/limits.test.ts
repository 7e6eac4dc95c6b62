// The limit stores (README, "Security and limits"): token buckets (take, refund, refill, retryAfter)
// and sliding windows, in memory (with a fake clock) and in a real redis-server; atomicity
// under 500 concurrent takes from two clients; and what happens when Redis dies or hangs
// (the failure policy: 'open' lets requests through and counts them, 'closed' refuses them,
// and neither keeps a request waiting).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { GatewayMetrics } from '../../src/observability/gateway-metrics.js';
import { createLimitStore, MemoryLimitStore, RedisLimitStore } from '../../src/security/limits/index.js';
import type { LimitStore } from '../../src/security/limits/types.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { sleep } from '../helpers/wait.js';

// A dead Redis fails at once and a hung one at the store's 250 ms deadline; the rest is room
// for a loaded test machine. Without the policy a request would wait for the reconnect.
const ANSWER_BOUND_MS = 500;

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

function metricValue(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('memory store', () => {
  let now = 1_000_000;
  const store = new MemoryLimitStore({ now: () => now });
  const spec = { capacity: 10, refillPerSec: 2 };

  test('take, refuse with retryAfter, refill over time, refund capped', async () => {
    assert.deepEqual(await store.take('a', 7, spec), { ok: true, remaining: 3, retryAfterSec: 0 });
    assert.deepEqual(await store.take('a', 5, spec), { ok: false, remaining: 3, retryAfterSec: 1 });
    now += 1000; // +2 points
    assert.deepEqual(await store.take('a', 5, spec), { ok: true, remaining: 0, retryAfterSec: 0 });
    assert.equal((await store.take('a', 7, spec)).retryAfterSec, 4); // 7 points at 2/s: 3.5 s, rounded up
    assert.deepEqual(await store.refund('a', 3, spec), { ok: true, remaining: 3, retryAfterSec: 0 });
    assert.equal((await store.refund('a', 100, spec)).remaining, 10);
    now += 60_000;
    assert.equal((await store.take('a', 1, spec)).remaining, 9, 'refill never goes above capacity');
    assert.equal((await store.take('b', 1, { capacity: 5, refillPerSec: 0 })).remaining, 4);
    assert.equal(
      (await store.take('b', 5, { capacity: 5, refillPerSec: 0 })).retryAfterSec,
      86_400,
      'a bucket that never refills',
    );
  });

  test('sliding window: entries leave the window one by one', async () => {
    now = 2_000_000;
    assert.deepEqual(await store.hit('w', 1, 1000), []);
    now += 400;
    assert.deepEqual(await store.hit('w', 1, 1000), [2_000_000]);
    now += 500;
    assert.deepEqual(await store.hit('w', 3, 1000), [2_000_000, 2_000_400]);
    now += 101; // the first entry is now exactly 1001 ms old
    assert.deepEqual(await store.hit('w', 1, 1000), [2_000_400, 2_000_900, 2_000_900, 2_000_900]);
    now += 5000;
    assert.deepEqual(await store.hit('w', 1, 1000), []);
  });

  test('memory stays bounded: full buckets and expired windows are dropped first', async () => {
    const small = new MemoryLimitStore({ maxKeys: 100, now: () => now });
    for (let i = 0; i < 1000; i++) {
      await small.take(`k${i}`, 1, spec);
      await small.hit(`w${i}`, 1, 1000);
    }
    assert.ok(small.size <= 200, `size ${small.size}`);
    await small.take('kept', 5, { capacity: 10, refillPerSec: 0 });
    now += 10_000; // every other bucket is full again, every window expired
    for (let i = 0; i < 100; i++) await small.hit(`x${i}`, 1, 1000);
    assert.equal((await small.take('kept', 1, { capacity: 10, refillPerSec: 0 })).remaining, 4);
  });
});

describe('redis store', () => {
  let server: RedisServer;
  let a: RedisLimitStore;
  let b: RedisLimitStore;
  let raw: Redis;
  before(async () => {
    server = await startRedisServer();
    // Generous timeouts: 500 scripts at once on a small machine queue for a while.
    a = new RedisLimitStore(server.url, { commandTimeoutMs: 5000 });
    b = new RedisLimitStore(server.url, { commandTimeoutMs: 5000 });
    raw = new Redis(server.url);
    await until(() => a.ready && b.ready);
  });
  after(async () => {
    await Promise.all([a.close(), b.close(), raw.quit()]);
    await server.stop();
  });

  test('take, refuse, refill by Redis time, refund capped; idle keys expire', async () => {
    const spec = { capacity: 10, refillPerSec: 20 };
    const t0 = performance.now();
    assert.deepEqual(await a.take('t1', 10, spec), { ok: true, remaining: 0, retryAfterSec: 0 });
    const t1 = performance.now();
    const refused = await b.take('t1', 5, spec);
    assert.equal(refused.ok, false);
    assert.equal(refused.retryAfterSec, 1);
    await sleep(300); // ~6 points back
    const t2 = performance.now();
    const again = await b.take('t1', 5, spec);
    const t3 = performance.now();
    assert.equal(again.ok, true);
    // Redis measured between the two scripts somewhere in [t2 - t1, t3 - t0].
    const after = (ms: number) => Math.min(10, (20 * ms) / 1000) - 5;
    assert.ok(
      again.remaining >= after(t2 - t1) - 0.1 && again.remaining <= after(t3 - t0) + 0.1,
      `remaining ${again.remaining}`,
    );
    const ttl = await raw.pttl('quilt:bucket:t1');
    assert.ok(ttl > 0 && ttl <= 1500, `a bucket expires when it would be full again (pttl ${ttl})`);
    assert.equal((await a.refund('t1', 100, spec)).remaining, 10);
    assert.equal(await raw.exists('quilt:bucket:t1'), 0, 'a full bucket is not stored');
    assert.equal((await a.take('t2', 3, { capacity: 3, refillPerSec: 0.5 })).ok, true);
    assert.equal((await a.take('t2', 2, { capacity: 3, refillPerSec: 0.5 })).retryAfterSec, 4);
  });

  test('sliding window: prior timestamps, unique entries, expiry', async () => {
    const before = Date.now();
    assert.deepEqual(await a.hit('w1', 2, 400), []);
    const prior = await b.hit('w1', 2, 400);
    assert.equal(prior.length, 2);
    for (const t of prior) assert.ok(t >= before - 20 && t <= Date.now() + 20, 'timestamps are in this process clock');
    assert.equal(await raw.zcard('quilt:window:w1'), 4, 'calls in the same millisecond are separate entries');
    const ttl = await raw.pttl('quilt:window:w1');
    assert.ok(ttl > 0 && ttl <= 400);
    await sleep(450);
    assert.deepEqual(await a.hit('w1', 1, 400), []);
  });

  test('500 concurrent takes from two clients on a bucket of 50: exactly 50 succeed', async () => {
    const spec = { capacity: 50, refillPerSec: 0 };
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => (i % 2 ? a : b).take('race', 1, spec)));
    assert.equal(results.filter((r) => r.ok).length, 50);
    const hits = await Promise.all(
      Array.from({ length: 500 }, (_, i) => (i % 2 ? a : b).hit('race-window', 1, 60_000)),
    );
    assert.equal(hits.filter((prior) => prior.length < 50).length, 50, 'each hit sees every hit before it');
  });
});

describe('redis unreachable: the failure policy', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer();
  });
  after(() => server.stop());

  async function withStore(
    policy: 'open' | 'closed',
    body: (store: LimitStore, metrics: GatewayMetrics, logs: Record<string, any>[]) => Promise<void>,
  ) {
    const logs: Record<string, any>[] = [];
    const sink = new Writable({
      write: (c, _e, done) => {
        logs.push(JSON.parse(String(c)));
        done();
      },
    });
    const metrics = new GatewayMetrics({ processMetrics: false });
    const store = createLimitStore(
      { redisUrl: server.url, redisFailure: policy, redisTimeoutMs: 250 },
      { log: pino(sink), metrics },
    );
    try {
      await body(store, metrics, logs);
    } finally {
      await store.close();
    }
  }

  async function timed<T>(op: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const result = await op();
    const ms = performance.now() - started;
    assert.ok(ms < ANSWER_BOUND_MS, `answered in ${Math.round(ms)} ms`);
    return result;
  }

  const spec = { capacity: 5, refillPerSec: 1 };

  test("'open': Redis killed mid-test, checks pass fast, are counted and warned about once", async () => {
    await withStore('open', async (store, metrics, logs) => {
      assert.equal((await store.take('o', 5, spec)).ok, true);
      assert.equal((await store.take('o', 5, spec)).ok, false, 'the real bucket answers while Redis is up');
      await server.kill();
      for (let i = 0; i < 5; i++) {
        assert.equal((await timed(() => store.take('o', 5, spec))).ok, true);
        assert.deepEqual(await timed(() => store.hit('ow', 1, 1000)), []);
      }
      assert.equal(metricValue(await metrics.scrape(), 'quilt_limit_store_errors_total', 'action="allowed"'), 10);
      const warnings = logs.filter((l) => l.level === 40 && /limit store/.test(l.msg));
      assert.equal(warnings.length, 1, 'the warning is rate-limited');
      await server.restart();
      // Once the client has reconnected (its backoff), the bucket is enforced again.
      let enforced = false;
      for (let i = 0; i < 60 && !enforced; i++) {
        await store.take(`back${i}`, 5, spec);
        enforced = !(await store.take(`back${i}`, 5, spec)).ok;
        if (!enforced) await sleep(50);
      }
      assert.ok(enforced, 'limits are enforced again after Redis is back');
    });
  });

  test("'closed': Redis killed, checks are refused fast with RATE_LIMITED", async () => {
    await withStore('closed', async (store, metrics) => {
      assert.equal((await store.take('c', 1, spec)).ok, true);
      await server.kill();
      for (let i = 0; i < 5; i++) {
        assert.deepEqual(await timed(() => store.take('c', 1, spec)), { ok: false, remaining: 0, retryAfterSec: 1 });
        await timed(() => assert.rejects(store.hit('cw', 1, 1000), (e: any) => e.extensions.code === 'RATE_LIMITED'));
      }
      assert.equal(metricValue(await metrics.scrape(), 'quilt_limit_store_errors_total', 'action="refused"'), 10);
      await server.restart();
    });
  });

  test('a hung Redis (SIGSTOP) does not hold requests', async () => {
    await withStore('open', async (store, metrics) => {
      await sleep(300);
      assert.equal((await store.take('h', 1, spec)).ok, true);
      server.pause();
      try {
        for (let i = 0; i < 3; i++) assert.equal((await timed(() => store.take('h', 5, spec))).ok, true);
        assert.equal(metricValue(await metrics.scrape(), 'quilt_limit_store_errors_total', 'action="allowed"'), 3);
      } finally {
        server.resume();
      }
    });
  });
});
