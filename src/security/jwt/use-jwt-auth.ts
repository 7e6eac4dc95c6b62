// JWT authentication: the token comes from `Authorization: Bearer` or,
// when that header is absent, a named cookie. No token: the request is anonymous (ctx.jwt
// undefined). A token that does not verify: 401 for the whole request, answered in onRequest
// before the body is parsed, so nothing is executed and no upstream is called. The verified
// claims wait in a WeakMap keyed by the Request until onContextBuilding puts them on ctx.jwt;
// from there they reach upstreams only through the {jwt.*} templates a schema file writes.
// Only GraphQL requests are checked: the operational endpoints and GraphiQL's page end the
// request in earlier plugins, and any other path is skipped here. A WebSocket connection has
// no onRequest per message: src/security/connection-guard.ts finds its token and verifies it
// through `verify` below, the same keys, options, log lines and metric as this plugin.
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { invalidToken, refusalResponse } from '../../errors.js';
import type { JwtOptions } from '../options.js';
import type { SecurityMetrics } from '../security-metrics.js';
import { createKeyResolver, type KeySourceOptions } from './keys.js';
import { checkJwtOptions, describeFailure, verifyOptionsOf, verifyToken } from './verify.js';

export type Claims = Record<string, unknown>;

/** Where a token was found; `malformed` is an Authorization header that is not `Bearer <token>`. */
export type Found = { token: string } | { malformed: true } | undefined;

/** A token's fate: its claims, or the message that refuses it (safe for the client). */
export type Verdict = { claims: Claims } | { refused: string };

export interface JwtAuth {
  plugin: Plugin;
  /** The cookie tokens are read from when there is no Authorization header (--jwt-cookie). */
  cookie?: string;
  /** Seconds of clock skew allowed on `exp` and `nbf`. */
  clockToleranceSec: number;
  /** Verifies a token found elsewhere than in an HTTP request (a WebSocket's connection_init). */
  verify(found: { token: string } | { malformed: true }): Promise<Verdict>;
  close(): Promise<void>;
}

export function useJwtAuth(
  options: JwtOptions & Pick<KeySourceOptions, 'jwksTiming'>,
  deps: { log: Logger; metrics: SecurityMetrics },
): JwtAuth {
  const log = deps.log.child({ component: 'jwt' });
  checkJwtOptions(options, log);
  const keys = createKeyResolver(options, log);
  const verifyOptions = verifyOptionsOf(options);
  const claimsOf = new WeakMap<Request, Claims>();
  let endpoint = '/graphql';

  async function verify(found: { token: string } | { malformed: true }): Promise<Verdict> {
    const refuse = (refused: string): Verdict => {
      deps.metrics.limitRejection('invalid_token');
      return { refused };
    };
    if ('malformed' in found) {
      log.info({ reason: 'malformed_header' }, 'jwt: request refused');
      return refuse('Malformed Authorization header: expected "Bearer <token>"');
    }
    try {
      return { claims: (await verifyToken(found.token, keys, verifyOptions)) as Claims };
    } catch (err) {
      const failure = describeFailure(err);
      if (failure.internal) log.warn({ err, reason: failure.reason }, 'jwt: token could not be verified');
      else log.info({ reason: failure.reason, detail: (err as Error).message }, 'jwt: request refused');
      return refuse(failure.message);
    }
  }

  const plugin = {
    onYogaInit({ yoga }) {
      endpoint = yoga.graphqlEndpoint;
    },
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method === 'OPTIONS' || (url.pathname !== endpoint && url.pathname !== `${endpoint}/`)) return;
      const found = tokenOf((name) => request.headers.get(name), options.cookie);
      if (!found) return;
      const verdict = await verify(found);
      if ('claims' in verdict) claimsOf.set(request, verdict.claims);
      else endResponse(refusalResponse(fetchAPI, request, invalidToken(verdict.refused)));
    },
    onContextBuilding({ context, extendContext }) {
      const claims = context.request && claimsOf.get(context.request);
      if (claims) extendContext({ jwt: claims });
    },
  } satisfies Plugin<{ jwt?: Claims }> as Plugin;

  return {
    plugin,
    cookie: options.cookie,
    clockToleranceSec: options.clockToleranceSec,
    verify,
    close: async () => keys.close(),
  };
}

/** The token of an `Authorization` value: `Bearer <token>`, else malformed. */
export function bearerToken(value: string): { token: string } | { malformed: true } {
  const m = /^Bearer +([^\s]+) *$/i.exec(value);
  return m ? { token: m[1] } : { malformed: true };
}

/** The Authorization header, else the named cookie; `header(name)` reads a request header. */
export function tokenOf(header: (name: string) => string | null | undefined, cookieName: string | undefined): Found {
  const authorization = header('authorization');
  if (authorization !== null && authorization !== undefined) return bearerToken(authorization);
  if (!cookieName) return undefined;
  const value = cookieValue(header('cookie') ?? null, cookieName);
  return value ? { token: value } : undefined;
}

/** One cookie from a Cookie header (RFC 6265: `a=1; b=2`), percent-decoded when it can be. */
export function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const raw = pair
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}
