// What a client may see of an error. Quilt's own coded errors and errors that GraphQL itself
// raises on purpose (validation, variables, remote GraphQL field errors) pass unchanged;
// errors about the client's input get BAD_USER_INPUT; errors graphql-js raises at a path
// because a value does not fit the schema (a null for a non-null field, an enum value nothing
// maps, an object no type resolves) get UPSTREAM_BAD_RESPONSE, since in a gateway that data
// came from an upstream; anything else unexpected is logged with its stack and replaced by a
// generic message, so no stack, replica address or upstream body leaves the gateway.
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { badUserInput, internalError, upstreamDataMismatch } from '../errors.js';

/** graphql-js's completion errors: the resolved value does not fit the field's type. */
const DATA_MISMATCH = [
  /^Cannot return null for non-nullable field /,
  /^Expected Iterable, but did not find one for field /,
  / cannot represent /,
  /^Abstract type ".*" must resolve to an Object type at runtime/,
  /^Runtime Object type (".*" )?is not a possible type for /,
  /^Expected value of type ".*" but got: /,
];

export function createErrorMasker(log: Logger) {
  return function maskError(error: unknown, message: string): Error {
    if (error instanceof GraphQLError) {
      const original = error.originalError;
      // graphql-js reports bad variables and an unknown operation name without a code or a
      // path: they are about the client's input.
      if (!original && !error.path && !error.extensions?.code) {
        return badUserInput(error.message, { nodes: error.nodes, source: error.source, positions: error.positions });
      }
      if (error.path && !error.extensions?.code && DATA_MISMATCH.some((pattern) => pattern.test(error.message))) {
        log.warn({ path: error.path, reason: error.message }, 'upstream data does not fit the schema');
        return upstreamDataMismatch(undefined, withoutValue(error.message), { nodes: error.nodes, path: error.path });
      }
      if (!original || original instanceof GraphQLError) return error;
      // An Error a resolver returned or threw that is not ours: internal.
      log.error({ err: original, path: error.path }, 'unexpected resolver error');
      return internalError(message, { nodes: error.nodes, path: error.path });
    }
    log.error({ err: error }, 'unexpected error');
    return internalError(message);
  };
}

/**
 * The reason without the value that did not fit (it is upstream data; the log has it). An
 * object no member type matches reads the same from graphql-js and from the compiled executor.
 */
function withoutValue(reason: string): string {
  const abstract =
    /^(?:Abstract type "([^"]+)" must resolve|Runtime Object type (?:"[^"]*" )?is not a possible type for "([^"]+)")/.exec(
      reason,
    );
  if (abstract) return `an object of ${abstract[1] ?? abstract[2]} matches none of its member types`;
  return reason.replace(/(cannot represent[^:]*|but got): .*$/s, '$1').replace(/\.$/, '');
}
