// The load balancers, one strategy class per algorithm.

export { ConsistentHashBalancer } from './consistent-hash.js';
export { callKey, createBalancer } from './create-balancer.js';
export { LeastConnectionsBalancer } from './least-connections.js';
export { LeastResponseTimeBalancer } from './least-response-time.js';
export { RandomBalancer } from './random.js';
export { RoundRobinBalancer } from './round-robin.js';
export { StickyBalancer } from './sticky.js';
export { SmoothWeightedBalancer } from './weighted-round-robin.js';
