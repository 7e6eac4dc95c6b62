// JWT authentication: the token comes from `Authorization: Bearer` or,
// when that header is absent, a named cookie. No token: the request is anonymous (ctx.jwt
// undefined). A token that does not verify: 401 for the whole request, answered in onRequest
// before the body is parsed, so nothing is executed and no upstream is called. The verified
// claims wait in a WeakMap keyed by the Request until onContextBuilding puts them on ctx.jwt;
// from there they reach upstreams only through the {jwt.*} templates a schema file writes.
// Only GraphQL requests are checked: the operational endpoints and GraphiQL's page end the
// request in earlier plugins, and any other path is skipped here.
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { invalidToken, refusalResponse } from '../../errors.js';
import type { JwtOptions } from '../options.js';
import type { SecurityMetrics } from '../security-metrics.js';
import { createKeyResolver, type KeySourceOptions } from './keys.js';
import { checkJwtOptions, describeFailure, verifyOptionsOf, verifyToken } from './verify.js';

export interface JwtAuth {
  plugin: Plugin;
  close(): Promise<void>;
}

type Claims = Record<string, unknown>;

/** Where a token was found; `malformed` is an Authorization header that is not `Bearer <token>`. */
type Found = { token: string } | { malformed: true } | undefined;

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

  const plugin = {
    onYogaInit({ yoga }) {
      endpoint = yoga.graphqlEndpoint;
    },
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method === 'OPTIONS' || (url.pathname !== endpoint && url.pathname !== `${endpoint}/`)) return;
      const found = tokenOf(request, options.cookie);
      if (!found) return;
      const reject = (message: string) => {
        deps.metrics.limitRejection('invalid_token');
        endResponse(refusalResponse(fetchAPI, request, invalidToken(message)));
      };
      if ('malformed' in found) {
        log.info({ reason: 'malformed_header' }, 'jwt: request refused');
        return reject('Malformed Authorization header: expected "Bearer <token>"');
      }
      try {
        claimsOf.set(request, (await verifyToken(found.token, keys, verifyOptions)) as Claims);
      } catch (err) {
        const failure = describeFailure(err);
        if (failure.internal) log.warn({ err, reason: failure.reason }, 'jwt: token could not be verified');
        else log.info({ reason: failure.reason, detail: (err as Error).message }, 'jwt: request refused');
        reject(failure.message);
      }
    },
    onContextBuilding({ context, extendContext }) {
      const claims = context.request && claimsOf.get(context.request);
      if (claims) extendContext({ jwt: claims });
    },
  } satisfies Plugin<{ jwt?: Claims }> as Plugin;

  return {
    plugin,
    close: async () => keys.close(),
  };
}

function tokenOf(request: Request, cookieName: string | undefined): Found {
  const header = request.headers.get('authorization');
  if (header !== null) {
    const m = /^Bearer +([^\s]+) *$/i.exec(header);
    return m ? { token: m[1] } : { malformed: true };
  }
  if (!cookieName) return undefined;
  const value = cookieValue(request.headers.get('cookie'), cookieName);
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
