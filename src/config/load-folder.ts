// Reads a schemas folder: every `*.graphql` file directly in it is one source. Parses,
// substitutes {env.NAME}, validates directive use against config/directives.ts and reads
// each file's @upstream. Every problem is collected with file:line:column.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  GraphQLError,
  Kind,
  parse,
  print,
  Source,
  valueFromAST,
  visit,
  type DefinitionNode,
  type DirectiveNode,
  type DocumentNode,
} from 'graphql';
import { specifiedSDLRules } from 'graphql/validation/specifiedRules.js';
import { validateSDL } from 'graphql/validation/validate.js';
import { inspect } from 'graphql/jsutils/inspect.js';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { directiveDefinition, QUILT_DIRECTIVE_NAMES, QUILT_DIRECTIVES_SDL, readDirective } from './directives.js';
import { substituteEnv } from './env.js';
import { ProblemList, problemFromGraphQLError } from './problems.js';
import { readUpstream, type UpstreamConfig } from './upstream.js';

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
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.graphql'))
    .map((e) => join(resolve(dir), e.name))
    .sort();
}

/** Loads and validates every file; throws ConfigError listing all problems. */
export async function loadSchemaFolder(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<SourceFile[]> {
  let files: string[];
  try {
    files = await listSchemaFiles(dir);
  } catch (e) {
    throw new ConfigError([{ file: dir, line: 1, column: 1, message: `cannot read the schemas folder: ${(e as Error).message}` }]);
  }
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  return loadSchemaTexts(files.map((file, i) => ({ file, text: texts[i] })), env);
}

export function loadSchemaTexts(inputs: { file: string; text: string }[], env: NodeJS.ProcessEnv): SourceFile[] {
  const problems = new ProblemList();
  const parsed: { file: string; document: DocumentNode }[] = [];
  for (const { file, text } of inputs) {
    try {
      const document = substituteEnv(parse(new Source(text, file)), file, env, problems);
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
  const sdlErrors = validateSDL(combined, undefined, sdlRules);
  for (const error of sdlErrors) problems.add(problemFromGraphQLError(error, error.source?.name ?? ''));

  const sources: SourceFile[] = [];
  if (sdlErrors.length === 0) {
    for (const { file, document } of parsed) checkDirectiveValues(file, document, problems);
  }
  if (problems.empty) {
    for (const { file, document } of parsed) {
      const upstream = readFileUpstream(file, document.definitions, problems);
      if (upstream) sources.push({ file, document, upstream });
    }
    checkUniqueUpstreamNames(sources, problems);
  }
  if (!problems.empty) throw new ConfigError(sortProblems(problems.items));
  return sources;
}

/** Every Quilt directive's argument values have their declared types (validateSDL does not check values). */
function checkDirectiveValues(file: string, document: DocumentNode, problems: ProblemList): void {
  visit(document, {
    Directive(node) {
      if (!QUILT_DIRECTIVE_NAMES.has(node.name.value)) return;
      const definition = directiveDefinition(node.name.value);
      for (const arg of node.arguments ?? []) {
        const argDef = definition.args.find((a) => a.name === arg.name.value);
        if (argDef && valueFromAST(arg.value, argDef.type) === undefined) {
          problems.at(arg.value, file, `@${node.name.value}(${arg.name.value}:) expected ${inspect(argDef.type)}, received ${print(arg.value)}`);
        }
      }
    },
  });
}

function readFileUpstream(file: string, definitions: readonly DefinitionNode[], problems: ProblemList): UpstreamConfig | undefined {
  const uses: DirectiveNode[] = [];
  for (const def of definitions) {
    if (def.kind === Kind.SCHEMA_EXTENSION || def.kind === Kind.SCHEMA_DEFINITION) {
      for (const d of def.directives ?? []) if (d.name.value === 'upstream') uses.push(d);
    }
  }
  if (uses.length === 0) {
    problems.add({ file, line: 1, column: 1, message: 'no @upstream: every schema file declares its upstream with `extend schema @upstream(...)`' });
    return undefined;
  }
  for (const extra of uses.slice(1)) problems.at(extra, file, 'a schema file declares one @upstream; this is a second one');
  try {
    return readUpstream(readDirective(uses[0]), uses[0], file, problems);
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
