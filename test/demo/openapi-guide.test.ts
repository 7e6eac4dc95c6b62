// README "Add a REST backend from OpenAPI", followed step by step: the guide's code blocks
// are read from README.md (so the guide cannot change without this test noticing), each
// command runs for real (bin/quilt.js, what `npx quilt` runs) in a temporary copy of the
// demo's schemas folder and OpenAPI document, and each step's visible outcome is checked:
// exit codes, stderr, the file, `quilt check`, and the served answers before and after the
// hand-made batching is added (picked up by hot reload).
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { type RunningGrpcService, startOrdersService } from '../../demo/backends/orders.js';
import { PRODUCTS_BASE_PATH, startProductsService } from '../../demo/backends/products.js';
import { REVIEWS_BASE_PATH, startReviewsService } from '../../demo/backends/reviews.js';
import { type RunningService, startUsersService } from '../../demo/backends/users.js';
import { eventually } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const DEMO_PORT = '4031'; // the document's server variable default (demo/backends/topology.ts)

interface Block {
  lang: string;
  text: string;
}

/** The guide's section of README.md: from its heading to the next heading of its level or above. */
function guide(): string {
  const readme = read('README.md');
  const start = readme.indexOf('\n### Add a REST backend from OpenAPI\n');
  assert.ok(start >= 0, 'README.md has no "### Add a REST backend from OpenAPI" section');
  const rest = readme.slice(start + 1);
  const end = rest.slice(4).search(/\n#{1,3} /);
  return end < 0 ? rest : rest.slice(0, end + 5);
}

/** The fenced code blocks of a Markdown text, in order, with a list item's indentation removed. */
function codeBlocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^( *)```(\w*)\n([\s\S]*?)^\1```$/gm)].map(([, indent, lang, body]) => ({
    lang: lang!,
    text: body!
      .split('\n')
      .map((line) => (line.startsWith(indent!) ? line.slice(indent!.length) : line))
      .join('\n'),
  }));
}

const section = guide();
const blocks = codeBlocks(section);
const KINDS = ['sh', 'text', 'sh', 'sh', 'graphql', 'json', 'graphql', 'graphql', 'json'];
const [importBlock, stderrBlock, checkBlock, serveBlock, query1, answer1, snippet, query2, answer2] = blocks;

