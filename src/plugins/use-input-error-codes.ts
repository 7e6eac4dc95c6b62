// graphql-js reports bad variables (missing, wrong type) as request errors without a code;
// DESIGN.md section 6 calls them BAD_USER_INPUT. They are the only errors execution raises
// before any field runs, so they are the ones without a path in a result without data.
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export function useInputErrorCodes(): Plugin {
  return {
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          const r = result as ExecutionResult;
          if (r.data !== undefined || !r.errors?.some((e) => !e.path && !e.extensions?.code)) return;
          setResult({
            ...r,
            errors: r.errors.map((e) =>
              e.path || e.extensions?.code ? e : new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, originalError: e.originalError, extensions: { ...e.extensions, code: 'BAD_USER_INPUT' } }),
            ),
          });
        },
      };
    },
  };
}
