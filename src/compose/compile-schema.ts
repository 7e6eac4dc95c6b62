// The compiler of local sources into one flat executable schema (docs/ARCHITECTURE.md,
// "Compile local sources, delegate to remote ones").
// Type definitions are merged with @graphql-tools/merge; every field gets at most one
// resolver, generated here once: an upstream call, a property access, or a delegation to a
// remote GraphQL source, wrapped in entity completion when it returns a shared type.
import { mergeTypeDefs } from '@graphql-tools/merge';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { type DocumentNode, type GraphQLFieldResolver, type GraphQLSchema, Kind, parse, printSchema } from 'graphql';
import { SECURITY_DIRECTIVES_SDL, stripQuiltDirectives } from '../config/directives.js';
import { type LoadedFolder, type SourceFile, sortProblems } from '../config/load-folder.js';
import { ProblemList } from '../config/problems.js';
import type { GrpcCall } from '../connectors/grpc/grpc-call.js';
import type { UpstreamRuntime } from '../connectors/upstream-call.js';
import { ConfigError } from '../errors.js';
import type { QuiltContext } from '../request-context/context.js';
import { getPath } from '../templates/placeholders.js';
import type { PreparedClusters, UpstreamRegistry } from '../upstream/registry.js';
import { fromPathResolver, upstreamFieldResolver } from './call-fields.js';
import { callPlaceholders, checkModel, mergeKeyField } from './checks.js';
import { CallCompiler } from './compile-calls.js';
import { CallEntityLookup, EntityCompleter, type EntityLookup } from './entities.js';
import { GrpcSource } from './grpc-source.js';
import {
  buildModel,
  type CompositionModel,
  callOf,
  type FieldModel,
  isListType,
  namedTypeOf,
  selectionFieldNames,
} from './model.js';
import { RemoteSource } from './remote-source.js';

export interface CompiledSchema {
  schema: GraphQLSchema;
  sdl: string;
  /** The pools this schema calls through: UpstreamRegistry.commit() serves them. */
  clusters: PreparedClusters;
  sources: SourceFile[];
}

type Resolver = GraphQLFieldResolver<unknown, QuiltContext>;

// Kept in the served schema for the security plugins to read.
const SECURITY_DIRECTIVES = parse(SECURITY_DIRECTIVES_SDL);

export async function compileSchema(loaded: LoadedFolder, registry: UpstreamRegistry): Promise<CompiledSchema> {
  try {
    return await compile(loaded, registry);
  } catch (e) {
    registry.discard();
    throw e;
  }
}

async function compile(loaded: LoadedFolder, registry: UpstreamRegistry): Promise<CompiledSchema> {
  const files = loaded.sources;
  const clusters = registry.prepare(files.map((f) => f.upstream.cluster));
  const upstreams = new Map<string, UpstreamRuntime>(
    files.map((f) => [
      f.upstream.name,
      { config: f.upstream, cluster: clusters.clusters.get(f.upstream.name)!, http: registry.http },
    ]),
  );
  const problems = new ProblemList();
  for (const p of loaded.problems) problems.add(p);
  const remotes = new Map<SourceFile, RemoteSource>();
  const grpcSources = new Map<SourceFile, GrpcSource>();
  // A remote source's types are its SDL, written in the file or fetched by introspection.
  const sources: SourceFile[] = [];
  for (const file of files) {
    if (file.upstream.protocol === 'GRPC') {
      const grpc = GrpcSource.load(file, registry, problems);
      if (grpc) grpcSources.set(file, grpc);
    }
    if (file.upstream.protocol !== 'GRAPHQL') {
      sources.push(file);
      continue;
    }
    try {
      const remote = await RemoteSource.load(file, upstreams.get(file.upstream.name)!);
      remotes.set(remote.file, remote);
      sources.push(remote.file);
    } catch (e) {
      if (e instanceof ConfigError) for (const p of e.problems) problems.add(p);
      else problems.at(file.upstream.node, file.file, `cannot load the remote schema: ${(e as Error).message}`);
    }
  }
  const model = buildModel(sources, problems);
  checkModel(model, problems);
  for (const type of model.types.values()) {
    for (const field of [...type.fields.values()].flat())
      if (field.grpc) grpcSources.get(field.source)?.check(field, model, problems);
  }
  if (!problems.empty) throw new ConfigError(sortProblems(problems.items));

  const calls = new CallCompiler(upstreams, grpcSources);
  const lookups = buildLookups(model, calls, remotes);
  const completer = new EntityCompleter(model, lookups, requiredParentFields(model));
  const resolvers: Record<string, Record<string, Resolver | SubscriptionResolver>> = {};
  for (const type of model.types.values()) {
    for (const [fieldName, owners] of type.fields) {
      const resolver =
        type.name === 'Subscription'
          ? subscriptionResolver(owners, calls, completer)
          : fieldResolver(owners, calls, remotes, completer);
      if (resolver) (resolvers[type.name] ??= {})[fieldName] = resolver;
    }
  }
  let schema: GraphQLSchema;
  try {
    schema = makeExecutableSchema({
      typeDefs: mergeTypeDefs([SECURITY_DIRECTIVES, ...sources.map((s) => publicDocument(s.document, model))]),
      resolvers,
    });
  } catch (e) {
    throw new ConfigError([
      {
        file: files[0]?.file ?? '',
        line: 1,
        column: 1,
        message: `the sources do not compose: ${(e as Error).message}`,
      },
    ]);
  }
  for (const remote of remotes.values()) remote.attach(completer);
  return { schema, sdl: printSchema(schema), clusters, sources };
}

