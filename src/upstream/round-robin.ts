import type { LoadBalancer, PickContext, Replica } from './types.js';

/** Plain rotation over the replicas, skipping those the call already tried. */
export class RoundRobinBalancer implements LoadBalancer {
  #replicas: readonly Replica[] = [];
  #next = 0;

  update(replicas: readonly Replica[]): void {
    this.#replicas = replicas;
  }

  pick(ctx: PickContext): Replica | undefined {
    const n = this.#replicas.length;
    for (let i = 0; i < n; i++) {
      const r = this.#replicas[this.#next++ % n];
      if (!ctx.exclude?.has(r)) return r;
    }
    return undefined;
  }
}
