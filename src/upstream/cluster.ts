// The pool every upstream call goes through, whatever the protocol (DESIGN.md section 4).
// It owns the replicas, asks the balancer for one per attempt, decides whether a failed
// attempt may go to another replica, ejects replicas that keep failing (outlier detection),
// and takes the active health checker's verdicts. Retry rules:
// - a call that never reached its replica goes to one it has not tried, writes included;
// - a read (idempotent call) that reached a replica is retried after a server error
//   (5xx / UNAVAILABLE), a reset or a per-try timeout, up to `retries` times and within
//   the retry budget;
// - a write that reached a replica is never sent again.
// When no untried replica is healthy, the untried unhealthy ones are used (panic mode).
import type { Logger } from 'pino';
import type { ReplicaConfig, UpstreamConfig } from '../config/upstream.js';
import { callKey, createBalancer } from './balancers/index.js';
import { HealthChecker } from './health/health-checker.js';
import { createHealthProbe } from './health/index.js';
import { ReplicaState } from './replica.js';
import { RetryBudget } from './retry-budget.js';
import {
  TransportFailure,
  type CallRouting,
  type ClusterObserver,
  type LoadBalancer,
  type PoolSettings,
  type Replica,
  type UpstreamSnapshot,
} from './types.js';

export type ClusterConfig = Pick<UpstreamConfig, 'name' | 'protocol' | 'endpoint' | 'replicas' | 'pool'>;

export interface CallOptions {
  /** Safe to send again after a replica received it: reads. */
  idempotent: boolean;
  /** Inputs of the HASH / STICKY key. */
  routing?: CallRouting;
  /** Overall deadline of this call (default: the upstream's timeoutMs). */
  timeoutMs?: number;
}

/** One attempt on one replica, with the time it may take. */
export type Attempt<T> = (replica: Replica, tryTimeoutMs: number) => Promise<T>;

export interface ClusterDeps {
  observer?: ClusterObserver;
  log?: Logger;
}

export class Cluster {
  readonly name: string;
  #config!: ClusterConfig;
  #pool!: PoolSettings;
  #replicas: ReplicaState[] = [];
  #balancer!: LoadBalancer;
  #budget!: RetryBudget;
  #health?: { checker: HealthChecker; close(): Promise<void>; identity: string };
  #inFlight = 0;
  #started = false;
  readonly stats = { calls: 0, failures: 0, retries: 0 };

  constructor(config: ClusterConfig, private readonly deps: ClusterDeps = {}) {
    this.name = config.name;
    this.configure(config);
  }

  get replicas(): readonly Replica[] {
    return this.#replicas;
  }

