// --no-introspection: __schema and __type are refused by graphql-js's
// NoSchemaIntrospectionCustomRule (__typename stays allowed), and so is the cost preview's
// __cost (the cost directive spec, 6.3: turning introspection off must forbid it too; README
// "Cost preview"), with the same message. Both rules join every validation rather than go
// through yoga's plugin, which decides per HTTP request and so would let a WebSocket
// operation (no HTTP request) introspect. And no error suggests names
// ("Did you mean ...?"), which would let a client rebuild the schema by guessing.
// graphql-armor masks the field, argument and type suggestions of validation errors; the
// enum value suggestions ('Did you mean the enum value "X"?'), which its pattern misses and
// which also come from variable coercion at execution, are removed here.

import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { type ExecutionResult, GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/** __cost as NoSchemaIntrospectionCustomRule treats __schema: refused wherever it is asked. */
const NoCostIntrospectionRule: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value !== '__cost') return;
    context.reportError(
      new GraphQLError(
        'GraphQL introspection has been disabled, but the requested query contained the field "__cost".',
        {
          nodes: node,
        },
      ),
    );
  },
});
/** graphql-js's own error for the same field, which the rule above replaces. */
const UNKNOWN_COST_FIELD = /^Cannot query field "__cost" on type /;

function withoutSuggestion<E extends Error>(error: E): E | GraphQLError {
  if (!(error instanceof GraphQLError) || !error.message.includes('Did you mean')) return error;
  return new GraphQLError(error.message.replace(SUGGESTION, '').trim(), {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

export function useNoIntrospection(): Plugin[] {
  return [
    blockFieldSuggestionsPlugin({ mask: '' }),
    {
      onValidate({ addValidationRule }) {
        addValidationRule(NoSchemaIntrospectionCustomRule);
        addValidationRule(NoCostIntrospectionRule);
        return function dropSuggestions({ valid, result, setResult }) {
          if (!valid) setResult(result.filter((e) => !UNKNOWN_COST_FIELD.test(e.message)).map(withoutSuggestion));
        };
      },
      // At execution, not on yoga's HTTP result: a WebSocket operation gets the same errors.
      onExecute: () => ({ onExecuteDone: ({ result, setResult }) => dropFromResult(result, setResult) }),
      onSubscribe: () => ({ onSubscribeResult: ({ result, setResult }) => dropFromResult(result, setResult) }),
    },
  ];
}

/** Variable coercion's enum suggestions, out of a whole result (a stream has none to drop). */
function dropFromResult(result: unknown, setResult: (result: ExecutionResult) => void): void {
  if (Symbol.asyncIterator in Object(result)) return;
  const single = result as ExecutionResult;
  if (!single.errors?.length) return;
  setResult({ ...single, errors: single.errors.map(withoutSuggestion) });
}
