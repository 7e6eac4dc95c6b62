// Runs `quilt import openapi` for tests: as a user does (a child process, for exit codes and
// stdout) or in this process (fast, for the many documents of the mapping and real-spec
// tests), and writes documents as JSON or YAML by their file name.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { main } from '../../src/cli/main.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ImportRun {
  code: number;
  stdout: string;
  /** stderr, one entry per line. */
  stderr: string[];
  /** The written file (--out), if any. */
  text?: string;
}

/** The real CLI in a child process. */
export function quiltCli(args: string[], cwd = ROOT): Promise<ImportRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/quilt.js'), ...args],
      { cwd, maxBuffer: 64 << 20 },
      (e, stdout, stderr) =>
        resolve({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr: stderr.split('\n').filter(Boolean) }),
    );
  });
}

/** `quilt import openapi SPEC --out OUT ...args` in this process; stderr captured. */
export async function importOpenApi(spec: string, out: string, args: string[] = []): Promise<ImportRun> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...parts: unknown[]) => lines.push(parts.join(' '));
  let code: number;
  try {
    code = await main(['import', 'openapi', spec, '--out', out, ...args]);
  } finally {
    console.error = original;
  }
  let text: string | undefined;
  try {
    text = readFileSync(out, 'utf8');
  } catch {
    text = undefined;
  }
  return { code, stdout: '', stderr: lines.flatMap((l) => l.split('\n')), text };
}

/** A document written as YAML (.yaml/.yml) or JSON. */
export function writeDocument(file: string, doc: unknown): string {
  writeFileSync(
    file,
    /\.ya?ml$/.test(file) ? stringify(doc, { aliasDuplicateObjects: false }) : JSON.stringify(doc, null, 2),
  );
  return file;
}

const dirs: string[] = [];
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'quilt-openapi-'));
  dirs.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** The lines of a report, without the command's prefix. */
export function reported(run: ImportRun): string[] {
  return run.stderr.map((l) => l.replace(/^quilt import openapi: /, ''));
}
