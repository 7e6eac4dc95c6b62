// The balancers (README, "Upstream pools") with plain replica objects, a fixed clock and a
// seeded random: exact pick sequences where the algorithm is deterministic, shares over
// many picks where it is not.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ConsistentHashBalancer,
  callKey,
  createBalancer,
  LeastConnectionsBalancer,
  LeastResponseTimeBalancer,
  RandomBalancer,
  RoundRobinBalancer,
  SmoothWeightedBalancer,
  StickyBalancer,
} from '../../src/upstream/balancers/index.js';
import type { BalanceSettings, CallRouting, LoadBalancer, PickContext, Replica } from '../../src/upstream/types.js';
import { seededRandom } from '../helpers/fake-clock.js';

class FakeReplica implements Replica {
  inFlight = 0;
  latencyMs = 10;
  constructor(
    readonly url: string,
    readonly weight = 1,
  ) {}
  effectiveWeight(): number {
    return this.weight;
  }
}

function ctx(opts: { key?: string; now?: number; unusable?: Iterable<Replica> } = {}): PickContext {
  const unusable = new Set(opts.unusable ?? []);
  return { usable: (r) => !unusable.has(r), key: opts.key, now: opts.now ?? 0 };
}

function replicas(...weights: number[]): FakeReplica[] {
  return weights.map((w, i) => new FakeReplica(String.fromCharCode(97 + i), w)); // a, b, c, …
}

function sequence(balancer: LoadBalancer, picks: number, c: PickContext = ctx()): string {
  return Array.from({ length: picks }, () => balancer.pick(c)?.url ?? '-').join('');
}

function counts(balancer: LoadBalancer, picks: number, c: PickContext = ctx()): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < picks; i++) {
    const url = balancer.pick(c)?.url ?? '-';
    out[url] = (out[url] ?? 0) + 1;
  }
  return out;
}

describe('ROUND_ROBIN', () => {
  test('rotates, skips unusable replicas, and has nothing when none is usable', () => {
    const rs = replicas(1, 1, 1);
    const b = new RoundRobinBalancer();
    b.update(rs);
    assert.equal(sequence(b, 6), 'abcabc');
    assert.equal(sequence(b, 4, ctx({ unusable: [rs[1]] })), 'acac');
    assert.equal(b.pick(ctx({ unusable: rs })), undefined);
    b.update([]);
    assert.equal(b.pick(ctx()), undefined);
  });
});

describe('WEIGHTED_ROUND_ROBIN (smooth, as nginx)', () => {
  test('weights 5,1,1 give a a b a c a a, and repeat', () => {
    const b = new SmoothWeightedBalancer();
    b.update(replicas(5, 1, 1));
    assert.equal(sequence(b, 21), 'aabacaa'.repeat(3));
  });

  test('an unusable replica sits the pick out; the others keep their ratio', () => {
    const rs = replicas(2, 1, 1);
    const b = new SmoothWeightedBalancer();
    b.update(rs);
    assert.equal(sequence(b, 6, ctx({ unusable: [rs[2]] })), 'abaaba');
    assert.deepEqual(counts(b, 400), { a: 200, b: 100, c: 100 });
  });

  test('replicas kept across update() keep their turn; removed ones are dropped', () => {
    const rs = replicas(5, 1, 1);
    const b = new SmoothWeightedBalancer();
    b.update(rs);
    assert.equal(sequence(b, 3), 'aab');
    b.update([rs[0], rs[1], rs[2]]); // same objects, new array: the sequence goes on
    assert.equal(sequence(b, 4), 'acaa');
    b.update([rs[0], rs[2]]);
    assert.deepEqual(counts(b, 60), { a: 50, c: 10 });
  });
});

