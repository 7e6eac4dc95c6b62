// @rateLimit on fields, decided by graphql-rate-limit over an atomic limit store.
export { type RateLimitDeps, rateLimitTransform } from './rate-limit-transform.js';
