// Certificates made at test time with the selfsigned package (EC P-256, fast): a CA, a server
// certificate for localhost and 127.0.0.1 signed by it, a client certificate signed by it, and
// a second CA with its own client and server certificates (the "wrong" ones). `writePki` puts
// them in a folder as PEM files, the way an operator's certs/ folder holds them.
// `startHttpsTestServer` is json-server.ts's scriptable upstream over HTTPS, counting the TLS
// handshakes it completed and refused and naming each request's client certificate.
import { X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import selfsigned from 'selfsigned';

export interface KeyPair {
  /** PEM certificate (a chain when more than one). */
  cert: string;
  /** PEM private key (PKCS#8). */
  key: string;
}

export interface Pki {
  ca: KeyPair;
  server: KeyPair;
  client: KeyPair;
  /** A CA that signed neither of the above. */
  otherCa: KeyPair;
  /** A server certificate for 127.0.0.1 signed by otherCa. */
  otherServer: KeyPair;
  /** A client certificate signed by otherCa. */
  otherClient: KeyPair;
}

type Extensions = NonNullable<Parameters<typeof selfsigned.generate>[1]>['extensions'];

async function issue(commonName: string, extensions: Extensions, ca?: KeyPair): Promise<KeyPair> {
  const made = await selfsigned.generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions,
    ...(ca ? { ca: { key: ca.key, cert: ca.cert } } : {}),
  });
  return { cert: made.cert, key: made.private };
}

/** A root CA, or an intermediate one when `issuer` is given. */
export function makeCa(commonName: string, issuer?: KeyPair): Promise<KeyPair> {
  return issue(
    commonName,
    [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
    issuer,
  );
}

/** A server certificate for `names` (DNS names) and, unless `ip` is false, 127.0.0.1. */
export function makeServerCert(ca: KeyPair, names: string[] = ['localhost'], ip = true): Promise<KeyPair> {
  return issue(
    names[0]!,
    [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...names.map((value) => ({ type: 2 as const, value })),
          ...(ip ? [{ type: 7 as const, ip: '127.0.0.1' }] : []),
        ],
      },
    ],
    ca,
  );
}

export function makeClientCert(ca: KeyPair, commonName = 'quilt-gateway'): Promise<KeyPair> {
  return issue(
    commonName,
    [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
    ca,
  );
}

export async function makePki(): Promise<Pki> {
  const ca = await makeCa('Quilt Test CA');
  const otherCa = await makeCa('Some Other CA');
  return {
    ca,
    server: await makeServerCert(ca),
    client: await makeClientCert(ca),
    otherCa,
    otherServer: await makeServerCert(otherCa),
    otherClient: await makeClientCert(otherCa, 'stranger'),
  };
}

/** Writes `files` (name -> PEM text) under `dir`, creating folders on the way. */
export function writePem(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  }
}

/** The tls: of a client with the files a test writes under certs/ beside its schema files. */
export const CLIENT = 'ca: "certs/ca.pem", cert: "certs/client.pem", key: "certs/client-key.pem"';

/** The files CLIENT names, as schema-folder entries for startHarness. */
export const clientTlsFiles = (pki: Pki) => ({
  'certs/ca.pem': pki.ca.cert,
  'certs/client.pem': pki.client.cert,
  'certs/client-key.pem': pki.client.key,
});

/** An HTTP source `name` with `tls:` and one field `name` answering GET /<name>. */
export const httpsSource = (name: string, url: string, tls: string, extra = '') =>
  `extend schema @upstream(name: "${name}", protocol: HTTP, replicas: [{ url: "${url}" }], tls: ${tls}${extra})
type Query { ${name}: String @http(GET: "/${name}") }
`;

export interface HttpsSeenRequest {
  method: string;
  url: string;
  /** The common name of the client certificate the request came with, or null. */
  clientCertificate: string | null;
  /** The client's port: requests on one kept-alive connection share it. */
  clientPort: number | undefined;
}

export interface HttpsTestServer {
  /** https://127.0.0.1:PORT */
  url: string;
  seen: HttpsSeenRequest[];
  /** TLS handshakes completed. */
  handshakes: number;
  /** Handshakes refused, by error code (no client certificate, one it does not trust, ...). */
  refused: string[];
  close(): Promise<void>;
}

/** An HTTPS upstream on 127.0.0.1:0; `tls` are node:https server options (cert, key, ca, requestCert...). */
export async function startHttpsTestServer(
  tls: ServerOptions,
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<HttpsTestServer> {
  const state = { seen: [] as HttpsSeenRequest[], handshakes: 0, refused: [] as string[] };
  const server = createServer(tls, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      const cn = peer?.subject?.CN;
      state.seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        clientCertificate: cn ? String(cn) : null,
        clientPort: req.socket.remotePort,
      });
      handler(req, res, body);
    });
  });
  server.on('secureConnection', () => state.handshakes++);
  server.on('tlsClientError', (e: NodeJS.ErrnoException) => state.refused.push(e.code ?? e.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** The SHA-256 fingerprint of the certificate a new TLS connection to `port` is shown. */
export function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.once('error', reject);
  });
}

export const fingerprintOf = (pair: KeyPair) => new X509Certificate(pair.cert).fingerprint256;

/** Does a new connection trusting `ca` get `pair`'s certificate? (false while it gets another, or fails) */
export const serves = (port: number, ca: string, pair: KeyPair) =>
  servedFingerprint(port, ca).then(
    (fingerprint) => fingerprint === fingerprintOf(pair),
    () => false,
  );
