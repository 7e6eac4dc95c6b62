// One compiled upstream call per field that makes one: the protocol's connector with the
// field's templates turned into functions at load time.
import type { SourceFile } from '../config/load-folder.js';
import { HttpCall } from '../connectors/http/http-call.js';
import type { UpstreamCall, UpstreamRuntime } from '../connectors/upstream-call.js';
import { compileJson, compileText, compileUrl } from '../templates/render.js';
import type { GrpcSource } from './grpc-source.js';
import { type FieldModel, isListType, namedTypeOf } from './model.js';

/** Told the number of keys of each batched upstream call (the batch-size histogram). */
export interface BatchObserver {
  batch(upstream: string, field: string, size: number): void;
}

/** Records one batched call of a field. */
export type BatchRecorder = (size: number) => void;

export class CallCompiler {
  constructor(
    private readonly upstreams: Map<string, UpstreamRuntime>,
    private readonly grpcSources: Map<SourceFile, GrpcSource>,
    private readonly batches?: BatchObserver,
  ) {}

  /** The recorder of a batched field's calls; undefined when nobody observes (no work per call). */
  batchRecorder(field: FieldModel): BatchRecorder | undefined {
    const batches = this.batches;
    if (!batches) return undefined;
    const upstream = field.source.upstream.name;
    const name = `${field.typeName}.${field.name}`;
    return (size) => batches.batch(upstream, name, size);
  }

  compile(field: FieldModel): UpstreamCall {
    const upstream = this.upstreams.get(field.source.upstream.name)!;
    const grpc = this.grpcSources.get(field.source);
    if (field.grpc && grpc) return grpc.compile(field, upstream);
    return compileHttpCall(field, upstream);
  }
}

/** What a 204 or a text/plain answer means for this field (a batched field always wants JSON). */
function nonJsonResult(field: FieldModel): 'Boolean' | 'String' | 'other' {
  if (field.http?.key || isListType(field.node.type)) return 'other';
  const named = namedTypeOf(field.node.type);
  return named === 'Boolean' || named === 'String' ? named : 'other';
}

function compileHttpCall(field: FieldModel, upstream: UpstreamRuntime): UpstreamCall {
  const http = field.http;
  if (http) {
    return new HttpCall({
      upstream,
      method: http.method,
      url: compileUrl(http.url),
      body: http.body === undefined || http.body === null ? undefined : compileJson(http.body),
      bodyFormat: http.bodyFormat,
      headers: http.headers.map((h) => ({ name: h.name.toLowerCase(), render: compileText(h.value) })),
      result: http.result ? http.result.split('.') : undefined,
      timeoutMs: http.timeoutMs,
      returns: nonJsonResult(field),
      errorMessage: http.errorMessage ? http.errorMessage.split('.') : undefined,
      urlTemplate: http.url,
    });
  }
  throw new Error(`${field.typeName}.${field.name} makes no upstream call this gateway can compile`);
}