describe('RANDOM', () => {
  test('follows the weights and never picks an unusable replica', () => {
    const rs = replicas(1, 2, 7, 5);
    const b = new RandomBalancer(seededRandom(1));
    b.update(rs);
    const n = 20_000;
    const got = counts(b, n, ctx({ unusable: [rs[3]] }));
    assert.equal(got.d, undefined);
    for (const [url, share] of [
      ['a', 0.1],
      ['b', 0.2],
      ['c', 0.7],
    ] as const) {
      assert.ok(Math.abs(got[url] / n - share) < 0.02, `${url}: ${got[url]} of ${n}, expected about ${share}`);
    }
    assert.equal(b.pick(ctx({ unusable: rs })), undefined);
  });
});

describe('LEAST_CONNECTIONS', () => {
  test('picks the fewest in flight, relative to weight', () => {
    const [a, b, c] = replicas(1, 1, 4);
    const lc = new LeastConnectionsBalancer(seededRandom(2));
    lc.update([a, b, c]);
    a.inFlight = 3;
    b.inFlight = 1;
    c.inFlight = 6;
    assert.equal(lc.pick(ctx())?.url, 'b');
    c.inFlight = 3; // 3 / 4 < 1 / 1
    assert.equal(lc.pick(ctx())?.url, 'c');
    assert.equal(lc.pick(ctx({ unusable: [c] }))?.url, 'b');
  });

  test('breaks ties at random: both tied replicas are chosen', () => {
    const [a, b, c] = replicas(1, 1, 1);
    c.inFlight = 5;
    const lc = new LeastConnectionsBalancer(seededRandom(3));
    lc.update([a, b, c]);
    const got = counts(lc, 1000);
    assert.equal(got.c, undefined);
    assert.ok(got.a > 400 && got.b > 400, JSON.stringify(got));
  });

  test('a replica whose calls stay in flight longer gets fewer of them', () => {
    const rs = replicas(1, 1, 1);
    const durationMs = new Map<Replica, number>([
      [rs[0], 2],
      [rs[1], 2],
      [rs[2], 20],
    ]);
    const lc = new LeastConnectionsBalancer(seededRandom(4));
    lc.update(rs);
    const finishing: { at: number; replica: FakeReplica }[] = [];
    const picked = new Map<string, number>();
    for (let now = 0; now < 3000; now++) {
      for (let i = finishing.length - 1; i >= 0; i--) {
        if (finishing[i].at <= now) finishing.splice(i, 1)[0].replica.inFlight--;
      }
      for (let call = 0; call < 3; call++) {
        const r = lc.pick(ctx({ now })) as FakeReplica;
        r.inFlight++;
        finishing.push({ at: now + durationMs.get(r)!, replica: r });
        picked.set(r.url, (picked.get(r.url) ?? 0) + 1);
      }
    }
    const [a, b, c] = ['a', 'b', 'c'].map((u) => picked.get(u) ?? 0);
    assert.ok(c * 3 < a && c * 3 < b, `picks a=${a} b=${b} c=${c}`);
  });
});

describe('LEAST_RESPONSE_TIME (power of two choices)', () => {
  test('cost = latency x (inFlight + 1) / weight: 1 ms beats 50 ms even with calls in flight', () => {
    const [fast, slow] = replicas(1, 1);
    fast.latencyMs = 1;
    slow.latencyMs = 50;
    fast.inFlight = 5;
    const lrt = new LeastResponseTimeBalancer(seededRandom(5));
    lrt.update([slow, fast]);
    const got = counts(lrt, 1000);
    assert.ok(got.a >= 800, JSON.stringify(got));
    fast.inFlight = 60; // 61 ms of cost: now the slow one is cheaper
    assert.equal(lrt.pick(ctx())?.url, 'b');
  });

  test('with calls completing after their latency, >= 80% go to the fast replica', () => {
    const rs = replicas(1, 1);
    rs[0].latencyMs = 1;
    rs[1].latencyMs = 50;
    const lrt = new LeastResponseTimeBalancer(seededRandom(6));
    lrt.update(rs);
    const finishing: { at: number; replica: FakeReplica }[] = [];
    let fastPicks = 0;
    const total = 2000;
    for (let i = 0; i < total; i++) {
      const now = i / 20; // twenty calls a millisecond: the fast one has ~20 in flight
      for (let j = finishing.length - 1; j >= 0; j--) {
        if (finishing[j].at <= now) finishing.splice(j, 1)[0].replica.inFlight--;
      }
      const r = lrt.pick(ctx({ now })) as FakeReplica;
      r.inFlight++;
      finishing.push({ at: now + r.latencyMs, replica: r });
      if (r === rs[0]) fastPicks++;
    }
    assert.ok(fastPicks >= 0.8 * total, `${fastPicks} of ${total}`);
  });

  test('two distinct candidates; one usable replica is returned; none gives undefined', () => {
    const rs = replicas(1, 1);
    rs[0].latencyMs = 100;
    rs[1].latencyMs = 1;
    const lrt = new LeastResponseTimeBalancer(() => 0); // both draws at index 0: must still compare a with b
    lrt.update(rs);
    assert.equal(lrt.pick(ctx())?.url, 'b');
    assert.equal(lrt.pick(ctx({ unusable: [rs[1]] }))?.url, 'a');
    assert.equal(lrt.pick(ctx({ unusable: rs })), undefined);
  });
});

