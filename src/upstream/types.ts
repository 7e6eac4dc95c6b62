// Roles of the upstream layer (docs/ARCHITECTURE.md, "src/upstream"): a Cluster owns the
// replicas of one upstream and runs each call's attempts; a LoadBalancer picks a replica per
// attempt; a HealthChecker probes replicas on a timer (active health); an OutlierDetector
// ejects replicas that fail calls (passive health). Transports (transport/) know how to talk
// to a replica and nothing about picking. None of this knows GraphQL, schema files or
// connectors: the cluster's input is a ClusterSpec, which src/config maps from @upstream.
import type { ReplicaState } from './replica.js';

export type Protocol = 'HTTP' | 'GRPC' | 'GRAPHQL';

/** Everything a cluster is built from: one upstream's replicas and pool settings. */
export interface ClusterSpec {
  /** Unique upstream name (logs, metrics, snapshots). */
  name: string;
  /** Picks the active health probe: HTTP GET, grpc.health.v1 Check or GraphQL `{ __typename }`. */
  protocol: Protocol;
  replicas: readonly ReplicaSpec[];
  pool: PoolSettings;
  /** GRAPHQL: the path the health probe posts to on each replica ("" when the replica url is the endpoint). */
  graphqlEndpoint: string;
  /** TLS to the replicas (calls and health probes); undefined: https:// and grpcs:// use Node's defaults. */
  tls?: UpstreamTls;
}

/**
 * How to talk TLS to an upstream's replicas, as plain data: the PEM bytes were read from
 * their files when the schema loaded (src/config/upstream-tls.ts). Two values with the same
 * content are the same transport (transport/tls.ts, tlsIdentity), so a reload that re-reads
 * unchanged files keeps the connections.
 */
export interface UpstreamTls {
  /** PEM CA certificates a replica's certificate must chain to; undefined: Node's root store. */
  ca?: Buffer;
  /** PEM client certificate (a chain may follow it) and its private key, for replicas that ask (mTLS). */
  cert?: Buffer;
  key?: Buffer;
  /** false: a replica's certificate is not verified at all (insecureSkipVerify). */
  verify: boolean;
  /** The name a replica's certificate must carry, and the SNI sent, instead of the url's host. */
  serverName?: string;
}

export interface ReplicaSpec {
  /** Base url (HTTP, GRAPHQL) or host:port (GRPC), as declared. */
  url: string;
  weight: number;
}

/**
 * Time as the pool sees it, injectable so that tests of deadlines, ejections and health
 * intervals run on a clock they advance rather than sleeping.
 */
