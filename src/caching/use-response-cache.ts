// Response caching by @cacheControl: @envelop/response-cache's plugin (the engine of
// @graphql-yoga/plugin-response-cache), driven by the policy of cache-policy.ts.
//
// Why envelop's plugin and not yoga's wrapper: the wrapper looks the answer up in onParams,
// before the operation is parsed, validated, costed or authorized, and must decide the session
// (PUBLIC or PRIVATE) before it knows the operation. Here the lookup happens at execution, after
// every security plugin in the list before it (gateway.ts puts this after security-layer.ts's
// plugins): the cost budget is taken for a cached answer too, and an operation touching
// protected fields is PRIVATE, so a cached answer only ever reaches the caller it was made for.
//
// Per request, for a schema with @cacheControl (SchemaCachePolicy.enabled, computed once per
// schema; otherwise this plugin returns at once):
// - a query with maxAge 0: not looked up, not stored; Cache-Control: no-store;
// - PRIVATE: keyed by the caller's verified claims (their subject and the rest, so a token with
//   other scopes is another entry); an anonymous caller, or a token without a subject, is
//   neither served nor stored an entry; Cache-Control: max-age=N, private;
// - PUBLIC: one entry for everyone; Cache-Control: max-age=N, public;
// - a hit carries Age (seconds since it was stored); an answer with errors is not stored and
//   says no-store;
// - a mutation is never cached; the entities its result holds ({ typename, id }: the plugin
//   adds `__typename` and `id` to every selection set and strips them again) drop the entries
//   holding them, and the answer waits for that drop (so the client's next read is fresh).
// Keys are the schema, the document, the operation name, the variables and the session.
// An upstream's cache-control passed on by @upstream(responseHeaders:) is combined with this
// one, the more restrictive winning.
import { createHash } from 'node:crypto';
import {
  type Cache,
  type CacheEntityRecord,
  useResponseCache as useEnvelopResponseCache,
} from '@envelop/response-cache';
import {
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  getOperationAST,
  print,
  printSchema,
} from 'graphql';
import { isAsyncIterable, isPromise, type Plugin } from 'graphql-yoga';
import type { QuiltContext } from '../request-context/context.js';
import type { CacheMetrics } from './cache-metrics.js';
import { type CachePolicy, SchemaCachePolicy } from './cache-policy.js';
import { cacheControlHeader, type HeaderPolicy, mergeHeaderPolicies } from './header-policy.js';
import type { ResponseStore } from './response-store.js';

export interface ResponseCacheOptions {
  store: ResponseStore;
  metrics: CacheMetrics;
  /** Fields that identify an entity of this schema, besides `id` (single-field @key selection sets). */
  entityIdFields?: (schema: GraphQLSchema) => readonly string[];
}

type EnvelopPlugin = ReturnType<typeof useEnvelopResponseCache>;
type OnExecute = NonNullable<EnvelopPlugin['onExecute']>;
type OnExecuteHooks = { onExecuteDone?: (payload: { result: unknown }) => unknown } | undefined;

interface Execution {
  policy: CachePolicy;
  sessionId: string | null;
  header: HeaderPolicy;
  /** A mutation's invalidation, which its answer waits for. */
  invalidating?: Promise<void> | void;
}

// Claims that change with every token of one caller, not with what the caller may see.
const PER_TOKEN_CLAIMS = new Set(['exp', 'iat', 'nbf', 'jti', 'auth_time']);

