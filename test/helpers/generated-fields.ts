// What `quilt import openapi` wrote, read back from the file: per Query field, the document's
// operation and the parameter each argument is sent as, the enum values and input keys, so that
// a test can call every field with arguments the document's parameters accept.
import {
  type ConstValueNode,
  type DefinitionNode,
  type FieldDefinitionNode,
  type GraphQLInputType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
} from 'graphql';
import { deref, type Json, sample } from './schema-samples.js';

export interface ArgSource {
  /** The OpenAPI parameter (dereferenced). */
  parameter: Json;
  /** Query keys of an object parameter sent property by property (`key` or `name[key]`). */
  object: boolean;
}

export interface PlannedField {
  name: string;
  /** The document's GET operation. */
  operation: Json;
  path: string;
  args: Map<string, ArgSource>;
}

/** A literal of an @http argument in the generated file. */
export function literal(node: ConstValueNode | undefined): unknown {
  if (!node) return undefined;
  switch (node.kind) {
    case 'StringValue':
      return node.value;
    case 'ListValue':
      return node.values.map(literal);
    case 'ObjectValue':
      return Object.fromEntries(node.fields.map((f) => [f.name.value, literal(f.value)]));
    default:
      return undefined;
  }
}

/**
 * Each Query field of the generated file with the document's operation behind it and, per
 * argument, the parameter it is sent as: read from its @http template (`{args.x}` in the path,
 * the query, a header or the cookie), never guessed from names.
 */
export function planFields(doc: Json, definitions: readonly DefinitionNode[]): Map<string, PlannedField> {
  const planned = new Map<string, PlannedField>();
  const query = definitions.find((d) => d.kind === 'ObjectTypeDefinition' && d.name.value === 'Query') as
    | { fields: FieldDefinitionNode[] }
    | undefined;
  const shape = (path: string) => path.replace(/\{[^}]*\}/g, '{}');
  for (const field of query?.fields ?? []) {
    const http = field.directives?.find((d) => d.name.value === 'http');
    const template = literal(http?.arguments?.find((a) => a.name.value === 'GET')?.value) as string | undefined;
    if (!template) continue;
    const [pathPart = '', queryPart = ''] = template.split('?');
    const path = Object.keys(doc.paths ?? {}).find((p) => doc.paths[p]?.get && shape(p) === shape(pathPart));
    if (path === undefined) continue;
    const item = doc.paths[path];
    const operation = item.get;
    const parameters: Json[] = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map((p) => deref(doc, p));
    const find = (name: string, where: string) => parameters.find((p) => p?.name === name && p.in === where);
    const args = new Map<string, ArgSource>();
    const pathArgs = [...pathPart.matchAll(/\{args\.([^}.]+)\}/g)].map((m) => m[1]!);
    const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    for (const [i, arg] of pathArgs.entries())
      args.set(arg, { parameter: find(pathParams[i]!, 'path'), object: false });
    for (const pair of queryPart.split('&').filter(Boolean)) {
      const [key = '', value = ''] = pair.split('=');
      const m = /^\{args\.([^}.]+)(\.[^}]+)?\}$/.exec(value);
      if (!m) continue;
      if (!m[2]) args.set(m[1]!, { parameter: find(key, 'query'), object: false });
      else {
        const prop = m[2].slice(1);
        const deep = /^(.+)\[[^\]]+\]$/.exec(key);
        const parameter = deep
          ? find(deep[1]!, 'query')
          : parameters.find((p) => p?.in === 'query' && deref(doc, p.schema)?.properties?.[prop] !== undefined);
        args.set(m[1]!, { parameter, object: true });
      }
    }
    const headers = (literal(http?.arguments?.find((a) => a.name.value === 'headers')?.value) ?? []) as {
      name: string;
      value: string;
    }[];
    for (const h of headers) {
      if (h.name === 'cookie') {
        for (const pair of h.value.split('; ')) {
          const [key = '', value = ''] = pair.split('=');
          const m = /^\{args\.([^}.]+)\}$/.exec(value);
          if (m) args.set(m[1]!, { parameter: find(key, 'cookie'), object: false });
        }
        continue;
      }
      const m = /^\{args\.([^}.]+)\}$/.exec(h.value);
      if (m) args.set(m[1]!, { parameter: find(h.name, 'header'), object: false });
    }
    planned.set(field.name.value, { name: field.name.value, operation, path, args });
  }
  return planned;
}

/** Per enum of the generated file: the document's value -> the GraphQL value. */
export function enumValues(definitions: readonly DefinitionNode[]): Map<string, Map<unknown, string>> {
  const enums = new Map<string, Map<unknown, string>>();
  for (const d of definitions) {
    if (d.kind !== 'EnumTypeDefinition') continue;
    const values = new Map<unknown, string>();
    for (const v of d.values ?? []) {
      const raw = literal(
        v.directives?.find((x) => x.name.value === 'enumValue')?.arguments?.find((a) => a.name.value === 'value')
          ?.value,
      );
      values.set(raw ?? v.name.value, v.name.value);
    }
    enums.set(d.name.value, values);
  }
  return enums;
}

/** The JSON key of each field of each input type of the generated file (@from, or its name). */
export function inputKeys(definitions: readonly DefinitionNode[]): Map<string, Map<string, string>> {
  const inputs = new Map<string, Map<string, string>>();
  for (const d of definitions) {
    if (d.kind !== 'InputObjectTypeDefinition') continue;
    const keys = new Map<string, string>();
    for (const f of d.fields ?? []) {
      const from = f.directives?.find((x) => x.name.value === 'from')?.arguments?.[0]?.value;
      keys.set(f.name.value, (literal(from) as string | undefined) ?? f.name.value);
    }
    inputs.set(d.name.value, keys);
  }
  return inputs;
}

/** `value` (what the document's schema allows) as a variable of the GraphQL input type. */
export function asVariable(
  value: unknown,
  type: GraphQLInputType,
  doc: Json,
  schema: Json,
  enums: Map<string, Map<unknown, string>>,
  inputs: Map<string, Map<string, string>>,
): unknown {
  const t = getNullableType(type);
  if (isListType(t)) {
    const items = Array.isArray(value) ? value : [value];
    const itemSchema = deref(doc, schema)?.items;
    return items.map((v) => asVariable(v, t.ofType, doc, itemSchema, enums, inputs));
  }
  if (Array.isArray(value) && !isInputObjectType(t)) value = value[0];
  if (isEnumType(t)) return enums.get(t.name)?.get(value) ?? t.getValues()[0]!.name;
  if (isInputObjectType(t)) {
    const properties = deref(doc, schema)?.properties ?? {};
    const out: Record<string, unknown> = {};
    for (const f of Object.values(t.getFields())) {
      if (!isNonNullType(f.type)) continue;
      const key = inputs.get(t.name)?.get(f.name) ?? f.name;
      const v = (value as Json)?.[key] ?? sample(doc, properties[key]);
      out[f.name] = asVariable(v, f.type, doc, properties[key], enums, inputs);
    }
    return out;
  }
  switch (t.name) {
    case 'Int':
      return Math.trunc(Number(value)) || 1;
    case 'Float':
      return Number(value) || 1;
    case 'Boolean':
      return typeof value === 'boolean' ? value : true;
    case 'String':
    case 'ID':
      return typeof value === 'string' ? value : JSON.stringify(value);
    default:
      return value;
  }
}