export interface Clock {
  /** Epoch milliseconds, with sub-millisecond precision where the platform has it. */
  now(): number;
  /** An unref'ed timer: it never keeps the process alive. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** What Clock.setTimeout returns; only its own clearTimeout reads it. */
export type TimerHandle = unknown;

/** What a balancer may read of a replica. */
export interface Replica {
  /** Stable identity inside its upstream: the url as declared. */
  readonly url: string;
  /** Declared weight (1 or more). */
  readonly weight: number;
  /** Attempts running on this replica now. */
  readonly inFlight: number;
  /** Peak-EWMA latency in ms; a default RTT until the first call is measured. */
  readonly latencyMs: number;
  /** The weight scaled down during slow start after the replica came back (0 < w <= weight). */
  effectiveWeight(now: number): number;
}

export interface PickContext {
  /** May this attempt use the replica? (healthy, or every replica in panic mode; not yet tried by this call) */
  usable(replica: Replica): boolean;
  /** HASH: the hashed value; STICKY: the client identity. Undefined when the call has none. */
  key?: string;
  /** Date.now() of this pick, for slow start and sticky expiry. */
  now: number;
}

export interface LoadBalancer {
  /** The replica list changed (startup, reload). Entries of replicas kept across the update are the same objects. */
  update(replicas: readonly Replica[]): void;
  /** A usable replica, or undefined when none is. */
  pick(ctx: PickContext): Replica | undefined;
}

export type BalanceAlgorithm =
  | 'ROUND_ROBIN'
  | 'WEIGHTED_ROUND_ROBIN'
  | 'STICKY'
  | 'HASH'
  | 'LEAST_CONNECTIONS'
  | 'LEAST_RESPONSE_TIME'
  | 'RANDOM';

export interface BalanceSettings {
  algorithm: BalanceAlgorithm;
  /** HASH: "ip" | "url" | "header:NAME" | "claim:NAME". */
  hashOn?: string;
  /** STICKY: "header:NAME" or "cookie:NAME" naming a client without a JWT subject (else its IP). */
  stickyOn?: string;
  /** STICKY: a client unseen this long forgets its replica. */
  stickyTtlMs: number;
  /** STICKY: most clients remembered; the least recently seen is forgotten first. */
  stickyMaxClients: number;
}

/** Who and what a call is for: the inputs of HASH and STICKY keys. Built by connectors. */
export interface CallRouting {
  clientIp?: string;
  /** The call's path (HTTP path and query, gRPC method path, GraphQL endpoint). */
  path?: string;
  header(name: string): string | undefined;
  cookie(name: string): string | undefined;
  claim(name: string): unknown;
}

export interface HealthSettings {
  /** HTTP: the path probed with GET (2xx = up). */
  path: string;
  /** GRPC: the service name asked of grpc.health.v1.Health/Check ("" = the whole server). */
  service: string;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive passes that bring a down replica back. */
  healthyThreshold: number;
  /** Consecutive failures that take a replica down. */
  unhealthyThreshold: number;
}

/** One probe of one replica: resolves when it is up, rejects (with the reason) when it is down. */
export type HealthProbe = (replicaUrl: string, timeoutMs: number) => Promise<void>;

export interface OutlierSettings {
  /** Consecutive failed attempts (connect error, timeout, reset, 5xx / UNAVAILABLE) that eject a replica. */
  consecutiveFailures: number;
  /** First ejection time; the nth ejection in a row lasts n times this, up to maxEjectionMs. */
  baseEjectionMs: number;
  maxEjectionMs: number;
  /** At most this share of the replicas ejected at once; one ejection is always allowed. */
  maxEjectionPercent: number;
  /** The success-rate rules count each replica's attempts over this long, then judge them. */
  intervalMs: number;
  /** Replicas with successRateRequestVolume attempts in the interval needed to compare rates. */
  successRateMinimumHosts: number;
  successRateRequestVolume: number;
  /** A replica whose success rate is below mean - this x standard deviation is ejected. */
  successRateStdevFactor: number;
  /** A replica whose failures are at least this percent of its attempts is ejected (0: off)... */
  failurePercentageThreshold: number;
  /** ...when at least this many replicas made failurePercentageRequestVolume attempts in the interval. */
  failurePercentageMinimumHosts: number;
  failurePercentageRequestVolume: number;
}

export interface RetrySettings {
  /** Extra attempts after the first, each on a replica this call has not tried. */
  retries: number;
  /** Retries of calls that reached a replica stay under this percent of the calls... */
  budgetPercent: number;
  /** ...plus this many per second, so a quiet upstream can still retry. */
  budgetMinPerSecond: number;
}

export interface PoolSettings {
  balance: BalanceSettings;
  /** Undefined: no active health checks (outlier detection still runs). */
  health?: HealthSettings;
  outlier: OutlierSettings;
  retry: RetrySettings;
  /** Overall deadline of one call, retries included. */
  timeoutMs: number;
  /** Deadline of each attempt; undefined: each attempt may use what is left of the call's deadline. */
  tryTimeoutMs?: number;
  /** Calls in flight above this fail fast (circuit breaker). */
  maxInFlight: number;
  /** A replica that comes back ramps its weight up over this long (0 = off). */
  slowStartMs: number;
}

/**
 * Passive health: fed the outcome of every attempt, it ejects replicas that keep failing
 * (it sets and clears only their ejection, never the active health flag).
 */
export interface OutlierDetector {
  /** The replica answered (whatever it answered, short of a TransportFailure). */
  success(replica: ReplicaState, now: number): void;
  /** An attempt on the replica failed; may eject it. */
  failure(replica: ReplicaState, kind: FailureKind, now: number): void;
  /** New settings from a reload; replica state is kept. */
  configure(settings: OutlierSettings): void;
}

/** How an attempt failed, as far as the retry and outlier rules need to know. */
export type FailureKind =
  | 'connect' // the replica could not be reached; nothing was sent
  | 'timeout' // the per-try deadline passed after the request was sent
  | 'reset' // the connection broke after the request was (maybe) sent
  | 'status' // the replica answered with a server error: HTTP 5xx, gRPC UNAVAILABLE
  | 'overload' // the pool refused before trying: circuit breaker open
  | 'cancelled'; // the caller gave up (the client went away, the request's deadline passed): not the replica's fault

/** Thrown by transports (and by connectors for a 5xx answer); the connector turns it into a client-facing QuiltError. */
export class TransportFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    /** False when the request never reached the replica: safe to send elsewhere, even a write. */
    readonly reached: boolean,
    readonly replica: string,
    message: string,
    options?: {
      cause?: unknown;
      /** kind 'status': the HTTP status or gRPC code name the replica answered with. */
      status?: number | string;
      /** kind 'status': the answer itself, for the connector's error detail. */
      answer?: unknown;
    },
  ) {
    super(message, options);
    this.name = 'TransportFailure';
    this.status = options?.status;
    this.answer = options?.answer;
  }
  readonly status?: number | string;
  readonly answer?: unknown;
}

