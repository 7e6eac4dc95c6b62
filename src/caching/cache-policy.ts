// The cache policy of an operation from @cacheControl, by Apollo Server's rules: a field's
// policy is its return type's @cacheControl (for an object, interface or union) replaced by
// the field's own; a root field, or a field returning a composite type, with no maxAge gets
// maxAge 0 unless it inherits (inheritMaxAge); a scalar field with none sets no bound (it
// inherits its parent's). The operation's maxAge is the smallest of its fields', and it is
// PRIVATE if any field is. maxAge 0 means not cacheable.
//
// Apollo computes this over the fields that resolved; here it is computed from the document
// (every field it selects, in every fragment, whatever @skip/@include say), which is at least
// as strict: never a longer maxAge, never PUBLIC where Apollo would say PRIVATE. It is computed
// once per schema and document (yoga's parser cache hands back the same document object).
//
// One rule Apollo does not have: an operation touching a field or type under @authenticated
// or @requiresScopes is PRIVATE, because what it returns depends on who asks (the authorization
// plugin removes what the caller may not see). Its entries are keyed by the caller's claims.
import {
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  getOperationAST,
  isAbstractType,
  isCompositeType,
  Kind,
  type SelectionSetNode,
  valueFromASTUntyped,
} from 'graphql';

export type CacheScope = 'PUBLIC' | 'PRIVATE';

export interface CachePolicy {
  /** Seconds; 0: not cacheable. */
  maxAge: number;
  scope: CacheScope;
}

interface Hint {
  maxAge?: number;
  scope?: CacheScope;
  inheritMaxAge?: boolean;
}

const AUTH_DIRECTIVES = new Set(['authenticated', 'requiresScopes']);
const NOT_CACHEABLE: CachePolicy = Object.freeze({ maxAge: 0, scope: 'PUBLIC' });

/** One schema's @cacheControl and auth annotations, read once. */
export class SchemaCachePolicy {
  static readonly #bySchema = new WeakMap<GraphQLSchema, SchemaCachePolicy>();

  static of(schema: GraphQLSchema): SchemaCachePolicy {
    let policy = SchemaCachePolicy.#bySchema.get(schema);
    if (!policy) SchemaCachePolicy.#bySchema.set(schema, (policy = new SchemaCachePolicy(schema)));
    return policy;
  }

  /** Some field or type carries @cacheControl: without it the response cache does nothing. */
  readonly enabled: boolean;
  readonly #hints = new Map<GraphQLNamedType | GraphQLField<unknown, unknown>, Hint>();
  readonly #protected = new Set<GraphQLNamedType | GraphQLField<unknown, unknown>>();
  readonly #byDocument = new WeakMap<DocumentNode, Map<string, CachePolicy>>();

