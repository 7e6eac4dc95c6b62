// HASH: consistent hashing, so calls with the same key (client IP, path, header or claim)
// go to the same replica and its caches stay warm. Each replica owns many points on a
// 32-bit ring (virtual nodes, VNODES per unit of weight); a key goes to the owner of the
// first point at or after its hash. Removing a replica moves only the keys it owned, and
// adding it back restores the old mapping: the ring depends only on the set of replicas
// (points sort by hash, then url), not on the order of updates. A key whose replica the call
// may not use walks on clockwise to the next usable owner. Calls without a key are spread
// by weighted random.
// Known limit: a weight above MAX_WEIGHT counts as MAX_WEIGHT here, to keep the ring small.
import type { LoadBalancer, PickContext, Replica } from '../types.js';
import { RandomBalancer } from './random.js';

const VNODES = 160;
const MAX_WEIGHT = 100;

/** FNV-1a over the UTF-16 code units, then murmur3's fmix32 finalizer to spread FNV's weak low bits. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class ConsistentHashBalancer implements LoadBalancer {
  #replicas: readonly Replica[] = [];
  /** Ring points in ascending order, and the replica owning each. */
  #points = new Uint32Array(0);
  #owners: Replica[] = [];
  readonly #keyless: RandomBalancer;

  constructor(random: () => number = Math.random) {
    this.#keyless = new RandomBalancer(random);
  }

  update(replicas: readonly Replica[]): void {
    this.#replicas = replicas;
    this.#keyless.update(replicas);
    const ring: { point: number; owner: Replica }[] = [];
    for (const owner of replicas) {
      const count = VNODES * Math.min(Math.max(1, Math.round(owner.weight)), MAX_WEIGHT);
      for (let i = 0; i < count; i++) ring.push({ point: hash32(`${owner.url}#${i}`), owner });
    }
    ring.sort((a, b) => a.point - b.point || (a.owner.url < b.owner.url ? -1 : a.owner.url > b.owner.url ? 1 : 0));
    this.#points = Uint32Array.from(ring, (p) => p.point);
    this.#owners = ring.map((p) => p.owner);
  }

  pick(ctx: PickContext): Replica | undefined {
    if (ctx.key === undefined) return this.#keyless.pick(ctx);
    const points = this.#points;
    const n = points.length;
    if (n === 0) return undefined;
    const start = firstAtOrAfter(points, hash32(ctx.key));
    let refused: Set<Replica> | undefined;
    for (let i = 0; i < n; i++) {
      const owner = this.#owners[(start + i) % n];
      if (refused?.has(owner)) continue;
      if (ctx.usable(owner)) return owner;
      refused ??= new Set();
      refused.add(owner);
      if (refused.size === this.#replicas.length) return undefined;
    }
    return undefined;
  }
}

/** Index of the first point >= hash; points.length wraps to 0 (the ring's start). */
function firstAtOrAfter(points: Uint32Array, hash: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid] < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}
