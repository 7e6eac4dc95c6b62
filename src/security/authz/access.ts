// Who may see what. The requirements written with @authenticated and @requiresScopes are read
// once per served schema (SchemaPolicy); a caller's view of them (Access) is computed lazily,
// per type and field, for one auth state: anonymous, or authenticated with a set of scopes.
// A schema without any requirement is marked unprotected, so the plugin skips it in one lookup.
import {
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
} from 'graphql';
import { directiveArgs } from '../schema-policy.js';

type Field = GraphQLField<unknown, unknown>;

/** All of it must hold: @authenticated, and each @requiresScopes use (OR of AND lists). */
interface Requirement {
  authenticated: boolean;
  scopes: string[][][];
}

const policies = new WeakMap<GraphQLSchema, SchemaPolicy>();

export class SchemaPolicy {
  /** False when no type or field of the schema carries a requirement. */
  readonly protected: boolean;
  readonly #requirements = new Map<GraphQLNamedType | Field, Requirement>();

  private constructor(readonly schema: GraphQLSchema) {
    for (const type of Object.values(schema.getTypeMap())) {
      if (isIntrospectionType(type)) continue;
      this.#read(type);
      if (isObjectType(type) || isInterfaceType(type))
        for (const field of Object.values(type.getFields())) this.#read(field);
    }
    this.protected = this.#requirements.size > 0;
  }

  static of(schema: GraphQLSchema): SchemaPolicy {
    let policy = policies.get(schema);
    if (!policy) policies.set(schema, (policy = new SchemaPolicy(schema)));
    return policy;
  }

  requirementOf(element: GraphQLNamedType | Field): Requirement | undefined {
    return this.#requirements.get(element);
  }

  #read(element: GraphQLNamedType | Field): void {
    const authenticated = directiveArgs(element, 'authenticated').length > 0;
    const scopes = directiveArgs(element, 'requiresScopes').map((args) => args.scopes as string[][]);
    if (authenticated || scopes.length > 0) this.#requirements.set(element, { authenticated, scopes });
  }
}

/** A caller with verified claims and the scopes they grant; undefined is anonymous. */
export interface Caller {
  scopes: ReadonlySet<string>;
}

/**
 * The scopes of a token: the configured claim, else `scope` (space-separated, OAuth 2) and the
 * `scp` / `permissions` arrays (Azure AD, Auth0). A string is split on spaces, an array taken as it is.
 */
export function callerOf(claims: Record<string, unknown> | undefined, scopeClaim?: string): Caller | undefined {
  if (!claims) return undefined;
  const scopes = new Set<string>();
  for (const name of scopeClaim ? [scopeClaim] : ['scope', 'scp', 'permissions']) {
    const value = claims[name];
    if (typeof value === 'string') for (const s of value.split(/\s+/)) if (s) scopes.add(s);
    if (Array.isArray(value)) for (const s of value) if (typeof s === 'string' && s) scopes.add(s);
  }
  return { scopes };
}

/** Two callers with the same key are allowed exactly the same fields. */
export function authKeyOf(caller: Caller | undefined): string {
  return caller ? `scopes:${[...caller.scopes].sort().join(' ')}` : 'anonymous';
}

/** One auth state's view of a schema's requirements, memoized per type and field. */
export class Access {
  /** The code of every denial: no token at all, or a token that lacks what is required. */
  readonly code: 'UNAUTHENTICATED' | 'FORBIDDEN';
  readonly #types = new Map<GraphQLNamedType, boolean>();
  readonly #fields = new Map<Field, boolean>();

  constructor(
    readonly policy: SchemaPolicy,
    private readonly caller: Caller | undefined,
  ) {
    this.code = caller ? 'FORBIDDEN' : 'UNAUTHENTICATED';
  }

  typeDenied(type: GraphQLNamedType): boolean {
    let denied = this.#types.get(type);
    if (denied === undefined) this.#types.set(type, (denied = !this.#allows(this.policy.requirementOf(type))));
    return denied;
  }

  /** A field is denied by its own requirement or by its return type's. */
  fieldDenied(field: Field): boolean {
    let denied = this.#fields.get(field);
    if (denied === undefined) {
      denied = !this.#allows(this.policy.requirementOf(field)) || this.typeDenied(getNamedType(field.type));
      this.#fields.set(field, denied);
    }
    return denied;
  }

  /**
   * A field of the runtime type `type`, selected where the static type was `context` (the
   * parent field's type or a fragment's condition): reached through an interface, it needs
   * both the interface field's requirements and the implementation's.
   */
  selectionDenied(type: GraphQLObjectType, context: GraphQLCompositeType, fieldName: string): boolean {
    const field = type.getFields()[fieldName];
    if (field && this.fieldDenied(field)) return true;
    const declared = context !== type && isInterfaceType(context) ? context.getFields()[fieldName] : undefined;
    return declared !== undefined && this.fieldDenied(declared);
  }

  #allows(requirement: Requirement | undefined): boolean {
    if (!requirement) return true;
    const caller = this.caller;
    if (!caller) return false;
    return requirement.scopes.every((anyOf) => anyOf.some((allOf) => allOf.every((s) => caller.scopes.has(s))));
  }
}
