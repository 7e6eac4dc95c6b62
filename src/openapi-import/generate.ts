// One schema file from an OpenAPI document (README, "Add a REST backend from OpenAPI"): the
// @upstream from servers[0] (or Swagger 2's host and basePath) and the security schemes, a
// Query field per GET operation and a Mutation field per other one (root-fields.ts), and the
// types their answers and bodies need (schema-types.ts). The same document gives the same
// file, byte for byte: operations are read in path and method order, names are claimed in
// that order, and every list the file prints is sorted.
import { ImportError } from '../errors.js';
import type { Schema } from './json-schema.js';
import { byCodeUnits, NameRegistry } from './names.js';
import { allOperations, readOperations } from './operations.js';
import { renderFile } from './render.js';
import { operationFieldName, type RootField, rootField } from './root-fields.js';
import { SchemaTypes } from './schema-types.js';
import { readSecurity } from './security.js';

export interface ImportOptions {
  /** Shown in the file's first line. */
  source: string;
  upstreamName?: string;
  /** Overrides the document's servers. */
  replicas?: string[];
  /** Only operations with one of these tags. */
  tags?: string[];
  /** Names for schemas other files define (load-document.ts). */
  refNames?: Map<Schema, string>;
}

/** A part of the document that is not in the file (leftOut), or is there in a looser form. */
export interface Reported {
  where: string;
  message: string;
  leftOut: boolean;
}

export interface GeneratedFile {
  text: string;
  upstreamName: string;
  reports: Reported[];
  /** Environment variables the file reads (credentials of security schemes). */
  env: string[];
  /** Fields made, of how many operations the document has (those --tags keeps). */
  counts: { query: number; mutation: number; types: number; operations: number };
}

export function generateSchemaFile(doc: Schema, swagger: boolean, options: ImportOptions): GeneratedFile {
  const reports: Reported[] = [];
  const report = (where: string, message: string, leftOut = false) => reports.push({ where, message, leftOut });
  const components: Record<string, Schema> = (swagger ? doc.definitions : doc.components?.schemas) ?? {};
  const types = new SchemaTypes(
    components,
    swagger ? ['definitions'] : ['components', 'schemas'],
    report,
    options.refNames,
  );
  const wanted = options.tags ? new Set(options.tags) : undefined;
  const tagged = (op: { tags: string[] }) => !wanted || op.tags.some((t) => wanted.has(t));
  const operations = readOperations(doc, swagger, report).filter(tagged);
  if (operations.length === 0)
    throw new ImportError(
      wanted
        ? `no operation has the tag(s) ${options.tags!.join(', ')}`
        : 'the document has no operation a schema file can serve',
    );
  const upstreamName = options.upstreamName ?? kebab(doc.info?.title ?? 'api');
  const replicas = options.replicas ?? serverUrls(doc, swagger);
  const security = readSecurity(doc, swagger, operations, upstreamName, report);

  const queries: RootField[] = [];
  const mutations: RootField[] = [];
  const queryNames = new NameRegistry();
  const mutationNames = new NameRegistry();
  for (const op of operations) {
    const isQuery = op.method === 'get';
    const name = (isQuery ? queryNames : mutationNames).claim(operationFieldName(op));
    const field = rootField(op, name, types, security, report);
    if (field) (isQuery ? queries : mutations).push(field);
  }
  if (queries.length + mutations.length === 0)
    throw new ImportError('no operation of the document can be served (see the parts left out above)');
  if (queries.length === 0)
    report(
      '#/paths',
      'no GET operation: the file has Mutation fields only, and the gateway needs a Query field from another file',
      false,
    );
  const text = renderFile({ source: options.source, upstreamName, replicas, security, types, queries, mutations });
  reports.sort((a, b) => byCodeUnits(a.where, b.where) || byCodeUnits(a.message, b.message));
  return {
    text,
    upstreamName,
    reports,
    env: security.env,
    counts: {
      query: queries.length,
      mutation: mutations.length,
      types: types.objects.size + types.enums.size + types.unions.size,
      operations: allOperations(doc).filter(tagged).length,
    },
  };
}

/** servers[0] with its variables' defaults (OpenAPI 3), or schemes[0]://host + basePath (Swagger 2). */
function serverUrls(doc: Schema, swagger: boolean): string[] {
  const override = 'pass --replicas https://host[:port][/base]';
  if (swagger) {
    if (!doc.host) throw new ImportError(`the document names no host: ${override}`);
    const schemes: string[] = doc.schemes ?? ['https'];
    const scheme = schemes.includes('https') ? 'https' : (schemes[0] ?? 'https');
    return [`${scheme}://${doc.host}${doc.basePath ?? ''}`.replace(/\/+$/, '')];
  }
  const server = doc.servers?.[0];
  if (!server?.url) throw new ImportError(`the document has no servers: ${override}`);
  const url = String(server.url).replace(/\{([^}]+)\}/g, (_t, v: string) =>
    String(server.variables?.[v]?.default ?? ''),
  );
  if (!/^https?:\/\/[^/]/.test(url))
    throw new ImportError(`the document's server "${server.url}" is not an absolute http(s) url: ${override}`);
  return [url.replace(/\/+$/, '')];
}

/** "Swagger Petstore" -> "swagger-petstore", "GitHub v3 REST API" -> "github-v3-rest-api". */
function kebab(title: string): string {
  const name = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '');
  return name.slice(0, 60).replace(/-+$/, '') || 'api';
}
