// The probe for an upstream's protocol (DESIGN.md section 4): HTTP GET on health.path, gRPC
// grpc.health.v1 Check of health.service, remote GraphQL `{ __typename }` on its endpoint.
// The cluster builds one per upstream with active health checks and hands it to a
// HealthChecker; closing it closes the probe's own connections.
import type { HealthSettings } from '../types.js';
import { createGraphqlProbe } from './graphql-probe.js';
import { createGrpcProbe } from './grpc-probe.js';
import { createHttpProbe, type ClosableProbe } from './http-probe.js';

export { HealthChecker } from './health-checker.js';
export type { ClosableProbe } from './http-probe.js';

/** endpoint: GRAPHQL only, the GraphQL path on each replica (e.g. "/graphql", or "" when the replica url has it). */
export function createHealthProbe(protocol: 'HTTP' | 'GRPC' | 'GRAPHQL', settings: HealthSettings, endpoint: string): ClosableProbe {
  switch (protocol) {
    case 'HTTP':
      return createHttpProbe(settings.path);
    case 'GRPC':
      return createGrpcProbe(settings.service);
    case 'GRAPHQL':
      return createGraphqlProbe(endpoint);
  }
}
