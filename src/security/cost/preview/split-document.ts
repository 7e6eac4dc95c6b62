// Splits the cost preview out of an operation (README, "Cost preview"). `__cost` is a
// meta-field of the query root type, implicit like `__schema` (it is not among the root
// type's fields), which graphql-js cannot be taught; so the selections of `__cost` are taken
// out of the document once it is parsed, and everything else (validation, the limits,
// authorization, execution) sees the operation without them: the operation the limiter
// prices is exactly the one the preview describes. What is taken out becomes a document of
// its own, run on the cost introspection schema (cost-schema.ts).
//
// `__cost` is looked for where a root field can be: the operation's selection set, inline
// fragments in it and the fragments spread there (recursively). Anywhere else it stays, and
// validation refuses it as an unknown field. Only query operations have it (spec 6.1.2).
import {
  type DefinitionNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  Kind,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  visit,
} from 'graphql';

export const COST_FIELD = '__cost';
const INTROSPECTION_FIELDS = new Set(['__schema', '__type', '__typename']);

/** What one query operation asked of the preview. */
export interface PreviewPart {
  /** The operation with only its `__cost` selections, and the fragments and variables they use. */
  preview: DocumentNode;
  /** The operation with only its introspection root fields, or undefined when it has none (for introspectionOnly). */
  introspection: DocumentNode | undefined;
  /** The root response keys in document order: where `__cost` goes back in the answer. */
  order: string[];
  /** Nothing but `__cost` was asked: the served operation is a stand-in `{ __typename }` whose answer is dropped. */
  standIn: boolean;
}

export interface SplitDocument {
  /** The document without `__cost`: what is validated, priced and executed. */
  served: DocumentNode;
  /** By operation node of `served`. */
  parts: Map<OperationDefinitionNode, PreviewPart>;
}

type Keep = (field: FieldNode) => boolean;
const isCost: Keep = (f) => f.name.value === COST_FIELD;
const notCost: Keep = (f) => f.name.value !== COST_FIELD;
const isIntrospection: Keep = (f) => INTROSPECTION_FIELDS.has(f.name.value);

/** undefined when no query operation asks for `__cost` at its root. */
export function splitCostPreview(document: DocumentNode): SplitDocument | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const queries = document.definitions.filter(
    (d): d is OperationDefinitionNode =>
      d.kind === Kind.OPERATION_DEFINITION && d.operation === 'query' && asksCost(d.selectionSet, fragments),
  );
  if (!queries.length) return undefined;

  // Root-level fragments lose their `__cost` selections (and go when nothing else is left).
  const rootFragments = new Set<string>();
  for (const op of queries) rootLevelFragments(op.selectionSet, fragments, rootFragments);
  const servedFragments = new Map<string, FragmentDefinitionNode | undefined>();
  for (const name of rootFragments) {
    const def = fragments.get(name)!;
    const set = prune(def.selectionSet, notCost, fragments, new Map());
    servedFragments.set(name, set && { ...def, selectionSet: set });
  }
  const servedFragmentMap = new Map(fragments);
  for (const [name, def] of servedFragments) {
    if (def) servedFragmentMap.set(name, def);
    else servedFragmentMap.delete(name);
  }

  const servedOps = new Map<OperationDefinitionNode, OperationDefinitionNode>();
  const parts = new Map<OperationDefinitionNode, PreviewPart>();
  const servedUses = new Set<string>();
  const previewUses = new Set<string>();
  for (const op of queries) {
    const pruned = prune(op.selectionSet, notCost, fragments, servedFragments);
    const preview = only(op, isCost, fragments)!;
    for (const d of preview.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) previewUses.add(d.name.value);
    let served: OperationDefinitionNode = { ...op, selectionSet: pruned ?? standInSelection() };
    const uses = new Set<string>();
    spreadsIn(served.selectionSet, servedFragmentMap, uses);
    for (const name of uses) servedUses.add(name);
    // Variables only the preview uses leave the served operation (validation would call them unused).
    if (op.variableDefinitions?.length) {
      const inPreview = variablesIn(preview);
      const inServed = variablesIn({
        kind: Kind.DOCUMENT,
        definitions: [served, ...[...uses].map((n) => servedFragmentMap.get(n)!)],
      });
      served = {
        ...served,
        variableDefinitions: op.variableDefinitions.filter(
          (v) => !inPreview.has(v.variable.name.value) || inServed.has(v.variable.name.value),
        ),
      };
    }
    servedOps.set(op, served);
    parts.set(served, {
      preview,
      introspection: only(op, isIntrospection, fragments),
      order: responseKeys(op.selectionSet, fragments),
      standIn: !pruned,
    });
  }
  for (const d of document.definitions)
    if (d.kind === Kind.OPERATION_DEFINITION && !servedOps.has(d))
      spreadsIn(d.selectionSet, servedFragmentMap, servedUses);

  // Fragments only the preview uses leave too; anything else is kept as written, mistakes included.
  const definitions: DefinitionNode[] = [];
  for (const d of document.definitions) {
    if (d.kind === Kind.OPERATION_DEFINITION) definitions.push(servedOps.get(d) ?? d);
    else if (d.kind !== Kind.FRAGMENT_DEFINITION) definitions.push(d);
    else if (servedFragments.has(d.name.value)) {
      const kept = servedFragments.get(d.name.value);
      if (kept && (servedUses.has(d.name.value) || !previewUses.has(d.name.value))) definitions.push(kept);
    } else if (servedUses.has(d.name.value) || !previewUses.has(d.name.value)) definitions.push(d);
  }
  return { served: { ...document, definitions }, parts };
}