/** Which outlier rule ejected a replica (the `reason` label of quilt_upstream_ejections_total). */
export type EjectionReason = 'consecutive_failures' | 'success_rate' | 'failure_percentage';

/** Outcome label of one attempt, as counted in metrics. */
export type AttemptOutcome = 'success' | Exclude<FailureKind, 'overload'>;

/** The failure of a call whose caller's signal ended it; `reason` is the signal's. */
export function cancelledCall(replica: string, signal: AbortSignal): TransportFailure {
  return new TransportFailure('cancelled', false, replica, 'the call was cancelled by its caller', {
    cause: signal.reason,
  });
}

/** Events of the pools, for metrics; called synchronously on the call path, so they must be cheap. */
export interface ClusterObserver {
  /** `endedAt`: the cluster's clock when the attempt ended (epoch ms), so an observer need not read a clock again. */
  attempt(upstream: string, replica: string, outcome: AttemptOutcome, durationMs: number, endedAt?: number): void;
  retry(upstream: string): void;
  ejection(upstream: string, replica: string, durationMs: number, reason: EjectionReason): void;
  healthChange(upstream: string, replica: string, healthy: boolean, reason: string): void;
  /** A call refused without an attempt: circuit breaker ('overload'). */
  rejection(upstream: string, reason: 'overload'): void;
}

/**
 * The trace of one call through a cluster (CallOptions.trace), when tracing is on. The pools
 * only say when attempts start and end; spans, their parents and the wire format of the trace
 * context are the implementation's (src/observability/tracing/), so nothing here knows
 * OpenTelemetry or the request the call belongs to.
 */
export interface CallTrace {
  /** An attempt starts on `replica`; `attempt` counts from 1 (2 and more are retries). */
  attempt(replica: string, attempt: number): AttemptTrace;
  /** The call is over: answered (no argument) or failed with what the cluster threw. */
  end(error?: unknown): void;
}

/** One attempt of a traced call. The connector sends `propagation` and reports `status`; the cluster ends it. */
export interface AttemptTrace {
  /** Headers (HTTP) or metadata (gRPC) carrying this attempt's trace context: W3C traceparent and tracestate. */
  readonly propagation: Readonly<Record<string, string>>;
  /** What the replica answered: an HTTP status or a gRPC status code name ("OK", "NOT_FOUND"). */
  status(status: number | string): void;
  /** The attempt is over: the replica answered (no argument) or it failed as `failure` says. */
  end(failure?: TransportFailure): void;
}

/** What a connector says of a call it is about to make, for its trace. */
export interface CallDescription {
  upstream: string;
  protocol: Protocol;
  /**
   * What is called, with low cardinality: HTTP "GET /users/{args.id}" (the schema's url
   * template), gRPC "pkg.Service/Method", GRAPHQL "POST /graphql".
   */
  route: string;
  /** HTTP, GRAPHQL: the method. */
  method?: string;
  /** HTTP, GRAPHQL: the path (and query) sent after the replica's url; a function where it depends on the replica. */
  path?: string | ((replica: string) => string);
}

/** Starts the trace of each upstream call of one request (QuiltContext.tracer). */
export interface CallTracer {
  call(description: CallDescription): CallTrace;
}

export interface ReplicaSnapshot {
  url: string;
  weight: number;
  /** 'healthy', or why not: failed active health check, ejected by outlier detection. */
  health: 'healthy' | 'failed_active_hc' | 'ejected' | 'failed_active_hc+ejected';
  /** ISO time, or null when not ejected. */
  ejectedUntil: string | null;
  ejections: number;
  inFlight: number;
  latencyEwmaMs: number;
  calls: number;
  failures: number;
  lastFailure: string | null;
}

export interface UpstreamSnapshot {
  name: string;
  protocol: string;
  algorithm: BalanceAlgorithm;
  activeHealthChecks: boolean;
  inFlight: number;
  maxInFlight: number;
  /** No replica is healthy: every replica is tried. */
  panic: boolean;
  healthyReplicas: number;
  calls: number;
  failures: number;
  retries: number;
  replicas: ReplicaSnapshot[];
}
