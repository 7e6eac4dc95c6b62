// The HealthChecker's rules on a FakeClock with scripted probes: when each probe runs (first
// within 10% of the interval, then an interval plus jitter after the last one settled),
// rise/fall thresholds, its own deadline, one probe in flight per replica, and its lifecycle
// (update removes probes, stop ends them, no report after stop). Every time is exact.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HealthChecker } from '../../src/upstream/health/index.js';
import type { HealthProbe, HealthSettings } from '../../src/upstream/types.js';
import { FakeClock } from '../helpers/fake-clock.js';

const settings: HealthSettings = {
  path: '/health',
  service: '',
  intervalMs: 100,
  timeoutMs: 1_000,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};

/** A checker on a fresh clock that records its flips (with their times) and its probes. */
function watch(probe: HealthProbe, urls: string[], overrides: Partial<HealthSettings> = {}, random = () => 0) {
  const clock = new FakeClock();
  const start = clock.now();
  const flips: string[] = [];
  const probes: string[] = [];
  const checker = new HealthChecker(
    { ...settings, ...overrides },
    (url, ms) => {
      probes.push(`${clock.now() - start} ${url}`);
      return probe(url, ms);
    },
    (url, healthy, reason) => flips.push(`${clock.now() - start} ${url} ${healthy ? 'up' : 'down'}: ${reason}`),
    { clock, random },
  );
  checker.update(urls);
  return { clock, checker, flips, probes };
}

test('a replica goes down after unhealthyThreshold failures and up after healthyThreshold passes, an interval apart', async () => {
  let up = true;
  const { clock, flips, probes } = watch(async () => {
    if (!up) throw new Error('HTTP 503 from /health');
  }, ['x']);
  await clock.advance(100);
  assert.deepEqual(probes, ['0 x', '100 x']);
  assert.deepEqual(flips, [], 'starts healthy and stays so');
  up = false;
  await clock.advance(200);
  assert.deepEqual(flips, ['300 x down: HTTP 503 from /health'], 'the second failure, one interval after the first');
  up = true;
  await clock.advance(200);
  assert.deepEqual(flips.slice(1), ['500 x up: passed 2 checks']);
});

test('the first probe comes within 10% of the interval, the next ones an interval plus up to 10% apart', async () => {
  const { clock, probes } = watch(
    async () => undefined,
    ['x'],
    { intervalMs: 200 },
    () => 0.5,
  );
  await clock.advance(1_000);
  // 0.5 x 10% x 200 = 10 ms of jitter each time.
  assert.deepEqual(probes.slice(0, 3), ['10 x', '220 x', '430 x']);
});

test("a probe that never settles fails by the checker's own deadline (the probe's timeout + 50 ms)", async () => {
  const { clock, flips, probes } = watch(() => new Promise(() => undefined), ['x'], {
    timeoutMs: 60,
    unhealthyThreshold: 1,
  });
  await clock.advance(110);
  assert.deepEqual(flips, ['110 x down: health check timed out after 60 ms']);
  await clock.advance(100);
  assert.deepEqual(probes, ['0 x', '210 x'], 'the next probe an interval after the deadline');
});

test('a probe that throws synchronously is a failure, not a crash', async () => {
  const { clock, flips, probes } = watch(
    () => {
      throw new Error('sync boom');
    },
    ['x'],
    { unhealthyThreshold: 3 },
  );
  await clock.advance(200);
  assert.deepEqual(flips, ['200 x down: sync boom']);
  assert.deepEqual(probes, ['0 x', '100 x', '200 x']);
});

test('one probe in flight per url, even when probes outlast the interval or the url is removed and re-added', async () => {
  let running = 0;
  let most = 0;
  let clock!: FakeClock;
  const watched = watch(
    async () => {
      most = Math.max(most, ++running);
      await clock.sleep(60);
      running--;
    },
    ['x'],
    { intervalMs: 20 },
  );
  clock = watched.clock;
  await clock.advance(30);
  assert.equal(running, 1);
  watched.checker.update([]);
  watched.checker.update(['x']); // x again, while its old probe still runs
  await clock.advance(500);
  assert.equal(most, 1);
  assert.ok(watched.probes.length >= 5, `probes kept running: ${watched.probes.join(', ')}`);
});

test('update() removing a url stops its probes; stop() stops all', async () => {
  const { clock, checker, probes } = watch(async () => undefined, ['a', 'b']);
  await clock.advance(100);
  assert.deepEqual(probes, ['0 a', '0 b', '100 a', '100 b']);
  checker.update(['b']);
  await clock.advance(200);
  assert.deepEqual(probes.slice(4), ['200 b', '300 b']);
  checker.stop();
  assert.equal(clock.pending, 0, 'no timer left');
  await clock.advance(1_000);
  assert.equal(probes.length, 6);
});

test('kept urls keep their state; a url removed and added again starts over', async () => {
  const { clock, checker, flips } = watch(
    async () => {
      throw new Error('always down');
    },
    ['x'],
    { unhealthyThreshold: 1 },
  );
  await clock.advance(0);
  checker.update(['x', 'y']);
  await clock.advance(300);
  assert.deepEqual(flips, ['0 x down: always down', '0 y down: always down'], 'x is not reported again');
  checker.update(['y']);
  checker.update(['x', 'y']);
  await clock.advance(0);
  assert.deepEqual(flips.slice(2), ['300 x down: always down']);
});

test('no onChange after stop(), even for a probe in flight', async () => {
  const pending: Array<(e: Error) => void> = [];
  const { clock, checker, flips } = watch(() => new Promise((_resolve, reject) => pending.push(reject)), ['x'], {
    unhealthyThreshold: 1,
  });
  await clock.advance(0);
  assert.equal(pending.length, 1);
  checker.stop();
  pending[0](new Error('late'));
  await clock.advance(5_000);
  assert.deepEqual(flips, []);
  assert.equal(pending.length, 1);
});

test('a listener that throws does not stop the checks', async () => {
  const clock = new FakeClock();
  const probes: number[] = [];
  const checker = new HealthChecker(
    { ...settings, unhealthyThreshold: 1 },
    async () => {
      probes.push(clock.now());
      throw new Error('down');
    },
    () => {
      throw new Error('listener bug');
    },
    { clock, random: () => 0 },
  );
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    checker.update(['x']);
    await clock.advance(300);
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
    checker.stop();
  }
  assert.equal(probes.length, 4);
  assert.deepEqual(warnings, ['health check listener failed for x: listener bug']);
});
