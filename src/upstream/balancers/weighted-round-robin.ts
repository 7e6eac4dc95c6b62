// WEIGHTED_ROUND_ROBIN: nginx's smooth weighted round robin. Each pick adds every usable
// replica's weight to its `current`, takes the largest and subtracts the total from it, so
// weights 5,1,1 give a a b a c a a: the heavy replica's turns are spread out instead of
// coming in a burst of five, as a plain interleaved WRR (undici's BalancedPool) would do.
// The effective weight is read at each pick, so slow start ramps a returning replica up.
// Replicas the call may not use sit the pick out (their `current` is left as it is).
import type { LoadBalancer, PickContext, Replica } from '../types.js';

export class SmoothWeightedBalancer implements LoadBalancer {
  #replicas: readonly Replica[] = [];
  /** Keyed by the replica object: update() keeps the objects of replicas that stay. */
  #current = new Map<Replica, number>();

  update(replicas: readonly Replica[]): void {
    this.#replicas = replicas;
    const kept = new Set(replicas);
    for (const replica of this.#current.keys()) {
      if (!kept.has(replica)) this.#current.delete(replica);
    }
  }

  pick(ctx: PickContext): Replica | undefined {
    let total = 0;
    let best: Replica | undefined;
    let bestCurrent = -Infinity;
    for (const replica of this.#replicas) {
      if (!ctx.usable(replica)) continue;
      const weight = replica.effectiveWeight(ctx.now);
      const current = (this.#current.get(replica) ?? 0) + weight;
      this.#current.set(replica, current);
      total += weight;
      if (current > bestCurrent) {
        best = replica;
        bestCurrent = current;
      }
    }
    if (best) this.#current.set(best, bestCurrent - total);
    return best;
  }
}
