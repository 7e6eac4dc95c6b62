// A cluster's active health checks: one HealthChecker with the probe of the upstream's
// protocol, whose verdicts set and clear the FAILED_ACTIVE_HC flag of the cluster's replicas
// (ReplicaState.activeHealthy) and nothing else. Rebuilt when the protocol, the GraphQL
// endpoint, the health settings or the TLS settings change; kept (with every replica's state)
// otherwise.
import type { Logger } from 'pino';
import type { ReplicaState } from '../replica.js';
import { tlsIdentity } from '../transport/tls.js';
import type { Clock, ClusterObserver, ClusterSpec } from '../types.js';
import { createHealthProbe } from './create-probe.js';
import { HealthChecker } from './health-checker.js';

export interface ClusterHealthDeps {
  clock: Clock;
  random?: () => number;
  log?: Logger;
  observer?: ClusterObserver;
}

export class ClusterHealthChecks {
  #spec?: ClusterSpec;
  #replicas: readonly ReplicaState[] = [];
  #running?: { checker: HealthChecker; close(): Promise<void>; identity: string };
  #started = false;

  constructor(
    private readonly upstream: string,
    private readonly deps: ClusterHealthDeps,
  ) {}

  configure(spec: ClusterSpec, replicas: readonly ReplicaState[]): void {
    this.#spec = spec;
    this.#replicas = replicas;
    if (this.#started) this.#sync();
  }

  start(): void {
    this.#started = true;
    this.#sync();
  }

  stop(): void {
    this.#started = false;
    this.#shutDown();
  }

  #sync(): void {
    const spec = this.#spec!;
    const { health } = spec.pool;
    const identity = JSON.stringify([spec.protocol, spec.graphqlEndpoint, health, tlsIdentity(spec.tls)]);
    if (this.#running && this.#running.identity !== identity) {
      this.#shutDown();
      // A verdict of the old checks says nothing under the new ones.
      for (const r of this.#replicas) r.activeHealthy = true;
    }
    if (!health) return;
    if (!this.#running) {
      const probe = createHealthProbe(spec.protocol, health, spec.graphqlEndpoint, spec.tls);
      const checker = new HealthChecker(
        health,
        probe.probe,
        (url, healthy, reason) => this.#verdict(url, healthy, reason),
        {
          clock: this.deps.clock,
          random: this.deps.random,
        },
      );
      this.#running = { checker, close: probe.close, identity };
    }
    this.#running.checker.update(this.#replicas.map((r) => r.url));
  }

  #shutDown(): void {
    if (!this.#running) return;
    this.#running.checker.stop();
    void this.#running.close();
    this.#running = undefined;
  }

  #verdict(url: string, healthy: boolean, reason: string): void {
    const now = this.deps.clock.now();
    for (const r of this.#replicas) {
      if (r.url !== url) continue;
      r.activeHealthy = healthy;
      if (healthy) r.returnedAt = now;
    }
    this.deps.log?.[healthy ? 'info' : 'warn'](
      { upstream: this.upstream, replica: url, reason },
      healthy ? 'replica passed health checks' : 'replica failed health checks',
    );
    this.deps.observer?.healthChange(this.upstream, url, healthy, reason);
  }
}
