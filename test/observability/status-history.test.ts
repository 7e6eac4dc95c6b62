// The status page's time series on a FakeClock: one-second buckets that roll and wrap after
// five minutes, latency quantiles from the fixed histogram within one bin of the exact ones,
// failures and latency samples counted as the pools report them (through a real Cluster),
// health events and refusals in bounded logs, and memory that stays bounded however long it
// runs and however many replicas come and go.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QuiltError } from '../../src/errors.js';
import { SERIES_BYTES, WINDOW_SECONDS } from '../../src/observability/call-series.js';
import {
  binBounds,
  binOf,
  HISTOGRAM_BINS,
  HISTOGRAM_MIN_MS,
  LatencyHistogram,
} from '../../src/observability/latency-histogram.js';
import {
  HEALTH_EVENTS_KEPT,
  REJECTIONS_KEPT,
  StatusHistory,
  type StatusView,
} from '../../src/observability/status-history.js';
import type { UpstreamSnapshot } from '../../src/upstream/types.js';
import { testCluster } from '../helpers/cluster-fixtures.js';
import { FakeClock, seededRandom } from '../helpers/fake-clock.js';

/** A snapshot as the registry would give it, for the upstream and replica names the view is asked about. */
function snapshot(name: string, urls: string[]): UpstreamSnapshot {
  return {
    name,
    protocol: 'HTTP',
    algorithm: 'ROUND_ROBIN',
    activeHealthChecks: false,
    inFlight: 0,
    maxInFlight: 1024,
    panic: false,
    healthyReplicas: urls.length,
    calls: 0,
    failures: 0,
    retries: 0,
    replicas: urls.map((url) => ({
      url,
      weight: 1,
      health: 'healthy',
      ejectedUntil: null,
      ejections: 0,
      inFlight: 0,
      latencyEwmaMs: 0,
      calls: 0,
      failures: 0,
      lastFailure: null,
    })),
  };
}

/** A history on a fake clock that starts on a whole second. */
function setup() {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const history = new StatusHistory({ now: () => clock.now() });
  return { clock, history, second: () => Math.floor(clock.now() / 1000) };
}

const replicaSeries = (view: StatusView, upstream = 'u', replica = 'a') =>
  view.upstreams.find((u) => u.name === upstream)!.replicas.find((r) => r.url === replica)!.series;

/** The exact q-quantile by nearest rank: the sample at rank ceil(q * n). */
function nearestRank(samples: number[], q: number): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

