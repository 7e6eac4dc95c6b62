// What a client may see of an error. Quilt's own coded errors and errors that GraphQL itself
// raises on purpose (validation, variables, remote GraphQL field errors) pass unchanged;
// errors about the client's input get BAD_USER_INPUT; anything unexpected is logged with its stack and replaced by a generic message, so no
// stack, replica address or upstream body leaves the gateway.
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { badUserInput, internalError } from '../errors.js';

export function createErrorMasker(log: Logger) {
  return function maskError(error: unknown, message: string): Error {
    if (error instanceof GraphQLError) {
      const original = error.originalError;
      // graphql-js reports bad variables and an unknown operation name without a code or a
      // path: they are about the client's input.
      if (!original && !error.path && !error.extensions?.code) {
        return badUserInput(error.message, { nodes: error.nodes, source: error.source, positions: error.positions });
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
