// What a file looked like when it was read, to tell later whether it changed: taken just
// before reading, so that a change made while reading shows as a difference next time.
// Used for the files a load reads besides the schema files (upstream-tls.ts) and for
// --tls-cert/--tls-key (src/server/file-poller.ts follows both).
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';

export const MISSING = 'missing';

/** Modification time, inode and size (stat follows symlinks, as a Kubernetes Secret volume's are). */
export function fileSignature(path: string): string {
  try {
    return signatureOf(statSync(path));
  } catch {
    return MISSING;
  }
}

export async function currentFileSignature(path: string): Promise<string> {
  try {
    return signatureOf(await stat(path));
  } catch {
    return MISSING;
  }
}

function signatureOf(s: { mtimeMs: number; ino: number; size: number }): string {
  return `${s.mtimeMs}:${s.ino}:${s.size}`;
}