describe('status history / 1: one-second buckets over five minutes', () => {
  test('calls land in the bucket of the second they ended in; the open second is not shown yet', async () => {
    const { clock, history, second } = setup();
    const start = second();
    for (let i = 0; i < 3; i++) history.attempt('u', 'a', 'success', 5);
    await clock.advance(999); // still the same second
    history.attempt('u', 'a', 'success', 5);
    let view = history.view([snapshot('u', ['a'])]);
    assert.equal(view.window.to, start - 1, 'the open second is not complete: the window ends before it');
    assert.equal(replicaSeries(view).calls.at(-1), 0);
    await clock.advance(1); // the next second
    history.attempt('u', 'a', 'status', 7);
    await clock.advance(2000); // two more seconds: one empty, one open
    view = history.view([snapshot('u', ['a'])]);
    assert.equal(view.window.to, start + 2);
    assert.equal(view.window.from, start + 2 - WINDOW_SECONDS + 1);
    const s = replicaSeries(view);
    assert.equal(s.calls.length, WINDOW_SECONDS);
    assert.deepEqual(s.calls.slice(-3), [4, 1, 0]);
    assert.deepEqual(s.failures.slice(-3), [0, 1, 0]);
    assert.deepEqual(s.p50Ms.slice(-1), [null], 'a second without calls has no quantiles');
    // The upstream's series is the sum of its replicas'.
    history.attempt('u', 'b', 'success', 5);
    await clock.advance(1000);
    view = history.view([snapshot('u', ['a', 'b'])]);
    assert.deepEqual(view.upstreams[0].series.calls.slice(-4), [4, 1, 0, 1]);
    assert.deepEqual(replicaSeries(view, 'u', 'b').calls.slice(-4), [0, 0, 0, 1]);
  });

  test('buckets roll out of the window after 300 s, and a slot reused by the ring reads only its own second', async () => {
    const { clock, history, second } = setup();
    const first = second();
    history.attempt('u', 'a', 'success', 5);
    // 300 s later the first second is the oldest one shown...
    await clock.advance(300_000);
    history.attempt('u', 'a', 'success', 5); // second first+300: the same ring slot as `first`
    let s = replicaSeries(history.view([snapshot('u', ['a'])]));
    assert.equal(s.calls[0], 1, 'the oldest second of the window');
    assert.equal(
      s.calls.reduce((x, y) => x + y),
      1,
    );
    // ...one second later it has left, and its slot now holds first+300.
    await clock.advance(1000);
    const view = history.view([snapshot('u', ['a'])]);
    s = replicaSeries(view);
    assert.equal(view.window.from, first + 1);
    assert.equal(s.calls.at(-1), 1, 'first+300, written over the slot of `first`');
    assert.equal(
      s.calls.reduce((x, y) => x + y),
      1,
      'the call of `first` is gone',
    );
    // A quiet stretch longer than the window leaves nothing behind.
    await clock.advance(WINDOW_SECONDS * 1000 + 5000);
    s = replicaSeries(history.view([snapshot('u', ['a'])]));
    assert.equal(
      s.calls.reduce((x, y) => x + y),
      0,
    );
  });

  test('?since= answers only the seconds after it, and nothing when it is current', async () => {
    const { clock, history, second } = setup();
    for (let i = 0; i < 10; i++) {
      history.attempt('u', 'a', 'success', 1 + i);
      await clock.advance(1000);
    }
    const full = history.view([snapshot('u', ['a'])]);
    const delta = history.view([snapshot('u', ['a'])], full.window.to - 3);
    assert.deepEqual(delta.window, { seconds: WINDOW_SECONDS, from: full.window.to - 2, to: full.window.to });
    assert.deepEqual(replicaSeries(delta).calls, replicaSeries(full).calls.slice(-3));
    assert.deepEqual(replicaSeries(delta).p99Ms, replicaSeries(full).p99Ms.slice(-3));
    assert.equal(replicaSeries(history.view([snapshot('u', ['a'])], second() - 1)).calls.length, 0);
    // A `since` older than the window is the whole window.
    assert.equal(replicaSeries(history.view([snapshot('u', ['a'])], 0)).calls.length, WINDOW_SECONDS);
  });

  test('failures and latency samples follow the pools: connect and cancelled are no latency, cancelled no failure', async () => {
    const { clock, history } = setup();
    history.attempt('u', 'a', 'success', 10);
    history.attempt('u', 'a', 'status', 10);
    history.attempt('u', 'a', 'timeout', 10);
    history.attempt('u', 'a', 'connect', 0.5);
    history.attempt('u', 'a', 'cancelled', 0.5);
    await clock.advance(1000);
    const s = replicaSeries(history.view([snapshot('u', ['a'])]));
    assert.equal(s.calls.at(-1), 5);
    assert.equal(s.failures.at(-1), 3, 'status, timeout and connect failed; cancelled is the caller giving up');
    const [lower, upper] = binBounds(binOf(10));
    assert.ok(s.p50Ms.at(-1)! >= lower && s.p50Ms.at(-1)! <= upper, `p50 ${s.p50Ms.at(-1)} in [${lower}, ${upper}]`);
    history.attempt('u', 'a', 'connect', 1);
    await clock.advance(1000);
    assert.equal(replicaSeries(history.view([snapshot('u', ['a'])])).p99Ms.at(-1), null, 'only refused connections');
  });

  test('a real Cluster feeds it: its attempts, failures and retries on another replica', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0));
    const history = new StatusHistory({ now: () => clock.now() });
    const cluster = testCluster(
      'items',
      [
        { url: 'a', weight: 1 },
        { url: 'b', weight: 1 },
      ],
      {},
      {
        clock,
        random: seededRandom(),
        observer: history,
      },
    );
    const { TransportFailure } = await import('../../src/upstream/types.js');
    for (let i = 0; i < 6; i++) {
      await cluster.call(
        async (replica) => {
          await clock.advance(20);
          if (replica.url === 'b') throw new TransportFailure('status', true, 'b', 'HTTP 503', { status: 503 });
          return 'ok';
        },
        { idempotent: true },
      );
    }
    await clock.advance(1000);
    const view = history.view([cluster.snapshot()]);
    const a = replicaSeries(view, 'items', 'a');
    const b = replicaSeries(view, 'items', 'b');
    const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
    assert.equal(sum(a.calls), 6, 'every call ended on a');
    assert.equal(sum(a.failures), 0);
    assert.equal(sum(b.failures), sum(b.calls), 'b failed each attempt it got');
    assert.ok(sum(b.calls) >= 1);
    assert.equal(sum(view.upstreams[0].series.calls), sum(a.calls) + sum(b.calls));
    const p50 = a.p50Ms.filter((x) => x !== null);
    assert.ok(p50.length > 0 && p50.every((x) => binOf(x!) === binOf(20) || binOf(x!) === binOf(20) + 1), `${p50}`);
  });
});

