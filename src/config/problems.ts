// Turns AST nodes and graphql-js errors into ConfigProblems with file:line:column.
import { type ASTNode, type GraphQLError, getLocation } from 'graphql';
import type { ConfigProblem } from '../errors.js';

export function problemAt(node: ASTNode | undefined, file: string, message: string): ConfigProblem {
  if (node?.loc) {
    const { line, column } = getLocation(node.loc.source, node.loc.start);
    return { file: node.loc.source.name || file, line, column, message };
  }
  return { file, line: 1, column: 1, message };
}

export function problemFromGraphQLError(error: GraphQLError, fallbackFile: string): ConfigProblem {
  const node = error.nodes?.[0];
  if (node?.loc) return problemAt(node, fallbackFile, error.message);
  const loc = error.locations?.[0];
  return {
    file: error.source?.name || fallbackFile,
    line: loc?.line ?? 1,
    column: loc?.column ?? 1,
    message: error.message,
  };
}

/** What a load notes besides its problems. */
export interface LoadNotes {
  /** Settings that load but are risky (tls.insecureSkipVerify): logged at every load. */
  warnings: ProblemList;
  /** Files read besides the schema files (tls: PEM files), absolute, with their signature when read (file-signature.ts). */
  files: Map<string, string>;
}

/** Collects problems so that `quilt check` can report every one, not just the first. */
export class ProblemList {
  readonly items: ConfigProblem[] = [];
  add(p: ConfigProblem): void {
    this.items.push(p);
  }
  at(node: ASTNode | undefined, file: string, message: string): void {
    this.items.push(problemAt(node, file, message));
  }
  get empty(): boolean {
    return this.items.length === 0;
  }
}
