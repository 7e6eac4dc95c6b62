// --tls-cert / --tls-key: the gateway's own certificate and key, read from PEM files and
// checked before the server starts (a bad pair is a startup error naming the file), then
// polled: a changed file is read again and, when the pair is good, served to new connections
// through server.setSecureContext() without a restart; a bad new pair is logged and the one
// being served stays. Polled (file-poller.ts), so that a Kubernetes Secret volume swapping
// its files is seen too.
import { readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { fileSignature } from '../config/file-signature.js';
import { describeCertificate, pemCertificates, pemPrivateKey } from '../config/pem.js';
import { FilePoller } from './file-poller.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsPair {
  /** The PEM certificate file's bytes: the server certificate, then its chain. */
  cert: Buffer;
  key: Buffer;
  /** Subject, serial and expiry of the server certificate, for the log. */
  description: string;
  /** Each file's signature just before it was read (config/file-signature.ts). */
  signatures: ReadonlyMap<string, string>;
}

/** A certificate or key file that cannot be served; the message names the file. */
export class TlsFilesError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'TlsFilesError';
  }
}

/** A change waits this long for its companion (a key written right after its certificate). */
const SETTLE_MS = 200;

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new TlsFilesError(file, `TLS ${what} file ${file} cannot be read (${reason})`);
  }
}

/** Reads and checks the pair: PEM certificates, a PEM key, and the key is the first certificate's. */
export function readTlsPair({ certFile, keyFile }: TlsFiles): TlsPair {
  const signatures = new Map([
    [certFile, fileSignature(certFile)],
    [keyFile, fileSignature(keyFile)],
  ]);
  const cert = readPem(certFile, 'certificate');
  const key = readPem(keyFile, 'key');
  let leaf: ReturnType<typeof pemCertificates>[number];
  try {
    leaf = pemCertificates(cert.toString('utf8'))[0]!;
  } catch (e) {
    throw new TlsFilesError(
      certFile,
      `TLS certificate file ${certFile}: expected PEM certificates (the server's first, then its chain); ${(e as Error).message}`,
    );
  }
  let privateKey: ReturnType<typeof pemPrivateKey>;
  try {
    privateKey = pemPrivateKey(key.toString('utf8'));
  } catch (e) {
    throw new TlsFilesError(keyFile, `TLS key file ${keyFile}: expected a PEM private key; ${(e as Error).message}`);
  }
  const description = describeCertificate(leaf);
  if (!leaf.checkPrivateKey(privateKey))
    throw new TlsFilesError(
      keyFile,
      `TLS key file ${keyFile} is not the private key of the certificate in ${certFile} (${description})`,
    );
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new TlsFilesError(certFile, `TLS certificate ${certFile} with key ${keyFile}: ${(e as Error).message}`);
  }
  return { cert, key, description, signatures };
}

/**
 * Polls both files from `served` (the pair being served); after a change, reads the pair
 * again and hands it to `onPair`, or the reason it cannot be served to `onError`. Returns the
 * function that stops polling.
 */
function watchTlsPair(
  files: TlsFiles,
  served: TlsPair,
  onPair: (pair: TlsPair) => void,
  onError: (error: TlsFilesError) => void,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  const poller = new FilePoller(() => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      let pair: TlsPair;
      try {
        pair = readTlsPair(files);
      } catch (e) {
        // The poller goes on from what it saw: the next change is tried again.
        onError(e instanceof TlsFilesError ? e : new TlsFilesError(files.certFile, String((e as Error)?.message ?? e)));
        return;
      }
      poller.follow(pair.signatures);
      onPair(pair);
    }, SETTLE_MS);
  });
  poller.follow(served.signatures);
  return () => {
    clearTimeout(timer);
    poller.close();
  };
}

/** New connections get the files' pair once it changes and is good; a bad one is logged and ignored. */
export function followTlsFiles(server: HttpsServer, files: TlsFiles, served: TlsPair, log: Logger): () => void {
  // A client that fails the handshake (plain HTTP to this port, an untrusted certificate) never becomes a request.
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket) =>
    log.debug({ code: error.code, client: socket.remoteAddress, reason: error.message }, 'TLS handshake failed'),
  );
  return watchTlsPair(
    files,
    served,
    (pair) => {
      server.setSecureContext({ cert: pair.cert, key: pair.key });
      log.info({ certificate: pair.description }, 'TLS certificate reloaded');
    },
    (error) =>
      log.error(
        { file: error.file },
        `TLS certificate not reloaded, the previous one is still served: ${error.message}`,
      ),
  );
}
