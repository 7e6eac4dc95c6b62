// Compiled execution: graphql-jit (through @envelop/graphql-jit) turns each operation into a
// JavaScript function once, so a request runs generated code instead of walking the document
// (bench/RESULTS.md, "Compiled execution", has the figures). graphql-jit binds the compiled
// function to one schema, and @envelop/graphql-jit caches it by document alone; a hot reload
// keeps yoga's parsed documents, so one plugin instance per schema keeps an operation compiled
// against the schema it runs on. Documents graphql-jit does not execute (@defer / @stream)
// keep the standard executor.
import { useGraphQlJit } from '@envelop/graphql-jit';
import type { DirectiveNode, DocumentNode, ExecutionArgs, GraphQLSchema } from 'graphql';
import { BREAK, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';

export function useCompiledExecution(log: Logger): Plugin {
  // A document graphql-jit cannot compile (an operation name it does not hold) is answered
  // with graphql-jit's errors, as graphql-js would answer it with its own.
  const onError = (result: unknown) => log.debug({ result }, 'operation not compiled; graphql-js executes it');
  const bySchema = new WeakMap<GraphQLSchema, ReturnType<typeof useGraphQlJit>>();
  const jitFor = (schema: GraphQLSchema) => {
    let plugin = bySchema.get(schema);
    if (!plugin) {
      plugin = useGraphQlJit(
        { disablingCapturingStackErrors: true },
        { enableIf: (args: ExecutionArgs) => compilable(args.document), onError },
      );
      bySchema.set(schema, plugin);
    }
    return plugin;
  };
  return {
    onExecute(payload) {
      return jitFor(payload.args.schema).onExecute?.(payload as never) as never;
    },
  };
}

const incremental = new WeakMap<DocumentNode, boolean>();

/** False for a document that uses @defer or @stream, which graphql-jit does not execute. */
function compilable(document: DocumentNode): boolean {
  let known = incremental.get(document);
  if (known === undefined) {
    known = false;
    visit(document, {
      Directive(node: DirectiveNode) {
        if (node.name.value === 'defer' || node.name.value === 'stream') {
          known = true;
          return BREAK;
        }
        return undefined;
      },
    });
    incremental.set(document, known);
  }
  return !known;
}
