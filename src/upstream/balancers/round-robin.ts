// ROUND_ROBIN: plain rotation, for replicas that are alike. Weights are ignored (that is
// WEIGHTED_ROUND_ROBIN); a replica the call may not use is skipped and the rotation goes on
// from the one picked, so a skipped replica does not shift everyone's turn twice.
import type { LoadBalancer, PickContext, Replica } from '../types.js';

export class RoundRobinBalancer implements LoadBalancer {
  #replicas: readonly Replica[] = [];
  #next = 0;

  update(replicas: readonly Replica[]): void {
    this.#replicas = replicas;
    this.#next = replicas.length === 0 ? 0 : this.#next % replicas.length;
  }

  pick(ctx: PickContext): Replica | undefined {
    const n = this.#replicas.length;
    for (let i = 0; i < n; i++) {
      const index = (this.#next + i) % n;
      const replica = this.#replicas[index];
      if (ctx.usable(replica)) {
        this.#next = (index + 1) % n;
        return replica;
      }
    }
    return undefined;
  }
}
