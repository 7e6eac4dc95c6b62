// Tokens and keys for tests: mint a token with an HS secret or a private key, hand-craft an
// unsigned one, and serve a JWKS over real HTTP whose key set can be swapped (rotation) and
// whose fetches are counted. Other tests import mintToken to act as a signed-in client.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export interface MintOptions {
  /** Default HS256 for a string/bytes secret, else the signing key's alg. */
  alg?: string;
  kid?: string;
  sub?: string;
  issuer?: string;
  audience?: string | string[];
  /** Seconds from now; negative: already expired. Default 300. */
  expiresInSec?: number;
  /** Leave out `exp` entirely. */
  noExp?: boolean;
  /** Seconds from now for `nbf`; unset: no nbf. */
  notBeforeSec?: number;
  /** Any other claims (scope, permissions, ...). */
  claims?: Record<string, unknown>;
}

export interface SigningKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public key as a JWK with kid, alg and use, ready for a JWKS. */
  publicJwk: JWK;
  /** The public key as SPKI PEM. */
  spki: string;
}

export async function generateSigningKey(
  alg: 'RS256' | 'ES256' | 'PS256' | 'ES384' | 'EdDSA',
  kid: string,
): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicKey, publicJwk, spki: await exportSPKI(publicKey) };
}

const nowSec = () => Math.floor(Date.now() / 1000);

/** A signed JWT. `key`: an HS secret (string or bytes) or a SigningKey. */
export async function mintToken(key: string | Uint8Array | SigningKey, options: MintOptions = {}): Promise<string> {
  const isSecret = typeof key === 'string' || key instanceof Uint8Array;
  const alg = options.alg ?? (isSecret ? 'HS256' : key.alg);
  const kid = options.kid ?? (isSecret ? undefined : key.kid);
  const jwt = new SignJWT({ ...options.claims } as JWTPayload)
    .setProtectedHeader(kid ? { alg, kid, typ: 'JWT' } : { alg, typ: 'JWT' })
    .setIssuedAt();
  if (options.sub !== undefined) jwt.setSubject(options.sub);
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt.setAudience(options.audience);
  if (!options.noExp) jwt.setExpirationTime(nowSec() + (options.expiresInSec ?? 300));
  if (options.notBeforeSec !== undefined) jwt.setNotBefore(nowSec() + options.notBeforeSec);
  const signWith = isSecret ? (typeof key === 'string' ? new TextEncoder().encode(key) : key) : key.privateKey;
  return jwt.sign(signWith);
}

/** An unsigned token (`alg: none`, empty signature), as an attacker would write one. */
export function unsignedToken(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'none', typ: 'JWT' },
): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64(header)}.${b64({ exp: nowSec() + 300, iat: nowSec(), ...claims })}.`;
}

export interface JwksServer {
  url: string;
  /** GET requests answered so far. */
  fetches: number;
  setKeys(keys: JWK[]): void;
  /** While true, every fetch is answered 503 (and still counted). */
  failing: boolean;
  /** Close the server: later fetches get "connection refused". */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let current = keys;
  const state = { fetches: 0, failing: false };
  const server: Server = createServer((_req, res) => {
    state.fetches++;
    if (state.failing) return void res.writeHead(503).end();
    const body = JSON.stringify({ keys: current });
    res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get fetches() {
      return state.fetches;
    },
    get failing() {
      return state.failing;
    },
    set failing(value) {
      state.failing = value;
    },
    setKeys(next) {
      current = next;
    },
    stop,
    close: stop,
  };
}
