// Reads a schemas folder: every `*.graphql` file directly in it is one source. Parses,
// substitutes {env.NAME}, validates directive use against config/directives.ts and reads
// each file's @upstream. Every problem is collected with file:line:column.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type DefinitionNode,
  type DirectiveNode,
  type DocumentNode,
  GraphQLError,
  Kind,
  parse,
  Source,
  visit,
} from 'graphql';
import { specifiedSDLRules } from 'graphql/validation/specifiedRules.js';
import { validateSDL } from 'graphql/validation/validate.js';
import type { ConfigProblem } from '../errors.js';
import { checkCacheControl } from './cache-control.js';
import {
  directiveDefinition,
  QUILT_DIRECTIVE_NAMES,
  QUILT_DIRECTIVES_SDL,
  readDirective,
  SERVED_DIRECTIVE_NAMES,
} from './directives.js';
import { substituteEnv } from './env.js';
import { type LoadNotes, ProblemList, problemFromGraphQLError } from './problems.js';
import { readUpstream, type UpstreamConfig } from './upstream.js';
import { valueMismatch } from './value-mismatch.js';

export interface SourceFile {
  /** Absolute path, used in every message about this source. */
  file: string;
  document: DocumentNode;
  upstream: UpstreamConfig;
}

// Across files a type may be defined more than once (merged types) and every file carries
// its own `extend schema @upstream`: those rules are checked per source in compose/.
const CROSS_FILE_RULES_SKIPPED = new Set([
  'UniqueTypeNamesRule',
  'UniqueFieldDefinitionNamesRule',
  'UniqueEnumValueNamesRule',
  'UniqueDirectivesPerLocationRule',
  'LoneSchemaDefinitionRule',
  'UniqueOperationTypesRule',
]);
const sdlRules = specifiedSDLRules.filter((rule) => !CROSS_FILE_RULES_SKIPPED.has(rule.name));
const directivesDocument = parse(new Source(QUILT_DIRECTIVES_SDL, 'quilt-directives.graphql'));

export async function listSchemaFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries) {
    if (!e.name.endsWith('.graphql')) continue;
    const path = join(resolve(dir), e.name);
    // Follow symlinks: a Kubernetes ConfigMap mount is a folder of them.
    if (e.isFile() || (e.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile())) files.push(path);
  }
  return files.sort();
}

export interface LoadedFolder {
  /** The files that loaded cleanly, ready to compose. */
  sources: SourceFile[];
  /** Every problem found; a file with a problem is left out of `sources`. */
  problems: ConfigProblem[];
  /** Settings that loaded but are risky (tls.insecureSkipVerify): logged at every load, printed by `quilt check`. */
  warnings: ConfigProblem[];
  /** Files read besides the schema files (tls: PEM files), absolute, with their signature when read: a change reloads. */
  files: ReadonlyMap<string, string>;
}

/** Loads and validates every file; problems are collected, not thrown, so that composition
 *  can still check the files that loaded and `quilt check` reports everything at once. */
