// Query hardening: the checks a public endpoint needs
// whoever the client is, ordered so the cheapest refusal comes first and nothing refused
// reaches an upstream: the client address and the body size before the body is read, CSRF
// and the batch size before parsing, trusted documents before parsing, then the document
// limits while parsing and validating. Introspection is refused at validation.
// Every numeric limit: undefined takes the default below, 0 turns the limit off.
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { HardeningOptions } from '../options.js';
import type { RejectionCounter, SecurityMetrics } from '../security-metrics.js';
import { ipFilter } from './ip-filter.js';
import { useBatchLimit } from './use-batch-limit.js';
import { useBodyLimit } from './use-body-limit.js';
import { useCsrf } from './use-csrf.js';
import { useDocumentLimits } from './use-document-limits.js';
import { useIpFilter } from './use-ip-filter.js';
import { useNoIntrospection } from './use-no-introspection.js';
import { loadTrustedDocuments, useTrustedDocuments } from './use-trusted-documents.js';

/** Production defaults, generous for hand-written and generated client operations alike. */
export const HARDENING_DEFAULTS = Object.freeze({
  /** Field nesting; fragments add no level, introspection's __schema is not counted. */
  maxDepth: 15,
  maxAliases: 30,
  /** Lexical tokens in the document (GraphiQL's introspection query has about 300). */
  maxTokens: 5000,
  maxDirectives: 50,
  /** Operations per batched request; 0: batching off. */
  maxBatch: 0,
  maxBodyBytes: 1_048_576,
});

export interface HardeningDeps {
  log: Logger;
  metrics: Pick<SecurityMetrics, 'limitRejection'>;
}

/** The options with every undefined limit replaced by its default. */
export function resolveHardening(options: Partial<HardeningOptions>) {
  const pick = (value: number | undefined, fallback: number, name: string) => {
    const n = value ?? fallback;
    if (!Number.isInteger(n) || n < 0)
      throw new TypeError(
        `security.hardening.${name}: expected a whole number >= 0 (0: off), received ${String(value)}`,
      );
    return n;
  };
  return {
    maxDepth: pick(options.maxDepth, HARDENING_DEFAULTS.maxDepth, 'maxDepth'),
    maxAliases: pick(options.maxAliases, HARDENING_DEFAULTS.maxAliases, 'maxAliases'),
    maxTokens: pick(options.maxTokens, HARDENING_DEFAULTS.maxTokens, 'maxTokens'),
    maxDirectives: pick(options.maxDirectives, HARDENING_DEFAULTS.maxDirectives, 'maxDirectives'),
    maxBatch: pick(options.maxBatch, HARDENING_DEFAULTS.maxBatch, 'maxBatch'),
    maxBodyBytes: pick(options.maxBodyBytes, HARDENING_DEFAULTS.maxBodyBytes, 'maxBodyBytes'),
    introspection: options.introspection ?? true,
    csrfPrevention: options.csrfPrevention ?? true,
    ipAllow: options.ipAllow,
    ipDeny: options.ipDeny,
    trustedDocuments: options.trustedDocuments,
  };
}

/** The hardening plugins in request order. Throws (ConfigError, TypeError) on bad options. */
export function hardeningPlugins(options: Partial<HardeningOptions>, deps: HardeningDeps): Plugin[] {
  const o = resolveHardening(options);
  const count: RejectionCounter = (reason) => deps.metrics.limitRejection(reason);
  const filter = ipFilter(o.ipAllow, o.ipDeny);
  const trusted = o.trustedDocuments === undefined ? undefined : loadTrustedDocuments(o.trustedDocuments);
  if (trusted)
    deps.log.info(
      { file: o.trustedDocuments, documents: trusted.size },
      'trusted documents: only these operations run',
    );
  const plugins: (Plugin | false | undefined)[] = [
    filter && useIpFilter(filter, count),
    o.maxBodyBytes > 0 && useBodyLimit(o.maxBodyBytes, count),
    o.csrfPrevention && useCsrf(count),
    useBatchLimit(o.maxBatch, count),
    trusted && useTrustedDocuments(trusted, count),
    useDocumentLimits(o, count),
    ...(o.introspection ? [] : useNoIntrospection()),
  ];
  return plugins.filter((p): p is Plugin => Boolean(p));
}

/**
 * The yoga options hardening needs from the composition root (src/server/gateway.ts):
 * - batching: yoga refuses every JSON array unless batching is on; with maxBatch > 0 it is on
 *   with that limit (useBatchLimit refuses first, with Quilt's code);
 * - maxRequestBodySize: false, because useBodyLimit is the guard (yoga's default of 25 MB
 *   would otherwise also apply, and refuse an allowed larger body).
 */
export function yogaHardening(options: Partial<HardeningOptions>): {
  batching: false | { limit: number };
  maxRequestBodySize: false;
} {
  const { maxBatch } = resolveHardening(options);
  return { batching: maxBatch > 0 ? { limit: maxBatch } : false, maxRequestBodySize: false };
}
