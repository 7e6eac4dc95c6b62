// The security directives (@authenticated, @requiresScopes, @cost, ...) stay in the served
// schema's AST (src/config/directives.ts). This reads them back from a field or a type, so
// that every security plugin finds them the same way: a type's directives may sit on its
// definition or on any of its extensions.
import type { DirectiveNode, GraphQLField, GraphQLNamedType } from 'graphql';
import { readDirective } from '../config/directives.js';

type Annotated = GraphQLNamedType | GraphQLField<unknown, unknown>;

/** Every directive written on a field or type definition (and on its extensions). */
export function directivesOf(element: Annotated): readonly DirectiveNode[] {
  const own = element.astNode?.directives ?? [];
  const extensions: readonly { directives?: readonly DirectiveNode[] }[] =
    'extensionASTNodes' in element ? element.extensionASTNodes : [];
  if (extensions.length === 0) return own;
  return [...own, ...extensions.flatMap((e) => e.directives ?? [])];
}

/** The uses of one directive on a field or type, their arguments coerced (defaults applied). */
export function directiveArgs(element: Annotated, name: string): Record<string, unknown>[] {
  return directivesOf(element)
    .filter((d) => d.name.value === name)
    .map((d) => readDirective(d));
}
