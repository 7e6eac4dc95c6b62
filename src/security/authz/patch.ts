// Puts the denied fields back into the result of the rewritten document (rewrite.ts): each one
// null, with an UNAUTHENTICATED or FORBIDDEN error at its exact path (aliases, list indexes).
// The result is rebuilt from the ORIGINAL operation, collected per runtime type the way
// graphql-js collects fields (fragments, @skip/@include, first-seen key order), so response
// keys keep the order the client wrote and the runtime-type helper never leaves the gateway.
// A null in a non-null position propagates to the nearest nullable parent, as in graphql-js.
// With @defer/@stream, each payload is patched on its own: the first one without the deferred
// fragments (they are not in it), and each later part from the selections its label names
// (rewrite.ts), so a denied field of a deferred fragment is null, with its error, in the part
// that delivers the fragment.
import {
  type ExecutionResult,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLError,
  GraphQLIncludeDirective,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  GraphQLSkipDirective,
  getDirectiveValues,
  getVariableValues,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionNode,
} from 'graphql';
import { accessDenied } from '../../errors.js';
import type { Access } from './access.js';
import { applies, type Fragments, type IncrementalParts } from './rewrite.js';

/** A value nulled here: its parent decides whether the null stops or propagates. */
const NULLED = Symbol('nulled');
type Obj = Record<string, unknown>;
type Path = readonly (string | number)[];

interface Entry {
  name: string;
  nodes: FieldNode[];
  /** The nodes not reached through a denied fragment nor denied themselves. */
  allowed: FieldNode[];
}

export interface PatchSource {
  schema: GraphQLSchema;
  operation: OperationDefinitionNode;
  fragments: Fragments;
  access: Access;
  /** The alias of the runtime-type helper in the rewritten document. */
  typeKey: string;
  /** The labelled @defer fragments and @stream fields of the rewritten document. */
  parts: IncrementalParts;
}

/** A later payload of @defer/@stream: parts, each with its data (a fragment) or items (a stream). */
interface IncrementalPart {
  data?: Obj | null;
  items?: unknown[] | null;
  path: Path;
  label?: string;
  errors?: readonly GraphQLError[];
}

type Payload = ExecutionResult & { incremental?: IncrementalPart[] };

export function patchResult(
  result: Payload,
  source: PatchSource,
  inputs: Record<string, unknown> | null | undefined,
): ExecutionResult {
  if (!result.data && !result.incremental) return result;
  const { schema, operation } = source;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], inputs ?? {});
  const root = schema.getRootType(operation.operation);
  if (!coerced.coerced || !root) return result;
  if (result.incremental) {
    const incremental = result.incremental.map((part) => new Patcher(source, coerced.coerced).part(part));
    return { ...result, incremental } as ExecutionResult;
  }
  const patcher = new Patcher(source, coerced.coerced);
  const data = patcher.object(root, root, [operation.selectionSet.selections], result.data!, []);
  const patched: ExecutionResult = { ...result, data: data === NULLED ? null : data };
  if (patcher.errors.length) patched.errors = [...(result.errors ?? []), ...patcher.errors];
  return patched;
}

class Patcher {
  readonly errors: GraphQLError[] = [];
  readonly #schema: GraphQLSchema;

  constructor(
    private readonly source: PatchSource,
    private readonly variables: Record<string, unknown>,
  ) {
    this.#schema = source.schema;
  }