describe('status history / 2: quantiles from the histogram', () => {
  test('bins are log-spaced, four per doubling, with a floor and an overflow bin', () => {
    assert.equal(binOf(0), 0);
    assert.equal(binOf(Number.NaN), 0);
    assert.equal(binOf(-3), 0);
    assert.equal(binOf(HISTOGRAM_MIN_MS), 1);
    assert.equal(binOf(HISTOGRAM_MIN_MS * 2), 5);
    assert.equal(binOf(1e9), HISTOGRAM_BINS - 1);
    for (let bin = 1; bin < HISTOGRAM_BINS - 1; bin++) {
      const [lower, upper] = binBounds(bin);
      assert.ok(Math.abs(upper / lower - 2 ** 0.25) < 1e-9);
      assert.equal(binOf((lower + upper) / 2), bin);
    }
    assert.equal(binBounds(HISTOGRAM_BINS - 1)[1], Infinity);
    assert.ok(Number.isNaN(new LatencyHistogram().quantile(0.5)), 'no samples: no quantile');
  });

  for (const [name, draw] of [
    ['log-normal around 20 ms', (r: () => number) => 20 * Math.exp(1.2 * gaussian(r))],
    ['uniform 1..1000 ms', (r: () => number) => 1 + 999 * r()],
    ['bimodal: 2 ms and a 900 ms tail of 3%', (r: () => number) => (r() < 0.97 ? 1.5 + r() : 800 + 200 * r())],
    ['all equal', () => 42],
  ] as const) {
    test(`p50 and p99 within one bin of the exact values: ${name}`, async () => {
      const random = seededRandom(7);
      for (const n of [1, 7, 100, 5000]) {
        const { clock, history } = setup();
        const samples = Array.from({ length: n }, () => draw(random));
        for (const ms of samples) history.attempt('u', 'a', 'success', ms);
        await clock.advance(1000);
        const s = replicaSeries(history.view([snapshot('u', ['a'])]));
        for (const [q, got] of [
          [0.5, s.p50Ms.at(-1)!],
          [0.99, s.p99Ms.at(-1)!],
        ] as const) {
          const exact = nearestRank(samples, q);
          assert.ok(
            Math.abs(binOf(got) - binOf(exact)) <= 1,
            `n=${n} q=${q}: ${got} (bin ${binOf(got)}) vs exact ${exact} (bin ${binOf(exact)})`,
          );
          assert.ok(Math.abs(Math.log2(got / exact)) <= 0.25 + 1e-6, `n=${n} q=${q}: ${got} vs ${exact}`);
        }
      }
    });
  }
});