describe('HASH (consistent)', () => {
  const pool = Array.from({ length: 5 }, (_, i) => new FakeReplica(`http://10.0.0.${i + 1}:8080`));
  const keys = Array.from({ length: 10_000 }, (_, i) => `client-${i}`);
  const mapping = (b: LoadBalancer, c: (key: string) => PickContext = (key) => ctx({ key })) =>
    keys.map((key) => b.pick(c(key))?.url);

  test('spreads keys roughly evenly', () => {
    const b = new ConsistentHashBalancer(seededRandom(7));
    b.update(pool);
    const share = new Map<string, number>();
    for (const url of mapping(b)) share.set(url!, (share.get(url!) ?? 0) + 1);
    assert.equal(share.size, 5);
    for (const [url, n] of share) assert.ok(n >= 1000 && n <= 3000, `${url}: ${n} of 10000`);
  });

  test('removing a replica moves exactly its keys; adding it back restores the mapping', () => {
    const b = new ConsistentHashBalancer(seededRandom(8));
    b.update(pool);
    const before = mapping(b);
    const removed = pool[2];
    b.update(pool.filter((r) => r !== removed));
    const without = mapping(b);
    let moved = 0;
    for (let i = 0; i < keys.length; i++) {
      if (before[i] === removed.url) {
        assert.notEqual(without[i], removed.url);
        moved++;
      } else {
        assert.equal(without[i], before[i], `key ${keys[i]} moved though it was not on the removed replica`);
      }
    }
    assert.ok(moved > 0);
    b.update([removed, ...pool.filter((r) => r !== removed)]); // back, in another order
    assert.deepEqual(mapping(b), before);
  });

  test('an unusable replica sends its keys on to the next replica on the ring', () => {
    const b = new ConsistentHashBalancer(seededRandom(9));
    b.update(pool);
    const before = mapping(b);
    const down = pool[4];
    const skipping = mapping(b, (key) => ctx({ key, unusable: [down] }));
    b.update(pool.filter((r) => r !== down));
    assert.deepEqual(skipping, mapping(b)); // the same as if it were gone
    assert.ok(skipping.every((url, i) => url !== down.url && (before[i] === down.url || url === before[i])));
    b.update(pool);
    assert.equal(b.pick(ctx({ key: 'k', unusable: pool })), undefined);
  });

  test('weight buys ring share; calls without a key go anywhere usable', () => {
    const [a, b, c] = replicas(1, 1, 2);
    const hash = new ConsistentHashBalancer(seededRandom(10));
    hash.update([a, b, c]);
    const got = counts(hash, 0);
    for (const key of keys) {
      const url = hash.pick(ctx({ key }))!.url;
      got[url] = (got[url] ?? 0) + 1;
    }
    assert.ok(got.c > got.a * 1.5 && got.c > got.b * 1.5, JSON.stringify(got));
    const keyless = counts(hash, 900, ctx({ unusable: [a] }));
    assert.equal(keyless.a, undefined);
    assert.ok(keyless.b > 150 && keyless.c > 450, JSON.stringify(keyless));
  });
});

