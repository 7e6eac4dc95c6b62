// PEM certificates and private keys, read and checked the same way for @upstream(tls:)
// (config/upstream-tls.ts) and for --tls-cert/--tls-key (server/tls-files.ts): each failure
// says what the text holds instead of what was expected.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM text, in order (a chain: the leaf first); throws saying why there are none. */
export function pemCertificates(text: string): X509Certificate[] {
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error('it holds no "-----BEGIN CERTIFICATE-----" block');
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (e) {
      throw new Error(`its certificate #${i + 1} cannot be parsed (${(e as Error).message})`);
    }
  });
}

/** The private key of a PEM text; throws saying why it cannot be used (encrypted, not a key). */
export function pemPrivateKey(text: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
    throw new Error('it holds no "-----BEGIN ... PRIVATE KEY-----" block');
  try {
    return createPrivateKey(text);
  } catch (e) {
    const message = (e as Error).message;
    throw new Error(
      /passphrase/i.test(message)
        ? 'the key is encrypted; give an unencrypted key (protect the file instead)'
        : `the key cannot be parsed (${message})`,
    );
  }
}

/** How a certificate is named in messages and logs. */
export function describeCertificate(cert: X509Certificate): string {
  return `${cert.subject.replace(/\n/g, ', ')}, serial ${cert.serialNumber}, valid until ${new Date(cert.validTo).toISOString()}`;
}
