// @authenticated and @requiresScopes, enforced by rewriting the document
// at execution, as Apollo Router does: the operation is executed without the selections the
// caller is denied, then the result is patched so that each denied field is null with its
// error. Resolvers of denied fields never run, so whatever the source (REST, gRPC, a remote
// GraphQL API, the other owner of a merged type), the denied field is never asked of its
// upstream, and the compiler needs to know nothing about authorization.
//
// Cost: a schema without any requirement costs one WeakMap lookup per request. Otherwise the
// plan (the rewritten document, or "nothing denied") is cached per schema, document object
// (yoga's parser cache reuses it), operation name and auth state (anonymous, or the sorted
// scopes), so a repeated operation costs a few map lookups, and an operation that touches
// nothing protected does not even read the claims; only denials pay for the patch. The cached
// rewritten document also keeps the field-node caches of the executors warm.
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
  getOperationAST,
} from 'graphql';
import { isAsyncIterable, isPromise, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import type { QuiltContext } from '../../request-context/context.js';
import { Access, authKeyOf, type Caller, callerOf, SchemaPolicy } from './access.js';
import { type PatchSource, patchResult } from './patch.js';
import { fragmentsOf, type IncrementalParts, onlyTypeHelper, rewriteOperation, typeKeyFor } from './rewrite.js';

export interface AuthorizationOptions {
  /** The claim holding the scopes; default: `scope`, `scp` and `permissions`. */
  scopeClaim?: string;
}

export interface Plan extends PatchSource {
  document: DocumentNode;
  /** Every root field is denied: nothing to execute at all. */
  nothingLeft: boolean;
}

/** Plans kept per document: one per operation name and auth state, the oldest dropped first. */
const MAX_PLANS_PER_DOCUMENT = 64;
/** Auth states (distinct scope sets) whose memoized view of a schema is kept. */
const MAX_AUTH_STATES = 1024;

export class Planner {
  readonly #plans = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, Plan | null>>>();
  readonly #access = new WeakMap<SchemaPolicy, Map<string, Access>>();

  constructor(private readonly options: AuthorizationOptions = {}) {}

  /** The plan for one execution, or null when the caller is denied nothing in it. */
  plan(
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | null | undefined,
    claims: Record<string, unknown> | undefined,
  ): Plan | null {
    const policy = SchemaPolicy.of(schema);
    if (!policy.protected) return null;
    let bySchema = this.#plans.get(schema);
    if (!bySchema) this.#plans.set(schema, (bySchema = new WeakMap()));
    let byDocument = bySchema.get(document);
    if (!byDocument) bySchema.set(document, (byDocument = new Map()));
    // Anonymous callers are denied everything that is protected: when they are denied nothing
    // in this operation, nobody is, and the claims need not even be read.
    const anonymous = this.#cached(byDocument, schema, document, operationName, policy, undefined);
    if (!anonymous || !claims) return anonymous;
    return this.#cached(byDocument, schema, document, operationName, policy, callerOf(claims, this.options.scopeClaim));
  }

  #cached(
    plans: Map<string, Plan | null>,
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | null | undefined,
    policy: SchemaPolicy,
    caller: Caller | undefined,
  ): Plan | null {
    const authKey = authKeyOf(caller);
    const key = `${operationName ?? ''}\n${authKey}`;
    let plan = plans.get(key);
    if (plan === undefined) {
      plan = makePlan(schema, document, operationName, this.#accessFor(policy, authKey, caller));
      if (plans.size >= MAX_PLANS_PER_DOCUMENT) plans.delete(plans.keys().next().value!);
      plans.set(key, plan);
    }
    return plan;
  }

  #accessFor(policy: SchemaPolicy, authKey: string, caller: Caller | undefined): Access {
    let accesses = this.#access.get(policy);
    if (!accesses) this.#access.set(policy, (accesses = new Map()));
    let access = accesses.get(authKey);
    if (!access) {
      access = new Access(policy, caller);
      if (accesses.size >= MAX_AUTH_STATES) accesses.delete(accesses.keys().next().value!);
      accesses.set(authKey, access);
    }
    return access;
  }
}

function makePlan(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  access: Access,
): Plan | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null; // execution reports the unknown operation
  const fragments = fragmentsOf(document);
  const typeKey = typeKeyFor(document);
  const parts: IncrementalParts = { deferred: new Map(), streamed: new Map() };
  const rewritten = rewriteOperation(schema, operation, fragments, access, typeKey, parts);
  if (!rewritten) return null;
  return {
    schema,
    operation,
    fragments,
    access,
    typeKey,
    parts,
    document: { kind: document.kind, definitions: [rewritten] },
    nothingLeft: onlyTypeHelper(rewritten.selectionSet, typeKey),
  };
}

type Execute = (args: ExecutionArgs) => unknown;

/** Executes the plan's document instead of the original, then patches every result. */
function authorized(execute: Execute, plan: Plan): Execute {
  return function authorizedExecute(args) {
    const patch = (result: ExecutionResult) => patchResult(result, plan, args.variableValues);
    if (plan.nothingLeft) return patch({ data: {} });
    const result = execute({ ...args, document: plan.document });
    const patchAny = (r: unknown) =>
      isAsyncIterable(r) ? mapAsyncIterator(r as AsyncIterable<ExecutionResult>, patch) : patch(r as ExecutionResult);
    return isPromise(result) ? result.then(patchAny) : patchAny(result);
  };
}

export function useAuthorization(options: AuthorizationOptions = {}): Plugin {
  const planner = new Planner(options);
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const plan = planner.plan(args.schema, args.document, args.operationName, args.contextValue?.jwt);
      if (plan) setExecuteFn(authorized(executeFn as Execute, plan) as typeof executeFn);
    },
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const plan = planner.plan(args.schema, args.document, args.operationName, args.contextValue?.jwt);
      if (plan) setSubscribeFn(authorized(subscribeFn as Execute, plan) as typeof subscribeFn);
    },
  } satisfies Plugin<Pick<QuiltContext, 'jwt'>> as Plugin;
}
