// The fields selected below a field, for a given object type: what entity completion must
// load. Honours fragments and @skip/@include. Parsed documents are cached by yoga, so a
// selection without @skip/@include is computed once per document, not once per object.
import {
  type FieldNode,
  type GraphQLResolveInfo,
  isAbstractType,
  isObjectType,
  Kind,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

export interface SelectedField {
  name: string;
  responseKey: string;
}

interface Collected {
  fields: SelectedField[];
  /** True when @skip/@include made the result depend on variables. */
  dynamic: boolean;
}

/**
 * A cache keyed by the field's AST nodes. graphql-js builds a new fieldNodes array for every
 * execution, but the nodes in it belong to the parsed document, which yoga reuses across
 * requests; so the first node is the key and the whole array is checked on a hit.
 */
export class FieldNodesCache<T> {
  #entries = new WeakMap<FieldNode, { nodes: readonly FieldNode[]; value: T }>();

  get(fieldNodes: readonly FieldNode[]): T | undefined {
    const entry = this.#entries.get(fieldNodes[0]);
    if (!entry || entry.nodes.length !== fieldNodes.length) return undefined;
    for (let i = 1; i < fieldNodes.length; i++) if (entry.nodes[i] !== fieldNodes[i]) return undefined;
    return entry.value;
  }

  set(fieldNodes: readonly FieldNode[], value: T): void {
    this.#entries.set(fieldNodes[0], { nodes: fieldNodes, value });
  }
}

const cache = new FieldNodesCache<Map<string, SelectedField[]>>();

export function selectedFields(info: GraphQLResolveInfo, typeName: string): SelectedField[] {
  let byType = cache.get(info.fieldNodes);
  const hit = byType?.get(typeName);
  if (hit) return hit;
  const out: Collected = { fields: [], dynamic: false };
  const seen = new Set<string>();
  for (const node of info.fieldNodes) {
    if (node.selectionSet) collect(node.selectionSet, typeName, info, out, seen);
  }
  if (!out.dynamic) {
    if (!byType) cache.set(info.fieldNodes, (byType = new Map()));
    byType.set(typeName, out.fields);
  }
  return out.fields;
}

function collect(
  set: SelectionSetNode,
  typeName: string,
  info: GraphQLResolveInfo,
  out: Collected,
  seen: Set<string>,
): void {
  for (const sel of set.selections) {
    // @defer and @stream change when a part is sent, not what it holds: a deferred fragment's
    // fields are loaded with the entity (they resolve from it by property access).
    if (sel.directives?.length && sel.directives.some(isConditional)) {
      out.dynamic = true;
      if (!included(sel.directives, info.variableValues)) continue;
    }
    if (sel.kind === Kind.FIELD) {
      const responseKey = sel.alias?.value ?? sel.name.value;
      const id = `${sel.name.value}:${responseKey}`;
      if (!seen.has(id)) {
        seen.add(id);
        out.fields.push({ name: sel.name.value, responseKey });
      }
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      if (!sel.typeCondition || appliesTo(sel.typeCondition.name.value, typeName, info))
        collect(sel.selectionSet, typeName, info, out, seen);
    } else {
      const fragment = info.fragments[sel.name.value];
      if (fragment && appliesTo(fragment.typeCondition.name.value, typeName, info))
        collect(fragment.selectionSet, typeName, info, out, seen);
    }
  }
}

function appliesTo(condition: string, typeName: string, info: GraphQLResolveInfo): boolean {
  if (condition === typeName) return true;
  const conditionType = info.schema.getType(condition);
  const type = info.schema.getType(typeName);
  if (!isAbstractType(conditionType) || !isObjectType(type)) return false;
  return info.schema.isSubType(conditionType, type);
}

function isConditional(directive: { name: { value: string } }): boolean {
  return directive.name.value === 'skip' || directive.name.value === 'include';
}

function included(
  directives: readonly {
    name: { value: string };
    arguments?: readonly { name: { value: string }; value: ValueNode }[];
  }[],
  variables: Record<string, unknown>,
): boolean {
  for (const d of directives) {
    if (d.name.value !== 'skip' && d.name.value !== 'include') continue;
    const arg = d.arguments?.find((a) => a.name.value === 'if');
    if (!arg) continue;
    const value =
      arg.value.kind === Kind.VARIABLE
        ? Boolean(variables[arg.value.name.value])
        : arg.value.kind === Kind.BOOLEAN && arg.value.value;
    if (d.name.value === 'skip' && value) return false;
    if (d.name.value === 'include' && !value) return false;
  }
  return true;
}
