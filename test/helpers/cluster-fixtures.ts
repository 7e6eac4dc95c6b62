// A Cluster outside a schema, with the pool settings @upstream defaults to (src/config/directives.ts).
import type { ReplicaConfig } from '../../src/config/upstream.js';
import { Cluster, type ClusterDeps } from '../../src/upstream/cluster.js';
import type { PoolSettings } from '../../src/upstream/types.js';

export const DEFAULT_POOL: PoolSettings = {
  balance: { algorithm: 'ROUND_ROBIN', stickyTtlMs: 600_000, stickyMaxClients: 10_000 },
  outlier: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 },
  retry: { retries: 2, budgetPercent: 20, budgetMinPerSecond: 10 },
  timeoutMs: 10_000,
  maxInFlight: 1024,
  slowStartMs: 0,
};

export function testCluster(name: string, replicas: ReplicaConfig[], pool: Partial<PoolSettings> = {}, deps: ClusterDeps = {}): Cluster {
  return new Cluster({ name, protocol: 'HTTP', endpoint: '/graphql', replicas, pool: { ...DEFAULT_POOL, ...pool } }, deps);
}
