// The document a caller may execute: the operation without the selections it is denied, so
// that no resolver of a denied field runs and no upstream (REST, gRPC, remote GraphQL, the
// other source of a merged type) is asked for it. Computed once per document and auth state.
//
// Where a selection set's type is abstract and its members are not all treated alike (a
// protected member type, or an implementation whose field is protected when the interface's
// is not), the set is expanded into one inline fragment per allowed member type, so each
// runtime type executes exactly what the patcher (patch.ts) will expect for it. Both follow
// the same rules: Access.selectionDenied for fields, Access.typeDenied for fragment conditions.
// Fragment spreads are inlined; @skip/@include are kept and evaluated at execution.
//
// @defer and @stream: their parts arrive in later payloads, which the patcher must match to
// the selections they came from. So every deferred fragment and streamed field gets a label
// (the client's, else one of ours, under the type helper's unique prefix) recorded with the
// ORIGINAL selections, and every deferred fragment selects the runtime-type helper, which
// also keeps a fragment whose every field is denied: its payload still comes, with the nulls.
import {
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLAbstractType,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  print,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Access } from './access.js';
import { type IncrementalParts, labelled } from './incremental.js';

export type { IncrementalParts } from './incremental.js';

/**
 * The alias under which the rewritten document asks for runtime types (never in a response):
 * one that the client's document does not use, so it cannot merge with a field of theirs.
 */
export function typeKeyFor(document: DocumentNode): string {
  const text = document.loc?.source.body ?? print(document);
  let key = '_quilt_type';
  while (text.includes(key)) key += '_';
  return key;
}

function typeField(typeKey: string): FieldNode {
  return {
    kind: Kind.FIELD,
    alias: { kind: Kind.NAME, value: typeKey },
    name: { kind: Kind.NAME, value: '__typename' },
  };
}

export type Fragments = Record<string, FragmentDefinitionNode>;

export function fragmentsOf(document: DocumentNode): Fragments {
  const fragments: Fragments = Object.create(null);
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  return fragments;
}

/** Does a fragment on `condition` apply to an object of type `type`? */
export function applies(
  schema: GraphQLSchema,
  condition: GraphQLNamedType | undefined,
  type: GraphQLObjectType,
): boolean {
  if (condition === type) return true;
  return condition !== undefined && isAbstractType(condition) && schema.isSubType(condition, type);
}

/** The operation without its denied selections, or undefined when nothing in it is denied. */
export function rewriteOperation(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Fragments,
  access: Access,
  typeKey: string,
  parts: IncrementalParts = { deferred: new Map(), streamed: new Map() },
): OperationDefinitionNode | undefined {
  const root = schema.getRootType(operation.operation);
  if (!root) return undefined;
  const rewriter = new Rewriter(schema, fragments, access, typeField(typeKey), typeKey, parts);
  const selectionSet = rewriter.set(operation.selectionSet, root);
  return rewriter.denied ? { ...operation, selectionSet } : undefined;
}

/** True when the rewritten selection set is only the runtime-type helper. */
export function onlyTypeHelper(set: SelectionSetNode, typeKey: string): boolean {
  const only = set.selections.length === 1 ? set.selections[0] : undefined;
  return only?.kind === Kind.FIELD && only.alias?.value === typeKey;
}