describe('STICKY', () => {
  const settings = { stickyTtlMs: 1000, stickyMaxClients: 100 };

  test('a client keeps its replica while it is usable', () => {
    const rs = replicas(1, 1, 1);
    const b = new StickyBalancer(settings, seededRandom(11));
    b.update(rs);
    const first = b.pick(ctx({ key: 'sub:alice' }))!;
    for (const r of rs) r.inFlight = r === first ? 10 : 0; // least connections would now go elsewhere
    for (let now = 0; now < 10; now++) assert.equal(b.pick(ctx({ key: 'sub:alice', now })), first);
  });

  test('fails over when its replica is unusable, and stays on the new one after the old returns', () => {
    const [a, b, c] = replicas(1, 1, 1);
    const sticky = new StickyBalancer(settings, seededRandom(12));
    sticky.update([a, b, c]);
    b.inFlight = 1;
    c.inFlight = 2;
    assert.equal(sticky.pick(ctx({ key: 'ip:1.2.3.4' })), a);
    a.inFlight = 5;
    assert.equal(sticky.pick(ctx({ key: 'ip:1.2.3.4', unusable: [a] })), b); // least loaded of b, c
    a.inFlight = 0;
    b.inFlight = 9;
    assert.equal(sticky.pick(ctx({ key: 'ip:1.2.3.4' })), b);
    assert.equal(sticky.pick(ctx({ key: 'ip:1.2.3.4', unusable: [a, b, c] })), undefined);
    assert.equal(sticky.pick(ctx({ key: 'ip:1.2.3.4' })), b); // nothing usable did not forget it
  });

  test('a client unseen for the TTL forgets its replica', () => {
    const [a, b] = replicas(1, 1);
    const sticky = new StickyBalancer(settings, seededRandom(13));
    sticky.update([a, b]);
    b.inFlight = 1;
    assert.equal(sticky.pick(ctx({ key: 'c1', now: 0 })), a);
    a.inFlight = 3;
    assert.equal(sticky.pick(ctx({ key: 'c1', now: 900 })), a); // seen at 900: kept
    assert.equal(sticky.pick(ctx({ key: 'c1', now: 1899 })), a);
    assert.equal(sticky.pick(ctx({ key: 'c2', now: 2899 })), b); // c1 expired on the way
    assert.equal(sticky.size, 1);
    assert.equal(sticky.pick(ctx({ key: 'c1', now: 2900 })), b);
  });

  test('past stickyMaxClients the least recently seen client is forgotten', () => {
    const [a, b] = replicas(1, 1);
    const sticky = new StickyBalancer({ stickyTtlMs: 1e9, stickyMaxClients: 2 }, seededRandom(14));
    sticky.update([a, b]);
    b.inFlight = 1;
    assert.equal(sticky.pick(ctx({ key: 'c1', now: 1 })), a);
    assert.equal(sticky.pick(ctx({ key: 'c2', now: 2 })), a);
    assert.equal(sticky.pick(ctx({ key: 'c1', now: 3 })), a); // c1 seen again: c2 is now the oldest
    a.inFlight = 5;
    assert.equal(sticky.pick(ctx({ key: 'c3', now: 4 })), b);
    assert.equal(sticky.size, 2);
    assert.equal(sticky.pick(ctx({ key: 'c1', now: 5 })), a); // remembered
    assert.equal(sticky.pick(ctx({ key: 'c2', now: 6 })), b); // forgotten: least connections
  });

  test('without a key: least connections, nothing remembered', () => {
    const [a, b] = replicas(1, 1);
    const sticky = new StickyBalancer(settings, seededRandom(15));
    sticky.update([a, b]);
    a.inFlight = 2;
    assert.equal(sticky.pick(ctx()), b);
    assert.equal(sticky.size, 0);
  });
});

