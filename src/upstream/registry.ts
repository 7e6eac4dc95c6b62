// Upstreams by name, kept across schema reloads: an upstream whose settings did not change
// keeps its cluster (and with issue 4, its health and balancer state); one that changed or
// disappeared is replaced after the new schema is in service.
import type { UpstreamConfig } from '../config/upstream.js';
import { Cluster } from './cluster.js';
import { HttpTransport } from './http-transport.js';

/** A transport that holds channels (gRPC): closed when no schema uses it any more. */
interface ClosableTransport {
  close(): void;
}

export interface UpstreamRuntime {
  config: UpstreamConfig;
  cluster: Cluster;
  http: HttpTransport;
}

const TRANSPORT_DRAIN_MS = 30_000;

export class UpstreamRegistry {
  #byName = new Map<string, UpstreamRuntime>();
  #transports = new Map<string, { identity: string; transport: ClosableTransport }>();
  #pendingTransports = new Map<string, { identity: string; transport: ClosableTransport }>();
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

  /** The protocol transport of an upstream, reused while `identity` (settings + proto) is unchanged. */
  grpcTransport<T extends ClosableTransport>(name: string, identity: string, create: () => T): T {
    const current = this.#transports.get(name);
    const transport = current?.identity === identity ? current.transport : create();
    this.#pendingTransports.set(name, { identity, transport });
    return transport as T;
  }

  /** A schema load failed: transports it created are not going to be used. */
  discard(): void {
    for (const [name, pending] of this.#pendingTransports) {
      if (this.#transports.get(name)?.transport !== pending.transport) pending.transport.close();
    }
    this.#pendingTransports = new Map();
  }

  /** Called once a schema built from `prepare` is the one being served. */
  commit(runtimes: Map<string, UpstreamRuntime>): void {
    this.#byName = new Map(runtimes);
    const replaced = [...this.#transports.values()].filter((old) => ![...this.#pendingTransports.values()].some((n) => n.transport === old.transport));
    this.#transports = this.#pendingTransports;
    this.#pendingTransports = new Map();
    // Requests still running on the old schema may be using these: close them later.
    if (replaced.length) setTimeout(() => replaced.forEach((t) => t.transport.close()), TRANSPORT_DRAIN_MS).unref();
  }

  list(): UpstreamRuntime[] {
    return [...this.#byName.values()];
  }

  async close(): Promise<void> {
    for (const t of [...this.#transports.values(), ...this.#pendingTransports.values()]) t.transport.close();
    await this.http.close();
  }
}
