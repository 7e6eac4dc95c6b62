// Active health checking: the checker, the per-cluster wiring and the protocol probes.
export { ClusterHealthChecks } from './cluster-health-checks.js';
export { createHealthProbe } from './create-probe.js';
export { HealthChecker, type HealthCheckerDeps } from './health-checker.js';
export type { ClosableProbe } from './http-probe.js';
