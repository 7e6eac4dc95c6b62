// What the security plugins report, and the only metrics they may touch: a refusal counted by
// reason and a shared-store failure counted by what was done about it. The gateway's
// Prometheus metrics (src/observability/gateway-metrics.ts) implement it; security never
// sees that class. A refusal may carry the error the client got, for the status page's list
// of recent refusals (src/observability/status-history.ts).
import type { QuiltError } from '../errors.js';

/** Reasons as the quilt_limit_rejections_total metric labels them. */
export type LimitRejectionReason =
  | 'cost_limit'
  | 'cost_budget'
  | 'rate_limit'
  | 'invalid_token'
  | 'depth'
  | 'aliases'
  | 'tokens'
  | 'directives'
  | 'batch'
  | 'ip'
  | 'body_size'
  | 'trusted_documents'
  | 'csrf'
  | 'in_flight';

export interface SecurityMetrics {
  /** A limit refused a request or a field; `refusal`: the error the client got. */
  limitRejection(reason: LimitRejectionReason, refusal?: QuiltError): void;
  /** The shared limit store (Redis) failed; `action` is what the gateway did about it. */
  limitStoreError(action: 'allowed' | 'refused'): void;
}

/** A plugin's view of the counter: it counts its own refusals. */
export type RejectionCounter = (reason: LimitRejectionReason) => void;
