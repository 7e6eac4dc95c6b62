// Clusters by upstream name, and every transport, kept across schema reloads. A cluster lives
// as long as its upstream's name: a reload that changes its replicas or pool settings
// reconfigures it in place (kept replicas keep their health and latency, calls in flight
// finish), and only once the new schema is the one being served. An upstream that
// disappears stops its health checks. The registry creates every transport: one HTTP
// transport for all (undici pools are per replica origin and TLS settings), one gRPC
// transport per upstream, and the HTTP cache of each upstream with httpCache (one store shared
// by all of them). New TLS files are a new transport (new pools or channels); the same
// files read again are not (transport/tls.ts). Pools no served replica uses any more are
// closed once the requests that may still use them are done.
import type { ServiceDefinition } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Cluster, type ClusterDeps } from './cluster.js';
import { type CacheStore, HttpCache, type HttpCacheObserver, memoryHttpCacheStore } from './http-cache.js';
import { GrpcTransport } from './transport/grpc.js';
import { HttpTransport } from './transport/http.js';
import { tlsIdentity } from './transport/tls.js';
import type { ClusterObserver, ClusterSpec, UpstreamSnapshot, UpstreamTls } from './types.js';

/** The clusters a schema being built will use, by upstream name; served once committed. */
export interface PreparedClusters {
  readonly clusters: ReadonlyMap<string, Cluster>;
  readonly specs: readonly ClusterSpec[];
}

export interface RegistryOptions {
  observer?: ClusterObserver;
  log?: Logger;
  /** Passed to every cluster (tests inject a clock). */
  clusterDeps?: Pick<ClusterDeps, 'clock' | 'random'>;
  /** Where upstreams with httpCache keep answers (default: in memory, bounded) and who counts hits. */
  httpCache?: { store?: CacheStore; observer?: HttpCacheObserver };
}

interface KeptTransport {
  identity: string;
  transport: GrpcTransport;
}

/** Requests still running on a replaced schema may be using its transports this long. */
const TRANSPORT_DRAIN_MS = 30_000;
const CONNECT_TIMEOUT_MS = 5_000;

export class UpstreamRegistry {
  #clusters = new Map<string, Cluster>();
  #grpc = new Map<string, KeptTransport>();
  #pendingGrpc = new Map<string, KeptTransport>();
  /** The specs of the clusters being served. */
  #served: readonly ClusterSpec[] = [];
  #httpSweep?: NodeJS.Timeout;
  readonly http = new HttpTransport(CONNECT_TIMEOUT_MS);
  #httpCaches = new Map<string, HttpCache>();
  #httpCacheStore?: CacheStore;

  constructor(private readonly options: RegistryOptions = {}) {}

  /** The clusters for a new schema. Existing ones are reused, and reconfigured only by commit(). */
  prepare(specs: readonly ClusterSpec[]): PreparedClusters {
    const clusters = new Map<string, Cluster>();
    for (const spec of specs) {
      const cluster =
        this.#clusters.get(spec.name) ??
        new Cluster(spec, { observer: this.options.observer, log: this.options.log, ...this.options.clusterDeps });
      clusters.set(spec.name, cluster);
    }
    return { clusters, specs };
  }

  /**
   * The gRPC transport of an upstream, reused while `identity` (the proto text and service)
   * and the TLS settings are unchanged, so channels survive reloads that did not touch them.
   */
  grpcTransport(
    upstream: string,
    identity: string,
    service: string,
    definition: ServiceDefinition,
    tls?: UpstreamTls,
  ): GrpcTransport {
    const key = `${identity} ${tlsIdentity(tls)}`;
    const current = this.#grpc.get(upstream);
    const transport = current?.identity === key ? current.transport : new GrpcTransport(service, definition, tls);
    this.#pendingGrpc.set(upstream, { identity: key, transport });
    return transport;
  }

  /**
   * The HTTP cache of an upstream with httpCache: kept by name across reloads (its entries
   * live in the shared store, keyed by the upstream's name).
   */
  httpCache(upstream: string): HttpCache {
    let cache = this.#httpCaches.get(upstream);
    if (!cache) {
      this.#httpCacheStore ??= this.options.httpCache?.store ?? memoryHttpCacheStore();
      cache = new HttpCache(upstream, this.#httpCacheStore, this.options.httpCache?.observer);
      this.#httpCaches.set(upstream, cache);
    }
    return cache;
  }

  /** A schema load failed: transports it created are not going to be used (new clusters never started). */
  discard(): void {
    for (const [name, pending] of this.#pendingGrpc) {
      if (this.#grpc.get(name)?.transport !== pending.transport) pending.transport.close();
    }
    this.#pendingGrpc = new Map();
  }

  /** Called once a schema built from `prepare` is the one being served. */
  commit(prepared: PreparedClusters): void {
    for (const [name, old] of this.#clusters) if (!prepared.clusters.has(name)) old.close();
    for (const spec of prepared.specs) {
      const cluster = prepared.clusters.get(spec.name)!;
      cluster.configure(spec);
      cluster.start();
    }
    this.#clusters = new Map(prepared.clusters);
    this.#served = prepared.specs;
    this.#sweepHttpPools();
    const next = [...this.#pendingGrpc.values()].map((kept) => kept.transport);
    const replaced = [...this.#grpc.values()].filter((old) => !next.includes(old.transport));
    this.#grpc = this.#pendingGrpc;
    this.#pendingGrpc = new Map();
    if (replaced.length) {
      setTimeout(() => {
        for (const kept of replaced) kept.transport.close();
      }, TRANSPORT_DRAIN_MS).unref();
    }
  }

  /** After the drain time, closes the HTTP pools that the specs served then do not use. */
  #sweepHttpPools(): void {
    clearTimeout(this.#httpSweep);
    this.#httpSweep = setTimeout(() => {
      const used = this.#served
        .filter((spec) => spec.protocol !== 'GRPC')
        .flatMap((spec) => spec.replicas.map((r) => ({ url: r.url, tls: spec.tls })));
      void this.http.closeUnused(used);
    }, TRANSPORT_DRAIN_MS).unref();
  }

  snapshot(): UpstreamSnapshot[] {
    return [...this.#clusters.values()].map((c) => c.snapshot());
  }

  async close(): Promise<void> {
    clearTimeout(this.#httpSweep);
    for (const cluster of this.#clusters.values()) cluster.close();
    for (const kept of [...this.#grpc.values(), ...this.#pendingGrpc.values()]) kept.transport.close();
    await this.http.close();
  }
}