  /** One part of a later payload, patched from the selections its label names. */
  part(part: IncrementalPart): IncrementalPart {
    const { deferred, streamed } = this.source.parts;
    const out: IncrementalPart = { ...part };
    const fragment = part.label === undefined ? undefined : deferred.get(part.label);
    const stream = part.label === undefined ? undefined : streamed.get(part.label);
    if (fragment && part.data) {
      const type = this.#schema.getType(String(part.data[this.source.typeKey]));
      if (!isObjectType(type)) return part;
      const data = this.object(type, fragment.context, [fragment.selections], part.data, part.path);
      out.data = data === NULLED ? null : data;
      setLabel(out, fragment.clientLabel);
    } else if (stream && part.items) {
      const at = part.path.slice(0, -1);
      const first = Number(part.path[part.path.length - 1]);
      const items = part.items.map((item, i) => this.#value(stream.itemType, stream.nodes, item, [...at, first + i]));
      out.items = items.includes(NULLED) ? null : items;
      setLabel(out, stream.clientLabel);
    } else return part;
    if (this.errors.length) out.errors = [...(part.errors ?? []), ...this.errors];
    return out;
  }

  object(
    type: GraphQLObjectType,
    context: GraphQLCompositeType,
    sets: readonly (readonly SelectionNode[])[],
    value: Obj,
    path: Path,
  ): Obj | typeof NULLED {
    const entries = new Map<string, Entry>();
    const visited = new Set<string>();
    for (const set of sets) this.#collect(type, set, context, false, entries, visited);
    const out: Obj = {};
    for (const [key, entry] of entries) {
      const at = [...path, key];
      const field = type.getFields()[entry.name];
      let v: unknown;
      if (entry.name === '__typename') v = type.name;
      else if (entry.allowed.length === 0) v = this.#deny(at, `${type.name}.${entry.name}`, entry.nodes);
      else if (!field) v = value[key] ?? null;
      else v = this.#value(field.type, entry.allowed, value[key], at);
      if (v === NULLED) {
        if (field && isNonNullType(field.type)) return NULLED;
        v = null;
      }
      out[key] = v;
    }
    return out;
  }

  #value(type: GraphQLOutputType, nodes: FieldNode[], value: unknown, path: Path): unknown {
    // A null that execution produced already has its error (or is a legitimate null).
    if (value === null || value === undefined || value instanceof Error) return null;
    if (isNonNullType(type)) return this.#value(type.ofType, nodes, value, path);
    if (isListType(type)) {
      if (!Array.isArray(value)) return value;
      const items: unknown[] = new Array(value.length);
      for (let i = 0; i < value.length; i++) {
        let item = this.#value(type.ofType, nodes, value[i], [...path, i]);
        if (item === NULLED) {
          if (isNonNullType(type.ofType)) return NULLED;
          item = null;
        }
        items[i] = item;
      }
      return items;
    }
    if (isLeafType(type)) return value;
    const obj = value as Obj;
    const runtime = isObjectType(type)
      ? type
      : this.#schema.getType(String(obj[this.source.typeKey] ?? obj.__typename));
    if (!isObjectType(runtime)) return value;
    if (this.source.access.typeDenied(runtime)) return this.#deny(path, runtime.name, nodes);
    return this.object(
      runtime,
      type,
      nodes.map((n) => n.selectionSet?.selections ?? []),
      obj,
      path,
    );
  }

  #collect(
    type: GraphQLObjectType,
    list: readonly SelectionNode[],
    context: GraphQLCompositeType,
    viaDenied: boolean,
    entries: Map<string, Entry>,
    visited: Set<string>,
  ): void {
    const access = this.source.access;
    for (const sel of list) {
      if (!this.#included(sel)) continue;
      if (sel.kind === Kind.FIELD) {
        const key = sel.alias?.value ?? sel.name.value;
        let entry = entries.get(key);
        if (!entry) entries.set(key, (entry = { name: sel.name.value, nodes: [], allowed: [] }));
        entry.nodes.push(sel);
        const denied = viaDenied || (!entry.name.startsWith('__') && access.selectionDenied(type, context, entry.name));
        if (!denied) entry.allowed.push(sel);
        continue;
      }
      // A deferred fragment is not in this payload: a later part brings it, patched on its own.
      if (this.#deferred(sel)) continue;
      let condition: string | undefined;
      let inner: readonly SelectionNode[];
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        condition = sel.typeCondition?.name.value;
        inner = sel.selectionSet.selections;
      } else {
        const fragment = this.source.fragments[sel.name.value];
        if (!fragment || visited.has(sel.name.value)) continue;
        visited.add(sel.name.value);
        condition = fragment.typeCondition.name.value;
        inner = fragment.selectionSet.selections;
      }
      const conditionType = condition ? this.#schema.getType(condition) : context;
      if (!conditionType || !applies(this.#schema, conditionType, type)) continue;
      const denied = viaDenied || access.typeDenied(conditionType);
      this.#collect(type, inner, conditionType as GraphQLCompositeType, denied, entries, visited);
    }
  }

  #included(sel: SelectionNode): boolean {
    if (!sel.directives?.length) return true;
    if (getDirectiveValues(GraphQLSkipDirective, sel, this.variables)?.if === true) return false;
    return getDirectiveValues(GraphQLIncludeDirective, sel, this.variables)?.if !== false;
  }

  #deferred(sel: SelectionNode): boolean {
    const defer = sel.directives?.length ? this.#schema.getDirective('defer') : undefined;
    if (!defer || !sel.directives!.some((d) => d.name.value === 'defer')) return false;
    return getDirectiveValues(defer, sel, this.variables)?.if !== false;
  }

  #deny(path: Path, coordinate: string, nodes: readonly FieldNode[]): typeof NULLED {
    this.errors.push(accessDenied(this.source.access.code, coordinate, { nodes, path }));
    return NULLED;
  }
}

/** The client's own label back on a part, or none when the label was the rewriter's. */
function setLabel(part: IncrementalPart, clientLabel: string | undefined): void {
  if (clientLabel === undefined) delete part.label;
  else part.label = clientLabel;
}
