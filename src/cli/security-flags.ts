// The security flags of `quilt serve`, in the table of
// src/cli/options.ts; src/cli/security-options.ts turns their values into SecurityOptions.
// Defaults come from the security modules, so --help and the gateway cannot disagree.
import { HARDENING_DEFAULTS } from '../security/hardening/index.js';
import { SUPPORTED_ALGORITHMS } from '../security/jwt/verify.js';
import { DEFAULT_SECURITY } from '../security/options.js';
import type { FlagSpec } from './flag-spec.js';

/** Signature algorithms --jwt-algorithms accepts (the JWT plugin's list). "none" never is. */
export const JWT_ALGORITHMS: readonly string[] = SUPPORTED_ALGORITHMS;

/** Seconds of clock skew allowed on exp and nbf (Envoy's jwt_authn default). */
export const DEFAULT_JWT_CLOCK_TOLERANCE_SEC = 60;

const auth = 'authentication (JWT: on when --jwks-url, --jwt-public-key or --jwt-secret is given)';
const cost = 'cost and budgets';
const hardening = 'hardening (a limit of 0 is off)';
const shared = 'shared state';

export const SECURITY_FLAGS: FlagSpec[] = [
  {
    group: auth,
    name: 'jwks-url',
    arg: 'URL',
    type: 'string',
    description: 'JWKS URL of the token issuer (cached; refreshed on an unknown kid)',
  },
  {
    group: auth,
    name: 'jwt-public-key',
    arg: 'FILE,...',
    type: 'list',
    description: 'PEM (SPKI or certificate) or JWK/JWKS files holding verification keys',
  },
  {
    group: auth,
    name: 'jwt-secret',
    arg: 'SECRET',
    type: 'string',
    description: 'HS256/384/512 shared secret (prefer the variable: a flag shows in ps)',
  },
  {
    group: auth,
    name: 'jwt-issuer',
    arg: 'ISS,...',
    type: 'list',
    description: 'accepted `iss` values (default: any)',
  },
  {
    group: auth,
    name: 'jwt-audience',
    arg: 'AUD,...',
    type: 'list',
    description: 'accepted `aud` values (default: any)',
  },
  {
    group: auth,
    name: 'jwt-algorithms',
    arg: 'ALG,...',
    type: 'list',
    description: 'allowed token algorithms, required with JWT (no default), e.g. RS256,ES256; never none',
  },
  {
    group: auth,
    name: 'jwt-cookie',
    arg: 'NAME',
    type: 'string',
    description: 'read the token from this cookie when there is no Authorization header',
  },
  {
    group: auth,
    name: 'jwt-clock-tolerance',
    arg: 'SEC',
    type: 'number',
    default: DEFAULT_JWT_CLOCK_TOLERANCE_SEC,
    description: 'seconds of clock skew allowed on exp and nbf',
  },
  {
    group: auth,
    name: 'jwt-required-claims',
    arg: 'CLAIM,...',
    type: 'list',
    description: 'claims every token must carry (exp always is)',
  },
  {
    group: auth,
    name: 'scope-claim',
    arg: 'CLAIM',
    type: 'string',
    description: 'claim holding the scopes: "scope" (space-separated) or an array claim such as scp, permissions',
  },
  {
    group: cost,
    name: 'max-cost',
    type: 'number',
    description: 'refuse operations estimated above this cost (COST_LIMIT_EXCEEDED; 0 or unset: no limit)',
  },
  {
    group: cost,
    name: 'cost-budget',
    type: 'number',
    description: "points in each client's budget bucket (JWT subject, else IP; 0 or unset: no budget)",
  },
  {
    group: cost,
    name: 'cost-restore-rate',
    type: 'number',
    fractional: true,
    default: DEFAULT_SECURITY.cost.restoreRate,
    description: 'budget points refilled per second',
  },
  {
    group: cost,
    name: 'cost-model',
    type: 'string',
    choices: ['ibm', 'apollo'],
    default: 'ibm',
    description:
      "how weights combine: the IBM cost spec's (a list field's weight once) or Apollo Router's (once per item)",
  },
  {
    group: cost,
    name: 'default-list-size',
    type: 'number',
    default: DEFAULT_SECURITY.cost.defaultListSize,
    description: 'assumed size of a list field without @listSize',
  },
  {
    group: hardening,
    name: 'max-depth',
    type: 'number',
    default: HARDENING_DEFAULTS.maxDepth,
    description: 'deepest field nesting of an operation (DEPTH_LIMIT_EXCEEDED)',
  },
  {
    group: hardening,
    name: 'max-aliases',
    type: 'number',
    default: HARDENING_DEFAULTS.maxAliases,
    description: 'aliases per operation (ALIAS_LIMIT_EXCEEDED)',
  },
  {
    group: hardening,
    name: 'max-tokens',
    type: 'number',
    default: HARDENING_DEFAULTS.maxTokens,
    description: 'lexical tokens per document (TOKEN_LIMIT_EXCEEDED)',
  },
  {
    group: hardening,
    name: 'max-directives',
    type: 'number',
    default: HARDENING_DEFAULTS.maxDirectives,
    description: 'directives per operation (DIRECTIVE_LIMIT_EXCEEDED)',
  },
  {
    group: hardening,
    name: 'max-batch',
    type: 'number',
    default: HARDENING_DEFAULTS.maxBatch,
    description: 'operations per batched request (a JSON array); 0: batching off',
  },
  {
    group: hardening,
    name: 'max-body-bytes',
    arg: 'BYTES',
    type: 'number',
    default: HARDENING_DEFAULTS.maxBodyBytes,
    description: 'largest request body (413 REQUEST_ENTITY_TOO_LARGE)',
  },
  {
    group: hardening,
    name: 'ip-allow',
    arg: 'CIDR,...',
    type: 'list',
    description: 'only these clients (CIDR or address, IPv4/IPv6; the TCP peer) may send GraphQL requests',
  },
  {
    group: hardening,
    name: 'ip-deny',
    arg: 'CIDR,...',
    type: 'list',
    description: 'refuse these clients (403 FORBIDDEN); deny wins over allow',
  },
  {
    group: hardening,
    name: 'introspection',
    type: 'boolean',
    default: true,
    description: 'answer introspection; --no-introspection also hides "Did you mean" suggestions',
  },
  {
    group: hardening,
    name: 'csrf-prevention',
    type: 'boolean',
    default: true,
    description: 'a GET or form POST must carry x-graphql-yoga-csrf (--no-csrf-prevention: unsafe with cookies)',
  },
  {
    group: hardening,
    name: 'trusted-documents',
    arg: 'FILE',
    type: 'string',
    description: 'JSON file {"<sha256>": "<document>"}: only these operations run',
  },
  {
    group: shared,
    name: 'redis-url',
    arg: 'URL',
    type: 'string',
    description: 'share cost budgets, @rateLimit windows and the caches across instances (redis://host:6379)',
  },
  {
    group: shared,
    name: 'redis-failure',
    type: 'string',
    choices: ['open', 'closed'],
    default: DEFAULT_SECURITY.shared.redisFailure,
    description: 'when Redis is unreachable: let requests through (open) or refuse them (closed)',
  },
  {
    group: shared,
    name: 'redis-timeout-ms',
    arg: 'MS',
    type: 'number',
    default: DEFAULT_SECURITY.shared.redisTimeoutMs,
    description: 'longest a limit check waits for Redis before --redis-failure applies (a cache lookup: a miss)',
  },
];
