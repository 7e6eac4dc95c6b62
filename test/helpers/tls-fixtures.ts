// Certificates made at test time with the selfsigned package (EC P-256, fast): a CA, a server
// certificate for localhost and 127.0.0.1 signed by it, a client certificate signed by it, and
// a second CA with its own client and server certificates (the "wrong" ones). `writePki` puts
// them in a folder as PEM files, the way an operator's certs/ folder holds them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** A server certificate for `names` (DNS names) and 127.0.0.1. */
export function makeServerCert(ca: KeyPair, names: string[] = ['localhost']): Promise<KeyPair> {
  return issue(
    names[0]!,
    [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...names.map((value) => ({ type: 2 as const, value })), { type: 7, ip: '127.0.0.1' }],
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
