// One Query or Mutation field per operation: its arguments (path, query, header and cookie
// parameters, then the JSON body as `input`), its type (the success answer) and its @http
// directive. A parameter that has no template form (an object) is left out, and so is the
// operation when that parameter is required; the headers the gateway sets itself (Accept,
// Content-Type) are left out with a report.
import { isStringEnum, mergeAllOf, type Schema, scalarOf, typeOf } from './json-schema.js';
import { fieldName, NameRegistry, typeName } from './names.js';
import type { Operation, Parameter } from './operations.js';
import type { SchemaTypes } from './schema-types.js';
import type { UpstreamSecurity } from './security.js';
import type { Field, Reporter } from './type-defs.js';

export interface RootField {
  name: string;
  description?: string;
  args: Field[];
  type: string;
  directive: string;
}

const str = (text: string) => JSON.stringify(text);
const GATEWAY_HEADERS = new Set(['accept', 'content-type', 'content-length']);

/** "pets.list" -> "petsList", "get /pets/{id}" -> "getPetsById". */
export function operationFieldName(op: Operation): string {
  const raw = op.operationId ?? `${op.method} ${op.path.replace(/\{([^}]+)\}/g, ' by $1 ')}`;
  const parts = raw.split(/[^0-9A-Za-z]+/).filter(Boolean);
  const camel = parts.map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() : w.charAt(0).toUpperCase()) + w.slice(1));
  return fieldName(camel.join('') || op.method);
}

export function rootField(
  op: Operation,
  name: string,
  types: SchemaTypes,
  security: UpstreamSecurity,
  report: Reporter,
): RootField | undefined {
  const context = typeName(name);
  const argNames = new NameRegistry();
  const args: Field[] = [];
  const argOf = new Map<string, string>();
  const query: string[] = [];
  const headers: string[] = [];
  const cookies: string[] = [];
  for (const p of op.parameters) {
    if (p.in === 'header' && GATEWAY_HEADERS.has(p.name.toLowerCase())) {
      report(p.where, `the ${p.name} header is the gateway's to send`, true);
      continue;
    }
    const exploded = explodedObject(p, `${context}${typeName(p.name)}`, types);
    if (exploded) {
      const arg = argNames.claim(fieldName(p.name));
      args.push({ name: arg, type: exploded.type, description: p.description });
      for (const key of exploded.keys)
        query.push(`${p.style === 'deepObject' ? `${p.name}[${key}]` : key}={args.${arg}.${key}}`);
      continue;
    }
    const type = parameterType(p, `${context}${typeName(p.name)}`, types);
    if (type === undefined) {
      report(
        p.where,
        `an object in a ${p.in} parameter has no template form${p.required ? ': operation left out' : ''}`,
        true,
      );
      if (p.required) return undefined;
      continue;
    }
    if (p.in !== 'path' && p.in !== 'query' && type.startsWith('['))
      report(p.where, `a list in a ${p.in} parameter is sent comma-separated`);
    if (p.in === 'query' && type.startsWith('[') && p.joined)
      report(p.where, `a list the document joins (${p.joined}) is sent as a repeated parameter`);
    const arg = argNames.claim(fieldName(p.name));
    argOf.set(p.name, arg);
    args.push({ name: arg, type, description: p.description });
    if (p.in === 'query') query.push(`${p.name}={args.${arg}}`);
    else if (p.in === 'header') headers.push(`{ name: ${str(p.name)}, value: "{args.${arg}}" }`);
    else if (p.in === 'cookie') cookies.push(`${p.name}={args.${arg}}`);
  }
  const undeclared = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).filter((n) => !argOf.has(n));
  if (undeclared.length) {
    report(op.where, `the path names ${undeclared.join(', ')}, which no parameter declares: operation left out`, true);
    return undefined;
  }
  query.push(...security.queryParams(op));
  const path = op.path.replace(/\{([^}]+)\}/g, (_t, n: string) => `{args.${argOf.get(n)}}`);
  const parts = [`${op.method.toUpperCase()}: ${str(query.length ? `${path}?${query.join('&')}` : path)}`];
  if (op.body) {
    const input = argNames.claim('input');
    args.push({ name: input, type: types.input(op.body.schema, context, op.body.where, op.body.required) });
    parts.push(`body: "{args.${input}}"${op.body.form ? ', bodyFormat: FORM' : ''}`);
  }
  if (cookies.length) headers.push(`{ name: "cookie", value: ${str(cookies.join('; '))} }`);
  if (headers.length) parts.push(`headers: [${headers.join(', ')}]`);
  let type = 'Boolean';
  if (op.answer.kind === 'json') type = types.output(op.answer.schema, `${context}Response`, op.answer.where, false);
  else if (op.answer.kind === 'text') type = 'String';
  return { name, description: op.summary ?? op.description, args, type, directive: `@http(${parts.join(', ')})` };
}

/** The argument type of a parameter; undefined for an object, which a URL or header cannot carry. */
function parameterType(p: Parameter, context: string, types: SchemaTypes): string | undefined {
  const schema = p.schema;
  const item: Schema | undefined = schema && typeOf(schema) === 'array' ? schema.items : schema;
  if (item && (item.oneOf || item.anyOf)) {
    // One value of several scalar types ("an id or a name"): the URL carries it as text.
    const options: Schema[] = item.oneOf ?? item.anyOf;
    if (
      !options.every((o) => o && (isStringEnum(o) || ['String', 'Int', 'Float', 'Boolean'].includes(scalarOf(o) ?? '')))
    )
      return undefined;
    const bang = p.required ? '!' : '';
    return item === schema ? `String${bang}` : `[String!]${bang}`;
  }
  if (item && (typeOf(item) === 'object' || item.allOf)) return undefined;
  return types.input(schema, context, `${p.where}/schema`, p.required);
}

/**
 * An object in the query, style form (exploded, the default) or deepObject: an input argument
 * whose properties each become a parameter (`name=...` or `filter[name]=...`). Arguments reach
 * templates under their JSON keys (compose/input-keys.ts), so the placeholders use those.
 */
function explodedObject(
  p: Parameter,
  context: string,
  types: SchemaTypes,
): { type: string; keys: string[] } | undefined {
  const schema = p.schema;
  if (p.in !== 'query' || !schema || typeOf(schema) !== 'object' || schema.oneOf || schema.anyOf) return undefined;
  if (p.style !== undefined && p.style !== 'form' && p.style !== 'deepObject') return undefined;
  const keys = Object.keys(mergeAllOf(schema).properties ?? {})
    .filter((k) => /^[^{}.\s&=#]+$/.test(k))
    .sort();
  if (!keys.length) return undefined;
  const type = types.input(schema, context, `${p.where}/schema`, p.required);
  return type.startsWith('JSON') ? undefined : { type, keys };
}