  private constructor(readonly schema: GraphQLSchema) {
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__')) continue;
      this.#read(type, directivesOf(type));
      if (!('getFields' in type) || !isCompositeType(type)) continue;
      for (const field of Object.values(type.getFields()) as GraphQLField<unknown, unknown>[])
        this.#read(field, field.astNode?.directives ?? []);
    }
    this.enabled = this.#hints.size > 0;
  }

  /** The policy of one operation of `document` (memoized). */
  policyOf(document: DocumentNode, operationName: string | null | undefined): CachePolicy {
    let byName = this.#byDocument.get(document);
    if (!byName) this.#byDocument.set(document, (byName = new Map()));
    const key = operationName ?? '';
    let policy = byName.get(key);
    if (!policy) byName.set(key, (policy = this.#compute(document, operationName)));
    return policy;
  }

  #read(element: GraphQLNamedType | GraphQLField<unknown, unknown>, directives: readonly DirectiveNode[]): void {
    for (const d of directives) {
      if (AUTH_DIRECTIVES.has(d.name.value)) this.#protected.add(element);
      if (d.name.value !== 'cacheControl') continue;
      const hint: Hint = {};
      for (const arg of d.arguments ?? []) {
        const value = valueFromASTUntyped(arg.value);
        if (arg.name.value === 'maxAge' && typeof value === 'number') hint.maxAge = value;
        if (arg.name.value === 'scope' && (value === 'PUBLIC' || value === 'PRIVATE')) hint.scope = value;
        if (arg.name.value === 'inheritMaxAge' && value === true) hint.inheritMaxAge = true;
      }
      this.#hints.set(element, { ...this.#hints.get(element), ...hint });
    }
  }

  #compute(document: DocumentNode, operationName: string | null | undefined): CachePolicy {
    const operation = getOperationAST(document, operationName);
    if (operation?.operation !== 'query') return NOT_CACHEABLE;
    const root = this.schema.getQueryType();
    if (!root) return NOT_CACHEABLE;
    const fragments = new Map<string, { type: string; selectionSet: SelectionSetNode }>();
    for (const def of document.definitions)
      if (def.kind === Kind.FRAGMENT_DEFINITION)
        fragments.set(def.name.value, { type: def.typeCondition.name.value, selectionSet: def.selectionSet });
    const walk = new PolicyWalk(this, fragments);
    walk.selectionSet(root, operation.selectionSet, true);
    const maxAge = walk.maxAge ?? 0;
    return maxAge === 0 ? NOT_CACHEABLE : { maxAge, scope: walk.private ? 'PRIVATE' : 'PUBLIC' };
  }

  hint(element: GraphQLNamedType | GraphQLField<unknown, unknown>): Hint | undefined {
    return this.#hints.get(element);
  }

  /** A field is protected by its own directive or its return type's (or any possible type's). */
  isProtected(field: GraphQLField<unknown, unknown>, type: GraphQLNamedType): boolean {
    if (this.#protected.size === 0) return false;
    if (this.#protected.has(field) || this.#protected.has(type)) return true;
    return isAbstractType(type) && this.schema.getPossibleTypes(type).some((t) => this.#protected.has(t));
  }

  isProtectedType(type: GraphQLNamedType): boolean {
    return this.#protected.has(type);
  }
}

/** One pass over an operation's selections, restricting the policy field by field. */
class PolicyWalk {
  maxAge: number | undefined;
  private = false;
  readonly #visiting = new Set<string>();

  constructor(
    private readonly policy: SchemaCachePolicy,
    private readonly fragments: Map<string, { type: string; selectionSet: SelectionSetNode }>,
  ) {}

  selectionSet(parent: GraphQLCompositeType, set: SelectionSetNode, root: boolean): void {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) this.#field(parent, sel, root);
      else if (sel.kind === Kind.INLINE_FRAGMENT)
        this.#fragment(sel.typeCondition?.name.value, parent, sel.selectionSet, root);
      else {
        const fragment = this.fragments.get(sel.name.value);
        if (!fragment || this.#visiting.has(sel.name.value)) continue;
        this.#visiting.add(sel.name.value);
        this.#fragment(fragment.type, parent, fragment.selectionSet, root);
        this.#visiting.delete(sel.name.value);
      }
    }
  }

  #fragment(typeName: string | undefined, parent: GraphQLCompositeType, set: SelectionSetNode, root: boolean): void {
    const type = typeName ? this.policy.schema.getType(typeName) : parent;
    if (!type || !isCompositeType(type)) return;
    if (this.policy.isProtectedType(type)) this.private = true;
    this.selectionSet(type, set, root);
  }

  #field(parent: GraphQLCompositeType, node: FieldNode, root: boolean): void {
    const name = node.name.value;
    if (name === '__typename') return;
    // Introspection is never cached: a root field without a hint.
    const field = 'getFields' in parent ? parent.getFields()[name] : undefined;
    if (!field) {
      this.#restrict(0, undefined);
      return;
    }
    const target = getNamedType(field.type);
    const composite = isCompositeType(target);
    let maxAge: number | undefined;
    let scope: CacheScope | undefined;
    let inherits = false;
    if (composite) {
      const typeHint = this.policy.hint(target);
      maxAge = typeHint?.maxAge;
      scope = typeHint?.scope;
      inherits = !!typeHint?.inheritMaxAge;
    }
    const fieldHint = this.policy.hint(field);
    if (fieldHint?.inheritMaxAge && maxAge === undefined) {
      inherits = true;
      scope = fieldHint.scope ?? scope;
    } else if (fieldHint) {
      maxAge = fieldHint.maxAge ?? maxAge;
      scope = fieldHint.scope ?? scope;
    }
    if (maxAge === undefined && ((composite && !inherits) || root)) maxAge = 0;
    this.#restrict(maxAge, scope);
    if (this.policy.isProtected(field, target)) this.private = true;
    if (composite && node.selectionSet) this.selectionSet(target, node.selectionSet, false);
  }

  #restrict(maxAge: number | undefined, scope: CacheScope | undefined): void {
    if (maxAge !== undefined) this.maxAge = this.maxAge === undefined ? maxAge : Math.min(this.maxAge, maxAge);
    if (scope === 'PRIVATE') this.private = true;
  }
}

function directivesOf(type: GraphQLNamedType): readonly DirectiveNode[] {
  const own = type.astNode?.directives ?? [];
  const extensions = type.extensionASTNodes as readonly { directives?: readonly DirectiveNode[] }[];
  return extensions.length ? [...own, ...extensions.flatMap((e) => e.directives ?? [])] : own;
}
