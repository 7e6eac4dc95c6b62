// The pool every upstream call goes through, whatever the protocol. It owns the replicas,
// asks the balancer for one per attempt and decides whether a failed attempt may go to
// another replica; the outlier detector (passive health) and the health checker (active
// health) each set their own flag on the replicas, and the balancer only sees which are
// usable. Retry rules:
// - a call that never reached its replica goes to one it has not tried, writes included;
// - a read (idempotent call) that reached a replica is retried after a server error
//   (5xx / UNAVAILABLE), a reset or a per-try timeout, up to `retries` times and within
//   the retry budget;
// - a write that reached a replica is never sent again.
// When no untried replica is healthy, the untried unhealthy ones are used (panic mode).
import type { Logger } from 'pino';
import { callKey, createBalancer } from './balancers/create-balancer.js';
import { systemClock } from './clock.js';
import { ClusterHealthChecks } from './health/cluster-health-checks.js';
import { OutlierDetection } from './outlier/outlier-detection.js';
import { ReplicaState } from './replica.js';
import { RetryBudget } from './retry-budget.js';
import {
  type AttemptTrace,
  type CallRouting,
  type CallTrace,
  type Clock,
  type ClusterObserver,
  type ClusterSpec,
  cancelledCall,
  type LoadBalancer,
  type OutlierDetector,
  type Replica,
  TransportFailure,
  type UpstreamSnapshot,
} from './types.js';

export interface CallOptions {
  /** Safe to send again after a replica received it: reads. */
  idempotent: boolean;
  /** Inputs of the HASH / STICKY key. */
  routing?: CallRouting;
  /** Overall deadline of this call (default: the upstream's timeoutMs). */
  timeoutMs?: number;
  /** Ends the call, wherever it is: no attempt starts after it fired, none is retried (the client went away, the request's deadline passed). */
  signal?: AbortSignal;
  /** The call's trace when tracing is on: told of each attempt and of the call's end. */
  trace?: CallTrace;
}

/**
 * One attempt on one replica, with the time it may take; it passes `signal` on to its
 * transport and, when the call is traced, sends `trace.propagation` and reports the status.
 */
export type Attempt<T> = (
  replica: Replica,
  tryTimeoutMs: number,
  signal: AbortSignal | undefined,
  trace: AttemptTrace | undefined,
) => Promise<T>;

export interface ClusterDeps {
  observer?: ClusterObserver;
  log?: Logger;
  /** Default: the system clock. */
  clock?: Clock;
  /** For the randomized balancers and health-check jitter; default Math.random. */
  random?: () => number;
}

export class Cluster {
  readonly name: string;
  #spec!: ClusterSpec;
  #replicas: ReplicaState[] = [];
  #balancer!: LoadBalancer;
  #budget!: RetryBudget;
  readonly #outliers: OutlierDetector;
  readonly #health: ClusterHealthChecks;
  readonly #clock: Clock;
  #inFlight = 0;
  readonly stats = { calls: 0, failures: 0, retries: 0 };

