// A remote GraphQL API as a source. Delegation is inherent here, so it uses
// @graphql-tools/delegate and batch-delegate (DESIGN.md section 9): root fields delegate with
// delegateToSchema, merged-type lookups with batchDelegateToSchema, and the executor sends
// every request through the upstream's cluster like any other call.
import { batchDelegateToSchema } from '@graphql-tools/batch-delegate';
import { defaultMergedResolver, delegateToSchema, type SubschemaConfig } from '@graphql-tools/delegate';
import type { ExecutionRequest, ExecutionResult } from '@graphql-tools/utils';
import {
  buildASTSchema,
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  isObjectType,
  Kind,
  OperationTypeNode,
  parse,
  print,
  Source,
  visit,
  type DocumentNode,
  type FieldNode,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type SelectionSetNode,
  printSchema,
} from 'graphql';
import { QUILT_DIRECTIVE_NAMES } from '../config/directives.js';
import type { SourceFile } from '../config/load-folder.js';
import { logged, transportError, upstreamHeaders } from '../connectors/http-connector.js';
import { upstreamBadResponse, upstreamError } from '../errors.js';
import type { QuiltContext } from '../execution/context.js';
import { callRouting } from '../execution/routing.js';
import { TransportFailure } from '../upstream/types.js';
import type { UpstreamRuntime } from '../upstream/registry.js';
import type { EntityCompleter, EntityLookup } from './entities.js';
import type { FieldModel } from './model.js';
import { FieldNodesCache } from './selection.js';

type Resolver = GraphQLFieldResolver<unknown, QuiltContext>;
const ROOT_TYPES = new Set(['Query', 'Mutation']);

export class RemoteSource {
  readonly subschema: SubschemaConfig;
  #completer?: EntityCompleter;
  #withKeys = new FieldNodesCache<FieldNode[]>();

  private constructor(readonly file: SourceFile, private readonly runtime: UpstreamRuntime) {
    const typesOnly = visit(file.document, {
      Directive: (node) => (QUILT_DIRECTIVE_NAMES.has(node.name.value) ? null : undefined),
      SchemaExtension: () => null,
    });
    this.subschema = { schema: buildASTSchema(typesOnly, { assumeValidSDL: true }), executor: (req) => this.#execute(req) };
  }

  static async load(file: SourceFile, runtime: UpstreamRuntime): Promise<RemoteSource> {
    if (!file.upstream.introspect) return new RemoteSource(file, runtime);
    const probe = new RemoteSource({ ...file, document: { kind: Kind.DOCUMENT, definitions: [] } }, runtime);
    const result = await probe.#send(getIntrospectionQuery(), {}, undefined, undefined, true);
    if (!result.data) throw new Error(`introspection returned no data${result.errors ? `: ${result.errors[0]?.message}` : ''}`);
    const sdl = printSchema(buildClientSchema(result.data as never));
    const introspected = parse(new Source(sdl, `${file.file} (introspected)`));
    const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [...file.document.definitions, ...introspected.definitions] };
    return new RemoteSource({ ...file, document }, runtime);
  }

  /** The completer knows the entity keys that delegated selections must carry. */
  attach(completer: EntityCompleter): void {
    this.#completer = completer;
  }

