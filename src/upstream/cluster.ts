// The pool object every upstream call goes through, whatever the protocol. It owns the
// replicas, asks the balancer for one per attempt and decides whether a failed attempt may
// go to another replica. Today's rule (the rest of DESIGN.md section 4 comes with issue 4):
// a call that never reached its replica (connection refused, reset before the request was
// written) is tried on the next replica, writes included, since nothing was sent.
import type { ReplicaConfig } from '../config/upstream.js';
import { RoundRobinBalancer } from './round-robin.js';
import { TransportFailure, type LoadBalancer, type Replica } from './types.js';

export interface ClusterStats {
  calls: number;
  failures: number;
  retries: number;
}

export class Cluster {
  readonly name: string;
  #replicas: Replica[] = [];
  #balancer: LoadBalancer = new RoundRobinBalancer();
  readonly stats: ClusterStats = { calls: 0, failures: 0, retries: 0 };

  constructor(name: string, replicas: readonly ReplicaConfig[]) {
    this.name = name;
    this.#replicas = replicas.map((r) => ({ url: r.url, weight: r.weight, inFlight: 0 }));
    this.#balancer.update(this.#replicas);
  }

  get replicas(): readonly Replica[] {
    return this.#replicas;
  }

  /** Runs `attempt` on a picked replica; moves to another replica only when allowed. */
  async call<T>(attempt: (replica: Replica) => Promise<T>): Promise<T> {
    this.stats.calls++;
    const tried = new Set<Replica>();
    for (;;) {
      const replica = this.#balancer.pick({ exclude: tried });
      if (!replica) throw new TransportFailure('connect', false, [...tried].map((r) => r.url).join(','), `no replica of "${this.name}" could be reached`);
      tried.add(replica);
      replica.inFlight++;
      try {
        return await attempt(replica);
      } catch (e) {
        const retryable = e instanceof TransportFailure && !e.reached && tried.size < this.#replicas.length;
        if (!retryable) {
          this.stats.failures++;
          throw e;
        }
        this.stats.retries++;
      } finally {
        replica.inFlight--;
      }
    }
  }
}
