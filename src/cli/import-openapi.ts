// `quilt import openapi SPEC [--out FILE] [--upstream-name NAME] [--replicas URL,...] [--tags T,...]`:
// writes one schema file (stdout, or --out) serving the REST API an OpenAPI document describes.
// What the file cannot express is listed on stderr, one line each with its JSON pointer. The
// file is composed exactly as `quilt check` would before it is written, so an import never
// leaves a file that check rejects. Exit codes: 0 written, 1 the document cannot be read or
// imported, 2 a usage problem.
import { writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { compileSchema } from '../compose/compile-schema.js';
import { loadSchemaTexts } from '../config/load-folder.js';
import { ConfigError, formatProblem, ImportError } from '../errors.js';
import { generateSchemaFile } from '../openapi-import/generate.js';
import { loadDocument } from '../openapi-import/load-document.js';
import { UpstreamRegistry } from '../upstream/registry.js';
import { OPENAPI_IMPORT_FLAGS, parseOptions, UsageError } from './options.js';

const UPSTREAM_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const REPLICA = /^(https?:\/\/[^\s,]+|\{env\.[A-Za-z_][A-Za-z0-9_]*\})$/;
const say = (line: string) => console.error(`quilt import openapi: ${line}`);

export async function importOpenApi(argv: string[]): Promise<number> {
  const { options, positionals } = parseOptions(argv, {}, OPENAPI_IMPORT_FLAGS);
  if (positionals.length !== 1)
    throw new UsageError('import openapi: needs exactly one SPEC (a .json, .yaml or .yml file)');
  const given = positionals[0]!;
  const upstreamName = options['upstream-name'] === undefined ? undefined : String(options['upstream-name']);
  if (upstreamName !== undefined && !UPSTREAM_NAME.test(upstreamName))
    throw new UsageError(
      `--upstream-name: letters, digits, "_" or "-", starting with a letter; received "${upstreamName}"`,
    );
  const replicas = options.replicas as string[] | undefined;
  const badReplica = replicas?.find((r) => !REPLICA.test(r));
  if (replicas && (!replicas.length || badReplica !== undefined))
    throw new UsageError(`--replicas: expected http(s)://host[:port][/base][,...], received "${badReplica ?? ''}"`);
  const out = options.out === undefined ? undefined : resolve(String(options.out));

  let generated: ReturnType<typeof generateSchemaFile>;
  try {
    const { doc, swagger, refNames } = await loadDocument(resolve(given), given);
    generated = generateSchemaFile(doc, swagger, {
      source: basename(given),
      upstreamName,
      replicas,
      tags: options.tags as string[] | undefined,
      refNames,
    });
  } catch (e) {
    if (!(e instanceof ImportError)) throw e;
    say(e.message);
    return 1;
  }
  for (const r of generated.reports) say(`${r.leftOut ? 'left out' : 'note'} ${r.where}: ${r.message}`);

  const problems = await composeAlone(generated.text, out ?? resolve('imported.graphql'));
  if (problems.length) {
    // A bug of the importer, not of the document: say so rather than write a file check rejects.
    for (const p of problems) console.error(p);
    say(`the generated file does not compose (${problems.length} problem(s) above); nothing written`);
    return 1;
  }
  if (out) {
    try {
      writeFileSync(out, generated.text);
    } catch (e) {
      say(`cannot write ${options.out}: ${(e as Error).message}`);
      return 1;
    }
  } else {
    process.stdout.write(generated.text);
  }
  const { query, mutation, types, operations } = generated.counts;
  say(
    `${out ? `wrote ${options.out}` : 'done'} (${query} Query and ${mutation} Mutation field(s) of ${operations} operation(s), ${types} type(s), ${generated.reports.filter((r) => r.leftOut).length} part(s) left out)`,
  );
  if (generated.env.length)
    say(`set ${generated.env.join(', ')} before serving (the credentials of its security schemes)`);
  return 0;
}

/** The problems `quilt check` would report for a folder holding just this file. */
async function composeAlone(text: string, file: string): Promise<string[]> {
  // The credentials it reads are the user's to set later; any value composes the same way.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [, name] of text.matchAll(/\{env\.([A-Za-z_][A-Za-z0-9_]*)\}/g)) env[name!] ??= 'http://127.0.0.1:1';
  const registry = new UpstreamRegistry();
  try {
    await compileSchema(loadSchemaTexts([{ file, text }], env), registry);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map(formatProblem);
  } finally {
    await registry.close();
  }
}
