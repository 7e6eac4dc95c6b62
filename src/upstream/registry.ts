// Upstreams by name, kept across schema reloads: an upstream whose settings did not change
// keeps its cluster (and with issue 4, its health and balancer state); one that changed or
// disappeared is replaced after the new schema is in service.
import type { UpstreamConfig } from '../config/upstream.js';
import { Cluster } from './cluster.js';
import { HttpTransport } from './http-transport.js';

export interface UpstreamRuntime {
  config: UpstreamConfig;
  cluster: Cluster;
  http: HttpTransport;
}

export class UpstreamRegistry {
  #byName = new Map<string, UpstreamRuntime>();
  /** One transport: undici pools are per replica origin, shared by upstreams naming the same one. */
  readonly http = new HttpTransport(5_000);

  /** The runtimes for a new schema; unchanged upstreams are reused as they are. */
  prepare(configs: readonly UpstreamConfig[]): Map<string, UpstreamRuntime> {
    const next = new Map<string, UpstreamRuntime>();
    for (const config of configs) {
      const current = this.#byName.get(config.name);
      if (current && current.config.fingerprint === config.fingerprint) {
        next.set(config.name, { ...current, config });
      } else {
        next.set(config.name, { config, cluster: new Cluster(config.name, config.replicas), http: this.http });
      }
    }
    return next;
  }

  /** Called once a schema built from `prepare` is the one being served. */
  commit(runtimes: Map<string, UpstreamRuntime>): void {
    this.#byName = new Map(runtimes);
  }

  list(): UpstreamRuntime[] {
    return [...this.#byName.values()];
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
