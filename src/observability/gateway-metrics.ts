// The gateway's Prometheus metrics. Each gateway holds its own
// prom-client Registry, never the global default one: several gateways run in one test
// process, and a shared registry would mix their counts or throw on re-registration.
// Upstream events arrive through ClusterObserver (counters, pushed by the clusters as they
// happen); pool state (health, in-flight, latency) is read from the registry's snapshots at
// scrape time, so a replica or upstream that a reload removed disappears from the output.
// GraphQL request metrics are recorded by the useMetrics plugin through graphqlRequest(); the
// security plugins count their refusals through the SecurityMetrics interface it implements.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { LimitRejectionReason, SecurityMetrics } from '../security/security-metrics.js';
import type { AttemptOutcome, ClusterObserver, EjectionReason, UpstreamSnapshot } from '../upstream/types.js';

/**
 * Outcome of one GraphQL request:
 * - success: data and no errors;
 * - error: data with errors (partial result, e.g. one upstream field failed);
 * - failed: no data at all (parse, validation or request errors, rejected operations) or
 *   an HTTP status of 400 or more;
 * - cancelled: the client went away before the answer (its upstream calls were cancelled).
 */
export type RequestOutcome = 'success' | 'error' | 'failed' | 'cancelled';

/** Operation type label; 'unknown' when the document did not parse or names no operation to run. */
export type OperationTypeLabel = 'query' | 'mutation' | 'subscription' | 'unknown';

export interface GatewayMetricsOptions {
  /** The pools of the schema being served, read at scrape time. */
  snapshots?: () => readonly UpstreamSnapshot[];
  /** Node process metrics (CPU, memory, event loop lag, GC) prefixed `quilt_`; default true. */
  processMetrics?: boolean;
  /**
   * In a worker of --workers: what GET /metrics answers, the whole instance's metrics as the
   * primary aggregates them (this registry is one of its parts).
   */
  instanceScrape?: () => Promise<string>;
}

/** Operation names come from clients: cap their length (cardinality is still theirs to keep sane). */
export const MAX_OPERATION_LABEL = 100;

// 1 ms .. 10 s: a cached upstream answer to a slow fan-out.
const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

export class GatewayMetrics implements ClusterObserver, SecurityMetrics {
  readonly registry = new Registry();
  readonly #snapshots: () => readonly UpstreamSnapshot[];
  /** Set for the duration of one scrape, so the gauges share one snapshot. */
  #scrapeSnapshot?: readonly UpstreamSnapshot[];
  readonly #instanceScrape?: () => Promise<string>;

  readonly #calls: Counter<'upstream' | 'replica' | 'outcome'>;
  readonly #callDuration: Histogram<'upstream' | 'replica'>;
  readonly #retries: Counter<'upstream'>;
  readonly #batchSizes: Histogram<'upstream' | 'field'>;
  readonly #ejections: Counter<'upstream' | 'replica' | 'reason'>;
  readonly #healthChanges: Counter<'upstream' | 'replica' | 'healthy'>;
  readonly #rejections: Counter<'upstream' | 'reason'>;
  readonly #limitRejections: Counter<'reason'>;
  readonly #limitStoreErrors: Counter<'action'>;
  readonly #websocketConnections: Gauge;
  readonly #requests: Counter<'operation' | 'type' | 'outcome'>;
  readonly #requestDuration: Histogram<'operation' | 'type'>;