describe('status history / 3: events, refusals and memory, all bounded', () => {
  test('health events: down, up with how long it was down, ejections with their length; newest first, at most 200', async () => {
    const { clock, history } = setup();
    history.healthChange('u', 'a', false, 'connect ECONNREFUSED');
    await clock.advance(4500);
    history.healthChange('u', 'a', true, 'passed 2 checks');
    history.ejection('u', 'b', 30_000, 'consecutive_failures');
    const events = history.view([]).events;
    assert.deepEqual(
      events.map((e) => [e.kind, e.replica, e.reason, e.durationMs]),
      [
        ['ejected', 'b', 'consecutive_failures', 30_000],
        ['up', 'a', 'passed 2 checks', 4500],
        ['down', 'a', 'connect ECONNREFUSED', null],
      ],
    );
    for (let i = 0; i < 500; i++) history.ejection('u', 'b', i, 'success_rate');
    const kept = history.view([]).events;
    assert.equal(kept.length, HEALTH_EVENTS_KEPT);
    assert.equal(kept[0].durationMs, 499, 'the newest is kept, the oldest dropped');
  });

  test('refusals: the listed reasons with the client-facing message; repeats folded; at most 100', async () => {
    const { clock, history } = setup();
    const over = new QuiltError('COST_LIMIT_EXCEEDED', 'The operation is too expensive (500 > 100).');
    history.limitRejection('cost_limit', over);
    await clock.advance(300);
    history.limitRejection('cost_limit', over);
    history.limitRejection('depth'); // not a rate or cost refusal: in /metrics only
    history.limitRejection(
      'in_flight',
      new QuiltError('OVERLOADED', 'The gateway is serving its limit of 4 requests.'),
    );
    history.rejection('items', 'overload');
    await clock.advance(1000);
    const { recent, perSecond } = history.view([]).rejections;
    assert.deepEqual(
      recent.map((r) => [r.reason, r.code, r.message, r.count, r.upstream]),
      [
        ['upstream_overload', 'UPSTREAM_UNAVAILABLE', 'upstream "items" is at its maxInFlight', 1, 'items'],
        ['in_flight', 'OVERLOADED', 'The gateway is serving its limit of 4 requests.', 1, null],
        ['cost_limit', 'COST_LIMIT_EXCEEDED', 'The operation is too expensive (500 > 100).', 2, null],
      ],
    );
    assert.equal(recent[2].lastAt - recent[2].at, 300);
    assert.equal(perSecond.at(-1), 4, 'every refusal counted in its second');
    for (let i = 0; i < 300; i++) history.limitRejection('rate_limit', new QuiltError('RATE_LIMITED', `call ${i}`));
    assert.equal(history.view([]).rejections.recent.length, REJECTIONS_KEPT);
  });

  test('memory: a fixed series per replica seen in the last five minutes, whatever the traffic and the churn', async () => {
    const { clock, history } = setup();
    // SERIES_BYTES is what the README states per replica (and once more per upstream).
    assert.ok(SERIES_BYTES < 8 * 1024, `${SERIES_BYTES} bytes per series`);
    // Twenty minutes of calls on two replicas: still two series plus the upstream's.
    for (let s = 0; s < 1200; s++) {
      for (let i = 0; i < 50; i++) history.attempt('u', i % 2 ? 'a' : 'b', 'success', i);
      await clock.advance(1000);
    }
    assert.equal(history.seriesCount, 3);
    // Reloads that replace the replicas every minute: old ones are forgotten five minutes after their last call.
    for (let minute = 0; minute < 30; minute++) {
      for (let s = 0; s < 60; s++) {
        history.attempt('u', `gen${minute}-a`, 'success', 1);
        history.attempt('u', `gen${minute}-b`, 'success', 1);
        await clock.advance(1000);
      }
    }
    assert.ok(history.seriesCount <= 1 + 2 * 7, `${history.seriesCount} series after 30 generations of replicas`);
    // A replica that is down stays known (to say how long it was down) even without calls.
    history.healthChange('u', 'gen29-a', false, 'refused');
    await clock.advance(WINDOW_SECONDS * 2000);
    history.view([]);
    history.attempt('v', 'x', 'success', 1);
    assert.equal(history.seriesCount, 2 + 2, 'u with its down replica, and v with x');
  });
});

/** A standard normal draw (Box-Muller) from a seeded uniform source. */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