interface SubscriptionResolver {
  subscribe: Resolver;
  resolve: Resolver;
}

/** A Subscription field backed by a server-streaming method: each reply is an event. */
function subscriptionResolver(
  owners: FieldModel[],
  calls: CallCompiler,
  completer: EntityCompleter,
): SubscriptionResolver | undefined {
  const field = owners.find((o) => o.grpc);
  if (!field) return undefined;
  const call = calls.compile(field) as GrpcCall;
  const returned = namedTypeOf(field.node.type);
  const identity: Resolver = (payload) => payload;
  return {
    subscribe: (_parent, args, ctx) => call.stream({ args, jwt: ctx.jwt, headers: ctx.headers }, ctx),
    resolve: completer.isEntity(returned) ? completer.wrap(identity, returned, field.source) : identity,
  };
}

function fieldResolver(
  owners: FieldModel[],
  calls: CallCompiler,
  remotes: Map<SourceFile, RemoteSource>,
  completer: EntityCompleter,
): Resolver | undefined {
  const withCall = owners.find((o) => callOf(o));
  const local = owners.find((o) => o.source.upstream.protocol !== 'GRAPHQL');
  const field = withCall ?? local ?? owners[0];
  const remote = remotes.get(field.source);
  let resolver: Resolver | undefined;
  if (withCall) {
    const call = calls.compile(field);
    resolver = upstreamFieldResolver(field, call, {
      list: isListType(field.node.type),
      nullable: field.node.type.kind !== Kind.NON_NULL_TYPE,
    });
  } else if (remote) {
    resolver = remote.resolverFor(field);
  } else if (field.from) {
    resolver = fromPathResolver(field.from);
  }
  const returned = namedTypeOf(field.node.type);
  if (!completer.isEntity(returned)) return resolver;
  return completer.wrap(
    resolver ?? ((parent, _args, _ctx, info) => (parent as Record<string, unknown>)[info.fieldName]),
    returned,
    field.source,
  );
}

function buildLookups(
  model: CompositionModel,
  calls: CallCompiler,
  remotes: Map<SourceFile, RemoteSource>,
): Map<string, Map<SourceFile, EntityLookup>> {
  const lookups = new Map<string, Map<SourceFile, EntityLookup>>();
  for (const field of [...(model.types.get('Query')?.fields.values() ?? [])].flat()) {
    if (!field.merge) continue;
    const typeName = namedTypeOf(field.node.type);
    const type = model.types.get(typeName)!;
    if (type.definedBy.size < 2) continue;
    const keyField = mergeKeyField(field, type.definedBy.get(field.source)?.keySelection)!;
    const args = field.node.arguments ?? [];
    const keyArg = field.merge.keyArg ?? args[0].name.value;
    const batched = isListType(field.node.type);
    let lookup: EntityLookup;
    const remote = remotes.get(field.source);
    if (remote) {
      lookup = remote.lookup(field, keyField, keyArg, batched);
    } else {
      const keyPath = type.fields.get(keyField)?.find((f) => f.source === field.source)?.from ?? [keyField];
      const call = calls.compile(field);
      lookup = new CallEntityLookup(
        `lookup:${field.source.file}:${field.name}`,
        field.source,
        keyField,
        call,
        keyArg,
        batched,
        callOf(field)!.maxBatchSize,
        (raw) => getPath(raw, keyPath),
      );
    }
    let byType = lookups.get(typeName);
    if (!byType) lookups.set(typeName, (byType = new Map()));
    if (!byType.has(field.source)) byType.set(field.source, lookup);
  }
  return lookups;
}

/** Parent fields a resolver reads: {parent.x} in its templates and @computed(selectionSet:). */
function requiredParentFields(model: CompositionModel): Map<string, string[]> {
  const required = new Map<string, string[]>();
  for (const type of model.types.values()) {
    for (const [fieldName, owners] of type.fields) {
      const field = owners.find((o) => callOf(o));
      if (!field) continue;
      const names = new Set(
        callPlaceholders(field)
          .filter((p) => p.root === 'parent')
          .map((p) => p.path[0]),
      );
      for (const owner of owners)
        for (const n of owner.computed ? selectionFieldNames(owner.computed) : []) names.add(n);
      required.set(`${type.name}.${fieldName}`, [...names]);
    }
  }
  return required;
}

/** The SDL clients see: Quilt's directives removed, non-canonical duplicates of a field dropped. */
function publicDocument(document: DocumentNode, model: CompositionModel): DocumentNode {
  return stripQuiltDirectives(document, {
    FieldDefinition: {
      enter(node, _key, _parent, _path, ancestors) {
        const typeNode = ancestors[ancestors.length - 1] as { name?: { value: string } };
        const owners = model.types.get(typeNode?.name?.value ?? '')?.fields.get(node.name.value);
        if (owners?.some((o) => o.canonical) && !owners.some((o) => o.canonical && o.node === node)) return null;
        return undefined;
      },
    },
  });
}
