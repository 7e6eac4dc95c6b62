// Upstreams by name, kept across schema reloads. A cluster lives as long as its upstream's
// name: a reload that changes its replicas or pool settings reconfigures it in place (kept
// replicas keep their health and latency, calls in flight finish), and only once the new
// schema is the one being served. An upstream that disappears stops its health checks.
import type { Logger } from 'pino';
import type { UpstreamConfig } from '../config/upstream.js';
import { Cluster } from './cluster.js';
import { HttpTransport } from './http-transport.js';
import type { ClusterObserver, UpstreamSnapshot } from './types.js';

/** A transport that holds channels (gRPC): closed when no schema uses it any more. */
interface ClosableTransport {
  close(): void;
}

export interface UpstreamRuntime {
  config: UpstreamConfig;
  cluster: Cluster;
  http: HttpTransport;
}

export interface RegistryOptions {
  observer?: ClusterObserver;
  log?: Logger;
}

const TRANSPORT_DRAIN_MS = 30_000;

export class UpstreamRegistry {
  #byName = new Map<string, UpstreamRuntime>();
  #transports = new Map<string, { identity: string; transport: ClosableTransport }>();
  #pendingTransports = new Map<string, { identity: string; transport: ClosableTransport }>();
  /** One transport: undici pools are per replica origin, shared by upstreams naming the same one. */
  readonly http = new HttpTransport(5_000);

  constructor(private readonly options: RegistryOptions = {}) {}

  /** The runtimes for a new schema. Existing clusters are reused, and reconfigured only by commit(). */
  prepare(configs: readonly UpstreamConfig[]): Map<string, UpstreamRuntime> {
    const next = new Map<string, UpstreamRuntime>();
    for (const config of configs) {
      const cluster = this.#byName.get(config.name)?.cluster ?? new Cluster(config, { observer: this.options.observer, log: this.options.log });
      next.set(config.name, { config, cluster, http: this.http });
    }
    return next;
  }

  /** The protocol transport of an upstream, reused while `identity` (protocol, service, proto text) is unchanged. */
  grpcTransport<T extends ClosableTransport>(name: string, identity: string, create: () => T): T {
    const current = this.#transports.get(name);
    const transport = current?.identity === identity ? current.transport : create();
    this.#pendingTransports.set(name, { identity, transport });
    return transport as T;
  }

  /** A schema load failed: transports it created are not going to be used (new clusters never started). */
  discard(): void {
    for (const [name, pending] of this.#pendingTransports) {
      if (this.#transports.get(name)?.transport !== pending.transport) pending.transport.close();
    }
    this.#pendingTransports = new Map();
  }

  /** Called once a schema built from `prepare` is the one being served. */
  commit(runtimes: Map<string, UpstreamRuntime>): void {
    for (const [name, old] of this.#byName) if (!runtimes.has(name)) old.cluster.close();
    for (const runtime of runtimes.values()) {
      runtime.cluster.configure(runtime.config);
      runtime.cluster.start();
    }
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

  snapshot(): UpstreamSnapshot[] {
    return this.list().map((r) => r.cluster.snapshot());
  }

  async close(): Promise<void> {
    for (const runtime of this.#byName.values()) runtime.cluster.close();
    for (const t of [...this.#transports.values(), ...this.#pendingTransports.values()]) t.transport.close();
    await this.http.close();
  }
}
