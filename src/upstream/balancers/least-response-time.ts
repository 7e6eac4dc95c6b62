// LEAST_RESPONSE_TIME: power of two choices over a cost of latency and load, as Finagle's
// and Envoy's peak-EWMA balancers do. Two distinct usable replicas are drawn at random and
// the cheaper one wins, cost = latencyMs * (inFlight + 1) / effectiveWeight. Comparing two
// rather than scanning for the global minimum keeps many gateways, which all see the same
// fast replica, from stampeding it, while still steering almost all calls off a slow one.
// latencyMs is the replica's peak EWMA (it jumps up on a slow call, decays back slowly).
import type { LoadBalancer, PickContext, Replica } from '../types.js';

export class LeastResponseTimeBalancer implements LoadBalancer {
  #replicas: readonly Replica[] = [];
  /** Scratch list of this pick's usable replicas, reused to spare an allocation per call. */
  #usable: Replica[] = [];
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  update(replicas: readonly Replica[]): void {
    this.#replicas = replicas;
  }

  pick(ctx: PickContext): Replica | undefined {
    const usable = this.#usable;
    usable.length = 0;
    for (const replica of this.#replicas) if (ctx.usable(replica)) usable.push(replica);
    const n = usable.length;
    if (n <= 1) {
      const only = usable[0];
      usable.length = 0;
      return only;
    }
    const i = Math.floor(this.#random() * n);
    let j = Math.floor(this.#random() * (n - 1));
    if (j >= i) j++; // distinct from i, uniform over the others
    const a = usable[i];
    const b = usable[j];
    usable.length = 0; // hold no replica past the pick
    return cost(b, ctx.now) < cost(a, ctx.now) ? b : a;
  }
}

function cost(replica: Replica, now: number): number {
  return (replica.latencyMs * (replica.inFlight + 1)) / replica.effectiveWeight(now);
}