  constructor(options: GatewayMetricsOptions = {}) {
    this.#snapshots = options.snapshots ?? (() => []);
    this.#instanceScrape = options.instanceScrape;
    const registers = [this.registry];

    this.#calls = new Counter({
      name: 'quilt_upstream_calls_total',
      help: 'Upstream call attempts by replica and outcome (success, connect, timeout, reset, status).',
      labelNames: ['upstream', 'replica', 'outcome'],
      registers,
    });
    this.#callDuration = new Histogram({
      name: 'quilt_upstream_call_duration_seconds',
      help: 'Duration of upstream call attempts.',
      labelNames: ['upstream', 'replica'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.#batchSizes = new Histogram({
      name: 'quilt_upstream_batch_size',
      help: 'Keys per batched upstream call (a field with key:, a batched @merge lookup), by upstream and field.',
      labelNames: ['upstream', 'field'],
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    });
    this.#retries = new Counter({
      name: 'quilt_upstream_retries_total',
      help: 'Upstream attempts that were retries of a failed attempt.',
      labelNames: ['upstream'],
      registers,
    });
    this.#ejections = new Counter({
      name: 'quilt_upstream_ejections_total',
      help: 'Replicas ejected by outlier detection, by the rule that ejected them.',
      labelNames: ['upstream', 'replica', 'reason'],
      registers,
    });
    this.#healthChanges = new Counter({
      name: 'quilt_upstream_health_changes_total',
      help: 'Replica health transitions (healthy="true": came back).',
      labelNames: ['upstream', 'replica', 'healthy'],
      registers,
    });
    this.#rejections = new Counter({
      name: 'quilt_upstream_rejections_total',
      help: 'Upstream calls refused without an attempt (overload: in-flight cap reached).',
      labelNames: ['upstream', 'reason'],
      registers,
    });

    this.#poolGauge('quilt_upstream_replica_healthy', 'Replica is healthy (1) or not (0).', (_u, r) =>
      r.health === 'healthy' ? 1 : 0,
    );
    this.#poolGauge(
      'quilt_upstream_replica_ejected',
      'Replica is ejected by outlier detection (1) or not (0).',
      (_u, r) => (r.health.endsWith('ejected') ? 1 : 0),
    );
    this.#poolGauge('quilt_upstream_in_flight', 'Upstream attempts running now, per replica.', (_u, r) => r.inFlight);
    this.#poolGauge(
      'quilt_upstream_replica_latency_ewma_seconds',
      'Peak-EWMA latency of the replica, as the balancers see it.',
      (_u, r) => r.latencyEwmaMs / 1000,
    );
    this.#upstreamGauge(
      'quilt_upstream_healthy_replicas',
      'Healthy replicas of the upstream.',
      (u) => u.healthyReplicas,
    );
    this.#upstreamGauge('quilt_upstream_panic', 'No replica is healthy and every one is tried (1) or not (0).', (u) =>
      u.panic ? 1 : 0,
    );

    this.#limitRejections = new Counter({
      name: 'quilt_limit_rejections_total',
      help: 'Requests or fields refused by a limit (reason: cost_limit, cost_budget, rate_limit, depth, aliases, tokens, directives, batch, ip, body_size, trusted_documents, csrf).',
      labelNames: ['reason'],
      registers,
    });
    this.#limitStoreErrors = new Counter({
      name: 'quilt_limit_store_errors_total',
      help: 'Limit checks that could not reach the shared store (Redis), by what was done (allowed: fail open; refused: fail closed).',
      labelNames: ['action'],
      registers,
    });
    this.#websocketConnections = new Gauge({
      name: 'quilt_websocket_connections',
      help: 'GraphQL-over-WebSocket connections open now.',
      registers,
    });
    this.#requests = new Counter({
      name: 'quilt_graphql_requests_total',
      help: 'GraphQL requests by operation, type and outcome (success; error: data with errors; failed: no data or HTTP status >= 400).',
      labelNames: ['operation', 'type', 'outcome'],
      registers,
    });
    this.#requestDuration = new Histogram({
      name: 'quilt_graphql_request_duration_seconds',
      help: 'GraphQL request duration, from request to response headers.',
      labelNames: ['operation', 'type'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });

    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'quilt_' });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text (of every worker, under --workers). */
  async scrape(): Promise<string> {
    if (this.#instanceScrape) return this.#instanceScrape();
    // prom-client calls every collect() synchronously when metrics() starts; one snapshot serves them all.
    this.#scrapeSnapshot = this.#snapshots();
    try {
      return await this.registry.metrics();
    } finally {
      this.#scrapeSnapshot = undefined;
    }
  }

  /** A batched call of `field` (Type.field) sent `size` keys to `upstream`. */
  batch(upstream: string, field: string, size: number): void {
    this.#batchSizes.observe({ upstream, field }, size);
  }

  // ClusterObserver

  attempt(upstream: string, replica: string, outcome: AttemptOutcome, durationMs: number): void {
    this.#calls.inc({ upstream, replica, outcome });
    this.#callDuration.observe({ upstream, replica }, durationMs / 1000);
  }

  retry(upstream: string): void {
    this.#retries.inc({ upstream });
  }

  ejection(upstream: string, replica: string, _durationMs: number, reason: EjectionReason): void {
    this.#ejections.inc({ upstream, replica, reason });
  }

  healthChange(upstream: string, replica: string, healthy: boolean): void {
    this.#healthChanges.inc({ upstream, replica, healthy: String(healthy) });
  }

  rejection(upstream: string, reason: 'overload'): void {
    this.#rejections.inc({ upstream, reason });
  }

  // GraphQL requests

  /** A limit refused a request or a field. */
  limitRejection(reason: LimitRejectionReason): void {
    this.#limitRejections.inc({ reason });
  }

  /** The shared limit store (Redis) failed; `action` is what the gateway did about it. */
  limitStoreError(action: 'allowed' | 'refused'): void {
    this.#limitStoreErrors.inc({ action });
  }

  /** A GraphQL-over-WebSocket connection opened (+1) or closed (-1). */
  websocketConnection(delta: 1 | -1): void {
    this.#websocketConnections.inc(delta);
  }

  graphqlRequest(operation: string, type: OperationTypeLabel, outcome: RequestOutcome, durationMs: number): void {
    const op = operation.length > MAX_OPERATION_LABEL ? operation.slice(0, MAX_OPERATION_LABEL) : operation;
    this.#requests.inc({ operation: op, type, outcome });
    this.#requestDuration.observe({ operation: op, type }, durationMs / 1000);
  }

  #snapshot(): readonly UpstreamSnapshot[] {
    return this.#scrapeSnapshot ?? this.#snapshots();
  }

  /** A per-replica gauge computed at scrape time; reset first so removed replicas disappear. */
  #poolGauge(
    name: string,
    help: string,
    value: (u: UpstreamSnapshot, r: UpstreamSnapshot['replicas'][number]) => number,
  ): void {
    const metrics = this;
    new Gauge({
      name,
      help,
      labelNames: ['upstream', 'replica'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const u of metrics.#snapshot())
          for (const r of u.replicas) this.set({ upstream: u.name, replica: r.url }, value(u, r));
      },
    });
  }

  #upstreamGauge(name: string, help: string, value: (u: UpstreamSnapshot) => number): void {
    const metrics = this;
    new Gauge({
      name,
      help,
      labelNames: ['upstream'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const u of metrics.#snapshot()) this.set({ upstream: u.name }, value(u));
      },
    });
  }
}
