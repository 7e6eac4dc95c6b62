// A remote GraphQL API as a source. Delegation is inherent here, so it uses
// @graphql-tools/delegate and batch-delegate (docs/ARCHITECTURE.md, "Compile local sources,
// delegate to remote ones"): root fields delegate with delegateToSchema, merged-type lookups
// with batchDelegateToSchema, and the executor (src/connectors/graphql) sends every request
// through the upstream's cluster like any other call. @defer and @stream are the gateway's:
// the remote is asked for the whole selection (it may know neither directive, and delegation
// would leave a deferred fragment's fields out), and the gateway's executor defers and
// streams the delegated result itself.
import { batchDelegateToSchema } from '@graphql-tools/batch-delegate';
import {
  defaultMergedResolver,
  delegateToSchema,
  isExternalObject,
  type SubschemaConfig,
} from '@graphql-tools/delegate';
import {
  buildASTSchema,
  buildClientSchema,
  type DocumentNode,
  type FieldNode,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  getIntrospectionQuery,
  getNamedType,
  isObjectType,
  Kind,
  OperationTypeNode,
  parse,
  printSchema,
  type SelectionNode,
  type SelectionSetNode,
  Source,
} from 'graphql';
import { stripQuiltDirectives } from '../config/directives.js';
import type { SourceFile } from '../config/load-folder.js';
import { GraphqlExecutor } from '../connectors/graphql/graphql-executor.js';
import type { UpstreamRuntime } from '../connectors/upstream-call.js';
import type { QuiltContext } from '../request-context/context.js';
import type { EntityCompleter, EntityLookup } from './entities.js';
import type { FieldModel } from './model.js';
import { FieldNodesCache } from './selection.js';

type Resolver = GraphQLFieldResolver<unknown, QuiltContext>;
const ROOT_TYPES = new Set(['Query', 'Mutation']);

export class RemoteSource {
  readonly subschema: SubschemaConfig;
  #completer?: EntityCompleter;
  #withKeys = new FieldNodesCache<FieldNode[]>();
  #lookupNodes = new FieldNodesCache<FieldNode[]>();

  private constructor(
    readonly file: SourceFile,
    runtime: UpstreamRuntime,
  ) {
    const typesOnly = stripQuiltDirectives(file.document);
    const executor = new GraphqlExecutor(runtime);
    this.subschema = {
      schema: buildASTSchema(typesOnly, { assumeValidSDL: true }),
      executor: (req) => executor.execute(req),
    };
  }

  static async load(file: SourceFile, runtime: UpstreamRuntime): Promise<RemoteSource> {
    if (!file.upstream.introspect) return new RemoteSource(file, runtime);
    const result = await new GraphqlExecutor(runtime).send(getIntrospectionQuery(), {}, undefined, undefined, true);
    if (!result.data)
      throw new Error(`introspection returned no data${result.errors ? `: ${result.errors[0]?.message}` : ''}`);
    const sdl = printSchema(buildClientSchema(result.data as never));
    const introspected = parse(new Source(sdl, `${file.file} (introspected)`));
    const document: DocumentNode = {
      kind: Kind.DOCUMENT,
      definitions: [...file.document.definitions, ...introspected.definitions],
    };
    return new RemoteSource({ ...file, document }, runtime);
  }

  /** The completer knows the entity keys that delegated selections must carry. */
  attach(completer: EntityCompleter): void {
    this.#completer = completer;
  }

  resolverFor(field: FieldModel): Resolver {
    if (!ROOT_TYPES.has(field.typeName)) return remoteFieldResolver;
    const operation = field.typeName === 'Mutation' ? OperationTypeNode.MUTATION : OperationTypeNode.QUERY;
    return (_parent, args, ctx, info) =>
      delegateToSchema({
        schema: this.subschema,
        operation,
        fieldName: field.name,
        args,
        context: ctx,
        info,
        fieldNodes: this.#keyedFieldNodes(info),
      });
  }

  lookup(field: FieldModel, keyField: string, keyArg: string, batched: boolean): EntityLookup {
    const subschema = this.subschema;
    const source = this.file;
    const lookupNodes = this.#lookupNodes;
    return {
      source,
      keyField,
      async complete(objects, keys, copy, ctx, info) {
        const returnType = info.schema.getType(getNamedType(info.returnType).name) as GraphQLNamedType as never;
        const results = (await batchDelegateToSchema({
          schema: subschema,
          operation: OperationTypeNode.QUERY,
          fieldName: field.name,
          key: keys,
          argsFromKeys: batched ? (k: readonly unknown[]) => ({ [keyArg]: k }) : undefined,
          context: ctx,
          info,
          fieldNodes: cached(lookupNodes, info.fieldNodes, () => info.fieldNodes.map(withoutIncremental)),
          returnType,
        })) as unknown[];
        for (const [i, obj] of objects.entries()) copyExternal(obj, results[i], copy);
      },
    };
  }

  /** Adds the key field to every entity selection, so local sources can complete it later. */
  #keyedFieldNodes(info: GraphQLResolveInfo): FieldNode[] {
    return cached(this.#withKeys, info.fieldNodes, () => {
      const type = getNamedType(info.returnType);
      return info.fieldNodes.map((node) => {
        const n = withoutIncremental(node);
        return n.selectionSet ? { ...n, selectionSet: this.#addKeys(n.selectionSet, type, info.schema) } : n;
      });
    });
  }

  #addKeys(set: SelectionSetNode, type: GraphQLNamedType, schema: GraphQLSchema): SelectionSetNode {
    if (!isObjectType(type)) return set;
    const fields = type.getFields();
    const selections = set.selections.map((sel) => {
      if (sel.kind === Kind.FIELD && sel.selectionSet && fields[sel.name.value]) {
        return {
          ...sel,
          selectionSet: this.#addKeys(sel.selectionSet, getNamedType(fields[sel.name.value].type), schema),
        };
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
}

/**
 * A field the remote source owns, below its root fields. Delegated results are keyed by response
 * key (the alias); defaultMergedResolver reads them so only from an object it annotated, and
 * reads a plain object by field name. The objects an entity lookup copied onto a local object
 * (copyExternal) and what lies below them are plain, so an aliased field (`rid: id`, or the
 * `__responseCacheId: id` the response cache adds) would read nothing: read the alias there.
 */
const remoteFieldResolver: Resolver = (parent, args, ctx, info) => {
  const alias = info.fieldNodes[0]?.alias?.value;
  if (alias !== undefined && parent && typeof parent === 'object' && !isExternalObject(parent) && alias in parent)
    return (parent as Record<string, unknown>)[alias];
  return (defaultMergedResolver as Resolver)(parent, args, ctx, info);
};

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

function cached(cache: FieldNodesCache<FieldNode[]>, key: readonly FieldNode[], make: () => FieldNode[]): FieldNode[] {
  let nodes = cache.get(key);
  if (!nodes) cache.set(key, (nodes = make()));
  return nodes;
}

/** A selection without @defer and @stream, all the way down (unchanged when it has neither). */
function withoutIncremental<T extends SelectionNode>(node: T): T {
  const directives = node.directives?.filter((d) => d.name.value !== 'defer' && d.name.value !== 'stream');
  const set = 'selectionSet' in node ? node.selectionSet : undefined;
  const selections = set?.selections.map(withoutIncremental);
  const sameDirectives = directives?.length === node.directives?.length;
  const sameSelections = !selections || selections.every((s, i) => s === set!.selections[i]);
  if (sameDirectives && sameSelections) return node;
  return {
    ...node,
    directives,
    ...(set && selections ? { selectionSet: { ...set, selections } } : {}),
  };
}