export function useResponseCache(options: ResponseCacheOptions): Plugin {
  const { store, metrics } = options;
  const engines = new WeakMap<GraphQLSchema, EnvelopPlugin>();
  const executions = new WeakMap<object, Execution>();
  const headers = new WeakMap<Request, HeaderPolicy[]>();

  /** The cache as one execution sees it: counts and remembers its hit, for Age. */
  const cacheFor = (context: object): Cache => ({
    get(id) {
      const found = store.get(id);
      const read = (entry: Awaited<typeof found>): ExecutionResult | null => {
        const execution = executions.get(context);
        if (!entry) {
          metrics.miss('response');
          return null;
        }
        metrics.hit('response');
        if (execution) execution.header.ageSec = Math.max(0, Math.floor((Date.now() - entry.storedAt) / 1000));
        return { data: entry.data as ExecutionResult['data'] };
      };
      return isPromise(found) ? found.then(read) : read(found);
    },
    set(id, result, entities, ttlMs) {
      const kept = store.set(id, { data: result.data, storedAt: Date.now() }, [...entities], ttlMs);
      const count = (ok: boolean) => {
        if (ok) metrics.stored('response');
      };
      return isPromise(kept) ? kept.then(count) : count(kept);
    },
    invalidate(entities: Iterable<CacheEntityRecord>) {
      const list = [...entities];
      if (list.length === 0) return;
      metrics.invalidated('response');
      const execution = executions.get(context);
      const pending = store.invalidate(list);
      if (execution) execution.invalidating = pending;
      return pending;
    },
  });

  const engineFor = (schema: GraphQLSchema): EnvelopPlugin => {
    let engine = engines.get(schema);
    if (engine) return engine;
    const schemaId = createHash('sha256').update(printSchema(schema)).digest('base64url');
    engine = useEnvelopResponseCache({
      cache: cacheFor,
      session: (context) => executions.get(context)?.sessionId ?? null,
      onTtl: ({ context }) => (executions.get(context)?.policy.maxAge ?? 0) * 1000,
      idFields: ['id', ...(options.entityIdFields?.(schema) ?? [])],
      getDocumentString: (args) =>
        (args.contextValue as { params?: { query?: string } })?.params?.query ?? printed(args.document),
      buildResponseCacheKey: ({ documentString, operationName, variableValues, sessionId }) =>
        createHash('sha256')
          .update(
            `${schemaId}|${documentString}|${operationName ?? ''}|${stableJson(variableValues ?? {})}|${sessionId ?? ''}`,
          )
          .digest('base64url'),
      shouldCacheResult: ({ result }) => !result.errors?.length,
      includeExtensionMetadata: false,
    });
    engine.onSchemaChange?.({ schema, replaceSchema: () => {} } as never);
    engines.set(schema, engine);
    return engine;
  };

  // The schema of the last request: most requests are served by the same one, so a schema
  // without @cacheControl costs one comparison and a request it served, one boolean read.
  let lastSchema: GraphQLSchema | undefined;
  let lastPolicies: SchemaCachePolicy | undefined;
  let everEnabled = false;
  return {
    onExecute(params) {
      const { schema, document, operationName, contextValue } = params.args;
      if (schema !== lastSchema) {
        lastSchema = schema;
        lastPolicies = SchemaCachePolicy.of(schema);
      }
      const policies = lastPolicies!;
      if (!policies.enabled) return;
      everEnabled = true;
      const context = contextValue as unknown as QuiltContext & { request?: Request };
      const operation = getOperationAST(document, operationName)?.operation;
      if (operation !== 'query' && operation !== 'mutation') return;
      const policy = policies.policyOf(document, operationName);
      const header: HeaderPolicy = {
        noStore: operation === 'mutation' || policy.maxAge === 0,
        maxAge: policy.maxAge,
        private: policy.scope === 'PRIVATE',
      };
      if (context.request) {
        const list = headers.get(context.request);
        if (list) list.push(header);
        else headers.set(context.request, [header]);
      }
      const execution: Execution = { policy, sessionId: null, header };
      // The plugin runs for mutations (invalidation) and for queries that may be cached.
      let cached = operation === 'mutation' || policy.maxAge > 0;
      if (cached && operation === 'query' && policy.scope === 'PRIVATE') {
        // Anonymous: PRIVATE answers are neither served from nor written to the shared cache.
        execution.sessionId = sessionOf(context.jwt);
        cached = execution.sessionId !== null;
      }
      const after = (inner: OnExecuteHooks) => ({
        onExecuteDone(payload: { result: unknown }) {
          const done = inner?.onExecuteDone?.(payload);
          const result = payload.result as ExecutionResult;
          if (isAsyncIterable(result) || result.errors?.length) header.noStore = true;
          const invalidating = execution.invalidating;
          return isPromise(invalidating) ? invalidating.then(() => done) : done;
        },
      });
      if (!cached) return after(undefined) as never;
      executions.set(contextValue as object, execution);
      const hooks = (engineFor(schema).onExecute as OnExecute)(params as never) as
        | OnExecuteHooks
        | Promise<OnExecuteHooks>;
      return (isPromise(hooks) ? hooks.then(after) : after(hooks)) as never;
    },
    onResponse({ request, response }) {
      if (!everEnabled) return;
      const list = headers.get(request);
      if (!list) return;
      const policy = mergeHeaderPolicies(list);
      response.headers.set('cache-control', cacheControlHeader(policy, response.headers.get('cache-control')));
      if (policy.ageSec !== undefined && !policy.noStore) response.headers.set('age', String(policy.ageSec));
    },
  };
}

/** What a PRIVATE entry is keyed by: the caller's claims, subject first; none without a subject. */
function sessionOf(claims: Record<string, unknown> | undefined): string | null {
  if (!claims || typeof claims.sub !== 'string' || claims.sub === '') return null;
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(claims)) if (!PER_TOKEN_CLAIMS.has(name)) kept[name] = value;
  return `${claims.sub}\n${stableJson(kept)}`;
}

const printedDocuments = new WeakMap<DocumentNode, string>();
function printed(document: DocumentNode): string {
  let text = printedDocuments.get(document);
  if (text === undefined) printedDocuments.set(document, (text = print(document)));
  return text;
}

/** JSON with object keys sorted, so equal variables give equal keys. */
function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}
