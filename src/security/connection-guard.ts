// The checks a GraphQL-over-WebSocket connection gets (src/server/websocket.ts). The plugins'
// onRequest hooks run for HTTP requests only, never for a socket's messages, so the same
// rules are applied here, once per connection, with the same parts: the IP lists of
// hardening/ip-filter.ts to the upgrade request (refused before the handshake), and the
// token verified by the JWT plugin's own verifier (jwt/use-jwt-auth.ts), which logs and
// counts a refusal exactly as it does for HTTP.
//
// Where a connection's token comes from, the first found wins:
// 1. connection_init's payload: an `Authorization` key (any case: `authorization` too) holding
//    "Bearer <token>", exactly the HTTP header's value; or the same under `headers`
//    ({ "headers": { "Authorization": ... } }), which some clients send. Nothing else (no
//    `token` key): one spelling, the header's, so a token never hides under a second name.
// 2. the upgrade request's own Authorization header (clients that can set one; browsers can't);
// 3. with --jwt-cookie, the cookie sent with the upgrade request, but with CSRF prevention on
//    only from a page of the same origin (or a client that sends no Origin): a browser sends
//    cookies with a cross-site WebSocket too, and no CORS preflight guards it (cross-site
//    WebSocket hijacking), so a cross-origin upgrade's cookie is ignored.
// No token: anonymous, as for HTTP. A token that does not verify: refused, the whole connection.
import type { IncomingHttpHeaders } from 'node:http';
import type { IpFilter } from './hardening/ip-filter.js';
import type { Claims, Found, JwtAuth } from './jwt/use-jwt-auth.js';
import { bearerToken, tokenOf } from './jwt/use-jwt-auth.js';
import type { RejectionCounter } from './security-metrics.js';

/**
 * A connection's identity: verified claims (and when the token stops being accepted, from
 * `exp` and the clock tolerance), anonymous (no claims), or refused with a message for the client.
 */
export type ConnectionAuth = { claims?: Claims; expiresAtMs?: number } | { refused: string };

export interface ConnectionGuard {
  /** False: the upgrade is refused with 403 (--ip-allow / --ip-deny). */
  admits(peer: string | undefined): boolean;
  /** Who the connection is, from connection_init's payload and the upgrade request's headers. */
  authenticate(payload: Record<string, unknown> | undefined, upgrade: IncomingHttpHeaders): Promise<ConnectionAuth>;
}

export interface ConnectionGuardParts {
  ipFilter?: IpFilter;
  jwt?: JwtAuth;
  csrfPrevention: boolean;
  count: RejectionCounter;
}

export function connectionGuard({ ipFilter, jwt, csrfPrevention, count }: ConnectionGuardParts): ConnectionGuard {
  return {
    admits(peer) {
      if (!ipFilter || ipFilter.allows(peer)) return true;
      count('ip');
      return false;
    },
    async authenticate(payload, upgrade) {
      // Without JWT every connection is anonymous and a token sent is ignored, as over HTTP.
      if (!jwt) return {};
      const found = tokenInPayload(payload) ?? tokenOfUpgrade(upgrade, jwt.cookie, csrfPrevention);
      if (!found) return {};
      const verdict = await jwt.verify(found);
      if (!('claims' in verdict)) return verdict;
      const exp = verdict.claims.exp;
      return {
        claims: verdict.claims,
        expiresAtMs: typeof exp === 'number' ? (exp + jwt.clockToleranceSec) * 1000 : undefined,
      };
    },
  };
}

/** `Authorization` (any case) in connection_init's payload, or in its `headers` object. */
export function tokenInPayload(payload: Record<string, unknown> | undefined): Found {
  if (!payload) return undefined;
  const direct = authorizationIn(payload);
  if (direct !== undefined) return direct;
  const headers = payload.headers;
  return headers !== null && typeof headers === 'object'
    ? authorizationIn(headers as Record<string, unknown>)
    : undefined;
}

function authorizationIn(record: Record<string, unknown>): Found {
  for (const [key, value] of Object.entries(record)) {
    if (key.toLowerCase() !== 'authorization') continue;
    return typeof value === 'string' ? bearerToken(value) : { malformed: true };
  }
  return undefined;
}

function tokenOfUpgrade(upgrade: IncomingHttpHeaders, cookie: string | undefined, csrfPrevention: boolean): Found {
  const readCookie = cookie !== undefined && (!csrfPrevention || sameOrigin(upgrade));
  return tokenOf((name) => headerValue(upgrade[name]), readCookie ? cookie : undefined);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join('; ') : value;
}

/** No Origin (not a browser), or an Origin naming the host the request was sent to. */
function sameOrigin(upgrade: IncomingHttpHeaders): boolean {
  const origin = upgrade.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === upgrade.host;
  } catch {
    return false;
  }
}
