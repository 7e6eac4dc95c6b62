// LEAST_CONNECTIONS: the replica with the fewest calls in flight, relative to its weight
// (inFlight / effectiveWeight), so a replica that is slow to answer holds its calls longer
// and gets fewer new ones. Ties are broken at random: with a fixed order, every gateway and
// every quiet moment would send the first call to the same replica.
import type { LoadBalancer, PickContext, Replica } from '../types.js';

/** The least loaded usable replica, a random one among equals; STICKY uses it too. */
export function leastLoaded(replicas: readonly Replica[], ctx: PickContext, random: () => number): Replica | undefined {
  let best: Replica | undefined;
  let bestLoad = Infinity;
  let ties = 0;
  for (const replica of replicas) {
    if (!ctx.usable(replica)) continue;
    const load = replica.inFlight / replica.effectiveWeight(ctx.now);
    if (load < bestLoad) {
      best = replica;
      bestLoad = load;
      ties = 1;
    } else if (load === bestLoad) {
      // Reservoir sampling: each of the k tied replicas ends up chosen with chance 1/k.
      ties++;
      if (random() * ties < 1) best = replica;
    }
  }
  return best;
}

export class LeastConnectionsBalancer implements LoadBalancer {
  #replicas: readonly Replica[] = [];
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  update(replicas: readonly Replica[]): void {
    this.#replicas = replicas;
  }

  pick(ctx: PickContext): Replica | undefined {
    return leastLoaded(this.#replicas, ctx, this.#random);
  }
}
