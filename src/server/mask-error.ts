// What a client may see of an error. Quilt's own coded errors and errors that GraphQL itself
// raises on purpose (validation, variables, remote GraphQL field errors) pass unchanged;
// anything unexpected is logged with its stack and replaced by a generic message, so no
// stack, replica address or upstream body leaves the gateway.
import { GraphQLError } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import type { Logger } from 'pino';

export function createErrorMasker(log: Logger) {
  return function maskError(error: unknown, message: string): Error {
    if (error instanceof GraphQLError) {
      const original = error.originalError;
      if (!original || original instanceof GraphQLError) return error;
      // An Error a resolver returned or threw that is not ours: internal.
      log.error({ err: original, path: error.path }, 'unexpected resolver error');
      return createGraphQLError(message, { nodes: error.nodes, path: error.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    }
    log.error({ err: error }, 'unexpected error');
    return createGraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}
