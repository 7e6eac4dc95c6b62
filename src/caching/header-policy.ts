// The Cache-Control (and Age) a response cache answer carries. A batched request (several
// operations in one HTTP request) gets the most restrictive of its operations' policies, and
// so does a response that already carries an upstream's cache-control (passed on by
// @upstream(responseHeaders:)): no-store over private over public, then the smallest max-age.

export interface HeaderPolicy {
  noStore: boolean;
  /** Seconds. */
  maxAge: number;
  private: boolean;
  /** On a hit: seconds since the answer was stored. */
  ageSec?: number;
}

export function mergeHeaderPolicies(policies: readonly HeaderPolicy[]): HeaderPolicy {
  if (policies.length === 1) return policies[0]!;
  return {
    noStore: policies.some((p) => p.noStore),
    maxAge: Math.min(...policies.map((p) => p.maxAge)),
    private: policies.some((p) => p.private),
    ageSec: policies.every((p) => p.ageSec !== undefined) ? Math.max(...policies.map((p) => p.ageSec!)) : undefined,
  };
}

/** The header value for `policy`, made no less restrictive than `existing`. */
export function cacheControlHeader(policy: HeaderPolicy, existing: string | null): string {
  let { noStore, maxAge, private: isPrivate } = policy;
  if (existing) {
    for (const part of existing.split(',')) {
      const [name, value] = part.trim().toLowerCase().split('=');
      if (name === 'no-store' || name === 'no-cache') noStore = true;
      else if (name === 'private') isPrivate = true;
      else if (name === 'max-age' && value !== undefined && /^\d+$/.test(value))
        maxAge = Math.min(maxAge, Number(value));
    }
  }
  if (noStore || maxAge <= 0) return 'no-store';
  return `max-age=${maxAge}, ${isPrivate ? 'private' : 'public'}`;
}
