// Everything the security plugins are configured with. The CLI fills
// it from flags and QUILT_* variables (src/cli/options.ts); tests pass it to startGateway.
// Each plugin takes its own part; nothing here knows how the others work.
import type { CostModel } from './cost/model.js';

export interface JwtOptions {
  /** Where verification keys come from: at least one of jwksUrl, publicKeyFiles, secret. */
  jwksUrl?: string;
  /** PEM (SPKI or X.509 certificate) or JWK / JWKS JSON files. */
  publicKeyFiles?: string[];
  /** HS256/384/512 shared secret. */
  secret?: string;
  issuer?: string[];
  audience?: string[];
  /** Allowed `alg` values; required (jose would otherwise accept whatever fits the key). Never "none". */
  algorithms: string[];
  /** Read the token from this cookie when there is no Authorization header. */
  cookie?: string;
  clockToleranceSec: number;
  /** Claims every token must have (`exp` always is). */
  requiredClaims: string[];
}

export interface CostOptions {
  /** Operations estimated above this are rejected before execution (COST_LIMIT_EXCEEDED). */
  maxCost?: number;
  /** Per-client bucket size in cost points; undefined: no budget. Without either limit, no cost is computed at all. */
  budget?: number;
  /** How weights combine: the IBM spec's field cost (default) or Apollo Router's numbers. */
  model?: CostModel;
  /** Points per second the bucket refills. */
  restoreRate: number;
  /** Size assumed for a list field without @listSize. */
  defaultListSize: number;
}

export interface HardeningOptions {
  maxDepth?: number;
  maxAliases?: number;
  maxTokens?: number;
  maxDirectives?: number;
  /** Operations per batched request; 0 (default): batching off. */
  maxBatch: number;
  introspection: boolean;
  csrfPrevention: boolean;
  maxBodyBytes: number;
  ipAllow?: string[];
  ipDeny?: string[];
  /** A JSON file { "<sha256 hash>": "<document>" }: only these operations run. */
  trustedDocuments?: string;
}

export interface SharedStateOptions {
  /** ioredis URL; undefined: budgets and @rateLimit windows live in memory. */
  redisUrl?: string;
  /** When Redis cannot be reached: 'open' lets the request through (and counts it), 'closed' refuses it. */
  redisFailure: 'open' | 'closed';
  /** Longest a limit check waits for Redis before the failure policy applies. */
  redisTimeoutMs: number;
}

export interface SecurityOptions {
  /** Undefined: no token is verified and every request is anonymous (a token sent is ignored). */
  jwt?: JwtOptions;
  /** Claim holding the scopes: "scope" (space-separated), or an array claim such as "scp" or "permissions". */
  scopeClaim?: string;
  cost: CostOptions;
  hardening: HardeningOptions;
  shared: SharedStateOptions;
}

export const DEFAULT_SECURITY: SecurityOptions = {
  cost: { restoreRate: 10, defaultListSize: 10 },
  hardening: { maxBatch: 0, introspection: true, csrfPrevention: true, maxBodyBytes: 1_048_576 },
  shared: { redisFailure: 'open', redisTimeoutMs: 250 },
};
