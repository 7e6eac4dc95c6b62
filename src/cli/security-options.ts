// Flag values -> SecurityOptions, with the checks that need several flags at once. Every
// message names the flag or variable the value came from, what was expected and what was
// received, so a typo in a deployment's environment is found at start-up, not by a client.
import { parseCidr } from '../security/hardening/index.js';
import type { JwtOptions, SecurityOptions } from '../security/options.js';
import { envName, type OptionSources, type Options, UsageError } from './options.js';
import { DEFAULT_JWT_CLOCK_TOLERANCE_SEC, JWT_ALGORITHMS } from './security-flags.js';

const KEY_SOURCES = ['jwks-url', 'jwt-public-key', 'jwt-secret'] as const;
const JWT_SETTINGS = [
  'jwt-issuer',
  'jwt-audience',
  'jwt-algorithms',
  'jwt-cookie',
  'jwt-clock-tolerance',
  'jwt-required-claims',
] as const;

interface Reader {
  /** "--max-depth" or "QUILT_MAX_DEPTH", as the user wrote it; both names when it was not set. */
  where(name: string): string;
  isSet(name: string): boolean;
  list(name: string): string[];
  text(name: string): string | undefined;
  num(name: string): number;
}

function readerOf(options: Options, sources: OptionSources): Reader {
  return {
    where: (name) => sources[name] ?? `--${name} (${envName(name)})`,
    isSet: (name) => sources[name] !== undefined,
    list: (name) => (options[name] as string[] | undefined) ?? [],
    text: (name) => (options[name] === undefined || options[name] === '' ? undefined : String(options[name])),
    num: (name) => options[name] as number,
  };
}

export function securityOptionsFrom(options: Options, sources: OptionSources): SecurityOptions {
  const r = readerOf(options, sources);
  const { where, list, text, num } = r;
  const positive = (name: string) => (num(name) > 0 ? num(name) : undefined);

  const cidrs = (name: string) => {
    const entries = list(name);
    for (const entry of entries) {
      const cidr = parseCidr(entry);
      if (typeof cidr === 'string') throw new UsageError(`${where(name)}: ${cidr}`);
    }
    return entries.length ? entries : undefined;
  };

  return {
    jwt: jwtOptions(r),
    scopeClaim: text('scope-claim'),
    cost: {
      maxCost: positive('max-cost'),
      budget: positive('cost-budget'),
      restoreRate: num('cost-restore-rate'),
      defaultListSize: num('default-list-size'),
      model: options['cost-model'] === 'apollo' ? 'apollo' : 'ibm',
    },
    hardening: {
      maxDepth: num('max-depth'),
      maxAliases: num('max-aliases'),
      maxTokens: num('max-tokens'),
      maxDirectives: num('max-directives'),
      maxBatch: num('max-batch'),
      maxBodyBytes: num('max-body-bytes'),
      ipAllow: cidrs('ip-allow'),
      ipDeny: cidrs('ip-deny'),
      introspection: options.introspection !== false,
      csrfPrevention: options['csrf-prevention'] !== false,
      trustedDocuments: text('trusted-documents'),
    },
    shared: {
      redisUrl: text('redis-url'),
      redisFailure: options['redis-failure'] === 'closed' ? 'closed' : 'open',
      redisTimeoutMs: num('redis-timeout-ms'),
    },
  };
}

function jwtOptions({ where, isSet, list, text, num }: Reader): JwtOptions | undefined {
  const given = KEY_SOURCES.filter((name) =>
    name === 'jwt-public-key' ? list(name).length > 0 : text(name) !== undefined,
  );
  if (given.length === 0) {
    const stray = JWT_SETTINGS.find(isSet);
    if (stray)
      throw new UsageError(
        `${where(stray)} is set but JWT is off: JWT is on when a key source is given (--jwks-url, --jwt-public-key or --jwt-secret), received none`,
      );
    return undefined;
  }
  const algorithms = list('jwt-algorithms');
  const because = `(JWT is on: ${given.map(where).join(', ')} given)`;
  if (algorithms.length === 0) {
    throw new UsageError(
      `${where('jwt-algorithms')} is required ${because}: there is no default; expected the algorithms your tokens are signed with, e.g. RS256,ES256, received nothing`,
    );
  }
  for (const alg of algorithms) {
    if (alg.toLowerCase() === 'none')
      throw new UsageError(
        `${where('jwt-algorithms')}: "none" (unsigned tokens) is never accepted; expected some of ${JWT_ALGORITHMS.join(', ')}`,
      );
    if (!JWT_ALGORITHMS.includes(alg))
      throw new UsageError(
        `${where('jwt-algorithms')}: expected some of ${JWT_ALGORITHMS.join(', ')}, received "${alg}"`,
      );
  }
  const secret = text('jwt-secret');
  const hmac = algorithms.filter((a) => a.startsWith('HS'));
  const asymmetric = algorithms.filter((a) => !a.startsWith('HS'));
  if (hmac.length && !secret)
    throw new UsageError(`${where('jwt-algorithms')}: ${hmac.join(', ')} needs ${where('jwt-secret')}, received none`);
  const publicKeys = text('jwks-url') !== undefined || list('jwt-public-key').length > 0;
  if (asymmetric.length && !publicKeys)
    throw new UsageError(
      `${where('jwt-algorithms')}: ${asymmetric.join(', ')} needs public keys from --jwks-url or --jwt-public-key, received none`,
    );
  const issuer = list('jwt-issuer');
  const audience = list('jwt-audience');
  const keyFiles = list('jwt-public-key');
  return {
    jwksUrl: text('jwks-url'),
    publicKeyFiles: keyFiles.length ? keyFiles : undefined,
    secret,
    issuer: issuer.length ? issuer : undefined,
    audience: audience.length ? audience : undefined,
    algorithms,
    cookie: text('jwt-cookie'),
    clockToleranceSec: num('jwt-clock-tolerance') ?? DEFAULT_JWT_CLOCK_TOLERANCE_SEC,
    requiredClaims: list('jwt-required-claims'),
  };
}