export async function loadSchemaFolder(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedFolder> {
  let files: string[];
  try {
    files = await listSchemaFiles(dir);
  } catch (e) {
    return {
      sources: [],
      problems: [{ file: dir, line: 1, column: 1, message: `cannot read the schemas folder: ${(e as Error).message}` }],
      warnings: [],
      files: new Map(),
    };
  }
  // A file listed a moment ago may be gone by now (an editor's save, a deploy): skip it.
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8').catch(() => undefined)));
  return loadSchemaTexts(
    files.flatMap((file, i) => (texts[i] === undefined ? [] : [{ file, text: texts[i] }])),
    env,
  );
}

export function loadSchemaTexts(inputs: { file: string; text: string }[], env: NodeJS.ProcessEnv): LoadedFolder {
  const problems = new ProblemList();
  const notes: LoadNotes = { warnings: new ProblemList(), files: new Map() };
  const parsed: { file: string; document: DocumentNode }[] = [];
  const failed = new Set<string>();
  for (const { file, text } of inputs) {
    try {
      const before = problems.items.length;
      const document = substituteEnv(parse(new Source(text, file)), file, env, problems);
      if (problems.items.length > before) failed.add(file);
      parsed.push({ file, document });
    } catch (e) {
      if (e instanceof GraphQLError) problems.add(problemFromGraphQLError(e, file));
      else throw e;
    }
  }
  const combined: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [...directivesDocument.definitions, ...parsed.flatMap((p) => p.document.definitions)],
  };
  for (const error of validateSDL(combined, undefined, sdlRules)) {
    const problem = problemFromGraphQLError(error, error.source?.name ?? '');
    problems.add(problem);
    failed.add(problem.file);
  }
  const sources: SourceFile[] = [];
  for (const { file, document } of parsed) {
    if (failed.has(file) || !checkDirectiveValues(file, document, problems)) continue;
    const upstream = readFileUpstream(file, document.definitions, problems, notes);
    if (upstream) sources.push({ file, document, upstream });
  }
  checkUniqueUpstreamNames(sources, problems);
  return {
    sources,
    problems: problems.items,
    warnings: sortProblems(notes.warnings.items),
    files: notes.files,
  };
}

/** Every Quilt directive's argument values have their declared types (validateSDL does not check values). */
function checkDirectiveValues(file: string, document: DocumentNode, problems: ProblemList): boolean {
  const before = problems.items.length;
  visit(document, {
    Directive(node) {
      if (!QUILT_DIRECTIVE_NAMES.has(node.name.value) && !SERVED_DIRECTIVE_NAMES.has(node.name.value)) return;
      const definition = directiveDefinition(node.name.value);
      for (const arg of node.arguments ?? []) {
        const argDef = definition.args.find((a) => a.name === arg.name.value);
        const mismatch = argDef && valueMismatch(arg.value, argDef.type, arg.name.value);
        if (mismatch)
          problems.at(
            mismatch.node,
            file,
            `@${node.name.value}(${mismatch.path}) expected ${mismatch.expected}; received ${mismatch.received}`,
          );
      }
      if (node.name.value === 'cacheControl') checkCacheControl(node, file, problems);
    },
  });
  return problems.items.length === before;
}

function readFileUpstream(
  file: string,
  definitions: readonly DefinitionNode[],
  problems: ProblemList,
  notes: LoadNotes,
): UpstreamConfig | undefined {
  const uses: DirectiveNode[] = [];
  for (const def of definitions) {
    if (def.kind === Kind.SCHEMA_EXTENSION || def.kind === Kind.SCHEMA_DEFINITION) {
      for (const d of def.directives ?? []) if (d.name.value === 'upstream') uses.push(d);
    }
  }
  if (uses.length === 0) {
    problems.add({
      file,
      line: 1,
      column: 1,
      message: 'no @upstream: every schema file declares its upstream with `extend schema @upstream(...)`',
    });
    return undefined;
  }
  for (const extra of uses.slice(1))
    problems.at(extra, file, 'a schema file declares one @upstream; this is a second one');
  try {
    return readUpstream(readDirective(uses[0]), uses[0], file, problems, notes);
  } catch (e) {
    if (e instanceof GraphQLError) problems.add(problemFromGraphQLError(e, file));
    else throw e;
    return undefined;
  }
}

function checkUniqueUpstreamNames(sources: SourceFile[], problems: ProblemList): void {
  const seen = new Map<string, string>();
  for (const s of sources) {
    const other = seen.get(s.upstream.name);
    if (other) problems.at(s.upstream.node, s.file, `upstream name "${s.upstream.name}" is already used by ${other}`);
    else seen.set(s.upstream.name, s.file);
  }
}

export function sortProblems(items: ConfigProblem[]): ConfigProblem[] {
  return [...items].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}
