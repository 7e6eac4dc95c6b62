// The compiler of local sources into one flat executable schema (docs/ARCHITECTURE.md,
// "Compile local sources, delegate to remote ones").
// Type definitions are merged with @graphql-tools/merge; every field gets at most one
// resolver, generated here once: an upstream call, a property access, or a delegation to a
// remote GraphQL source, wrapped in entity completion when it returns a shared type.
import { mergeTypeDefs } from '@graphql-tools/merge';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { type DocumentNode, type GraphQLSchema, parse, printSchema } from 'graphql';
import { SERVED_DIRECTIVES_SDL, stripQuiltDirectives } from '../config/directives.js';
import { type LoadedFolder, type SourceFile, sortProblems } from '../config/load-folder.js';
import { ProblemList } from '../config/problems.js';
import type { UpstreamRuntime } from '../connectors/upstream-call.js';
import { ConfigError } from '../errors.js';
import type { PreparedClusters, UpstreamRegistry } from '../upstream/registry.js';
import { checkModel } from './checks.js';
import { type BatchObserver, CallCompiler } from './compile-calls.js';
import { EntityCompleter } from './entities.js';
import { buildLookups, requiredParentFields } from './entity-lookups.js';
import { FieldMapping } from './field-mapping.js';
import { fieldResolvers } from './field-resolvers.js';
import { GrpcSource } from './grpc-source.js';
import { InputKeys } from './input-keys.js';
import { buildModel, type CompositionModel } from './model.js';
import type { RemoteSource } from './remote-source.js';
import { typeResolvers } from './type-resolvers.js';

export interface CompiledSchema {
  schema: GraphQLSchema;
  sdl: string;
  /** The pools this schema calls through: UpstreamRegistry.commit() serves them. */
  clusters: PreparedClusters;
  sources: SourceFile[];
}

// Kept in the served schema for the security plugins and the response cache to read.
const SERVED_DIRECTIVES = parse(SERVED_DIRECTIVES_SDL);

// @defer and @stream as @graphql-tools/executor (yoga's executor) and yoga's defer-stream
// plugin define them; in the schema, the plugin finds them there and leaves the schema as it is.
const DEFER_STREAM_DIRECTIVES = parse(`
directive @defer(if: Boolean! = true, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT
directive @stream(if: Boolean! = true, label: String, initialCount: Int = 0) on FIELD
`);

export interface CompileOptions {
  /** Told the size of every batched call (metrics); none: nothing is measured. */
  batches?: BatchObserver;
  /** Declare @defer and @stream, so that operations may use them (the gateway's --defer-stream). */
  deferStream?: boolean;
}

export async function compileSchema(
  loaded: LoadedFolder,
  registry: UpstreamRegistry,
  options: CompileOptions = {},
): Promise<CompiledSchema> {
  try {
    return await compile(loaded, registry, options);
  } catch (e) {
    registry.discard();
    throw e;
  }
}

async function compile(
  loaded: LoadedFolder,
  registry: UpstreamRegistry,
  options: CompileOptions,
): Promise<CompiledSchema> {
  const files = loaded.sources;
  const clusters = registry.prepare(files.map((f) => f.upstream.cluster));
  const upstreams = new Map<string, UpstreamRuntime>(
    files.map((f) => [
      f.upstream.name,
      {
        config: f.upstream,
        cluster: clusters.clusters.get(f.upstream.name)!,
        http: registry.http,
        httpCache: f.upstream.httpCache ? registry.httpCache(f.upstream.name) : undefined,
      },
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
      // Loaded with the first remote source: a gateway of REST and gRPC sources never loads
      // @graphql-tools/delegate (about 3 MB less resident on the demo schemas).
      const { RemoteSource } = await import('./remote-source.js');
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
  const inputKeys = new InputKeys(sources, problems);
  for (const type of model.types.values()) {
    for (const field of [...type.fields.values()].flat())
      if (field.grpc) grpcSources.get(field.source)?.check(field, model, problems);
  }
  if (!problems.empty) throw new ConfigError(sortProblems(problems.items));

  const calls = new CallCompiler(upstreams, grpcSources, options.batches);
  const mapping = new FieldMapping(model);
  const lookups = buildLookups(model, calls, remotes, mapping);
  const completer = new EntityCompleter(model, lookups, requiredParentFields(model), mapping);
  const resolvers = {
    ...fieldResolvers({ model, calls, remotes, completer, mapping, inputKeys }),
    ...typeResolvers(model),
  };
  let schema: GraphQLSchema;
  try {
    schema = makeExecutableSchema({
      typeDefs: mergeTypeDefs([
        SERVED_DIRECTIVES,
        ...(options.deferStream ? [DEFER_STREAM_DIRECTIVES] : []),
        ...sources.map((s) => publicDocument(s.document, model)),
      ]),
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
