// @upstream(responseHeaders: [...]): the headers of upstream answers that reach the client.
// Several calls of one request may each send one, so they merge: every set-cookie is kept
// (appended), cache-control becomes the most restrictive of the calls that sent one
// (no-store over no-cache over private, then the smallest max-age), and any other header
// keeps the value of the last call that set it. Collected on the request's context by the
// connectors; use-response-headers.ts writes them onto the response.
import { perRequest, type QuiltContext } from '../request-context/context.js';

const COLLECTOR_KEY = 'response-headers';

type HeaderValues = Record<string, string | string[] | undefined>;

interface CacheControl {
  noStore: boolean;
  noCache: boolean;
  private: boolean;
  maxAge?: number;
  /** Every value that set cache-control said public. */
  public: boolean;
}

export class ResponseHeaders {
  readonly #cookies: string[] = [];
  readonly #others = new Map<string, string>();
  #cache?: CacheControl;

  /** Takes the headers named in `names` (lower-case) from one upstream answer. */
  add(names: readonly string[], headers: HeaderValues): void {
    for (const name of names) {
      const value = headers[name];
      if (value === undefined) continue;
      if (name === 'set-cookie') this.#cookies.push(...(Array.isArray(value) ? value : [value]));
      else if (name === 'cache-control') this.#mergeCache(Array.isArray(value) ? value.join(', ') : value);
      else this.#others.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
  }

  /** Writes the merged headers onto the client's response. */
  applyTo(target: Headers): void {
    for (const [name, value] of this.#others) target.set(name, value);
    for (const cookie of this.#cookies) target.append('set-cookie', cookie);
    const cache = this.#cache;
    if (cache) target.set('cache-control', cacheControlText(cache));
  }

  #mergeCache(text: string): void {
    const next = parseCacheControl(text);
    const prev = this.#cache;
    if (!prev) {
      this.#cache = next;
      return;
    }
    const ages = [prev.maxAge, next.maxAge].filter((a): a is number => a !== undefined);
    this.#cache = {
      noStore: prev.noStore || next.noStore,
      noCache: prev.noCache || next.noCache,
      private: prev.private || next.private,
      maxAge: ages.length ? Math.min(...ages) : undefined,
      public: prev.public && next.public,
    };
  }
}

function parseCacheControl(text: string): CacheControl {
  const cache: CacheControl = { noStore: false, noCache: false, private: false, public: false };
  for (const part of text.split(',')) {
    const [rawName, rawValue] = part.trim().split('=');
    const name = rawName?.toLowerCase();
    if (name === 'no-store') cache.noStore = true;
    else if (name === 'no-cache') cache.noCache = true;
    else if (name === 'private') cache.private = true;
    else if (name === 'public') cache.public = true;
    else if (name === 'max-age' && rawValue !== undefined && /^\d+$/.test(rawValue.trim())) {
      const age = Number(rawValue.trim());
      cache.maxAge = cache.maxAge === undefined ? age : Math.min(cache.maxAge, age);
    }
  }
  return cache;
}

function cacheControlText(cache: CacheControl): string {
  if (cache.noStore) return 'no-store';
  const parts: string[] = [];
  if (cache.noCache) parts.push('no-cache');
  if (cache.private) parts.push('private');
  else if (cache.public) parts.push('public');
  if (cache.maxAge !== undefined) parts.push(`max-age=${cache.maxAge}`);
  return parts.join(', ') || 'no-cache';
}

/** Records an answer's headers for the client, when the upstream names any. */
export function passResponseHeaders(
  ctx: QuiltContext | undefined,
  names: readonly string[],
  headers: HeaderValues,
): void {
  if (!ctx || names.length === 0) return;
  perRequest(ctx, COLLECTOR_KEY, () => new ResponseHeaders()).add(names, headers);
}

/** The headers collected for this request, if any upstream passed one. */
export function collectedResponseHeaders(ctx: QuiltContext): ResponseHeaders | undefined {
  return ctx.perRequest?.get(COLLECTOR_KEY) as ResponseHeaders | undefined;
}
