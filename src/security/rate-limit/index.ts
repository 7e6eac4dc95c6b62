// @rateLimit on fields, decided by graphql-rate-limit over an atomic limit store.
export { rateLimitTransform, type RateLimitDeps } from './rate-limit-transform.js';
