// A Cluster outside a schema, with the pool settings @upstream defaults to
// (src/config/directives.ts), on a FakeClock unless the test passes another.
import { OUTLIER_DEFAULTS } from '../../src/config/pool.js';
import { Cluster, type ClusterDeps } from '../../src/upstream/cluster.js';
import type { PoolSettings, ReplicaSpec } from '../../src/upstream/types.js';
import { FakeClock, seededRandom } from './fake-clock.js';

export const DEFAULT_POOL: PoolSettings = {
  balance: { algorithm: 'ROUND_ROBIN', stickyTtlMs: 600_000, stickyMaxClients: 10_000 },
  outlier: { ...OUTLIER_DEFAULTS },
  retry: { retries: 2, budgetPercent: 20, budgetMinPerSecond: 10 },
  timeoutMs: 10_000,
  maxInFlight: 1024,
  slowStartMs: 0,
};

export function clusterSpec(name: string, replicas: ReplicaSpec[], pool: Partial<PoolSettings> = {}) {
  return { name, protocol: 'HTTP' as const, graphqlEndpoint: '/graphql', replicas, pool: { ...DEFAULT_POOL, ...pool } };
}

export function testCluster(
  name: string,
  replicas: ReplicaSpec[],
  pool: Partial<PoolSettings> = {},
  deps: ClusterDeps = {},
): Cluster {
  return new Cluster(clusterSpec(name, replicas, pool), { clock: new FakeClock(), random: seededRandom(), ...deps });
}
