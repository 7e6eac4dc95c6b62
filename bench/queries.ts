// The five queries every bench script measures (the main section, bench:profile, bench:soak),
// over the demo backends' data. Each names one kind of work the gateway does.
import type { BenchQuery } from './report.js';

/** One REST call for one object (and the pool section's query). */
export const LOOKUP_QUERY = '{ user(id: "7") { id name email fullName } }';

/**
 * REST users (1 call) -> gRPC ListUserOrders (1 call for the 20 users) -> REST products by
 * ids (1 call for every distinct product): 3 upstream calls. Also the security, workers and
 * tracing sections' query.
 */
export const FAN_OUT_QUERY =
  '{ users(limit: 20) { id name orders { id total items { quantity product { id name price } } } } }';

export const BENCH_QUERIES: readonly BenchQuery[] = [
  { name: 'lookup', query: LOOKUP_QUERY },
  { name: 'list', query: '{ users(limit: 20) { id name email } }' },
  { name: 'batched', query: '{ users(limit: 20) { id name posts { id title } } }' },
  { name: 'merged', query: '{ products(limit: 20) { id name price seller { id name email } } }' },
  { name: 'fan-out', query: FAN_OUT_QUERY, expectedUpstreamCalls: 3 },
];
