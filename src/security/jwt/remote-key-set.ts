// Keys from a JWKS URL, cached, with refresh rules that jose's createRemoteJWKSet does not
// give us (checked against jose 6.2.17, jwks/remote.js):
//  - when its cacheMaxAge runs out, jose awaits a new fetch and throws if it fails, so with
//    the endpoint down every token fails, even one whose key is in the cache; here an
//    expired cache is refreshed in the background and the cached keys keep serving until a
//    fetch succeeds;
//  - its cooldown counts from the last *successful* fetch, so while the endpoint is down
//    every token with an unknown `kid` starts a new fetch; here a refresh for an unknown kid
//    (or for no keys at all) happens at most once per cooldown, successful or not, so a
//    stream of made-up kids costs the JWKS endpoint one request per cooldown.
// The first load (at start) and the background refreshes do not use up the unknown-kid
// allowance: a key rotated in just after start is picked up by the first token using it.
// Key selection inside a set (kid, alg, kty, use, crv) is jose's createLocalJWKSet.
import { createLocalJWKSet, errors, type FlattenedJWSInput, type JWSHeaderParameters } from 'jose';
import type { Logger } from 'pino';

export interface RemoteKeySetTiming {
  /** Keys older than this are refreshed in the background (the old ones keep working meanwhile). */
  maxAgeMs: number;
  /** At most one fetch per this long for unknown kids, and between background attempts. */
  cooldownMs: number;
  /** One fetch of the JWKS document. */
  timeoutMs: number;
}

export const DEFAULT_JWKS_TIMING: RemoteKeySetTiming = Object.freeze({
  maxAgeMs: 600_000,
  cooldownMs: 30_000,
  timeoutMs: 5_000,
});

type LocalSet = ReturnType<typeof createLocalJWKSet>;

/** The keys a set offers for a token header: none, one, or several to try in turn. */
export type Candidates = CryptoKey[];

export class RemoteKeySet {
  /** Successful fetches so far (exposed for tests and logs). */
  fetches = 0;
  readonly #url: URL;
  readonly #log: Logger;
  readonly #timing: RemoteKeySetTiming;
  readonly #closed = new AbortController();
  #keys: LocalSet | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptAt = Number.NEGATIVE_INFINITY;
  #unknownKidAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<void> | undefined;

  constructor(url: string, log: Logger, timing: Partial<RemoteKeySetTiming> = {}) {
    this.#url = new URL(url);
    this.#log = log;
    this.#timing = { ...DEFAULT_JWKS_TIMING, ...timing };
    // Warm the cache at start, so the first request does not wait for it.
    this.#fetch().catch(() => {});
  }

  /**
   * The cached keys matching the header; on no match, one refresh if the cooldown allows.
   * `refresh: false` when another source already has a candidate: no fetch is started then.
   */
  async candidates(header: JWSHeaderParameters, token: FlattenedJWSInput, refresh = true): Promise<Candidates> {
    if (!this.#keys && this.#pending) await this.#pending.catch(() => {});
    this.#refreshIfStale();
    const found = await this.#find(header, token);
    if (found.length || !refresh) return found;
    if (!this.#pending) {
      if (Date.now() - this.#unknownKidAt < this.#timing.cooldownMs) return [];
      this.#unknownKidAt = Date.now();
      this.#log.info({ kid: header.kid, url: this.#url.href }, 'jwt: unknown key id, refreshing the JWKS');
      this.#fetch().catch(() => {});
    }
    // A fetch in flight (ours, the first load or a background one) may bring the key. If it
    // fails, the error reaches the caller: the token cannot be checked.
    await this.#pending;
    return this.#find(header, token);
  }

  close(): void {
    this.#closed.abort();
  }

  async #find(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<Candidates> {
    if (!this.#keys) return [];
    try {
      return [await this.#keys(header, token)];
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) return [];
      if (err instanceof errors.JWKSMultipleMatchingKeys) {
        const all: Candidates = [];
        for await (const key of err) all.push(key);
        return all;
      }
      throw err;
    }
  }

  #refreshIfStale(): void {
    const now = Date.now();
    if (
      this.#pending ||
      now - this.#fetchedAt < this.#timing.maxAgeMs ||
      now - this.#attemptAt < this.#timing.cooldownMs
    )
      return;
    this.#fetch().catch(() => {});
  }

  /** One fetch, shared by everyone waiting; failures are logged and leave the cache as it was. */
  #fetch(): Promise<void> {
    if (this.#pending) return this.#pending;
    this.#attemptAt = Date.now();
    const pending = this.#load().then(
      () => {
        if (this.#pending === pending) this.#pending = undefined;
      },
      (err: unknown) => {
        if (this.#pending === pending) this.#pending = undefined;
        if (!this.#closed.signal.aborted) {
          this.#log.warn(
            { err, url: this.#url.href, cachedKeys: this.#keys !== undefined },
            'jwt: JWKS fetch failed; the keys already cached stay in use',
          );
        }
        throw err;
      },
    );
    this.#pending = pending;
    return pending;
  }

  async #load(): Promise<void> {
    const signal = AbortSignal.any([this.#closed.signal, AbortSignal.timeout(this.#timing.timeoutMs)]);
    const res = await fetch(this.#url, {
      signal,
      redirect: 'manual',
      headers: { accept: 'application/jwk-set+json, application/json' },
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`JWKS endpoint answered with status ${res.status}`);
    }
    // createLocalJWKSet throws JWKSInvalid on a document that is not a key set.
    this.#keys = createLocalJWKSet(await res.json());
    this.#fetchedAt = Date.now();
    this.fetches++;
  }
}