/** The operation with only the root fields `keep` accepts, with the fragments and variables those use. */
function only(
  op: OperationDefinitionNode,
  keep: Keep,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
): DocumentNode | undefined {
  const rootFragments = new Set<string>();
  rootLevelFragments(op.selectionSet, fragments, rootFragments);
  const pruned = new Map<string, FragmentDefinitionNode | undefined>();
  for (const name of rootFragments) {
    const def = fragments.get(name)!;
    const set = prune(def.selectionSet, keep, fragments, new Map());
    pruned.set(name, set && { ...def, selectionSet: set });
  }
  const selectionSet = prune(op.selectionSet, keep, fragments, pruned);
  if (!selectionSet) return undefined;
  const used = new Set<string>();
  const all = new Map(fragments);
  for (const [name, def] of pruned) if (def) all.set(name, def);
  spreadsIn(selectionSet, all, used);
  const defs = [...used].map((name) => all.get(name)!);
  const body: DocumentNode = { kind: Kind.DOCUMENT, definitions: [{ ...op, selectionSet }, ...defs] };
  const vars = variablesIn(body);
  const variableDefinitions = op.variableDefinitions?.filter((v) => vars.has(v.variable.name.value));
  return { kind: Kind.DOCUMENT, definitions: [{ ...op, selectionSet, variableDefinitions }, ...defs] };
}

/**
 * The selection set with only the root-level fields `keep` accepts; inline fragments and
 * spreads are kept when something in them is (a spread when `pruned` has its fragment).
 */
function prune(
  set: SelectionSetNode,
  keep: Keep,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  pruned: ReadonlyMap<string, FragmentDefinitionNode | undefined>,
): SelectionSetNode | undefined {
  const selections: SelectionNode[] = [];
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) {
      if (keep(s)) selections.push(s);
    } else if (s.kind === Kind.INLINE_FRAGMENT) {
      const inner = prune(s.selectionSet, keep, fragments, pruned);
      if (inner) selections.push({ ...s, selectionSet: inner });
    } else if (pruned.has(s.name.value) ? pruned.get(s.name.value) : fragments.has(s.name.value)) {
      selections.push(s);
    }
  }
  return selections.length ? { ...set, selections } : undefined;
}

function asksCost(set: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): boolean {
  const names = new Set<string>();
  rootLevelFragments(set, fragments, names);
  const direct = (s: SelectionSetNode): boolean =>
    s.selections.some(
      (x) => (x.kind === Kind.FIELD && isCost(x)) || (x.kind === Kind.INLINE_FRAGMENT && direct(x.selectionSet)),
    );
  return direct(set) || [...names].some((n) => direct(fragments.get(n)!.selectionSet));
}

/** The fragments spread at the root level of `set` (through inline fragments and other such fragments). */
function rootLevelFragments(
  set: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  into: Set<string>,
): void {
  for (const s of set.selections) {
    if (s.kind === Kind.INLINE_FRAGMENT) rootLevelFragments(s.selectionSet, fragments, into);
    else if (s.kind === Kind.FRAGMENT_SPREAD && !into.has(s.name.value) && fragments.has(s.name.value)) {
      into.add(s.name.value);
      rootLevelFragments(fragments.get(s.name.value)!.selectionSet, fragments, into);
    }
  }
}

/** Every fragment spread anywhere under `set`, transitively. */
function spreadsIn(
  set: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  into: Set<string>,
): void {
  visit(set, {
    FragmentSpread(node) {
      const def = fragments.get(node.name.value);
      if (into.has(node.name.value) || !def) return;
      into.add(node.name.value);
      spreadsIn(def.selectionSet, fragments, into);
    },
  });
}

/** Variables used in selections and fragments (not in variable definitions). */
function variablesIn(document: DocumentNode): Set<string> {
  const names = new Set<string>();
  visit(document, {
    VariableDefinition: () => false,
    Variable(node) {
      names.add(node.name.value);
    },
  });
  return names;
}

/** The root response keys in document order (fragments expanded, conditions ignored). */
function responseKeys(set: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): string[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  const walk = (s: SelectionSetNode) => {
    for (const x of s.selections) {
      if (x.kind === Kind.FIELD) keys.push(x.alias?.value ?? x.name.value);
      else if (x.kind === Kind.INLINE_FRAGMENT) walk(x.selectionSet);
      else if (!seen.has(x.name.value) && fragments.has(x.name.value)) {
        seen.add(x.name.value);
        walk(fragments.get(x.name.value)!.selectionSet);
      }
    }
  };
  walk(set);
  return [...new Set(keys)];
}

function standInSelection(): SelectionSetNode {
  return {
    kind: Kind.SELECTION_SET,
    selections: [{ kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } }],
  };
}
