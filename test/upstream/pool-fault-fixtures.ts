// What the fault-injection files share: the health-check settings of their sources and the
// REST items source over replica processes (test/fixtures/replicas/http-replica.ts).
import type { ReplicaProcess } from '../helpers/replica-process.js';

// Probes every 200 ms; a generous probe timeout, because the gateway shares its event loop
// with the load generator here: under CPU contention a healthy replica's probe answer can be
// late, and two late ones would take a healthy replica out.
export const HEALTH = { intervalMs: 200, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 2 };

export interface PoolOptions {
  tryTimeoutMs?: number;
  consecutiveFailures?: number;
  baseEjectionMs?: number;
  retries?: number;
  /** More outlierDetection settings, written as they are (`intervalMs: 300`). */
  outlier?: string;
  /** Extra @upstream arguments, written as they are. */
  extra?: string;
}

/**
 * The items source over the given replicas, with small health intervals. The per-try timeout
 * is long (3 s) except where a test sets it: no healthy call may time out under CPU
 * contention, since the tests count exactly who answered what.
 */
export function itemsSchema(replicas: readonly ReplicaProcess[], o: PoolOptions = {}): string {
  const health = `{ path: "/health", intervalMs: ${HEALTH.intervalMs}, timeoutMs: ${HEALTH.timeoutMs}, healthyThreshold: ${HEALTH.healthyThreshold}, unhealthyThreshold: ${HEALTH.unhealthyThreshold} }`;
  return `extend schema @upstream(
  name: "items"
  protocol: HTTP
  replicas: [${replicas.map((r) => `{ url: "${r.url}" }`).join(', ')}]
  health: ${health}
  outlierDetection: { consecutiveFailures: ${o.consecutiveFailures ?? 3}, baseEjectionMs: ${o.baseEjectionMs ?? 10000}${o.outlier ? `, ${o.outlier}` : ''} }
  timeoutMs: 8000
  tryTimeoutMs: ${o.tryTimeoutMs ?? 3000}
  retries: ${o.retries ?? 2}${o.extra ? `\n  ${o.extra}` : ''}
)

type Item { id: ID! name: String! replica: String! }
type Order { id: ID! ref: String! itemId: ID! quantity: Int! replica: String! }
input NewOrder { ref: String! itemId: ID! quantity: Int! }

type Query {
  item(id: ID!): Item @http(GET: "/items/{args.id}")
  items: [Item!]! @http(GET: "/items")
}

type Mutation {
  createOrder(input: NewOrder!): Order @http(POST: "/orders", body: "{args.input}")
}
`;
}
