// One observer for the pools and one metrics sink for the security plugins, feeding both the
// Prometheus metrics (gateway-metrics.ts) and the status page's history (status-history.ts):
// the pools and plugins take a single observer, and neither of the two knows of the other.
import type { QuiltError } from '../errors.js';
import type { LimitRejectionReason, SecurityMetrics } from '../security/security-metrics.js';
import type { AttemptOutcome, ClusterObserver, EjectionReason } from '../upstream/types.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { StatusHistory } from './status-history.js';

export class ObserverFanOut implements ClusterObserver, SecurityMetrics {
  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly history: StatusHistory,
  ) {}

  attempt(upstream: string, replica: string, outcome: AttemptOutcome, durationMs: number, endedAt?: number): void {
    this.metrics.attempt(upstream, replica, outcome, durationMs);
    this.history.attempt(upstream, replica, outcome, durationMs, endedAt);
  }

  retry(upstream: string): void {
    this.metrics.retry(upstream);
  }

  ejection(upstream: string, replica: string, durationMs: number, reason: EjectionReason): void {
    this.metrics.ejection(upstream, replica, durationMs, reason);
    this.history.ejection(upstream, replica, durationMs, reason);
  }

  healthChange(upstream: string, replica: string, healthy: boolean, reason: string): void {
    this.metrics.healthChange(upstream, replica, healthy);
    this.history.healthChange(upstream, replica, healthy, reason);
  }

  rejection(upstream: string, reason: 'overload'): void {
    this.metrics.rejection(upstream, reason);
    this.history.rejection(upstream, reason);
  }

  limitRejection(reason: LimitRejectionReason, refusal?: QuiltError): void {
    this.metrics.limitRejection(reason);
    this.history.limitRejection(reason, refusal);
  }

  limitStoreError(action: 'allowed' | 'refused'): void {
    this.metrics.limitStoreError(action);
  }
}
