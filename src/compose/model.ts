// The composition model: which source defines which object type and field, with the Quilt
// directives read off each field. Built once per load; resolvers and checks read it.
import {
  type FieldDefinitionNode,
  Kind,
  type ObjectTypeDefinitionNode,
  type ObjectTypeExtensionNode,
  print,
  type TypeNode,
} from 'graphql';
import { readDirective } from '../config/directives.js';
import type { SourceFile } from '../config/load-folder.js';
import type { ProblemList } from '../config/problems.js';
import { type EnumsAndUnions, readEnumsAndUnions } from './enums-and-unions.js';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export interface HttpArgs {
  method: string;
  url: string;
  body?: unknown;
  bodyFormat: 'JSON' | 'FORM';
  headers: { name: string; value: string }[];
  result?: string;
  key?: string;
  match?: string;
  pick?: string;
  maxBatchSize: number;
  timeoutMs?: number;
  errorMessage?: string;
}

/** `@grpc(...)` on a field: a unary or server-streaming method of the source's service. */
export interface GrpcArgs {
  method: string;
  request?: unknown;
  result?: string;
  key?: string;
  match?: string;
  pick?: string;
  maxBatchSize: number;
  timeoutMs?: number;
}

/** What every upstream call directive has, whatever the protocol. */
export type CallArgs = Pick<HttpArgs, 'result' | 'key' | 'match' | 'pick' | 'maxBatchSize' | 'timeoutMs'>;

export interface FieldModel {
  source: SourceFile;
  typeName: string;
  name: string;
  node: FieldDefinitionNode;
  http?: HttpArgs;
  grpc?: GrpcArgs;
  from?: string[];
  merge?: { keyField?: string; keyArg?: string; match?: string; pick?: string };
  computed?: string;
  canonical: boolean;
}

export interface TypeModel {
  name: string;
  /** Sources that define or extend this object type, with their @key selection. */
  definedBy: Map<SourceFile, { node: ObjectTypeDefinitionNode | ObjectTypeExtensionNode; keySelection?: string }>;
  /** Every source's definition of each field, in file order. */
  fields: Map<string, FieldModel[]>;
}

export interface CompositionModel extends EnumsAndUnions {
  types: Map<string, TypeModel>;
  /** Custom scalar names. */
  scalars: Set<string>;
  sources: SourceFile[];
}

export function buildModel(sources: SourceFile[], problems: ProblemList): CompositionModel {
  const types = new Map<string, TypeModel>();
  const scalars = new Set<string>();
  for (const source of sources) {
    for (const def of source.document.definitions) {
      if (def.kind === Kind.SCALAR_TYPE_DEFINITION) scalars.add(def.name.value);
      if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
      const name = def.name.value;
      let type = types.get(name);
      if (!type) types.set(name, (type = { name, definedBy: new Map(), fields: new Map() }));
      const keyNode = def.directives?.find((d) => d.name.value === 'key');
      const previous = type.definedBy.get(source);
      type.definedBy.set(source, {
        node: previous?.node ?? def,
        keySelection: keyNode ? (readDirective(keyNode).selectionSet as string) : previous?.keySelection,
      });
      for (const field of def.fields ?? []) {
        const model = readField(source, name, field, problems);
        const list = type.fields.get(field.name.value);
        if (list) list.push(model);
        else type.fields.set(field.name.value, [model]);
      }
    }
  }
  return { types, scalars, sources, ...readEnumsAndUnions(sources, problems) };
}

function readField(source: SourceFile, typeName: string, node: FieldDefinitionNode, problems: ProblemList): FieldModel {
  const model: FieldModel = { source, typeName, name: node.name.value, node, canonical: false };
  for (const d of node.directives ?? []) {
    switch (d.name.value) {
      case 'http': {
        const v = readDirective(d);
        const methods = HTTP_METHODS.filter((m) => v[m] !== undefined);
        if (methods.length !== 1) {
          problems.at(
            d,
            source.file,
            `@http on ${typeName}.${model.name} needs exactly one of ${HTTP_METHODS.join(', ')}; received ${methods.length}`,
          );
          break;
        }
        model.http = {
          method: methods[0],
          url: v[methods[0]] as string,
          body: v.body,
          bodyFormat: v.bodyFormat as HttpArgs['bodyFormat'],
          headers: (v.headers as HttpArgs['headers'] | undefined) ?? [],
          result: v.result as string | undefined,
          key: v.key as string | undefined,
          match: v.match as string | undefined,
          pick: v.pick as string | undefined,
          maxBatchSize: v.maxBatchSize as number,
          timeoutMs: v.timeoutMs as number | undefined,
          errorMessage: v.errorMessage as string | undefined,
        };
        break;
      }
      case 'grpc':
        model.grpc = readDirective(d) as unknown as GrpcArgs;
        break;
      case 'from': {
        const { path, key } = readDirective(d) as { path?: string; key?: string };
        if ((path === undefined) === (key === undefined))
          problems.at(d, source.file, `@from on ${typeName}.${model.name} needs exactly one of path: or key:`);
        else model.from = key !== undefined ? [key] : path!.split('.');
        break;
      }
      case 'merge':
        model.merge = readDirective(d) as FieldModel['merge'];
        break;
      case 'computed':
        model.computed = readDirective(d).selectionSet as string;
        break;
      case 'canonical':
        model.canonical = true;
        break;
    }
  }
  return model;
}

/** The upstream call a field makes (`@http` or `@grpc`), if it makes one. */
export function callOf(field: FieldModel): CallArgs | undefined {
  return field.http ?? field.grpc;
}

/** The directive node of that call, for problem locations. */
export function callDirectiveNode(field: FieldModel) {
  return field.node.directives?.find((d) => d.name.value === 'http' || d.name.value === 'grpc') ?? field.node;
}

export function namedTypeOf(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : namedTypeOf(type.type);
}

export function isListType(type: TypeNode): boolean {
  if (type.kind === Kind.NON_NULL_TYPE) return isListType(type.type);
  return type.kind === Kind.LIST_TYPE;
}

export function typeText(type: TypeNode): string {
  return print(type);
}

/** Field names in a selection-set string such as "{ id email }" (top level only). */
export function selectionFieldNames(selection: string): string[] {
  const inner = selection.trim().replace(/^\{/, '').replace(/\}$/, '');
  return inner.split(/[\s,]+/).filter((n) => /^[_A-Za-z][_0-9A-Za-z]*$/.test(n));
}

/** The object types sources define more than once, with a lookup in at least one: entities. */
export function entityTypeNames(model: CompositionModel): Set<string> {
  const names = new Set<string>();
  for (const type of model.types.values()) {
    if (type.definedBy.size > 1) names.add(type.name);
  }
  return names;
}
