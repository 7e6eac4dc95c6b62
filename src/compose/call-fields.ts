// Resolvers for fields that make an upstream call (@http, @grpc): a plain call per field,
// or, with `key:`, one batched call per request tick for all parents (DataLoader), read back
// per key by batch-replies.ts (`match:`, `pick:`). Protocol-neutral: the call object knows
// its protocol.
import DataLoader from 'dataloader';
import type { GraphQLFieldResolver } from 'graphql';
import { NOT_FOUND, type UpstreamCall } from '../connectors/upstream-call.js';
import { upstreamError } from '../errors.js';
import { perRequest, type QuiltContext } from '../request-context/context.js';
import { getPath, isMissing } from '../templates/placeholders.js';
import { compileJson } from '../templates/render.js';
import { batchReplyReader } from './batch-replies.js';
import type { BatchRecorder } from './compile-calls.js';
import { callOf, type FieldModel } from './model.js';

type Resolver = GraphQLFieldResolver<unknown, QuiltContext>;

export interface FieldShape {
  list: boolean;
  nullable: boolean;
}

/** `renameArgs`: input fields sent under another JSON key (input-keys.ts). */
export function upstreamFieldResolver(
  field: FieldModel,
  call: UpstreamCall,
  shape: FieldShape,
  renameArgs?: (args: Record<string, unknown>) => Record<string, unknown>,
  recordBatch?: BatchRecorder,
): Resolver {
  const resolver = callResolver(field, call, shape, recordBatch);
  return renameArgs ? (parent, args, ctx, info) => resolver(parent, renameArgs(args), ctx, info) : resolver;
}

function callResolver(field: FieldModel, call: UpstreamCall, shape: FieldShape, recordBatch?: BatchRecorder): Resolver {
  const http = callOf(field)!;
  const upstream = field.source.upstream.name;
  // Not found on a nullable single object is "no such thing"; anywhere else it is an error.
  const notFound = () => {
    if (!shape.list && shape.nullable) return null;
    throw upstreamError(upstream, 404, {});
  };
  if (!http.key) {
    return (parent, args, ctx) =>
      call
        .run({ args, parent, jwt: ctx.jwt, headers: ctx.headers }, ctx)
        .then((raw) => (raw === NOT_FOUND ? notFound() : raw));
  }
  const keyOf = compileJson(http.key);
  const readReply = batchReplyReader(http.match ?? '', http.pick, shape.list);
  const loaderPrefix = `batch:${field.source.file}:${field.typeName}.${field.name}:`;
  return (parent, args, ctx) => {
    const key = keyOf({ args, parent, jwt: ctx.jwt, headers: ctx.headers });
    if (isMissing(key)) return shape.list ? [] : null;
    const loader = perRequest(
      ctx,
      loaderPrefix + JSON.stringify(args),
      () =>
        new DataLoader<string, unknown>(
          async (keys) => {
            recordBatch?.(keys.length);
            const raw = await call.run({ args, keys, jwt: ctx.jwt, headers: ctx.headers }, ctx);
            if (raw === NOT_FOUND) return keys.map(() => (shape.list ? [] : null));
            return readReply(raw, keys);
          },
          { maxBatchSize: http.maxBatchSize },
        ),
    );
    return loader.load(String(key));
  };
}

/** `@from(path: "a.b")`: plain property access generated once per field. */
export function fromPathResolver(path: readonly string[]): Resolver {
  if (path.length === 1) {
    const [a] = path;
    return (parent) => (parent as Record<string, unknown>)[a];
  }
  return (parent) => {
    const head = (parent as Record<string, unknown>)[path[0]];
    // An Error left by a failed entity lookup surfaces as this field's error.
    return head instanceof Error ? head : getPath(head, path.slice(1));
  };
}
