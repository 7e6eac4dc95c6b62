// Token checks: the JwtOptions are validated once at start (a bad allow-list is a start-up
// error, not a token that quietly passes), then every token goes through jose's jwtVerify
// with an explicit algorithm list, `exp` always required, and the keys from keys.ts.
// jose checks `alg` against the list before it asks for a key, so a token with alg "none"
// or an algorithm not listed never causes a JWKS fetch.
import { errors, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions, jwtVerify } from 'jose';
import type { Logger } from 'pino';
import type { JwtOptions } from '../options.js';
import { JwtConfigError, type Key, type KeyResolver } from './keys.js';

/** What jose 6 can verify (JWS); the allow-list must be a subset. */
export const SUPPORTED_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** Fails start-up on settings that would weaken verification; warns on ones that are odd. */
export function checkJwtOptions(options: JwtOptions, log: Logger): void {
  const algorithms = options.algorithms ?? [];
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new JwtConfigError(
      `JWT algorithms: the allow-list is empty; list the algorithms your issuer signs with (e.g. RS256 or ES256); one of ${SUPPORTED_ALGORITHMS.join(', ')}`,
    );
  }
  for (const alg of algorithms) {
    if (String(alg).trim().toLowerCase() === 'none') {
      throw new JwtConfigError(
        'JWT algorithms: "none" is not allowed (it means unsigned tokens that anyone can write); remove it from the list',
      );
    }
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new JwtConfigError(
        `JWT algorithms: "${alg}" is not a supported algorithm; expected any of ${SUPPORTED_ALGORITHMS.join(', ')} (names are case-sensitive)`,
      );
    }
  }
  const hs = algorithms.filter((a) => a.startsWith('HS'));
  const asymmetric = algorithms.filter((a) => !a.startsWith('HS'));
  const hasPublicKeys = options.jwksUrl !== undefined || (options.publicKeyFiles?.length ?? 0) > 0;
  if (options.secret === undefined && !hasPublicKeys) {
    throw new JwtConfigError('JWT: no verification key; set a JWKS URL, a public key file or a secret');
  }
  if (hs.length && options.secret === undefined)
    throw new JwtConfigError(`JWT algorithms: ${hs.join(', ')} needs a secret, and none is set`);
  if (asymmetric.length && !hasPublicKeys)
    throw new JwtConfigError(
      `JWT algorithms: ${asymmetric.join(', ')} needs a JWKS URL or a public key file, and none is set`,
    );
  if (options.secret !== undefined && !hs.length)
    log.warn('jwt: a secret is set but no HS algorithm is allowed; the secret is unused');
  if (hasPublicKeys && !asymmetric.length)
    log.warn('jwt: public keys are set but only HS algorithms are allowed; the keys are unused');
  if (options.secret !== undefined && Buffer.byteLength(options.secret) < 32)
    log.warn('jwt: the HS secret is shorter than 32 bytes; a short secret can be guessed offline from any token');
  if (options.jwksUrl !== undefined && !/^https?:\/\//.test(options.jwksUrl))
    throw new JwtConfigError(`JWT JWKS URL: expected an http(s) URL; received "${options.jwksUrl}"`);
  if (!Number.isFinite(options.clockToleranceSec) || options.clockToleranceSec < 0) {
    throw new JwtConfigError(
      `JWT clock tolerance: expected a number of seconds >= 0; received ${options.clockToleranceSec}`,
    );
  }
}

export function verifyOptionsOf(options: JwtOptions): JWTVerifyOptions {
  return {
    algorithms: [...options.algorithms],
    issuer: options.issuer?.length ? options.issuer : undefined,
    audience: options.audience?.length ? options.audience : undefined,
    clockTolerance: options.clockToleranceSec,
    requiredClaims: [...new Set(['exp', ...(options.requiredClaims ?? [])])],
  };
}

/** The verified claims, or jose's error. With several candidate keys each is tried in turn. */
export async function verifyToken(token: string, keys: KeyResolver, options: JWTVerifyOptions): Promise<JWTPayload> {
  let others: Key[] = [];
  const getKey: JWTVerifyGetKey = async (header, jws) => {
    const candidates = await keys.candidates(header, jws);
    if (!candidates.length) throw new errors.JWKSNoMatchingKey();
    [, ...others] = candidates;
    return candidates[0];
  };
  try {
    return (await jwtVerify(token, getKey, options)).payload;
  } catch (err) {
    if (!(err instanceof errors.JWSSignatureVerificationFailed) || !others.length) throw err;
    // Only a signature failure moves on to the next key: a claim failure means the signature
    // was good and the token itself is bad.
    for (const key of others) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (next) {
        if (!(next instanceof errors.JWSSignatureVerificationFailed)) throw next;
      }
    }
    throw err;
  }
}

export interface TokenFailure {
  /** Safe for the client: says what is wrong with the token, nothing about the gateway. */
  message: string;
  /** For the log. */
  reason: string;
  /** Not the client's doing (JWKS unreachable, a bug): logged as a warning. */
  internal: boolean;
}

export function describeFailure(err: unknown): TokenFailure {
  const fail = (reason: string, message: string, internal = false): TokenFailure => ({ reason, message, internal });
  if (err instanceof errors.JWTExpired) return fail('expired', 'Token expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return fail('missing_claim', `Token lacks the required "${err.claim}" claim`);
    if (err.claim === 'nbf') return fail('not_yet_valid', 'Token not yet valid');
    if (err.claim === 'iss') return fail('issuer', 'Token issuer not accepted');
    if (err.claim === 'aud') return fail('audience', 'Token audience not accepted');
    return fail('claim', `Token claim "${err.claim}" is invalid`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return fail('signature', 'Invalid token signature');
  if (err instanceof errors.JOSEAlgNotAllowed) return fail('algorithm', 'Token algorithm not allowed');
  if (err instanceof errors.JWKSNoMatchingKey) return fail('unknown_key', 'No known key matches the token');
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return fail('malformed', 'Malformed token');
  if (err instanceof errors.JOSENotSupported) return fail('unsupported', 'Token algorithm or key type not supported');
  return fail('unverifiable', 'Token could not be verified', true);
}