  constructor(
    spec: ClusterSpec,
    private readonly deps: ClusterDeps = {},
  ) {
    this.name = spec.name;
    this.#clock = deps.clock ?? systemClock;
    this.#outliers = new OutlierDetection(
      spec.pool.outlier,
      () => this.#replicas,
      (replica, durationMs, reason) => {
        deps.log?.warn(
          {
            upstream: this.name,
            replica: replica.url,
            reason,
            ejectedForMs: durationMs,
            lastFailure: replica.lastFailure,
          },
          'replica ejected by outlier detection',
        );
        deps.observer?.ejection(this.name, replica.url, durationMs, reason);
      },
    );
    this.#health = new ClusterHealthChecks(this.name, {
      clock: this.#clock,
      random: deps.random,
      log: deps.log,
      observer: deps.observer,
    });
    this.configure(spec);
  }

  get replicas(): readonly Replica[] {
    return this.#replicas;
  }

  /**
   * New settings from a reload. Replicas kept (same url and weight) keep their health,
   * latency and counters; removed ones finish the calls they have and are forgotten.
   */
  configure(spec: ClusterSpec): void {
    const previous = this.#spec;
    this.#spec = spec;
    const { pool } = spec;
    const kept = new Map(this.#replicas.map((r) => [`${r.url} ${r.weight}`, r]));
    this.#replicas = spec.replicas.map(
      (r) => kept.get(`${r.url} ${r.weight}`) ?? new ReplicaState(r.url, r.weight, pool.slowStartMs),
    );
    if (!previous || JSON.stringify(previous.pool.balance) !== JSON.stringify(pool.balance)) {
      this.#balancer = createBalancer(pool.balance, this.deps.random);
    }
    for (const r of this.#replicas) r.slowStartMs = pool.slowStartMs;
    this.#balancer.update(this.#replicas);
    if (!previous || JSON.stringify(previous.pool.retry) !== JSON.stringify(pool.retry))
      this.#budget = new RetryBudget(pool.retry);
    this.#outliers.configure(pool.outlier);
    this.#health.configure(spec, this.#replicas);
  }

  /** Starts active health checks (once the schema using this cluster is served). */
  start(): void {
    this.#health.start();
  }

  /** Stops health checks; calls in flight finish on their own. */
  close(): void {
    this.#health.stop();
  }

  /** Runs `attempt` on picked replicas until one answers or the retry rules say stop. */
  call<T>(attempt: Attempt<T>, options: CallOptions): Promise<T> {
    const { trace } = options;
    const call = this.#call(attempt, options, trace);
    // A traced call ends its trace before its caller resumes; an untraced one takes no extra step.
    if (trace)
      call.then(
        () => trace.end(),
        (e: unknown) => trace.end(e),
      );
    return call;
  }

  async #call<T>(attempt: Attempt<T>, options: CallOptions, trace: CallTrace | undefined): Promise<T> {
    const { pool } = this.#spec;
    const { signal } = options;
    if (signal?.aborted) throw cancelledCall('', signal);
    if (this.#inFlight >= pool.maxInFlight) {
      this.deps.observer?.rejection(this.name, 'overload');
      throw new TransportFailure(
        'overload',
        false,
        '',
        `upstream "${this.name}" has ${this.#inFlight} calls in flight (maxInFlight ${pool.maxInFlight})`,
      );
    }
    const start = this.#clock.now();
    const deadline = start + (options.timeoutMs ?? pool.timeoutMs);
    const tryTimeoutMs = pool.tryTimeoutMs ?? Infinity;
    const key = callKey(pool.balance, options.routing);
    const tried = new Set<Replica>();
    let retriesLeft = pool.retry.retries;
    this.#inFlight++;
    this.stats.calls++;
    this.#budget.recordCall(start);
    try {
      for (;;) {
        const now = this.#clock.now();
        const replica = this.#pick(tried, key, now);
        if (!replica)
          throw new TransportFailure(
            'connect',
            false,
            [...tried].map((r) => r.url).join(','),
            `no replica of "${this.name}" could be reached`,
          );
        tried.add(replica);
        try {
          // Whole milliseconds: transports hand the budget to timers that take integers.
          return await this.#attempt(
            replica,
            attempt,
            Math.ceil(Math.min(tryTimeoutMs, deadline - now)),
            signal,
            trace?.attempt(replica.url, tried.size),
          );
        } catch (e) {
          if (!(e instanceof TransportFailure)) throw e;
          if (signal?.aborted) throw e.kind === 'cancelled' ? e : cancelledCall(e.replica, signal);
          const later = this.#clock.now();
          const more = tried.size < this.#replicas.length && later < deadline;
          // Not reached: free to go elsewhere. Reached: only a read, within retries and budget.
          const retry =
            more &&
            (!e.reached ||
              (options.idempotent && e.kind !== 'overload' && retriesLeft > 0 && this.#budget.tryRetry(later)));
          if (!retry) throw e;
          if (e.reached) retriesLeft--;
          this.stats.retries++;
          this.deps.observer?.retry(this.name);
        }
      }
    } catch (e) {
      this.stats.failures++;
      throw e;
    } finally {
      this.#inFlight--;
    }
  }

  async #attempt<T>(
    replica: ReplicaState,
    attempt: Attempt<T>,
    tryTimeoutMs: number,
    signal: AbortSignal | undefined,
    trace: AttemptTrace | undefined,
  ): Promise<T> {
    replica.inFlight++;
    replica.calls++;
    const started = this.#clock.now();
    try {
      const result = await attempt(replica, tryTimeoutMs, signal, trace);
      this.#answered(replica, started);
      trace?.end();
      return result;
    } catch (e) {
      // Whatever the transport saw (a reset, a timeout), an attempt its caller ended was cancelled.
      if (e instanceof TransportFailure) {
        const failure = signal?.aborted && e.kind !== 'cancelled' ? cancelledCall(e.replica, signal) : e;
        this.#failed(replica, failure, started);
        trace?.end(failure);
      } else {
        // Anything else (a gRPC NOT_FOUND, a mapping error) is the replica answering.
        this.#answered(replica, started);
        trace?.end();
      }
      throw e;
    } finally {
      replica.inFlight--;
    }
  }

  /** Healthy replicas the call has not tried; when there are none, the unhealthy ones it has not tried. */
  #pick(tried: ReadonlySet<Replica>, key: string | undefined, now: number): ReplicaState | undefined {
    let healthyLeft = false;
    for (const r of this.#replicas) {
      if (!tried.has(r) && r.isHealthy(now)) {
        healthyLeft = true;
        break;
      }
    }
    const usable = healthyLeft
      ? (r: Replica) => !tried.has(r) && (r as ReplicaState).isHealthy(now)
      : (r: Replica) => !tried.has(r);
    return this.#balancer.pick({ usable, key, now }) as ReplicaState | undefined;
  }

  #answered(replica: ReplicaState, started: number): void {
    const now = this.#clock.now();
    this.#outliers.success(replica, now);
    replica.observeLatency(now - started, now);
    this.deps.observer?.attempt(this.name, replica.url, 'success', now - started, now);
  }

  #failed(replica: ReplicaState, failure: TransportFailure, started: number): void {
    const now = this.#clock.now();
    const ms = now - started;
    // The caller gave up: says nothing of the replica's health or speed.
    if (failure.kind === 'cancelled') {
      this.deps.observer?.attempt(this.name, replica.url, 'cancelled', ms, now);
      return;
    }
    replica.failures++;
    replica.lastFailure = `${failure.kind}: ${failure.message}`;
    // A timeout or a slow error is a latency signal; a refused connection is not.
    if (failure.kind !== 'connect') replica.observeLatency(ms, now);
    if (failure.kind !== 'overload') this.deps.observer?.attempt(this.name, replica.url, failure.kind, ms, now);
    this.#outliers.failure(replica, failure.kind, now);
  }

  snapshot(): UpstreamSnapshot {
    const now = this.#clock.now();
    const { pool } = this.#spec;
    const healthy = this.#replicas.filter((r) => r.isHealthy(now)).length;
    return {
      name: this.name,
      protocol: this.#spec.protocol,
      algorithm: pool.balance.algorithm,
      activeHealthChecks: !!pool.health,
      inFlight: this.#inFlight,
      maxInFlight: pool.maxInFlight,
      panic: healthy === 0,
      healthyReplicas: healthy,
      ...this.stats,
      replicas: this.#replicas.map((r) => r.snapshot(now)),
    };
  }
}
