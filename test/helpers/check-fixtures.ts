// Helpers for `quilt check` tests: a temporary schemas folder, the real CLI run as a child
// process, and exact line:column positions computed from the fixture text itself.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CheckResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Each child loads the TypeScript sources through tsx (a second or two of CPU): running more
// of them at once than there are cores only makes every one slower.
const MAX_CHILDREN = Math.max(2, availableParallelism());
let running = 0;
const waiting: (() => void)[] = [];

async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_CHILDREN) await new Promise<void>((go) => waiting.push(go));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Runs `node bin/quilt.js check DIR` from the repository root. */
export function runCheck(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<CheckResult> {
  return limited(() => spawnCheck(dir, env));
}

function spawnCheck(dir: string, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/quilt.js', 'check', dir],
      { cwd: REPO_ROOT, env, timeout: 30_000, maxBuffer: 10 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface Fixture {
  dir: string;
  /** Absolute path of a file of the fixture (as `quilt check` names it). */
  path(name: string): string;
  text(name: string): string;
  remove(): void;
}

export function schemaFolder(files: Record<string, string>): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'quilt-check-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return {
    dir,
    path: (name) => join(dir, name),
    text: (name) => files[name],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** 1-based line and column of the `nth` occurrence of `needle` in `text`. */
export function positionOf(text: string, needle: string, nth = 0): { line: number; column: number } {
  let index = -1;
  for (let i = 0; i <= nth; i++) {
    index = text.indexOf(needle, index + 1);
    if (index < 0) throw new Error(`fixture error: occurrence ${nth} of ${JSON.stringify(needle)} not found`);
  }
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  const column = index - before.lastIndexOf('\n');
  return { line, column };
}

/**
 * Asserts that stderr has a line `FILE:LINE:COLUMN: ...` for `file`, at the position of one of
 * `needles` (each a [text, occurrence] or text, located in the file's fixture text), and that
 * the message matches `message` when given.
 */
export function assertReported(
  result: CheckResult,
  fixture: Fixture,
  name: string,
  needles: (string | [string, number])[],
  message?: RegExp,
): void {
  const file = fixture.path(name);
  const expected = needles.map((n) => {
    const [needle, nth] = typeof n === 'string' ? [n, 0] : n;
    const { line, column } = positionOf(fixture.text(name), needle, nth);
    return `${file}:${line}:${column}:`;
  });
  const lines = result.stderr.split('\n');
  const hit = lines.find((l) => expected.some((e) => l.startsWith(e)) && (!message || message.test(l)));
  assert.ok(
    hit,
    `expected stderr to report ${expected.join(' or ')}${message ? ` with a message matching ${message}` : ''}\n` +
      `exit code: ${result.code}\n--- stderr ---\n${result.stderr}\n--- stdout ---\n${result.stdout.slice(0, 2000)}`,
  );
}

export function assertExit(result: CheckResult, code: number): void {
  assert.equal(
    result.code,
    code,
    `expected exit code ${code}, got ${result.code}\n--- stderr ---\n${result.stderr}\n--- stdout ---\n${result.stdout.slice(0, 2000)}`,
  );
}

/** An environment without the given variables (the child inherits the rest). */
export function envWithout(...names: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const n of names) delete env[n];
  return env;
}

export const UPSTREAM_A =
  'extend schema @upstream(name: "a", protocol: HTTP, replicas: [{ url: "http://127.0.0.1:9" }])\n';
export const UPSTREAM_B =
  'extend schema @upstream(name: "b", protocol: HTTP, replicas: [{ url: "http://127.0.0.1:9" }])\n';