class Rewriter {
  denied = false;
  #labels = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Fragments,
    private readonly access: Access,
    private readonly typeField: FieldNode,
    private readonly typeKey: string,
    private readonly parts: IncrementalParts,
  ) {}

  set(set: SelectionSetNode, type: GraphQLCompositeType): SelectionSetNode {
    let selections: SelectionNode[];
    if (isObjectType(type)) selections = this.#forObject(set.selections, type, type);
    else if (this.#varies(set.selections, type)) selections = this.#expand(set.selections, type);
    else selections = this.#generic(set.selections, type);
    // Abstract sets carry the runtime type for the patcher; an emptied set must select something.
    if (isAbstractType(type) || selections.length === 0) selections.unshift(this.typeField);
    return { kind: Kind.SELECTION_SET, selections };
  }

  /** Selections as an object of `type` sees them, `context` being the static type they were written on. */
  #forObject(list: readonly SelectionNode[], type: GraphQLObjectType, context: GraphQLCompositeType): SelectionNode[] {
    const out: SelectionNode[] = [];
    for (const sel of list) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        const field = type.getFields()[name];
        if (name.startsWith('__') || !field) out.push(sel);
        else if (this.access.selectionDenied(type, context, name)) this.denied = true;
        else out.push(this.#field(sel, field));
        continue;
      }
      const { condition, inner, directives } = this.#fragment(sel, context);
      if (!applies(this.schema, condition, type)) continue;
      if (this.access.typeDenied(condition)) {
        this.denied = true;
        continue;
      }
      const selections = this.#forObject(inner, type, condition as GraphQLCompositeType);
      // A fragment on the object's own type, without directives, adds nothing: inline its selections.
      if (condition === type && directives.length === 0) out.push(...selections);
      else this.#fragmentOut(out, condition, directives, selections, inner);
    }
    return out;
  }

  /** A kept fragment; a deferred one labelled, recorded and given the type helper. */
  #fragmentOut(
    out: SelectionNode[],
    condition: GraphQLNamedType,
    directives: readonly DirectiveNode[],
    selections: SelectionNode[],
    original: readonly SelectionNode[],
  ): void {
    const defer = directives.find((d) => d.name.value === 'defer');
    if (!defer) {
      if (selections.length) out.push(inline(condition, directives, selections));
      return;
    }
    const { label, clientLabel, directive } = labelled(defer, () => `${this.typeKey}_${this.#labels++}`);
    this.parts.deferred.set(label, {
      selections: original,
      context: condition as GraphQLCompositeType,
      clientLabel,
    });
    const withLabel = directives.map((d) => (d === defer ? directive : d));
    out.push(inline(condition, withLabel, [this.typeField, ...selections]));
  }

  /** Selections on an abstract type whose possible types all see them alike. */
  #generic(list: readonly SelectionNode[], type: GraphQLAbstractType): SelectionNode[] {
    const out: SelectionNode[] = [];
    for (const sel of list) {
      if (sel.kind === Kind.FIELD) {
        const field = isInterfaceType(type) ? type.getFields()[sel.name.value] : undefined;
        if (!field) out.push(sel);
        else if (this.access.fieldDenied(field)) this.denied = true;
        else out.push(this.#field(sel, field));
        continue;
      }
      const { condition, inner, directives } = this.#fragment(sel, type);
      if (this.access.typeDenied(condition)) {
        this.denied = true;
        continue;
      }
      const selections = isObjectType(condition)
        ? this.#forObject(inner, condition, condition)
        : this.#generic(inner, condition as GraphQLAbstractType);
      this.#fragmentOut(out, condition, directives, selections, inner);
    }
    return out;
  }

  /** One inline fragment per possible type the caller may see. */
  #expand(list: readonly SelectionNode[], type: GraphQLAbstractType): SelectionNode[] {
    const out: SelectionNode[] = [];
    for (const member of this.schema.getPossibleTypes(type)) {
      if (this.access.typeDenied(member)) {
        this.denied = true;
        continue;
      }
      const selections = this.#forObject(list, member, type);
      if (selections.length) out.push(inline(member, [], selections));
    }
    return out;
  }

  /** Whether the possible types of `type` would not all be treated alike by `list`. */
  #varies(list: readonly SelectionNode[], type: GraphQLAbstractType): boolean {
    if (this.schema.getPossibleTypes(type).some((t) => this.access.typeDenied(t))) return true;
    return this.#fieldsVary(list, type);
  }

  #fieldsVary(list: readonly SelectionNode[], context: GraphQLAbstractType): boolean {
    for (const sel of list) {
      if (sel.kind === Kind.FIELD) {
        const declared = isInterfaceType(context) ? context.getFields()[sel.name.value] : undefined;
        if (!declared) continue;
        for (const member of this.schema.getPossibleTypes(context)) {
          const field = member.getFields()[sel.name.value];
          if (!field) continue;
          if (!this.access.fieldDenied(declared) && this.access.fieldDenied(field)) return true;
          // A narrower return type in an implementation: its selections are checked against it.
          if (sel.selectionSet && getNamedType(field.type) !== getNamedType(declared.type)) return true;
        }
        continue;
      }
      const { condition, inner } = this.#fragment(sel, context);
      if (isAbstractType(condition) && !this.access.typeDenied(condition) && this.#fieldsVary(inner, condition))
        return true;
    }
    return false;
  }

  #field(node: FieldNode, field: GraphQLField<unknown, unknown>): FieldNode {
    const out = node.selectionSet
      ? { ...node, selectionSet: this.set(node.selectionSet, getNamedType(field.type) as GraphQLCompositeType) }
      : node;
    const stream = node.directives?.find((d) => d.name.value === 'stream');
    const list = isNonNullType(field.type) ? field.type.ofType : field.type;
    if (!stream || !isListType(list)) return out;
    const { label, clientLabel, directive } = labelled(stream, () => `${this.typeKey}_${this.#labels++}`);
    this.parts.streamed.set(label, { nodes: [node], itemType: list.ofType, clientLabel });
    return { ...out, directives: node.directives!.map((d) => (d === stream ? directive : d)) };
  }

  #fragment(sel: Exclude<SelectionNode, FieldNode>, context: GraphQLCompositeType) {
    if (sel.kind === Kind.INLINE_FRAGMENT) {
      const condition = sel.typeCondition ? (this.schema.getType(sel.typeCondition.name.value) ?? context) : context;
      return { condition, inner: sel.selectionSet.selections, directives: sel.directives ?? [] };
    }
    const fragment = this.fragments[sel.name.value];
    const condition = (fragment && this.schema.getType(fragment.typeCondition.name.value)) || context;
    return { condition, inner: fragment?.selectionSet.selections ?? [], directives: sel.directives ?? [] };
  }
}

function inline(
  condition: GraphQLNamedType,
  directives: readonly DirectiveNode[],
  selections: SelectionNode[],
): SelectionNode {
  return {
    kind: Kind.INLINE_FRAGMENT,
    typeCondition: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: condition.name } },
    directives,
    selectionSet: { kind: Kind.SELECTION_SET, selections },
  };
}
