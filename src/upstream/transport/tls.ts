// TLS to replicas, shared by the HTTP transport, the gRPC transport and the health probes:
// what identifies a TLS setting (so that a reload with the same certificates keeps the
// connections, and new certificates get new ones), the options undici's connector takes, and
// which connection errors are TLS refusing the connection (nothing of the request was served).
import { createHash } from 'node:crypto';
import type { UpstreamTls } from '../types.js';

const identities = new WeakMap<UpstreamTls, string>();

/** A digest of everything in `tls`: equal for equal content, "" for none. */
export function tlsIdentity(tls: UpstreamTls | undefined): string {
  if (!tls) return '';
  let identity = identities.get(tls);
  if (identity === undefined) {
    const hash = createHash('sha256');
    for (const part of [tls.ca, tls.cert, tls.key, tls.serverName]) {
      // Length-prefixed, so that moving bytes from one part to the next changes the digest.
      const bytes = part === undefined ? undefined : Buffer.from(part);
      hash.update(bytes === undefined ? '-1:' : `${bytes.length}:`);
      if (bytes) hash.update(bytes);
    }
    hash.update(tls.verify ? 'verify' : 'skip-verify');
    identity = hash.digest('hex').slice(0, 32);
    identities.set(tls, identity);
  }
  return identity;
}

/** The `connect` options of an undici Pool or Agent (node:tls connect options). */
export function undiciConnectOptions(tls: UpstreamTls): Record<string, unknown> {
  const options: Record<string, unknown> = { rejectUnauthorized: tls.verify };
  if (tls.ca) options.ca = tls.ca;
  if (tls.cert) options.cert = tls.cert;
  if (tls.key) options.key = tls.key;
  if (tls.serverName) options.servername = tls.serverName;
  return options;
}

// node:tls verification failures (OpenSSL's X509 verify result names) and its own
// host name check: the replica's certificate was refused before anything was sent.
const CERTIFICATE_REFUSED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A TLS refusal: a certificate check failed, or the handshake failed (ERR_SSL_*: an alert
 * from the replica, such as a client certificate it requires or does not trust, or a
 * replica that does not speak TLS). The replica served nothing of the request.
 */
export function isTlsRefusal(code: string): boolean {
  return CERTIFICATE_REFUSED.has(code) || code.startsWith('ERR_SSL_');
}
