// Reads an OpenAPI document from a file and dereferences it with @readme/openapi-parser (local
// and relative-file $refs; no network). What is not a document the importer can read fails
// here with one clear message, the file and, where it has one, the line: HTML, a truncated
// JSON, a YAML syntax error, a document without an "openapi" or "swagger" version, a $ref
// that does not resolve. The root is parsed once here (yaml, for its line numbers) and
// again by the parser, which needs the path to resolve relative refs.
import { readFileSync } from 'node:fs';
import { dereference } from '@readme/openapi-parser';
import { LineCounter, parseDocument } from 'yaml';
import { ImportError } from '../errors.js';
import type { Schema } from './json-schema.js';
import { pointer } from './names.js';

export interface LoadedDocument {
  doc: Schema;
  /** Swagger 2.0 (definitions, host and basePath, parameters typed in place). */
  swagger: boolean;
  version: string;
  /** Each schema a $ref points at -> the last step of that $ref ("./common.yaml#/Person" -> "Person"). */
  refNames: Map<Schema, string>;
}

export async function loadDocument(file: string, shown: string): Promise<LoadedDocument> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImportError(
      code === 'ENOENT' ? `${shown}: no such file` : `${shown}: cannot read: ${(e as Error).message}`,
    );
  }
  const root = parseRoot(text, shown);
  const version = versionOf(root, shown);
  let doc: Schema;
  const refNames = new Map<Schema, string>();
  try {
    // circular: true keeps a recursive schema as a cycle of objects (schema-types.ts names
    // each object once, so a cycle is a type that refers to itself).
    doc = (await dereference(file, {
      dereference: {
        circular: true,
        // Names for schemas of other files, which have no components/schemas entry to be named by.
        onDereference: (ref, value) => {
          const name = schemaNameOf(ref);
          if (name && !refNames.has(value as Schema)) refNames.set(value as Schema, name);
        },
      },
      resolve: { external: true, file: true },
    })) as Schema;
  } catch (e) {
    throw new ImportError(`${shown}: ${refMessage(e as RefError, root)}`);
  }
  return { doc, swagger: version.startsWith('2'), version, refNames };
}

/**
 * The name a $ref gives the schema it reaches: "./person.yaml" -> "person", "common.yaml#/Person"
 * and "#/definitions/Person" -> "Person". A $ref deeper into something else (a response's
 * schema) names nothing: the schema is named where it is used.
 */
function schemaNameOf(ref: string): string | undefined {
  const [file, fragment = ''] = ref.split('#');
  const steps = fragment
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s.replace(/~1/g, '/').replace(/~0/g, '~')));
  if (steps.length === 0) return file ? file.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '') : undefined;
  if (steps.length === 1) return steps[0];
  const parent = steps.at(-2);
  return parent === 'schemas' || parent === 'definitions' ? steps.at(-1) : undefined;
}

function parseRoot(text: string, shown: string): unknown {
  const start = text.trimStart();
  if (start === '') throw new ImportError(`${shown}: the file is empty, not an OpenAPI document`);
  if (start.startsWith('<'))
    throw new ImportError(
      `${shown}: this is HTML or XML (it starts with "${start.slice(0, 15)}"), not an OpenAPI document`,
    );
  if (start.startsWith('{') || start.startsWith('[')) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ImportError(`${shown}: not valid JSON${jsonPosition(text, (e as Error).message)}`);
    }
  }
  const lines = new LineCounter();
  const parsed = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  const error = parsed.errors[0];
  if (error) {
    const { line, col } = lines.linePos(error.pos[0]);
    const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ImportError(`${shown}:${line}:${col}: YAML syntax error: ${reason}`);
  }
  return parsed.toJS({ maxAliasCount: -1 });
}

/** Where JSON.parse stopped, as line and column, and why; a file that stops early is said to. */
function jsonPosition(text: string, message: string): string {
  const at = /position (\d+)/.exec(message);
  const position = at ? Number(at[1]) : text.length;
  const reason = message.replace(/ in JSON at position \d+.*$/, '');
  if (/end of (JSON )?input/i.test(message) || position >= text.trimEnd().length)
    return `: it ends too soon, at line ${text.trimEnd().split('\n').length} (a truncated file?)`;
  const before = text.slice(0, position).split('\n');
  return ` at line ${before.length}, column ${before.at(-1)!.length + 1}: ${reason}`;
}

function versionOf(root: unknown, shown: string): string {
  if (!root || typeof root !== 'object' || Array.isArray(root))
    throw new ImportError(
      `${shown}: not an OpenAPI document: expected an object with "openapi" or "swagger", received ${Array.isArray(root) ? 'a list' : `a ${root === null ? 'null' : typeof root}`}`,
    );
  const r = root as Record<string, unknown>;
  if (r.swagger !== undefined) {
    if (String(r.swagger) === '2.0') return '2.0';
    throw new ImportError(
      `${shown}: Swagger ${String(r.swagger)} is not supported: expected "swagger": "2.0" or "openapi": "3.x"`,
    );
  }
  if (r.openapi !== undefined) {
    if (/^3\.[01](\.\d+)?$/.test(String(r.openapi))) return String(r.openapi);
    throw new ImportError(`${shown}: OpenAPI ${String(r.openapi)} is not supported: expected 3.0 or 3.1`);
  }
  const keys = Object.keys(r)
    .slice(0, 5)
    .map((k) => `"${k}"`)
    .join(', ');
  throw new ImportError(
    `${shown}: not an OpenAPI document: it has no "openapi" or "swagger" field (its keys: ${keys || 'none'})`,
  );
}

interface RefError extends Error {
  /** MissingPointerError: the $ref as written; ResolverError: the file it could not open. */
  targetRef?: string;
  source?: string;
  ioErrorCode?: string;
}

/** What the parser could not follow, and where the root document asks for it. */
function refMessage(e: RefError, root: unknown): string {
  if (e.name === 'MissingPointerError' && e.targetRef) {
    const local = e.targetRef.replace(/^[^#]*/, '');
    const at = findRef(root, (ref) => ref === e.targetRef || ref.endsWith(local));
    return `a $ref does not resolve: "${e.targetRef}" names no part of ${e.source ?? 'the document'}${at ? ` (the $ref at ${at})` : ''}`;
  }
  if (e.name === 'ResolverError' && e.source) {
    const file = e.source.replace(/^.*[\\/]/, '');
    const at = findRef(root, (ref) => ref.split('#')[0]!.endsWith(file));
    return `a $ref does not resolve: cannot open ${e.source}${e.ioErrorCode ? ` (${e.ioErrorCode})` : ''}${at ? ` (the $ref at ${at})` : ''}`;
  }
  return `cannot be dereferenced: ${e.message.split('\n')[0]}`;
}

/** The JSON pointer of the first $ref in `node` that `matches`, depth first. */
function findRef(node: unknown, matches: (ref: string) => boolean, at: string[] = []): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const ref = (node as { $ref?: unknown }).$ref;
  if (typeof ref === 'string' && matches(ref)) return pointer(...at, '$ref');
  for (const [key, value] of Object.entries(node)) {
    const found = findRef(value, matches, [...at, key]);
    if (found) return found;
  }
  return undefined;
}
