// The one resolver of each field of the flat schema, chosen once at load time: the call of
// the owner that makes one, a delegation for a remote GraphQL owner, a property access for
// the rest (the path field-mapping.ts says it reads), wrapped in entity completion when the
// field returns a type whose objects need it.
import { type GraphQLFieldResolver, type GraphQLResolveInfo, getDirectiveValues, Kind } from 'graphql';
import type { SourceFile } from '../config/load-folder.js';
import type { GrpcCall } from '../connectors/grpc/grpc-call.js';
import type { QuiltContext } from '../request-context/context.js';
import { fromPathResolver, upstreamFieldResolver } from './call-fields.js';
import type { CallCompiler } from './compile-calls.js';
import type { EntityCompleter } from './entities.js';
import type { FieldMapping } from './field-mapping.js';
import type { InputKeys } from './input-keys.js';
import { type CompositionModel, callOf, type FieldModel, isListType, namedTypeOf } from './model.js';
import type { RemoteSource } from './remote-source.js';

type Resolver = GraphQLFieldResolver<unknown, QuiltContext>;

interface SubscriptionResolver {
  subscribe: Resolver;
  resolve: Resolver;
}

export type ResolverMap = Record<string, Record<string, Resolver | SubscriptionResolver>>;

export interface ResolverInputs {
  model: CompositionModel;
  calls: CallCompiler;
  remotes: Map<SourceFile, RemoteSource>;
  completer: EntityCompleter;
  mapping: FieldMapping;
  inputKeys: InputKeys;
}

export function fieldResolvers(inputs: ResolverInputs): ResolverMap {
  const resolvers: ResolverMap = {};
  for (const type of inputs.model.types.values()) {
    for (const [fieldName, owners] of type.fields) {
      const resolver =
        type.name === 'Subscription' ? subscriptionResolver(owners, inputs) : fieldResolver(owners, inputs);
      if (resolver) (resolvers[type.name] ??= {})[fieldName] = resolver;
    }
  }
  return resolvers;
}

/** A Subscription field backed by a server-streaming method: each reply is an event. */
function subscriptionResolver(
  owners: FieldModel[],
  { calls, completer }: ResolverInputs,
): SubscriptionResolver | undefined {
  const field = owners.find((o) => o.grpc);
  if (!field) return undefined;
  const call = calls.compile(field) as GrpcCall;
  const returned = namedTypeOf(field.node.type);
  const identity: Resolver = (payload) => payload;
  return {
    subscribe: (_parent, args, ctx) => call.stream({ args, jwt: ctx.jwt, headers: ctx.headers }, ctx),
    resolve: completer.needsCompletion(returned, field.source)
      ? completer.wrap(identity, returned, field.source)
      : identity,
  };
}

function fieldResolver(
  owners: FieldModel[],
  { calls, remotes, completer, mapping, inputKeys }: ResolverInputs,
): Resolver | undefined {
  const withCall = owners.find((o) => callOf(o));
  const local = owners.find((o) => o.source.upstream.protocol !== 'GRAPHQL');
  const field = withCall ?? local ?? owners[0];
  const remote = remotes.get(field.source);
  let resolver: Resolver | undefined;
  const returned = namedTypeOf(field.node.type);
  if (withCall) {
    const call = calls.compile(field);
    const list = isListType(field.node.type);
    const renameArgs = inputKeys.argsRenamer(field);
    resolver = upstreamFieldResolver(
      field,
      call,
      { list, nullable: field.node.type.kind !== Kind.NON_NULL_TYPE },
      renameArgs,
      calls.batchRecorder(field),
    );
    if (list && field.grpc && (call as GrpcCall).streaming && !completer.needsCompletion(returned, field.source))
      resolver = streamedWhenAsked(resolver, call as GrpcCall, renameArgs);
  } else if (remote) {
    resolver = remote.resolverFor(field);
  } else {
    const path = mapping.readPath(field);
    // The field's own name needs no resolver: graphql-js reads it.
    if (path.length !== 1 || path[0] !== field.name) resolver = fromPathResolver(path);
  }
  if (!completer.needsCompletion(returned, field.source)) return resolver;
  return completer.wrap(
    resolver ?? ((parent, _args, _ctx, info) => (parent as Record<string, unknown>)[info.fieldName]),
    returned,
    field.source,
  );
}

/**
 * A server-streaming method behind a list field, asked for with @stream: the replies go to the
 * executor as they arrive, each one a part of the response, instead of being collected first.
 */
function streamedWhenAsked(
  collected: Resolver,
  call: GrpcCall,
  renameArgs: ((args: Record<string, unknown>) => Record<string, unknown>) | undefined,
): Resolver {
  return (parent, args, ctx, info) => {
    if (!streamAsked(info)) return collected(parent, args, ctx, info);
    const scope = { args: renameArgs ? renameArgs(args) : args, parent, jwt: ctx.jwt, headers: ctx.headers };
    return call.items(scope, ctx);
  };
}

function streamAsked(info: GraphQLResolveInfo): boolean {
  const node = info.fieldNodes[0];
  if (!node.directives?.some((d) => d.name.value === 'stream')) return false;
  const stream = info.schema.getDirective('stream');
  return stream != null && getDirectiveValues(stream, node, info.variableValues)?.if !== false;
}
