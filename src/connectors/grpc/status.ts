// gRPC outcomes -> the error catalogue (src/errors.ts). Status details and replica
// addresses go to QuiltError.detail (the log), never into the message a client reads, the
// same split the HTTP connector makes.
import {
  type QuiltError,
  upstreamError,
  upstreamRejected,
  upstreamTimeout,
  upstreamUnavailable,
} from '../../errors.js';
import { GrpcStatusError } from '../../upstream/transport/grpc.js';
import { TransportFailure } from '../../upstream/types.js';
import { transportError } from '../call-rules.js';
import { NOT_FOUND } from '../upstream-call.js';

/**
 * NOT_FOUND -> the NOT_FOUND symbol (the field decides null vs error); INVALID_ARGUMENT ->
 * BAD_USER_INPUT; UNAUTHENTICATED -> UNAUTHENTICATED; PERMISSION_DENIED -> FORBIDDEN;
 * DEADLINE_EXCEEDED -> UPSTREAM_TIMEOUT; UNAVAILABLE -> UPSTREAM_UNAVAILABLE; anything else
 * UPSTREAM_ERROR with extensions { upstream, status: '<CODE_NAME>' }.
 */
export function grpcStatusToError(
  upstream: string,
  e: GrpcStatusError,
  timeoutMs?: number,
): QuiltError | typeof NOT_FOUND {
  const detail = { replica: e.replica, grpcStatus: e.codeName, grpcDetails: e.details };
  switch (e.codeName) {
    case 'NOT_FOUND':
      return NOT_FOUND;
    case 'INVALID_ARGUMENT':
      return upstreamRejected(upstream, 'BAD_USER_INPUT', detail);
    case 'UNAUTHENTICATED':
      return upstreamRejected(upstream, 'UNAUTHENTICATED', detail);
    case 'PERMISSION_DENIED':
      return upstreamRejected(upstream, 'FORBIDDEN', detail);
    case 'DEADLINE_EXCEEDED':
      // The replica's own deadline ran out (the client-side one is a TransportFailure).
      return upstreamTimeout(upstream, timeoutMs, detail);
    case 'UNAVAILABLE':
      return upstreamUnavailable(upstream, detail);
    default:
      return upstreamError(upstream, e.codeName, detail);
  }
}

/**
 * Any failure of a gRPC call (what GrpcTransport or the cluster threw) as the field's
 * outcome: a status through grpcStatusToError, a TransportFailure (connect/timeout) as
 * UPSTREAM_UNAVAILABLE/UPSTREAM_TIMEOUT exactly as the HTTP connector reports it.
 */
export function grpcCallError(
  upstream: string,
  timeoutMs: number,
  e: unknown,
  detail: Record<string, unknown>,
): QuiltError | typeof NOT_FOUND {
  // A status the cluster counted as a replica failure (UNAVAILABLE) carries the status itself.
  if (e instanceof TransportFailure && e.cause instanceof GrpcStatusError) e = e.cause;
  if (e instanceof GrpcStatusError) {
    const mapped = grpcStatusToError(upstream, e, timeoutMs);
    if (mapped !== NOT_FOUND) Object.assign(mapped.detail, detail);
    return mapped;
  }
  return transportError(upstream, timeoutMs, e, detail);
}