  /**
   * New settings from a reload. Replicas kept (same url and weight) keep their health,
   * latency and counters; removed ones finish the calls they have and are forgotten.
   */
  configure(config: ClusterConfig): void {
    const previous = this.#config;
    this.#config = config;
    this.#pool = config.pool;
    const kept = new Map(this.#replicas.map((r) => [`${r.url} ${r.weight}`, r]));
    this.#replicas = config.replicas.map((r: ReplicaConfig) => kept.get(`${r.url} ${r.weight}`) ?? new ReplicaState(r.url, r.weight, config.pool.slowStartMs));
    if (!previous || JSON.stringify(previous.pool.balance) !== JSON.stringify(config.pool.balance)) {
      this.#balancer = createBalancer(config.pool.balance);
    }
    for (const r of this.#replicas) r.slowStartMs = config.pool.slowStartMs;
    this.#balancer.update(this.#replicas);
    if (!previous || JSON.stringify(previous.pool.retry) !== JSON.stringify(config.pool.retry)) this.#budget = new RetryBudget(config.pool.retry);
    if (this.#started) this.#syncHealthChecks();
  }

  /** Starts active health checks (once the schema using this cluster is served). */
  start(): void {
    this.#started = true;
    this.#syncHealthChecks();
  }

  #syncHealthChecks(): void {
    const { health } = this.#pool;
    const identity = JSON.stringify([this.#config.protocol, this.#config.endpoint, health]);
    if (this.#health && this.#health.identity !== identity) {
      this.#stopHealthChecks();
      // A verdict of the old checks says nothing under the new ones.
      for (const r of this.#replicas) r.activeHealthy = true;
    }
    if (!health) return;
    if (!this.#health) {
      const probe = createHealthProbe(this.#config.protocol, health, this.#config.endpoint);
      const checker = new HealthChecker(health, probe.probe, (url, healthy, reason) => this.#onHealthChange(url, healthy, reason));
      this.#health = { checker, close: probe.close, identity };
    }
    this.#health.checker.update(this.#replicas.map((r) => r.url));
  }

  #stopHealthChecks(): void {
    if (!this.#health) return;
    this.#health.checker.stop();
    void this.#health.close();
    this.#health = undefined;
  }

  #onHealthChange(url: string, healthy: boolean, reason: string): void {
    const now = Date.now();
    for (const r of this.#replicas) {
      if (r.url !== url) continue;
      r.activeHealthy = healthy;
      if (healthy) r.returnedAt = now;
    }
    this.deps.log?.[healthy ? 'info' : 'warn']({ upstream: this.name, replica: url, reason }, healthy ? 'replica passed health checks' : 'replica failed health checks');
    this.deps.observer?.healthChange(this.name, url, healthy, reason);
  }

  /** Runs `attempt` on picked replicas until one answers or the retry rules say stop. */
  async call<T>(attempt: Attempt<T>, options: CallOptions): Promise<T> {
    const pool = this.#pool;
    if (this.#inFlight >= pool.maxInFlight) {
      this.deps.observer?.rejection(this.name, 'overload');
      throw new TransportFailure('overload', false, '', `upstream "${this.name}" has ${this.#inFlight} calls in flight (maxInFlight ${pool.maxInFlight})`);
    }
    const start = Date.now();
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
        const now = Date.now();
        const replica = this.#pick(tried, key, now);
        if (!replica) throw new TransportFailure('connect', false, [...tried].map((r) => r.url).join(','), `no replica of "${this.name}" could be reached`);
        tried.add(replica);
        try {
          return await this.#attempt(replica, attempt, Math.min(tryTimeoutMs, deadline - now));
        } catch (e) {
          if (!(e instanceof TransportFailure)) throw e;
          const more = tried.size < this.#replicas.length && Date.now() < deadline;
          // Not reached: free to go elsewhere. Reached: only a read, within retries and budget.
          const retry = more && (!e.reached || (options.idempotent && e.kind !== 'overload' && retriesLeft > 0 && this.#budget.tryRetry(Date.now())));
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

  async #attempt<T>(replica: ReplicaState, attempt: Attempt<T>, tryTimeoutMs: number): Promise<T> {
    replica.inFlight++;
    replica.calls++;
    const started = performance.now();
    try {
      const result = await attempt(replica, tryTimeoutMs);
      this.#answered(replica, performance.now() - started);
      return result;
    } catch (e) {
      const ms = performance.now() - started;
      if (e instanceof TransportFailure) this.#failed(replica, e, ms);
      // Anything else (a gRPC NOT_FOUND, a mapping error) is the replica answering.
      else this.#answered(replica, ms);
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

  #answered(replica: ReplicaState, ms: number): void {
    replica.consecutiveFailures = 0;
    replica.observeLatency(ms, Date.now());
    this.deps.observer?.attempt(this.name, replica.url, 'success', ms);
  }

  #failed(replica: ReplicaState, failure: TransportFailure, ms: number): void {
    const now = Date.now();
    replica.failures++;
    replica.lastFailure = `${failure.kind}: ${failure.message}`;
    // A timeout or a slow error is a latency signal; a refused connection is not.
    if (failure.kind !== 'connect') replica.observeLatency(ms, now);
    if (failure.kind !== 'overload') this.deps.observer?.attempt(this.name, replica.url, failure.kind, ms);
    if (++replica.consecutiveFailures >= this.#pool.outlier.consecutiveFailures && !replica.isEjected(now)) this.#eject(replica, now);
  }

  /** Outlier detection: out for base x level (growing with ejections in a row), within maxEjectionPercent. */
  #eject(replica: ReplicaState, now: number): void {
    const { baseEjectionMs, maxEjectionMs, maxEjectionPercent } = this.#pool.outlier;
    const ejected = this.#replicas.filter((r) => r.isEjected(now)).length;
    // One ejection is always allowed, so a 2- or 3-replica pool can eject its bad replica.
    if (ejected >= Math.max(1, Math.floor((this.#replicas.length * maxEjectionPercent) / 100))) return;
    // Each base time spent back in service without an ejection lowers the level by one.
    if (replica.ejectedUntil) replica.ejectionLevel = Math.max(0, replica.ejectionLevel - Math.floor((now - replica.ejectedUntil) / baseEjectionMs));
    replica.ejectionLevel++;
    const duration = Math.min(maxEjectionMs, baseEjectionMs * replica.ejectionLevel);
    replica.ejectedUntil = now + duration;
    replica.returnedAt = replica.ejectedUntil;
    replica.ejections++;
    replica.consecutiveFailures = 0;
    this.deps.log?.warn({ upstream: this.name, replica: replica.url, ejectedForMs: duration, lastFailure: replica.lastFailure }, 'replica ejected by outlier detection');
    this.deps.observer?.ejection(this.name, replica.url, duration);
  }

  snapshot(): UpstreamSnapshot {
    const now = Date.now();
    const healthy = this.#replicas.filter((r) => r.isHealthy(now)).length;
    return {
      name: this.name,
      protocol: this.#config.protocol,
      algorithm: this.#pool.balance.algorithm,
      activeHealthChecks: !!this.#pool.health,
      inFlight: this.#inFlight,
      maxInFlight: this.#pool.maxInFlight,
      panic: healthy === 0,
      healthyReplicas: healthy,
      ...this.stats,
      replicas: this.#replicas.map((r) => r.snapshot(now)),
    };
  }

  /** Stops health checks; calls in flight finish on their own. */
  close(): void {
    this.#started = false;
    this.#stopHealthChecks();
  }
}
