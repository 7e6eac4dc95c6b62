// Where verification keys come from (JwtOptions): a JWKS URL, key files and an HS secret,
// combined into one lookup by the token header. The rule that matters most: an HS* token is
// checked against the secret and nothing else, and an asymmetric token never against the
// secret. Without it, a token "signed" with HS256 using the RSA public key's PEM text as the
// secret could pass (the classic algorithm-confusion attack). jose refuses such key/alg
// mismatches as well; this keeps the asymmetric keys out of reach before jose is asked.
import { createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
} from 'jose';
import type { Logger } from 'pino';
import { RemoteKeySet, type RemoteKeySetTiming } from './remote-key-set.js';

/** A key to try: a public CryptoKey, or the HS secret's bytes. */
export type Key = CryptoKey | Uint8Array;

export class JwtConfigError extends Error {
  readonly code = 'QUILT_ERR_JWT_CONFIG';
  constructor(message: string) {
    super(`${message} (QUILT_ERR_JWT_CONFIG)`);
    this.name = 'JwtConfigError';
  }
}

export interface KeySourceOptions {
  jwksUrl?: string;
  publicKeyFiles?: string[];
  secret?: string;
  /** Overrides of the JWKS cache timing (tests; the defaults are in remote-key-set.ts). */
  jwksTiming?: Partial<RemoteKeySetTiming>;
}

export interface KeyResolver {
  /** Keys to try for this header, in order; empty: none known. */
  candidates(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<Key[]>;
  close(): void;
}

export function createKeyResolver(options: KeySourceOptions, log: Logger): KeyResolver {
  const fileKeys = (options.publicKeyFiles ?? []).flatMap(readKeyFile);
  // jose's local sets match kid/alg/kty/crv/use for us, but a key without a kid never matches
  // a token that names one. A PEM key has no kid, and issuers add kids freely, so keys
  // without one are looked up with the token's kid left out: they fit any token of their type.
  const named = localSet(fileKeys.filter((k) => k.kid !== undefined));
  const unnamed = localSet(fileKeys.filter((k) => k.kid === undefined));
  const secret = options.secret === undefined ? undefined : new TextEncoder().encode(options.secret);
  const remote = options.jwksUrl ? new RemoteKeySet(options.jwksUrl, log, options.jwksTiming) : undefined;

  return {
    async candidates(header, token) {
      if (typeof header.alg === 'string' && header.alg.startsWith('HS')) return secret ? [secret] : [];
      const found = [
        ...(await localCandidates(named, header, token)),
        ...(await localCandidates(unnamed, { ...header, kid: undefined }, { ...token, header: undefined })),
      ];
      // Another fetch of the JWKS only when no file key could be the one.
      const fromRemote = remote ? await remote.candidates(header, token, found.length === 0) : [];
      return [...found, ...fromRemote];
    },
    close() {
      remote?.close();
    },
  };
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

function localSet(keys: JWK[]): LocalSet | undefined {
  return keys.length ? createLocalJWKSet({ keys }) : undefined;
}

async function localCandidates(
  local: LocalSet | undefined,
  header: JWSHeaderParameters,
  token: FlattenedJWSInput,
): Promise<CryptoKey[]> {
  if (!local) return [];
  try {
    return [await local(header, token)];
  } catch (err) {
    if (err instanceof errors.JWKSNoMatchingKey) return [];
    if (err instanceof errors.JWKSMultipleMatchingKeys) {
      const all: CryptoKey[] = [];
      for await (const key of err) all.push(key);
      return all;
    }
    throw err;
  }
}

/**
 * A key file as public JWKs: PEM (SPKI public key or X.509 certificate) through node:crypto,
 * which needs no algorithm up front (jose's importSPKI/importX509 bind one key to one alg),
 * or JSON holding one JWK or a JWKS. A private key in the file is refused: the gateway only
 * ever needs the public half, and a private key on its disk is a leak waiting to happen.
 */
export function readKeyFile(file: string): JWK[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new JwtConfigError(`cannot read JWT key file ${file}: ${(err as Error).message}`);
  }
  const where = `JWT key file ${file}`;
  if (text.includes('-----BEGIN')) {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
      throw new JwtConfigError(`${where} holds a private key; give the public key (SPKI PEM) or certificate instead`);
    try {
      const key = text.includes('-----BEGIN CERTIFICATE-----')
        ? new X509Certificate(text).publicKey
        : createPublicKey(text);
      return [key.export({ format: 'jwk' }) as JWK];
    } catch (err) {
      throw new JwtConfigError(`${where}: not a PEM public key (SPKI) or X.509 certificate: ${(err as Error).message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new JwtConfigError(`${where}: expected PEM, a JWK or a JWKS (JSON); the file is neither`);
  }
  const keys = isKeySet(json) ? json.keys : [json as JWK];
  for (const [i, jwk] of keys.entries()) checkPublicJwk(jwk, `${where}${isKeySet(json) ? ` keys[${i}]` : ''}`);
  return keys;
}

function isKeySet(json: unknown): json is JSONWebKeySet {
  return typeof json === 'object' && json !== null && Array.isArray((json as JSONWebKeySet).keys);
}

function checkPublicJwk(jwk: JWK, where: string): void {
  if (typeof jwk !== 'object' || jwk === null || typeof jwk.kty !== 'string')
    throw new JwtConfigError(`${where}: a JWK needs a "kty" member`);
  if (jwk.kty === 'oct')
    throw new JwtConfigError(
      `${where}: a symmetric ("oct") key does not belong in a key file; use the secret setting for HS algorithms`,
    );
  if ('d' in jwk)
    throw new JwtConfigError(
      `${where}${jwk.kid ? ` (kid ${jwk.kid})` : ''} holds a private key; give only the public members`,
    );
}