describe('createBalancer and callKey', () => {
  const settings = (
    algorithm: BalanceSettings['algorithm'],
    extra: Partial<BalanceSettings> = {},
  ): BalanceSettings => ({ algorithm, stickyTtlMs: 1000, stickyMaxClients: 10, ...extra });

  function routing(parts: {
    ip?: string;
    path?: string;
    headers?: Record<string, string>;
    cookies?: Record<string, string>;
    claims?: Record<string, unknown>;
  }): CallRouting {
    return {
      clientIp: parts.ip,
      path: parts.path,
      header: (name) => parts.headers?.[name],
      cookie: (name) => parts.cookies?.[name],
      claim: (name) => parts.claims?.[name],
    };
  }

  test('one class per algorithm', () => {
    const expected = {
      ROUND_ROBIN: RoundRobinBalancer,
      WEIGHTED_ROUND_ROBIN: SmoothWeightedBalancer,
      STICKY: StickyBalancer,
      HASH: ConsistentHashBalancer,
      LEAST_CONNECTIONS: LeastConnectionsBalancer,
      LEAST_RESPONSE_TIME: LeastResponseTimeBalancer,
      RANDOM: RandomBalancer,
    } as const;
    for (const [algorithm, cls] of Object.entries(expected)) {
      assert.ok(createBalancer(settings(algorithm as BalanceSettings['algorithm'])) instanceof cls, algorithm);
    }
  });

  test('HASH keys: ip, url, header:NAME (looked up lowercased), claim:NAME', () => {
    const r = routing({
      ip: '10.1.2.3',
      path: '/users/7?x=1',
      headers: { 'x-tenant': 'acme' },
      claims: { org: 42, roles: ['a', 'b'] },
    });
    assert.equal(callKey(settings('HASH', { hashOn: 'ip' }), r), '10.1.2.3');
    assert.equal(callKey(settings('HASH', { hashOn: 'url' }), r), '/users/7?x=1');
    assert.equal(callKey(settings('HASH', { hashOn: 'header:X-Tenant' }), r), 'acme');
    assert.equal(callKey(settings('HASH', { hashOn: 'header:x-missing' }), r), undefined);
    assert.equal(callKey(settings('HASH', { hashOn: 'claim:org' }), r), '42');
    assert.equal(callKey(settings('HASH', { hashOn: 'claim:roles' }), r), '["a","b"]');
    assert.equal(callKey(settings('HASH', { hashOn: 'claim:missing' }), r), undefined);
    assert.equal(callKey(settings('HASH', { hashOn: 'ip' }), undefined), undefined);
  });

  test('STICKY keys: JWT subject, else the named header or cookie, else the IP', () => {
    const all = { ip: '10.9.9.9', headers: { 'x-session': 's1' }, cookies: { sid: 'c1' }, claims: { sub: 'alice' } };
    const header = settings('STICKY', { stickyOn: 'header:X-Session' });
    const cookie = settings('STICKY', { stickyOn: 'cookie:sid' });
    assert.equal(callKey(header, routing(all)), 'sub:alice');
    assert.equal(callKey(header, routing({ ...all, claims: {} })), 'h:s1');
    assert.equal(callKey(cookie, routing({ ...all, claims: {} })), 'h:c1');
    assert.equal(callKey(header, routing({ ip: '10.9.9.9' })), 'ip:10.9.9.9');
    assert.equal(callKey(settings('STICKY'), routing({ ...all, claims: {} })), 'ip:10.9.9.9');
    assert.equal(callKey(settings('STICKY'), routing({})), undefined);
  });

  test('the other algorithms have no key', () => {
    const r = routing({ ip: '10.1.2.3', path: '/x', claims: { sub: 'alice' } });
    for (const algorithm of [
      'ROUND_ROBIN',
      'WEIGHTED_ROUND_ROBIN',
      'LEAST_CONNECTIONS',
      'LEAST_RESPONSE_TIME',
      'RANDOM',
    ] as const) {
      assert.equal(callKey(settings(algorithm, { hashOn: 'ip' }), r), undefined, algorithm);
    }
  });
});
