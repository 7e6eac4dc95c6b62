// Assembles the security layer: its plugins in the order a request meets them (checks that
// need no parsing first: IP lists, body size, CSRF, the token; then the document checks:
// hardening limits, trusted documents, cost; then authorization at execution), the @rateLimit
// schema transform and the limit store they share. Each plugin is configured from its part
// of SecurityOptions; none knows the others. `connections` applies the same IP lists and
// token verifier to WebSocket connections, whose messages no onRequest hook sees.

import type { GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { useAuthorization } from './authz/index.js';
import { type ConnectionGuard, connectionGuard } from './connection-guard.js';
import { useCostLimits, useCostPreview } from './cost/index.js';
import { hardeningPlugins, resolveHardening } from './hardening/index.js';
import { ipFilter } from './hardening/ip-filter.js';
import { type JwtAuth, useJwtAuth } from './jwt/index.js';
import { createLimitStore } from './limits/index.js';
import type { SecurityOptions } from './options.js';
import { rateLimitTransform } from './rate-limit/index.js';
import type { SecurityMetrics } from './security-metrics.js';

export interface SecurityDeps {
  log: Logger;
  metrics: SecurityMetrics;
}

export interface SecurityLayer {
  /** Yoga plugins, in order. */
  plugins: Plugin[];
  /** Applied to every newly compiled schema before it is served (e.g. @rateLimit resolvers). */
  schemaTransforms: ((schema: GraphQLSchema) => void)[];
  /** The checks of a GraphQL-over-WebSocket connection (src/server/websocket.ts). */
  connections: ConnectionGuard;
  /** The largest request body, hence WebSocket message, in bytes; 0: no limit. */
  maxBodyBytes: number;
  close(): Promise<void>;
}

export function assembleSecurityLayer(options: SecurityOptions, deps: SecurityDeps): SecurityLayer {
  const plugins: Plugin[] = [];
  const schemaTransforms: ((schema: GraphQLSchema) => void)[] = [];
  const closers: (() => Promise<void> | void)[] = [];
  plugins.push(...hardeningPlugins(options.hardening, deps));
  let jwt: JwtAuth | undefined;
  if (options.jwt) {
    jwt = useJwtAuth(options.jwt, deps);
    plugins.push(jwt.plugin);
    closers.push(jwt.close);
  }
  // Cost budgets (below) and @rateLimit windows share one store: Redis with --redis-url.
  const limitStore = createLimitStore(options.shared, deps);
  closers.push(() => limitStore.close());
  schemaTransforms.push(rateLimitTransform(limitStore, deps));
  // The cost preview (`__cost`) is introspection: there while introspection is. It comes
  // before the limits so that an introspectionOnly preview ends before anything is charged.
  if (options.hardening.introspection !== false) plugins.push(useCostPreview(options.cost));
  // Cost analysis runs only when a limit needs it: without one no estimate is made, no bucket
  // touched and no extensions.cost added.
  if (options.cost.maxCost !== undefined || options.cost.budget !== undefined)
    plugins.push(useCostLimits(options.cost, limitStore, deps));
  plugins.push(useAuthorization({ scopeClaim: options.scopeClaim }));
  const hardening = resolveHardening(options.hardening);
  return {
    plugins,
    schemaTransforms,
    connections: connectionGuard({
      ipFilter: ipFilter(hardening.ipAllow, hardening.ipDeny),
      jwt,
      csrfPrevention: hardening.csrfPrevention,
      count: (reason) => deps.metrics.limitRejection(reason),
    }),
    maxBodyBytes: hardening.maxBodyBytes,
    close: async () => {
      for (const close of closers) await close();
    },
  };
}
