// The probe for an upstream's protocol: HTTP GET on health.path, gRPC grpc.health.v1 Check
// of health.service, remote GraphQL `{ __typename }` on its endpoint. A cluster with active
// health checks builds one (cluster-health-checks.ts) and hands it to a HealthChecker;
// closing it closes the probe's own connections. Probes use the upstream's TLS settings.
import type { HealthSettings, Protocol, UpstreamTls } from '../types.js';
import { createGraphqlProbe } from './graphql-probe.js';
import { createGrpcProbe } from './grpc-probe.js';
import { type ClosableProbe, createHttpProbe } from './http-probe.js';

/** endpoint: GRAPHQL only, the GraphQL path on each replica (e.g. "/graphql", or "" when the replica url has it). */
export function createHealthProbe(
  protocol: Protocol,
  settings: HealthSettings,
  endpoint: string,
  tls?: UpstreamTls,
): ClosableProbe {
  switch (protocol) {
    case 'HTTP':
      return createHttpProbe(settings.path, tls);
    case 'GRPC':
      return createGrpcProbe(settings.service, tls);
    case 'GRAPHQL':
      return createGraphqlProbe(endpoint, tls);
  }
}