  resolverFor(field: FieldModel): Resolver {
    if (!ROOT_TYPES.has(field.typeName)) return defaultMergedResolver as Resolver;
    const operation = field.typeName === 'Mutation' ? OperationTypeNode.MUTATION : OperationTypeNode.QUERY;
    return (_parent, args, ctx, info) =>
      delegateToSchema({ schema: this.subschema, operation, fieldName: field.name, args, context: ctx, info, fieldNodes: this.#keyedFieldNodes(info) });
  }

  lookup(field: FieldModel, keyField: string, keyArg: string, batched: boolean): EntityLookup {
    const subschema = this.subschema;
    const source = this.file;
    return {
      source,
      keyField,
      async complete(objects, copy, ctx, info) {
        const returnType = info.schema.getType(getNamedType(info.returnType).name) as GraphQLNamedType as never;
        const keys = objects.map((o) => o[keyField]);
        const results = (await batchDelegateToSchema({
          schema: subschema,
          operation: OperationTypeNode.QUERY,
          fieldName: field.name,
          key: keys,
          argsFromKeys: batched ? (k: readonly unknown[]) => ({ [keyArg]: k }) : undefined,
          context: ctx,
          info,
          returnType,
        })) as unknown[];
        objects.forEach((obj, i) => copyExternal(obj, results[i], copy));
      },
    };
  }

  /** Adds the key field to every entity selection, so local sources can complete it later. */
  #keyedFieldNodes(info: GraphQLResolveInfo): FieldNode[] {
    let nodes = this.#withKeys.get(info.fieldNodes);
    if (!nodes) {
      const type = getNamedType(info.returnType);
      nodes = info.fieldNodes.map((n) => (n.selectionSet ? { ...n, selectionSet: this.#addKeys(n.selectionSet, type, info.schema) } : n));
      this.#withKeys.set(info.fieldNodes, nodes);
    }
    return nodes;
  }

  #addKeys(set: SelectionSetNode, type: GraphQLNamedType, schema: GraphQLSchema): SelectionSetNode {
    if (!isObjectType(type)) return set;
    const fields = type.getFields();
    const selections = set.selections.map((sel) => {
      if (sel.kind === Kind.FIELD && sel.selectionSet && fields[sel.name.value]) {
        return { ...sel, selectionSet: this.#addKeys(sel.selectionSet, getNamedType(fields[sel.name.value].type), schema) };
      }
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
        return t ? { ...sel, selectionSet: this.#addKeys(sel.selectionSet, t, schema) } : sel;
      }
      return sel;
    });
    const key = this.#completer?.keyFieldOf(type.name);
    if (key && !selections.some((s) => s.kind === Kind.FIELD && s.name.value === key && !s.alias)) {
      selections.push({ kind: Kind.FIELD, name: { kind: Kind.NAME, value: key } });
    }
    return { ...set, selections };
  }

  #execute(request: ExecutionRequest): Promise<ExecutionResult> {
    const idempotent = request.operationType === 'query';
    return this.#send(print(request.document), request.variables ?? {}, request.operationName, request.context as QuiltContext | undefined, idempotent);
  }

  async #send(query: string, variables: Record<string, unknown>, operationName: string | undefined, ctx: QuiltContext | undefined, idempotent: boolean): Promise<ExecutionResult> {
    const { config, cluster, http } = this.runtime;
    const headers = ctx ? upstreamHeaders(config, { jwt: ctx.jwt, headers: ctx.headers }, ctx) : { accept: 'application/json' };
    headers['content-type'] = 'application/json';
    headers.accept = 'application/graphql-response+json, application/json';
    const body = JSON.stringify({ query, variables, operationName });
    const detail = { method: 'POST', path: config.endpoint };
    let response;
    try {
      response = await cluster.call(
        async (replica, tryTimeoutMs) => {
          const answer = await http.send(replica.url, { method: 'POST', path: config.endpoint, headers, body, timeoutMs: tryTimeoutMs });
          if (answer.status >= 500) throw new TransportFailure('status', true, replica.url, `HTTP ${answer.status}`, { status: answer.status, answer });
          return answer;
        },
        { idempotent, routing: callRouting(ctx, config.endpoint) },
      );
    } catch (e) {
      const error = transportError(config.name, config.timeoutMs, e, detail);
      throw ctx ? logged(ctx, error) : error;
    }
    let json: ExecutionResult | undefined;
    try {
      json = JSON.parse(response.text) as ExecutionResult;
    } catch {
      json = undefined;
    }
    // A GraphQL server may answer 4xx with a well-formed errors list; anything else is an error.
    if (!json || typeof json !== 'object' || (!('data' in json) && !('errors' in json))) {
      const error = response.status >= 400
        ? upstreamError(config.name, response.status, { ...detail, body: response.text.slice(0, 500) })
        : upstreamBadResponse(config.name, { ...detail, body: response.text.slice(0, 200) });
      throw ctx ? logged(ctx, error) : error;
    }
    return json;
  }
}

function copyExternal(target: Record<string, unknown>, result: unknown, copy: readonly string[]): void {
  if (result instanceof Error) {
    for (const key of copy) target[key] = result;
    return;
  }
  if (result === null || typeof result !== 'object') return;
  for (const key of Reflect.ownKeys(result)) {
    if ((target as Record<string | symbol, unknown>)[key] === undefined) {
      (target as Record<string | symbol, unknown>)[key] = (result as Record<string | symbol, unknown>)[key];
    }
  }
}