/** A `npx quilt ...` line of a sh block, as arguments. */
function quiltArgs(block: Block | undefined): string[] {
  const line = block!.text.trim();
  assert.match(line, /^npx quilt [^'"\n\\]+$/, `expected one plain "npx quilt ..." command, found:\n${line}`);
  return line.split(/\s+/).slice(2);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI, as `npx quilt` runs it, in the temporary folder. */
function quilt(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/quilt.js'), ...args], { cwd: work }, (e, stdout, stderr) =>
      resolve({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let work: string;
let users: RunningService;
let products: RunningService;
let reviews: RunningService;
let orders: RunningGrpcService;
let gateway: ChildProcess | undefined;
let gatewayUrl: string;
let gatewayOutput = '';

/** The demo's file with its replicas list replaced. */
function pointed(file: string, replicas: string): string {
  const text = read(`schemas/${file}`);
  const replaced = text.replace(/replicas:\s*\[[^\]]*\]/, `replicas: [${replicas}]`);
  assert.notEqual(replaced, text, `schemas/${file} no longer has a replicas list to replace`);
  return replaced;
}

/** What schemas/reviews.graphql says with the test's reviews port in place of the demo's. */
const withTestPort = (text: string) =>
  text.replaceAll(`127.0.0.1:${DEMO_PORT}/`, `127.0.0.1:${new URL(reviews.url).port}/`);

async function graphql(query: string) {
  const res = await fetch(`${gatewayUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  const { extensions: _extensions, ...body } = (await res.json()) as Record<string, unknown>;
  return body as { data?: any; errors?: unknown[] };
}

before(async () => {
  [users, products, reviews, orders] = await Promise.all([
    startUsersService(),
    startProductsService(),
    startReviewsService(),
    startOrdersService(),
  ]);
  // The demo's folder as a user has it before the import: the other schema files (their
  // replicas pointed at this test's services) and the OpenAPI document, whose server port
  // default is this test's reviews service.
  work = mkdtempSync(join(tmpdir(), 'quilt-openapi-guide-'));
  mkdirSync(join(work, 'schemas'));
  mkdirSync(join(work, 'demo/openapi'), { recursive: true });
  writeFileSync(join(work, 'schemas/users.graphql'), pointed('users.graphql', `{ url: "${users.url}" }`));
  writeFileSync(
    join(work, 'schemas/products.graphql'),
    pointed('products.graphql', `{ url: "${products.url}${PRODUCTS_BASE_PATH}" }`),
  );
  writeFileSync(join(work, 'schemas/orders.graphql'), pointed('orders.graphql', `{ url: "${orders.target}" }`));
  cpSync(join(ROOT, 'schemas/orders.proto'), join(work, 'schemas/orders.proto'));
  const document = read('demo/openapi/reviews.yaml');
  const copy = document.replace(`default: "${DEMO_PORT}"`, `default: "${new URL(reviews.url).port}"`);
  assert.notEqual(copy, document, `demo/openapi/reviews.yaml no longer has the port default "${DEMO_PORT}"`);
  writeFileSync(join(work, 'demo/openapi/reviews.yaml'), copy);
});

after(async () => {
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway!.once('exit', resolve));
    gateway.kill('SIGTERM');
    await exited;
  }
  await Promise.all([users?.close(), products?.close(), reviews?.close(), orders?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the guide has the code blocks this test follows', () => {
  assert.deepEqual(
    blocks.map((b) => b.lang),
    KINDS,
    "the guide's code blocks changed: update test/demo/openapi-guide.test.ts to follow it",
  );
  assert.match(section, /^1\. \*\*Import/m);
});

test('step 1: the import writes schemas/reviews.graphql and lists what it left out on stderr', async () => {
  const run = await quilt(quiltArgs(importBlock));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr.trimEnd(), stderrBlock!.text.trimEnd(), 'stderr is what the guide shows');
  assert.match(run.stderr, /left out #\/paths\/\S+: /, 'each part left out comes with its JSON pointer');
  // The file is the demo's schemas/reviews.graphql without the hand-made part.
  const written = readFileSync(join(work, 'schemas/reviews.graphql'), 'utf8');
  const additions = read('demo/openapi/reviews.additions.graphql');
  assert.equal(`${written}\n${additions}`, withTestPort(read('schemas/reviews.graphql')));
  assert.match(written, new RegExp(`replicas: \\[\\{ url: "http://127\\.0\\.0\\.1:\\d+${REVIEWS_BASE_PATH}" \\}\\]`));
});

test('step 1: with security schemes, stderr names the variables to set', async () => {
  const quoted = /\(`(set [A-Z0-9_]+ before serving)`\)/.exec(section);
  assert.ok(quoted, 'the guide quotes the line that names the environment variables');
  const doc = parse(readFileSync(join(work, 'demo/openapi/reviews.yaml'), 'utf8'));
  doc.components.securitySchemes = { apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' } };
  doc.security = [{ apiKey: [] }];
  writeFileSync(join(work, 'secured.yaml'), stringify(doc));
  const run = await quilt(['import', 'openapi', 'secured.yaml', '--out', 'secured.graphql']);
  assert.equal(run.code, 0, run.stderr);
  const last = run.stderr.trimEnd().split('\n').at(-1)!;
  assert.ok(last.startsWith(`quilt import openapi: ${quoted[1]}`), last);
  rmSync(join(work, 'secured.yaml'));
  rmSync(join(work, 'secured.graphql'));
});

test('step 2: quilt check composes the folder with the imported file', async () => {
  const run = await quilt(quiltArgs(checkBlock));
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /union Author = Customer \| Staff/);
  assert.match(run.stderr, /4 source\(s\) compose without problems/);
});

test('step 3: the gateway serves the imported operations as they are', async () => {
  const args = quiltArgs(serveBlock);
  // The guide's port (4000) and address as this test's: an ephemeral port on 127.0.0.1.
  gateway = spawn(process.execPath, [join(ROOT, 'bin/quilt.js'), ...args], {
    cwd: work,
    env: { ...process.env, QUILT_PORT: '0', QUILT_HOST: '127.0.0.1', QUILT_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  gateway.stdout!.on('data', (chunk) => (gatewayOutput += chunk));
  gateway.stderr!.on('data', (chunk) => (gatewayOutput += chunk));
  gatewayUrl = await eventually(
    (): string | undefined => {
      assert.equal(gateway!.exitCode, null, `quilt serve exited:\n${gatewayOutput}`);
      return /"url":"(http:\/\/127\.0\.0\.1:\d+)\/graphql"[^\n]*"msg":"quilt listening"/.exec(gatewayOutput)?.[1];
    },
    { timeoutMs: 20_000, what: 'quilt serve listening' },
  ).then((url) => url!);
  assert.deepEqual(await graphql(query1!.text), JSON.parse(answer1!.text));
  // "an unknown id answers null (the document's 404)"
  assert.deepEqual(await graphql('{ getReview(reviewId: "none") { id } }'), { data: { getReview: null } });
});

test('step 4: the hand-made batching, picked up on save, joins products to reviews in one call', async () => {
  assert.ok(gatewayUrl, 'step 3 did not start the gateway');
  const additions = read('demo/openapi/reviews.additions.graphql');
  assert.equal(snippet!.text, additions, "the snippet is the demo's demo/openapi/reviews.additions.graphql");
  // "Add this at the end of schemas/reviews.graphql, after a blank line".
  appendFileSync(join(work, 'schemas/reviews.graphql'), `\n${snippet!.text}`);
  assert.equal(
    readFileSync(join(work, 'schemas/reviews.graphql'), 'utf8'),
    withTestPort(read('schemas/reviews.graphql')),
  );

  // Until the reload, Product has no `reviews` (a validation error, no upstream call).
  const answer = await eventually(
    async () => {
      users.reset();
      products.reset();
      reviews.reset();
      await fetch(`${reviews.url}/__calls`, { method: 'DELETE' });
      const body = await graphql(query2!.text);
      return body.errors ? undefined : body;
    },
    { timeoutMs: 10_000, everyMs: 100, what: 'the gateway serving Product.reviews after the save' },
  );
  assert.deepEqual(answer, JSON.parse(answer2!.text));
  assert.match(section, /is two upstream calls/);
  assert.deepEqual([users.calls(), products.calls(), reviews.calls(), orders.calls()], [0, 1, 1, 0]);
  const stated = /one\s+`GET (\/reviews-api\/v2\/reviews\?[^`]+)`/.exec(section)?.[1];
  assert.equal(`${REVIEWS_BASE_PATH}${reviews.requests[0]!.url}`, stated, 'the batch call is the one the guide names');
  const mounted = (await (await fetch(`${reviews.url}/__calls`)).json()) as { mounted: number };
  assert.equal(mounted.mounted, 1, 'the call went under the base path');

  // "npx quilt check schemas still passes"
  const check = await quilt(quiltArgs(checkBlock));
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /reviews: \[Review!\]!/);
});
