// @upstream(tls: { ca, cert, key, insecureSkipVerify, serverName }): the files are read
// when the schema loads (paths relative to the schema file) and handed to the pools as bytes
// (UpstreamTls in src/upstream/types.ts). A file that cannot be read or parsed, a key that is
// not the certificate's, or tls: on a plain-text replica url is a problem at its line: `quilt
// check` fails and a running gateway keeps its last good schema. insecureSkipVerify is a
// warning at every load.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type ASTNode, type DirectiveNode, Kind } from 'graphql';
import type { Protocol, ReplicaSpec, UpstreamTls } from '../upstream/types.js';
import { fileSignature } from './file-signature.js';
import { pemCertificates, pemPrivateKey } from './pem.js';
import type { LoadNotes, ProblemList } from './problems.js';

export interface RawTls {
  ca?: string | null;
  cert?: string | null;
  key?: string | null;
  insecureSkipVerify: boolean;
  serverName?: string | null;
}

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/**
 * The TLS settings, or undefined when there is no tls: or it has problems (added to
 * `problems`; the caller compares their count).
 */
export function readUpstreamTls(
  raw: RawTls | null | undefined,
  upstream: { name: string; protocol: Protocol; replicas: readonly ReplicaSpec[] | undefined },
  node: DirectiveNode,
  file: string,
  problems: ProblemList,
  notes: LoadNotes,
): UpstreamTls | undefined {
  if (!raw) return undefined;
  const argument = node.arguments?.find((a) => a.name.value === 'tls');
  /** Where a setting is written: its value inside tls: { ... }, else tls: itself. */
  const at = (setting: string): ASTNode =>
    (argument?.value.kind === Kind.OBJECT
      ? argument.value.fields.find((f) => f.name.value === setting)?.value
      : undefined) ??
    argument ??
    node;
  const before = problems.items.length;

  for (const replica of upstream.replicas ?? []) {
    const plain = upstream.protocol === 'GRPC' ? /^grpc:\/\//i.test(replica.url) : /^http:\/\//i.test(replica.url);
    if (plain)
      problems.at(
        argument ?? node,
        file,
        `@upstream(tls:) expected ${upstream.protocol === 'GRPC' ? 'grpcs://host:port or host:port' : 'https://'} replica urls (tls: sets up TLS connections); received "${replica.url}", which is plain text`,
      );
  }

  const read = (setting: 'ca' | 'cert' | 'key'): { text: string; path: string } | undefined => {
    const path = raw[setting];
    if (path === undefined || path === null) return undefined;
    const absolute = resolve(dirname(file), path);
    // Followed even when it cannot be read: the file that appears is a reason to load again.
    notes.files.set(absolute, fileSignature(absolute));
    try {
      return { text: readFileSync(absolute, 'utf8'), path };
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      problems.at(
        at(setting),
        file,
        `@upstream(tls.${setting}) expected a readable PEM file (relative to this file); received "${path}" (${resolve(dirname(file), path)}: ${reason})`,
      );
      return undefined;
    }
  };
  const unusable = (setting: string, expected: string, path: string, why: string) =>
    problems.at(at(setting), file, `@upstream(tls.${setting}) expected ${expected}; received "${path}": ${why}`);

  const ca = read('ca');
  if (ca) {
    try {
      pemCertificates(ca.text);
    } catch (e) {
      unusable('ca', 'a PEM file of CA certificates', ca.path, (e as Error).message);
    }
  }
  const cert = read('cert');
  const key = read('key');
  if ((raw.cert ?? undefined) !== undefined && (raw.key ?? undefined) === undefined)
    problems.at(at('cert'), file, "@upstream(tls.cert) needs tls.key: the client certificate's private key");
  if ((raw.key ?? undefined) !== undefined && (raw.cert ?? undefined) === undefined)
    problems.at(at('key'), file, '@upstream(tls.key) needs tls.cert: the client certificate it belongs to');
  let leaf: ReturnType<typeof pemCertificates>[number] | undefined;
  if (cert) {
    try {
      leaf = pemCertificates(cert.text)[0];
    } catch (e) {
      unusable('cert', 'a PEM client certificate', cert.path, (e as Error).message);
    }
  }
  if (key) {
    try {
      const privateKey = pemPrivateKey(key.text);
      if (leaf && cert && !leaf.checkPrivateKey(privateKey))
        unusable(
          'key',
          `the private key of the certificate in "${cert.path}"`,
          key.path,
          'it is the key of another certificate',
        );
    } catch (e) {
      unusable('key', 'a PEM private key', key.path, (e as Error).message);
    }
  }
  const serverName = raw.serverName ?? undefined;
  if (serverName !== undefined && !HOST_NAME.test(serverName))
    problems.at(
      at('serverName'),
      file,
      `@upstream(tls.serverName) expected a host name such as "api.internal"; received ${JSON.stringify(serverName)}`,
    );
  if (raw.insecureSkipVerify)
    notes.warnings.at(
      at('insecureSkipVerify'),
      file,
      `@upstream(tls.insecureSkipVerify) is true: the certificates of upstream "${upstream.name}" are not verified, so anyone on the network path can impersonate it; give its CA with tls.ca instead`,
    );
  if (problems.items.length > before) return undefined;

  return {
    ca: ca && Buffer.from(ca.text),
    cert: cert && Buffer.from(cert.text),
    key: key && Buffer.from(key.text),
    verify: !raw.insecureSkipVerify,
    serverName,
  };
}
