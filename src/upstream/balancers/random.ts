// RANDOM: weighted random choice among the usable replicas. Needs no shared state, so it
// spreads load evenly from many gateways at once without the lock-step that round robin
// can fall into; it is also the fallback of HASH for calls without a key.
import type { LoadBalancer, PickContext, Replica } from '../types.js';

export class RandomBalancer implements LoadBalancer {
  #replicas: readonly Replica[] = [];
  #weights: number[] = [];
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  update(replicas: readonly Replica[]): void {
    this.#replicas = replicas;
  }

  pick(ctx: PickContext): Replica | undefined {
    const replicas = this.#replicas;
    // 0 marks a replica this call may not use; usable() is asked once per replica.
    const weights = this.#weights;
    weights.length = replicas.length;
    let total = 0;
    for (let i = 0; i < replicas.length; i++) {
      weights[i] = ctx.usable(replicas[i]) ? replicas[i].effectiveWeight(ctx.now) : 0;
      total += weights[i];
    }
    if (total <= 0) return undefined;
    let point = this.#random() * total;
    let last: Replica | undefined;
    for (let i = 0; i < replicas.length; i++) {
      if (weights[i] <= 0) continue;
      last = replicas[i];
      point -= weights[i];
      if (point < 0) return last;
    }
    return last; // rounding left the point at the very end
  }
}
