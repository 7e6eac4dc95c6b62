// Compiled execution: graphql-jit (through @envelop/graphql-jit) turns each operation into a
// JavaScript function once, so a request runs generated code instead of walking the document
// (bench/RESULTS.md, "Compiled execution", has the figures). graphql-jit binds the compiled
// function to one schema, and @envelop/graphql-jit caches it by document alone; a hot reload
// keeps yoga's parsed documents, so one plugin instance per schema keeps an operation compiled
// against the schema it runs on. Documents graphql-jit does not execute (@defer / @stream)
// keep the standard executor.
import { useGraphQlJit } from '@envelop/graphql-jit';
import {
  BREAK,
  type DirectiveNode,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  GraphQLError,
  type GraphQLSchema,
  getLocation,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';

export function useCompiledExecution(log: Logger): Plugin {
  // A document graphql-jit cannot compile is answered with graphql-jit's errors (yoga's
  // validation has already refused every document known to get there).
  const onError = (result: unknown) =>
    log.debug({ result }, 'graphql-jit could not compile the operation; its errors are the answer');
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
      jitFor(payload.args.schema).onExecute?.(payload as never);
      const { document } = payload.args;
      if (compilable(document)) return NODES_BACK_ON_ERRORS;
    },
  };
}

type ExecuteHooks = Exclude<Awaited<ReturnType<NonNullable<Plugin['onExecute']>>>, void>;

/** One hooks object for every compiled operation: no allocation per request. */
const NODES_BACK_ON_ERRORS: ExecuteHooks = {
  onExecuteDone({ args, result, setResult }) {
    const { errors } = result as ExecutionResult;
    if (errors?.some((e) => !e.nodes && e.locations))
      setResult({ ...result, errors: errors.map((e) => withNodes(e, args.document)) });
  },
};

/**
 * graphql-jit's errors carry their locations but not their nodes, and yoga rebuilds every error
 * from its nodes when it writes the answer: without them a field error would lose its
 * `locations`. The nodes are found again by where they start in the document.
 */
function withNodes(error: GraphQLError, document: DocumentNode): GraphQLError {
  if (error.nodes || !error.locations) return error;
  const byLocation = fieldsByLocation(document);
  const nodes = error.locations.flatMap((l) => byLocation.get(`${l.line}:${l.column}`) ?? []);
  return new GraphQLError(error.message, {
    nodes,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

const fieldIndexes = new WeakMap<DocumentNode, Map<string, FieldNode[]>>();

function fieldsByLocation(document: DocumentNode): Map<string, FieldNode[]> {
  let index = fieldIndexes.get(document);
  if (!index) {
    const built = new Map<string, FieldNode[]>();
    visit(document, {
      Field(node) {
        if (!node.loc) return;
        const { line, column } = getLocation(node.loc.source, node.loc.start);
        const key = `${line}:${column}`;
        built.set(key, [...(built.get(key) ?? []), node]);
      },
    });
    fieldIndexes.set(document, (index = built));
  }
  return index;
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
